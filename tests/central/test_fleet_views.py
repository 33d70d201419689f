"""The hub's fleet views (central/fleet.py) on SQLite and PostgreSQL: latest health per asset,
inspection counts, heartbeats, sync lag and the stale rule (with an injected clock), the
fleet and site rows, and the heartbeat/fleet routes and page."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3

import httpx
import pytest
from fastapi.testclient import TestClient

from plantmind.central.fleet import (
    DEFAULT_HEARTBEAT_S,
    STALE_INTERVALS,
    FleetStore,
    lag_bucket,
    lag_bucket_upper,
)
from plantmind.central.inbox import Inbox
from plantmind.central.service import CentralService, default_db_url
from plantmind.store.central import CentralStore
from plantmind.sync.forwarder import EmbeddedTransport, Forwarder, HeartbeatUnsupported
from plantmind.sync.heartbeat import HeartbeatSender
from plantmind.sync.outbox import Outbox
from plantmind.sync.producers import InspectionCounts
from plantmind.sync.transport_http import HttpTransport
from plantmind.sync.wire import encode_batch

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
T0 = 1_767_571_200.0


class Clock:
    """The hub's and the sites' time, moved by the test instead of waited for."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _batch(site: str, rows: list[tuple[int, str, float, dict]]) -> bytes:
    return encode_batch(site, [(s, c, t, json.dumps(d)) for s, c, t, d in rows])


def _alert(i: str, asset: str, severity: str, state: str = "open", t: float = T0) -> dict:
    return {"id": i, "asset_id": asset, "severity": severity, "state": state,
            "opened_at": t, "last_active_at": t, "message": f"{asset} {severity}"}  # fmt: skip


def _health(asset: str, health: float, rul: float, t: float = T0) -> dict:
    return {"asset_id": asset, "kind": "pump", "ts": t, "health": health, "rul": rul,
            "rul_low": rul / 2, "rul_high": rul * 2, "unit": "s", "method": "model"}  # fmt: skip


def test_lag_buckets_bound_the_value_within_ten_percent():
    for lag in (0.0, 0.05, 0.1, 0.5, 3.0, 119.0, 120.0, 125.0, 3600.0):
        b = lag_bucket(lag)
        assert lag <= lag_bucket_upper(b) + 1e-9
        if lag >= 0.1:
            assert lag_bucket_upper(b) <= lag * 1.1 + 1e-9
    assert lag_bucket(-5.0) == 0 and lag_bucket(float("nan")) == 0


@BOTH
def test_views_of_health_alerts_inspections_and_heartbeats(db_url):
    clock = Clock(T0 + 2.0)
    store = FleetStore(db_url, clock=clock)
    inbox = Inbox(store)
    try:
        inbox.receive(_batch("S1", [
            (1, "health", T0, _health("P-1", 80.0, 7200.0)),
            (2, "health", T0, _health("P-2", 35.0, 3600.0)),
            (3, "alerts", T0, _alert("a1", "P-2", "critical")),
            (4, "alerts", T0, _alert("a2", "P-2", "warning")),
            (5, "alerts", T0, _alert("a3", "P-1", "warning", "resolved")),
            (6, "aggregates", T0, {"kind": "inspections", "station": "ST-1", "model": "m1",
                                   "start": T0 - 3600, "period_s": 3600, "total": 10,
                                   "passed": 8, "failed": 1, "uncertain": 1}),
            (7, "aggregates", T0, {"signal": "P-1.t", "asset": "P-1", "start": T0 - 3600,
                                   "period_s": 3600, "count": 5, "mean": 1, "min": 0, "max": 2}),
        ]))  # fmt: skip
        # a newer summary of the ST-1 hour replaces the older one; it is not added to it
        inbox.receive(_batch("S1", [
            (8, "aggregates", T0, {"kind": "inspections", "station": "ST-1", "model": "m1",
                                   "start": T0 - 3600, "period_s": 3600, "total": 20,
                                   "passed": 15, "failed": 3, "uncertain": 2}),
        ]))  # fmt: skip
        inbox.receive(_batch("S2", [(1, "health", T0, _health("C-1", 95.0, 1e6))]))
        inbox.heartbeat(
            {"site": "S1", "ts": clock(), "interval_s": 10, "outbox": {"queued": 0},
             "models": [{"name": "detector", "version": 3}]}
        )  # fmt: skip
        before = store.fleet()
        # the same batch again (a lost acknowledgement) changes nothing
        inbox.receive(_batch("S1", [(1, "health", T0, _health("P-1", 10.0, 1.0))]))
        assert store.fleet()["sites"] == before["sites"]
        # a summary of an older seq, arriving late, never rolls a newer one back
        inbox.receive(_batch("S2", [(100, "health", T0, _health("C-2", 60.0, 1e5))]))
        inbox.receive(_batch("S2", [(50, "health", T0, _health("C-2", 5.0, 1.0))]))
        assert store.asset("S2", "C-2")["health"]["health"] == 60.0

        f = store.fleet()
        assert f["total"] == 2 and [s["site"] for s in f["sites"]] == ["S1", "S2"]
        s1 = f["sites"][0]
        assert s1["open_alerts"] == {"critical": 1, "warning": 1, "info": 0}
        assert s1["worst_asset"]["asset_id"] == "P-2" and s1["worst_asset"]["health"] == 35.0
        assert s1["worst_asset"]["rul"] == 3600.0
        assert s1["inspections_24h"] == {"total": 20, "passed": 15, "failed": 3, "uncertain": 2,
                                         "pass_rate": 0.75}  # fmt: skip
        assert s1["models"] == [{"name": "detector", "version": 3}]
        assert s1["models_from"] == "heartbeat"
        # lag of health and alerts: 2 s (the aggregate's period end is not counted)
        assert s1["lag"]["events"] == 5
        assert 2.0 <= s1["lag"]["p50_s"] <= 2.2 and s1["lag"]["max_s"] == pytest.approx(2.0)
        assert not s1["stale"] and s1["heartbeat"]["interval_s"] == 10
        assert s1["assets"] == 2

        h = store.latest_health()
        assert [i["asset_id"] for i in h["items"]] == ["P-2", "C-2", "P-1", "C-1"]
        assert store.latest_health("S2", limit=1, offset=1)["items"][0]["health"] == 95.0
        counts = store.inspection_counts("S1")
        assert [(c["station"], c["total"]) for c in counts] == [("ST-1", 20)]
        hb = store.heartbeats()
        assert [b["site"] for b in hb] == ["S1"] and hb[0]["beats"] == 1

        site = store.site("S1", limit=1)
        assert site is not None and site["assets"]["total"] == 2
        assert [a["asset_id"] for a in site["assets"]["items"]] == ["P-2"]  # worst first
        assert site["assets"]["items"][0]["open_alerts"] == 2
        assert {a["id"] for a in site["open_alerts"]["items"]} == {"a1", "a2"}
        asset = store.asset("S1", "P-1")
        assert asset is not None and asset["health"]["health"] == 80.0
        assert [a["id"] for a in asset["alerts"]["items"]] == ["a3"]
        assert store.site("nope") is None and store.asset("S1", "nope") is None

        # a site silent for more than 3 heartbeat intervals is stale
        clock.t += STALE_INTERVALS * 10 + 1
        s1 = store.fleet()["sites"][0]
        assert s1["stale"] and s1["silent_s"] > 30
        # S2 never sent a heartbeat: the default interval applies
        clock.t = T0 + 2.0 + STALE_INTERVALS * DEFAULT_HEARTBEAT_S - 1
        assert not store.fleet()["sites"][1]["stale"]
    finally:
        store.close()


@BOTH
def test_a_paused_forwarder_shows_lag_and_the_stale_badge(db_url, tmp_path):
    """A site's uplink stops for 120 s of injected time: the hub marks it stale while it is
    silent; what it queued meanwhile arrives with a lag of at least 120 s. Real outbox,
    forwarder and heartbeats; nothing sleeps for 120 s."""
    clock = Clock()
    store = FleetStore(db_url, clock=clock)
    inbox = Inbox(store)
    outbox = Outbox(tmp_path / "outbox.db", "S1")
    transport = EmbeddedTransport(inbox.receive)
    fwd = Forwarder(outbox, transport, clock=clock)
    beats = HeartbeatSender(outbox, fwd, transport, interval_s=10, clock=clock)

    async def main() -> None:
        outbox.put_many([("health", _health(f"A{i}", 90, 1e5), clock()) for i in range(5)])
        assert await fwd.drain(10)
        assert await beats.beat()
        row = store.fleet()["sites"][0]
        assert not row["stale"] and row["lag"]["p95_s"] < 1.0
        assert row["backlog"]["queued"] == 0

        # paused: events queue at the site, nothing reaches the hub for 120 s
        outbox.put_many([("health", _health(f"A{i}", 50, 1e4), clock()) for i in range(5)])
        outbox.put_many([("alerts", _alert("x1", "A1", "warning"), clock())])
        clock.t += 121.0
        row = store.fleet()["sites"][0]
        assert row["stale"] and row["silent_s"] >= 120
        # the heartbeats alone come back (the hub still refuses batches, say): the backlog
        # and its age show how far behind the hub is
        assert await beats.beat()
        row = store.fleet()["sites"][0]
        assert not row["stale"]
        assert row["backlog"]["queued"] == 6 and row["backlog"]["oldest_age_s"] >= 120

        # resumed: the queued events arrive 121 s after they happened
        assert await fwd.drain(10)
        assert await beats.beat()
        row = store.fleet()["sites"][0]
        assert row["lag"]["p95_s"] >= 120 and row["lag"]["max_s"] == pytest.approx(121.0)
        assert row["backlog"] == {"queued": 0, "oldest_age_s": None}
        assert row["heartbeat"]["last_forwarded"] == clock()

    try:
        asyncio.run(main())
    finally:
        outbox.close()
        store.close()


def _inspection_db(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE inspections (id TEXT PRIMARY KEY, station TEXT NOT NULL, model_id TEXT "
        "NOT NULL, ts REAL NOT NULL, source TEXT NOT NULL, score REAL NOT NULL, verdict TEXT "
        "NOT NULL, review TEXT NOT NULL DEFAULT 'none', label TEXT, reviewed_by TEXT, "
        "reviewed_at REAL)"
    )
    conn.executemany(
        "INSERT INTO inspections (id, station, model_id, ts, source, score, verdict) "
        "VALUES (?, ?, ?, ?, 'cam', 0.5, ?)",
        rows,
    )
    conn.commit()
    conn.close()


def test_inspection_counts_leave_as_counts_only(tmp_path):
    db = tmp_path / "vision" / "inspections.db"
    verdicts = ["pass"] * 7 + ["fail"] * 2 + ["uncertain"]
    _inspection_db(db, [(f"i{k}", "ST-1", "m1", T0 + k, v) for k, v in enumerate(verdicts)])
    store = FleetStore(f"sqlite:///{tmp_path / 'hub.db'}", clock=Clock(T0 + 60))
    outbox = Outbox(tmp_path / "outbox.db", "S1")
    try:
        counts = InspectionCounts(outbox, db)
        assert counts.emit() == 1
        assert counts.emit() == 0  # nothing changed: nothing queued again
        batch = outbox.next_batch()
        assert batch is not None
        (data,) = [json.loads(r[3]) for r in batch.rows]
        # no id, score, source or image: counts only
        assert set(data) == {"kind", "station", "model", "start", "period_s", "total",
                             "passed", "failed", "uncertain"}  # fmt: skip
        assert (data["total"], data["passed"], data["failed"], data["uncertain"]) == (10, 7, 2, 1)
        Inbox(store).receive(batch.body)
        outbox.ack(batch.last).result()
        # more results in the same hour: the hour is sent again with the new totals
        conn = sqlite3.connect(db)
        conn.execute(
            "INSERT INTO inspections (id, station, model_id, ts, source, score, verdict) "
            "VALUES ('j', 'ST-1', 'm1', ?, 'cam', 0.9, 'fail')",
            (T0 + 30,),
        )
        conn.commit()
        conn.close()
        assert counts.emit() == 1
        batch = outbox.next_batch()
        assert batch is not None
        Inbox(store).receive(batch.body)
        rate = store.fleet()["sites"][0]["inspections_24h"]
        assert rate["total"] == 11 and rate["failed"] == 3 and rate["pass_rate"] == 0.6364
        # a site whose policy keeps aggregates home sends no counts
        from plantmind.core.plant import EgressPolicy

        home = Outbox(tmp_path / "o2.db", "S2", EgressPolicy(allow=["alerts"]))
        assert InspectionCounts(home, db).emit() == 0 and len(home) == 0
        home.close()
    finally:
        outbox.close()
        store.close()


@pytest.fixture
def hub(tmp_path):
    h = CentralService(default_db_url(tmp_path), tmp_path, clock=Clock(T0))
    yield h
    h.close()


def test_fleet_routes_heartbeats_and_page(hub):
    with TestClient(hub.app()) as c:
        page = c.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        # no external asset: every src/href is local or a fragment
        assert not re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", page.text)
        assert "innerHTML" not in page.text
        assert c.get("/api/fleet").status_code == 401
        viewer = {"Authorization": f"Bearer {hub.tokens.create('viewer')}"}
        site = {"Authorization": f"Bearer {hub.tokens.create('operator', site='S1')}"}
        beat = {"v": 1, "site": "S1", "ts": T0, "interval_s": 15, "outbox": {"queued": 3,
                "oldest_ts": T0 - 40}}  # fmt: skip
        assert c.post("/api/heartbeat", json=beat, headers=viewer).status_code == 403
        assert c.post("/api/heartbeat", json=beat, headers=site).status_code == 200
        other = dict(beat, site="S2")
        r = c.post("/api/heartbeat", json=other, headers=site)
        assert r.status_code == 403 and "S2" in r.json()["detail"]
        r = c.post("/api/heartbeat", json=dict(beat, interval_s=0), headers=site)
        assert r.status_code == 422 and "interval_s" in r.json()["detail"]
        r = c.post("/api/heartbeat", content=b"[1]", headers=site)
        assert r.status_code == 422
        f = c.get("/api/fleet", headers=viewer).json()
        assert f["sites"][0]["site"] == "S1"
        assert f["sites"][0]["backlog"] == {"queued": 3, "oldest_age_s": 40.0}
        assert c.get("/api/fleet/heartbeats", headers=viewer).json()[0]["interval_s"] == 15
        assert c.get("/api/fleet/sites/S1", headers=viewer).json()["assets"]["total"] == 0
        assert c.get("/api/fleet/sites/S9", headers=viewer).status_code == 404
        assert c.get("/api/fleet", params={"limit": 0}, headers=viewer).status_code == 422
        assert c.get("/api/fleet/health", headers=viewer).json() == {"total": 0, "items": []}


def test_heartbeats_over_http_and_an_older_hub(tmp_path):
    async def main() -> None:
        seen: list[dict] = []

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/heartbeat":
                seen.append(json.loads(request.content))
                return httpx.Response(404 if len(seen) > 1 else 200, json={})
            return httpx.Response(500)

        transport = HttpTransport("http://127.0.0.1:9", "pm_x_y")
        await transport._client.aclose()
        transport._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        outbox = Outbox(tmp_path / "outbox.db", "S1")
        outbox.put("alerts", {"id": "a"}, T0)
        sender = HeartbeatSender(outbox, None, transport, interval_s=5, clock=Clock(T0 + 9))
        assert await sender.beat()
        assert seen[0]["site"] == "S1" and seen[0]["outbox"]["queued"] == 1
        assert seen[0]["outbox"]["oldest_ts"] == T0 and seen[0]["ts"] == T0 + 9
        # a hub without the route (404): heartbeats stop, nothing else changes
        assert not await sender.beat() and not sender.supported
        with pytest.raises(HeartbeatUnsupported):
            await transport.send_heartbeat({"site": "S1"})
        await transport.close()
        outbox.close()

    asyncio.run(main())


@BOTH
def test_a_hub_store_from_before_the_views_gets_them_on_upgrade(db_url):
    old = CentralStore(db_url)  # what a hub of the previous version wrote
    Inbox(old).receive(_batch("S1", [
        (1, "health", T0, _health("P-1", 70.0, 5000.0)),
        (2, "health", T0, _health("P-1", 40.0, 3000.0)),
        (3, "aggregates", T0, {"kind": "inspections", "station": "ST-1", "model": "m",
                               "start": T0, "period_s": 3600, "total": 4, "passed": 4}),
        (4, "aggregates", T0, {"signal": "P-1.t", "asset": "P-1", "start": T0}),
    ]))  # fmt: skip
    old.close()
    store = FleetStore(db_url, clock=Clock(T0 + 10))
    try:
        row = store.fleet()["sites"][0]
        assert row["worst_asset"]["health"] == 40.0  # the newer of the two summaries
        assert row["inspections_24h"]["total"] == 4 and row["last_seen"] is not None
        assert store.backfill() == 3  # idempotent: a second run changes nothing
        assert store.fleet()["sites"][0]["worst_asset"]["health"] == 40.0
    finally:
        store.close()
