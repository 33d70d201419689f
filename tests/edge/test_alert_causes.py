"""The node hook of assist/cause.py: probable causes put on alerts off the scoring path, once
per alert, cached, stored; and what an alert says when the node has no documents."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from edge_batches import ticks

from plantmind.assist.cause import AlertCauses, CauseFinder, CauseRequest
from plantmind.core.plant import example_plant_path
from plantmind.knowledge.index import KnowledgeIndex
from plantmind.store.edge import EdgeStore

DOCS = example_plant_path().parent / "docs"


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory):
    ix = KnowledgeIndex(tmp_path_factory.mktemp("knowledge"), embedder=None)
    ix.add([DOCS, example_plant_path()])
    yield ix
    ix.close()


def _req(asset, signals, category, words):
    return CauseRequest("al_test", asset, tuple(signals), category, words)


def test_the_lookup_runs_once_per_alert_off_the_scoring_thread(node, knowledge, monkeypatch):
    threads: list[threading.Thread] = []
    real = CauseFinder.lookup

    def spy(self, req):
        threads.append(threading.current_thread())
        return real(self, req)

    monkeypatch.setattr(CauseFinder, "lookup", spy)
    causes = AlertCauses(node, index=lambda: knowledge).attach()
    rng = np.random.default_rng(0)
    node.learn(ticks(node.index, 0.0, 300, rng))
    hot = {"P-101.bearing_temperature": 0.5}
    for k in range(30):  # one alert, thirty batches that keep it active
        node.ingest(ticks(node.index, 300.0 + 5 * k, 5, rng, bump=hot))
    assert causes.flush(10.0)
    (alert,) = node.tracker.open_alerts()
    assert len(threads) == 1  # once per alert, not per batch
    assert threads[0] is not threading.current_thread()  # not on the scoring thread
    assert alert.details["probable_causes"][0]["work_order"] == "WO-25-0150"
    assert alert.details["procedure"]["citation"]["section"] == "3. Troubleshooting"
    assert alert.details["cause_lookup"]["signals"] == alert.signals
    # stored, so the API's alert list shows it
    node.store.flush()
    stored = node.store.get_alert(alert.id)
    assert (
        stored is not None
        and stored.details["probable_causes"] == (alert.details["probable_causes"])
    )
    causes.close()


def test_the_alert_listener_only_queues(node, knowledge, monkeypatch):
    causes = AlertCauses(node, index=lambda: knowledge)  # not attached: no worker
    called = []
    monkeypatch.setattr(causes, "lookup", lambda req: called.append(req))
    rng = np.random.default_rng(0)
    node.learn(ticks(node.index, 0.0, 300, rng))
    node.listeners.append(causes.on_update)
    node.ingest(ticks(node.index, 300.0, 20, rng, bump={"P-101.bearing_temperature": 0.5}))
    assert called == []  # nothing looked up on the scoring path
    assert causes._requests.qsize() == 1


def test_the_cache_serves_the_same_asset_and_signal(node, knowledge):
    causes = AlertCauses(node, index=lambda: knowledge)
    req = _req("P-101", ["P-101.bearing_temperature"], "equipment", "above its normal maximum")
    first = causes.lookup(req)
    again = causes.lookup(
        CauseRequest("al_other", *(req.asset_id, req.signals), "equipment", req.words)
    )
    assert again is first and causes.lookups == 1 and causes.cache_hits == 1


def test_a_node_without_documents_says_so_and_creates_no_index(node):
    causes = AlertCauses(node).attach()
    rng = np.random.default_rng(0)
    node.learn(ticks(node.index, 0.0, 300, rng))
    node.ingest(ticks(node.index, 300.0, 20, rng, bump={"P-101.bearing_temperature": 0.5}))
    assert causes.flush(10.0)
    (alert,) = node.tracker.open_alerts()
    assert alert.details["probable_causes"] == []
    assert "no documents are indexed" in alert.details["cause_lookup"]["note"]
    assert not (node.home / "knowledge").exists()
    causes.close()


def test_an_alert_raised_before_the_documents_is_looked_up_again_once_they_are(node, monkeypatch):
    import plantmind.assist.cause as cause

    monkeypatch.setattr(cause, "_INDEX_RECHECK_S", 0.0)
    monkeypatch.setenv("PLANTMIND_EMBED", "0")  # BM25 only: no model to load in a test
    causes = AlertCauses(node).attach()
    rng = np.random.default_rng(0)
    node.learn(ticks(node.index, 0.0, 300, rng))
    hot = {"P-101.bearing_temperature": 0.5}
    node.ingest(ticks(node.index, 300.0, 20, rng, bump=hot))
    assert causes.flush(10.0)
    (alert,) = node.tracker.open_alerts()
    assert alert.details["probable_causes"] == []
    node.knowledge.add([DOCS, example_plant_path()])
    node.ingest(ticks(node.index, 320.0, 5, rng, bump=hot))  # the alert is updated
    assert causes.flush(10.0)
    assert alert.details["probable_causes"][0]["work_order"] == "WO-25-0150"
    assert "no_index" not in alert.details["cause_lookup"]
    causes.close()
    node.knowledge.close()


def test_the_edge_service_puts_causes_on_its_alerts(tmp_path, plant, monkeypatch):
    import asyncio

    from plantmind.detect.robust import RobustConfig
    from plantmind.edge.service import EdgeService

    monkeypatch.setenv("PLANTMIND_EMBED", "0")
    svc = EdgeService(plant, tmp_path, restore=False, detector_config=RobustConfig(warmup=100))
    svc.node.knowledge.add([DOCS, example_plant_path()])
    rng = np.random.default_rng(0)
    svc.learn(ticks(svc.node.index, 0.0, 300, rng))
    svc.ingest(ticks(svc.node.index, 300.0, 20, rng, bump={"P-101.bearing_temperature": 0.5}))
    (alert,) = svc.node.tracker.open_alerts()
    asyncio.run(svc.close())  # finishes the lookups and stores them before the store closes
    with EdgeStore(tmp_path / "edge.db") as store:
        stored = store.get_alert(alert.id)
    assert stored is not None
    assert stored.details["probable_causes"][0]["work_order"] == "WO-25-0150"
    assert stored.details["procedure"]["citation"]["source"] == "manuals/P-101_pump_manual.md"


def test_documents_indexed_later_reach_the_stored_alert_without_another_batch(node, monkeypatch):
    import time

    import plantmind.assist.cause as cause

    monkeypatch.setattr(cause, "_INDEX_RECHECK_S", 0.05)
    monkeypatch.setenv("PLANTMIND_EMBED", "0")
    causes = AlertCauses(node).attach()
    rng = np.random.default_rng(0)
    node.learn(ticks(node.index, 0.0, 300, rng))
    node.ingest(ticks(node.index, 300.0, 20, rng, bump={"P-101.bearing_temperature": 0.5}))
    assert causes.flush(10.0)
    (alert,) = node.tracker.open_alerts()
    node.knowledge.add([DOCS, example_plant_path()])
    deadline = time.monotonic() + 10.0
    found: list[dict] = []
    while time.monotonic() < deadline and not found:
        node.store.flush()
        stored = node.store.get_alert(alert.id)
        found = stored.details.get("probable_causes") if stored else []
        time.sleep(0.05)
    assert found and found[0]["work_order"] == "WO-25-0150"
    # the stored row kept everything else (state, signals, the detector's words)
    assert stored is not None and stored.signals == alert.signals
    assert stored.details["contributions"] == alert.details["contributions"]
    causes.flush(1.0)  # and the alert object gets them with the next change
    assert alert.details["probable_causes"][0]["work_order"] == "WO-25-0150"
    causes.close()
    node.knowledge.close()


def test_a_late_lookup_never_writes_an_old_alert_over_a_newer_stored_one(node):
    """An alert resolved and marked a false alarm while its lookup was pending: the lookup's
    results reach the stored row, the operator's mark and note stay."""
    causes = AlertCauses(node, index=lambda: None)  # not attached: applied by hand below
    rng = np.random.default_rng(0)
    node.learn(ticks(node.index, 0.0, 300, rng))
    node.listeners.append(causes.on_update)
    node.ingest(ticks(node.index, 300.0, 20, rng, bump={"P-101.bearing_temperature": 0.5}))
    (alert,) = node.tracker.open_alerts()
    req = causes._requests.get_nowait()  # the pending lookup
    node.resolve(alert.id)  # the episode ends; the tracker lets the object go
    node.store.flush()
    done = node.mark_false_alarm(alert.id)  # later, on the stored alert (a new object)
    assert done is not alert
    done.details["actions"] = [{"action": "false_alarm", "name": "Jo", "comment": "sensor"}]
    node.store.upsert_alert(done)
    causes._finish(req)  # the worker finishes late: patches the stored row
    causes.apply()  # and must not write the open object back over it
    node.store.flush()
    stored = node.store.get_alert(alert.id)
    assert stored is not None and stored.false_alarm and str(stored.state) == "resolved"
    assert stored.details["actions"][0]["comment"] == "sensor"
    assert "cause_lookup" in stored.details
