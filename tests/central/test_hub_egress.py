"""The hub enforces each site's egress policy itself: a batch with a category the site may not
send is refused whole, over every transport, and nothing of it is stored."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from plantmind.central.inbox import BatchRefusedError
from plantmind.central.service import CentralService, default_db_url, site_policies_of
from plantmind.core.plant import EgressPolicy, example_plant_path, load_plant
from plantmind.sync.wire import encode_batch


def _batch(site: str, cats: list[str], first: int = 1) -> bytes:
    rows = [(first + i, c, float(i), json.dumps({"n": i})) for i, c in enumerate(cats)]
    return encode_batch(site, rows)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def hub(tmp_path):
    h = CentralService(default_db_url(tmp_path), tmp_path)
    yield h
    h.close()


def test_raw_samples_over_http_are_refused_and_not_stored(hub):
    site = _bearer(hub.tokens.create("operator", site="riverside"))
    with TestClient(hub.app()) as c:
        ok = c.post("/api/ingest", content=_batch("riverside", ["alerts", "health"]), headers=site)
        assert ok.json() == {"acked_upto": 2}
        r = c.post("/api/ingest", content=_batch("riverside", ["raw_samples"], 3), headers=site)
        assert r.status_code == 403 and "raw_samples" in r.json()["detail"]
        # one image among allowed events: the whole batch goes, not the allowed part of it
        mixed = _batch("riverside", ["alerts", "images", "aggregates"], 3)
        r = c.post("/api/ingest", content=mixed, headers=site)
        assert r.status_code == 403 and "images" in r.json()["detail"]
        viewer = _bearer(hub.tokens.create("viewer"))
        raw = c.get("/api/events", params={"category": "raw_samples"}, headers=viewer).json()
        assert raw == []
        assert c.get("/api/stats", headers=viewer).json()["inbox"]["rejected"] == 2
    assert hub.store.site_seqs("riverside") == [1, 2]
    assert [s["last_seq"] for s in hub.store.list_sites()] == [2]
    assert {e["category"] for e in hub.store.list_events(limit=100)} == {"alerts", "health"}


@pytest.mark.parametrize("cat", ["raw_samples", "images", "documents", "events", "bogus"])
def test_the_default_policy_admits_alerts_health_aggregates_only(hub, cat):
    assert hub.inbox.receive(_batch("S", ["alerts", "health", "aggregates"])) == 3
    with pytest.raises(BatchRefusedError, match=repr(cat)):
        hub.inbox.receive(_batch("S", [cat], 4), "mqtt", site="S")
    assert hub.store.site_seqs("S") == [1, 2, 3]


def test_a_site_the_hub_is_told_may_send_raw_samples(tmp_path):
    policy = EgressPolicy(allow=["alerts", "raw_samples"])
    hub = CentralService(default_db_url(tmp_path), tmp_path, site_policies={"lab": policy})
    try:
        lab = _bearer(hub.tokens.create("operator", site="lab"))
        riverside = _bearer(hub.tokens.create("operator", site="riverside"))
        with TestClient(hub.app()) as c:
            r = c.post("/api/ingest", content=_batch("lab", ["raw_samples", "alerts"]), headers=lab)
            assert r.json() == {"acked_upto": 2}
            # the lab's policy is the lab's own: it allows no aggregates
            r = c.post("/api/ingest", content=_batch("lab", ["aggregates"], 3), headers=lab)
            assert r.status_code == 403 and "aggregates" in r.json()["detail"]
            # and other sites keep the default
            raw = _batch("riverside", ["raw_samples"])
            assert c.post("/api/ingest", content=raw, headers=riverside).status_code == 403
        assert hub.store.site_seqs("lab") == [1, 2]
        assert hub.store.site_seqs("riverside") == []
    finally:
        hub.close()


def test_site_policies_come_from_a_plant(tmp_path):
    plant = load_plant(example_plant_path())
    plant = plant.model_copy(update={"egress": EgressPolicy(allow=["alerts", "images"])})
    policies = site_policies_of(plant)
    assert set(policies) == {s.id for s in plant.sites}
    hub = CentralService(default_db_url(tmp_path), tmp_path, site_policies=policies)
    try:
        site = plant.sites[0].id
        assert hub.inbox.receive(_batch(site, ["images"])) == 1
        with pytest.raises(BatchRefusedError, match="health"):
            hub.inbox.receive(_batch(site, ["health"], 2))
    finally:
        hub.close()


def test_the_demo_path_is_unchanged(hub):
    """The demo's embedded transport calls the inbox directly with the default policy's
    categories: all of them are stored."""
    body = _batch("riverside", ["alerts", "health", "aggregates"] * 10)
    assert hub.inbox.receive(body, "embedded") == 30
    assert hub.counts()["events"] == 30
