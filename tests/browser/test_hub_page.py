"""The hub's fleet page in Chromium: a hub started here on 127.0.0.1 and two edge sites whose
uplinks (outbox, forwarder, heartbeats) send to it over HTTP. The page lists both sites with
their sync lag; a site whose uplink is paused for 120 s (of the shared, injected clock: the
test does not wait two minutes) gets the stale badge, and once it resumes its lag is at least
120 s; drill-down to a site and an asset works; without a token, or with a stale one, the
page asks to sign in. Screenshots: hub-fleet, hub-site, hub-signin."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plantmind.bench.hub_page import ServedHub
from plantmind.central.service import CentralService, default_db_url
from plantmind.sync.transport_http import HttpTransport
from plantmind.sync.uplink import SiteUplink

PAUSE_S = 121.0


class Clock:
    """Wall time plus an offset the test moves forward: the hub's and the sites' clock."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Sites:
    """Two edge sites' uplinks running in one event loop on a thread of their own."""

    def __init__(self, hub: ServedHub, clock: Clock, tmp: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.uplinks: dict[str, SiteUplink] = {}
        for site in ("riverside", "hilltop"):
            token = hub.service.tokens.create("operator", label=site, site=site)
            _site_files(tmp / site, clock())

            async def make(site: str = site, token: str = token) -> SiteUplink:
                up = SiteUplink(
                    tmp / site,
                    site,
                    HttpTransport(hub.url, token, timeout_s=5.0),
                    heartbeat_s=1.0,
                    wall_clock=clock,
                    idle_s=0.05,
                )
                up.start()
                return up

            self.uplinks[site] = self.run(make())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        async def close_all() -> None:
            for up in self.uplinks.values():
                await up.close()

        self.run(close_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _site_files(home: Any, now: float) -> None:
    """What a site's other parts leave on disk: the models it runs (the model agent's
    current.json) and an inspection station's results (its inspections.db)."""
    (home / "models").mkdir(parents=True)
    (home / "models" / "current.json").write_text(
        json.dumps({"detector": {"version": 4, "digest": "ab", "since": now},
                    "health": {"version": 2, "digest": "cd", "since": now}})
    )  # fmt: skip
    (home / "vision").mkdir()
    conn = sqlite3.connect(home / "vision" / "inspections.db")
    conn.execute(
        "CREATE TABLE inspections (id TEXT PRIMARY KEY, station TEXT NOT NULL, model_id TEXT "
        "NOT NULL, ts REAL NOT NULL, source TEXT NOT NULL, score REAL NOT NULL, verdict TEXT "
        "NOT NULL, review TEXT NOT NULL DEFAULT 'none', label TEXT, reviewed_by TEXT, "
        "reviewed_at REAL)"
    )
    verdicts = ["pass"] * 45 + ["fail"] * 3 + ["uncertain"] * 2
    conn.executemany(
        "INSERT INTO inspections (id, station, model_id, ts, source, score, verdict) "
        "VALUES (?, 'ST-1', 'tiles-v4', ?, 'cam', 0.5, ?)",
        [(f"i{k}", now - 60 * k, v) for k, v in enumerate(verdicts)],
    )
    conn.commit()
    conn.close()


async def _start(up: SiteUplink) -> None:
    up.start()  # on the sites' loop: start() schedules its tasks there


def _health(asset: str, health: float, ts: float) -> dict[str, Any]:
    return {"asset_id": asset, "kind": "pump", "ts": ts, "health": health, "rul": health * 3600,
            "rul_low": health * 1800, "rul_high": health * 7200, "unit": "s",
            "method": "model"}  # fmt: skip


def _alert(i: str, asset: str, severity: str, ts: float) -> dict[str, Any]:
    return {"id": i, "asset_id": asset, "severity": severity, "state": "open", "opened_at": ts,
            "last_active_at": ts, "message": f"{asset} bearing temperature above its learned "
            "range", "signals": [f"{asset}.t"], "peak_score": 0.9}  # fmt: skip


def _produce(up: SiteUplink, clock: Clock, assets: dict[str, float], alerts: int) -> None:
    now = clock()
    up.health([_health(a, h, now) for a, h in assets.items()])
    first = next(iter(assets))
    up.outbox.put_many(
        [("alerts", _alert(f"{up.outbox.site_id}-a{i}", first, "critical" if i == 0 else
          "warning", now), now) for i in range(alerts)]
    )  # fmt: skip


@pytest.fixture
def fleet(tmp_path: Any) -> Iterator[tuple[ServedHub, Sites, Clock, str]]:
    clock = Clock()
    service = CentralService(default_db_url(tmp_path / "hub"), tmp_path / "hub", clock=clock)
    hub = ServedHub(service)
    sites = Sites(hub, clock, tmp_path)
    viewer = service.tokens.create("viewer", label="engineer")
    try:
        yield hub, sites, clock, viewer
    finally:
        sites.close()
        hub.close()
        service.close()


def _fleet_rows(hub: ServedHub, token: str) -> dict[str, dict[str, Any]]:
    r = httpx.get(f"{hub.url}/api/fleet", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return {s["site"]: s for s in r.json()["sites"]}


def _until(what: str, check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_fleet_page_two_sites_lag_stale_drilldown_signin(fleet, page, browser, screenshot):
    hub, sites, clock, viewer = fleet
    t_start = time.monotonic()
    _produce(sites.uplinks["riverside"], clock, {"P-101": 34.0, "P-102": 88.0, "M-301": 97.0}, 3)
    _produce(sites.uplinks["hilltop"], clock, {"C-201": 71.0, "C-202": 92.0}, 1)
    _until(
        "both sites delivered and heartbeating",
        lambda: (
            all(
                r["lag"]["events"] >= 3 and r["heartbeat"]["beats"] > 0 and not r["stale"]
                for r in _fleet_rows(hub, viewer).values()
            )
            and len(_fleet_rows(hub, viewer)) == 2
        ),
    )

    # --- the fleet: two rows with their lag ------------------------------------------
    page.goto(f"{hub.url}/#token={viewer}")
    page.wait_for_selector("#fleet-rows tr[data-site='hilltop']")
    assert "token=" not in page.url  # the token left the address bar
    rows = page.locator("#fleet-rows tr[data-site]")
    assert rows.count() == 2
    for site in ("riverside", "hilltop"):
        row = page.locator(f"#fleet-rows tr[data-site='{site}']")
        lag = row.locator(".lag")
        assert lag.count() == 1 and float(lag.get_attribute("data-p95")) < 30
        assert row.get_attribute("data-stale") == "false"
        assert row.locator(".badge.stale").count() == 0
    river = page.locator("#fleet-rows tr[data-site='riverside']")
    assert "P-101" in river.inner_text()  # the worst asset
    assert "1 critical" in river.inner_text() and "2 warning" in river.inner_text()
    assert "90.0 % of 50" in river.inner_text()  # inspection counts, forwarded as counts only
    assert "detector v4" in river.inner_text()  # from the site's heartbeat

    # --- hilltop's uplink pauses; 120 s pass (injected); riverside keeps beating -------
    hill = sites.uplinks["hilltop"]
    sites.run(hill.pause())
    _produce(hill, clock, {"C-201": 55.0, "C-202": 90.0}, 2)  # queued at the site meanwhile
    clock.offset += PAUSE_S
    _until("riverside's next heartbeat", lambda: not _fleet_rows(hub, viewer)["riverside"]["stale"])
    page.reload()
    page.wait_for_selector("#fleet-rows tr[data-site='hilltop'][data-stale='true']")
    stale_row = page.locator("#fleet-rows tr[data-site='hilltop']")
    assert stale_row.locator(".badge.stale").inner_text() == "stale"
    assert page.locator("#fleet-rows tr[data-site='riverside'] .badge.stale").count() == 0
    assert _fleet_rows(hub, viewer)["hilltop"]["silent_s"] >= 120
    screenshot(page, "hub-fleet")

    # --- it resumes: what waited arrives 121 s late -------------------------------------
    sites.run(_start(hill))
    _until(
        "hilltop's backlog delivered",
        lambda: (
            (r := _fleet_rows(hub, viewer)["hilltop"])["lag"]["p95_s"] >= 120 and not r["stale"]
        ),
    )
    page.reload()
    page.wait_for_selector("#fleet-rows tr[data-site='hilltop'][data-stale='false']")
    lag = page.locator("#fleet-rows tr[data-site='hilltop'] .lag")
    assert float(lag.get_attribute("data-p95")) >= 120
    assert "min" in lag.inner_text()  # "… / 2 min"

    # --- drill down to a site, then an asset -------------------------------------------
    page.click("#fleet-rows tr[data-site='riverside'] a.site-link")
    page.wait_for_selector("#asset-rows tr[data-asset='P-101']")
    assert page.locator("#site-view").is_visible()
    assets = page.locator("#asset-rows tr[data-asset]")
    assert assets.count() == 3
    assert assets.first.get_attribute("data-asset") == "P-101"  # worst health first
    assert page.locator("#site-alerts li[data-alert]").count() == 3
    screenshot(page, "hub-site")
    page.click("#asset-rows tr[data-asset='P-101'] a.asset-link")
    page.wait_for_selector("#asset-view:not([hidden])")
    assert "P-101 at riverside" in page.locator("#asset-title").inner_text()
    assert "34" in page.locator("#asset-summary").inner_text()
    assert page.locator("#asset-alerts li[data-alert]").count() == 3

    # --- no token, then a stale token: the sign-in message ------------------------------
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        fresh = ctx.new_page()
        fresh.goto(f"{hub.url}/")
        fresh.wait_for_selector("#signin:not([hidden])")
        assert "Sign in to see the fleet" in fresh.locator("#signin-msg").inner_text()
        assert fresh.locator("#app").is_hidden()
        screenshot(fresh, "hub-signin")
        fresh.goto(f"{hub.url}/#token=pm_revoked_0000")
        fresh.reload()
        fresh.wait_for_selector("#signin:not([hidden])")
        assert "did not accept your token" in fresh.locator("#signin-msg").inner_text()
        # signing in with the form shows the fleet
        fresh.fill("#token-input", viewer)
        fresh.click("#signin-form button")
        fresh.wait_for_selector("#fleet-rows tr[data-site='riverside']")
    finally:
        ctx.close()
    print(f"hub page browser test body: {time.monotonic() - t_start:.1f} s")
