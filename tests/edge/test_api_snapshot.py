"""The live routes answer from a snapshot of the node: a read after a batch reflects it within
the refresh interval, the API's own writes show at once, bodies are encoded once per snapshot,
and every response keeps its shape."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
from edge_batches import ticks
from fastapi.testclient import TestClient

from plantmind.core.auth import TokenStore
from plantmind.edge.api import Snapshot, SnapshotKeeper, create_app
from plantmind.edge.node import EdgeNode

INTERVAL_S = 0.2


def _client(node: EdgeNode, interval_s: float) -> TestClient:
    c = TestClient(create_app(node, snapshot_interval_s=interval_s))
    c.headers["Authorization"] = f"Bearer {TokenStore.in_home(node.home).create('operator')}"
    return c


def _latest_ts(client: TestClient) -> float:
    return client.get("/api/signals", params={"asset": "P-101"}).json()[0]["latest_ts"]


def test_a_read_after_a_batch_reflects_it_within_the_interval(node):
    with _client(node, INTERVAL_S) as client:
        node.learn(ticks(node.index, 0.0, 150))
        assert _latest_ts(client) == 149.0  # the first read builds the snapshot
        node.ingest(ticks(node.index, 150.0, 10))
        # within the interval a read may still show the snapshot before the batch ...
        assert _latest_ts(client) in (149.0, 159.0)
        time.sleep(INTERVAL_S * 1.5)
        # ... after it, the batch shows, in every live route
        assert _latest_ts(client) == 159.0
        assert client.get("/api/stats").json()["samples_in"] == 10 * node.index.n_signals


def test_no_change_no_rebuild_and_bodies_are_encoded_once(node):
    keeper = SnapshotKeeper(node, interval_s=0.0)
    node.learn(ticks(node.index, 0.0, 20))
    snap = keeper.get()
    assert keeper.get() is snap  # nothing changed: the same snapshot, even at interval 0
    calls = []
    body = snap.body("k", lambda: calls.append(1) or b"1")
    assert snap.body("k", lambda: calls.append(1) or b"2") is body and calls == [1]
    node.ingest(ticks(node.index, 20.0, 1))
    assert keeper.get() is not snap  # changed and the interval (0) has passed


def test_the_apis_own_writes_show_at_once(node):
    with _client(node, 3600.0) as client:  # an interval no test outlives
        node.learn(ticks(node.index, 0.0, 300))
        node.ingest(ticks(node.index, 300.0, 20, bump={"P-101.bearing_temperature": 0.5}))
        node.store.flush()
        (alert,) = node.tracker.open_alerts()
        assert client.get("/api/stats").json()["open_alerts"] == 1
        assert client.get(f"/api/alerts/{alert.id}").json()["state"] == "open"
        assert client.post(f"/api/alerts/{alert.id}/resolve").json()["state"] == "resolved"
        assert client.get("/api/stats").json()["open_alerts"] == 0
        p101 = next(a for a in client.get("/api/assets").json() if a["id"] == "P-101")
        assert p101["open_alerts"] == 0
        node.store.flush()
        # no longer open: served from the store, off the event loop
        assert client.get(f"/api/alerts/{alert.id}").json()["state"] == "resolved"
        assert client.get("/api/alerts/nope").status_code == 404


def test_shapes_are_unchanged(node, plant):
    with _client(node, 0.0) as client:
        node.learn(ticks(node.index, 0.0, 150))
        r = client.get("/api/signals")
        assert r.headers["content-type"] == "application/json"
        sigs = r.json()
        assert len(sigs) == node.index.n_signals
        assert set(sigs[0]) == {
            "id", "asset", "name", "unit", "expected_range", "learned_range",
            "sample_rate_hz", "latest_ts", "latest_value",
        }  # fmt: skip
        assert sigs[0]["learned_range"] is not None and len(sigs[0]["learned_range"]) == 2
        # the bytes written from the pre-encoded parts decode to what the dicts were
        last_ts, last_val = node.ring.latest()
        pos = node.index.signal_position()
        expected = []
        for _, _, a in plant.iter_assets():
            for sg in a.signals:
                i = pos[sg.id]
                lr = node.detector.normal_range(i)
                expected.append(
                    {
                        "id": sg.id, "asset": a.id, "name": sg.name, "unit": sg.unit,
                        "expected_range": list(sg.expected_range),
                        "learned_range": list(lr) if lr else None,
                        "sample_rate_hz": sg.sample_rate_hz,
                        "latest_ts": float(last_ts[i]), "latest_value": float(last_val[i]),
                    }
                )  # fmt: skip
        assert sigs == expected and list(sigs[0]) == list(expected[0])  # key order too
        p101 = client.get("/api/signals", params={"asset": "P-101"}).json()
        assert p101 == [e for e in expected if e["asset"] == "P-101"]
        assert client.get("/api/signals", params={"asset": "NOPE"}).json() == []
        assert client.get("/api/plant").json() == plant.model_dump(mode="json")
        assets = client.get("/api/assets").json()
        assert assets == [
            {
                "id": a.id, "name": a.name, "kind": a.kind, "site": site.id, "line": line.id,
                "signals": [sg.id for sg in a.signals], "open_alerts": 0,
            }
            for site, line, a in plant.iter_assets()
        ]  # fmt: skip
        s = node.stats
        assert client.get("/api/stats").json() == {
            "batches": s.batches,
            "samples_in": s.samples_in,
            "samples_scored": s.samples_scored,
            "samples_dropped": s.samples_dropped,
            "dropped_by_reason": node.gate.counters.by_reason,
            "alerts_opened": s.alerts_opened,
            "open_alerts": 0,
            "last_ts": s.last_ts,
        }
        assert client.get("/api/alerts").json() == []
        assert isinstance(client.get("/api/events").json(), list)
        assert client.get("/api/signals/P-101.flow/aggregates").json() == []
        schema = client.get("/openapi.json").json()["paths"]["/api/signals"]["get"]
        ok = schema["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["type"] == "array"  # the documented shape, as before


_LIVE = ("/api/plant", "/api/assets", "/api/signals", "/api/signals?asset=P-101", "/api/stats")


def _fresh(snap, plant, pos: dict[str, int]) -> dict[str, bytes]:
    """The live routes' bodies of ``snap`` encoded afresh, the plain way: dicts through
    ``json.dumps`` as Starlette's JSONResponse renders them (not the keeper's pre-encoded
    parts, not its cache)."""

    def enc(obj) -> bytes:
        return json.dumps(
            obj, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")

    def num(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    assets, signals = [], []
    for site, line, a in plant.iter_assets():
        assets.append(
            {
                "id": a.id, "name": a.name, "kind": a.kind, "site": site.id, "line": line.id,
                "signals": [sg.id for sg in a.signals], "open_alerts": snap.open_by_asset.get(a.id, 0),
            }
        )  # fmt: skip
        for sg in a.signals:
            i = pos[sg.id]
            lr = snap.learned[i]
            signals.append(
                {
                    "id": sg.id, "asset": a.id, "name": sg.name, "unit": sg.unit,
                    "expected_range": list(sg.expected_range),
                    "learned_range": [num(lr[0]), num(lr[1])] if lr else None,
                    "sample_rate_hz": sg.sample_rate_hz,
                    "latest_ts": num(snap.latest_ts[i]), "latest_value": num(snap.latest_value[i]),
                }
            )  # fmt: skip
    return {
        "/api/plant": enc(plant.model_dump(mode="json")),
        "/api/assets": enc(assets),
        "/api/signals": enc(signals),
        "/api/signals?asset=P-101": enc([s for s in signals if s["asset"] == "P-101"]),
        "/api/stats": enc(snap.stats),
    }


def test_cached_bodies_never_diverge_from_a_fresh_encoding_of_their_snapshot(node, plant):
    """Through a stream and the operator's actions, every live body served (the first read of
    a snapshot encodes it, the second is the cached bytes) is byte for byte a fresh encoding
    of the snapshot it came from, before and after the node moves on (the snapshot holds
    copies); an acknowledgement or a resolution shows in the very next read."""
    pos = node.index.signal_position()
    with _client(node, 3600.0) as client:  # only the API's own writes refresh the snapshot
        keeper = client.app.state.snapshots
        t = [0.0]

        def feed(n: int, bump: dict[str, float] | None = None, learn: bool = False) -> None:
            batch = ticks(node.index, t[0], n, bump=bump)
            if learn:
                node.learn(batch)
            else:
                node.ingest(batch)
            t[0] += n

        def served() -> tuple[Snapshot, dict[str, bytes]]:
            first = {p: client.get(p).content for p in _LIVE}
            snap = keeper.get()  # what those reads were served from: nothing changed since
            second = {p: client.get(p).content for p in _LIVE}  # from the cache
            assert second == first
            assert all(isinstance(b, bytes) for b in snap._bodies.values()) and snap._bodies
            return snap, first

        def check() -> dict[str, Any]:
            keeper.invalidate()  # read the node as it is now (the interval would hold it)
            snap, bodies = served()
            assert bodies == _fresh(snap, plant, pos)
            feed(5)  # the node moves on and a newer snapshot is taken ...
            keeper.invalidate()
            assert keeper.get() is not snap
            # ... the old one still holds its own state (copies), and its bodies match it
            assert bodies == _fresh(snap, plant, pos)
            return json.loads(bodies["/api/stats"])

        check()  # nothing seen yet: no latest readings, no learned ranges
        feed(300, learn=True)
        check()
        feed(20, bump={"P-101.bearing_temperature": 0.5})
        assert check()["open_alerts"] == 1
        (alert,) = node.tracker.open_alerts()
        assert client.post(f"/api/alerts/{alert.id}/acknowledge").json()["state"] == "acknowledged"
        assert client.get(f"/api/alerts/{alert.id}").json()["state"] == "acknowledged"
        node.store.flush()
        assert [a["state"] for a in client.get("/api/alerts").json()] == ["acknowledged"]
        stats = check()
        assert stats["open_alerts"] == 1  # acknowledged is still open, until resolved
        p101 = next(a for a in client.get("/api/assets").json() if a["id"] == "P-101")
        assert p101["open_alerts"] == 1
        assert client.post(f"/api/alerts/{alert.id}/resolve").json()["state"] == "resolved"
        # the very next read, well inside the interval, shows the resolution
        assert client.get("/api/stats").json()["open_alerts"] == 0
        p101 = next(a for a in client.get("/api/assets").json() if a["id"] == "P-101")
        assert p101["open_alerts"] == 0
        assert check()["open_alerts"] == 0
