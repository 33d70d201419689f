"""``plantmind bench hub-page``: how fast the hub's fleet page first renders for a large fleet.

Seeds a temporary hub store (SQLite by default) with ``sites`` sites × ``assets`` assets ×
``alerts`` alerts per site through the hub's own inbox (the wire format, the projections and
the fleet views, as a site's batches would), plus a health summary per asset, a day of hourly
inspection counts per station and a heartbeat per site; then serves the hub on 127.0.0.1 and
measures, over ``repeats`` rounds:

* ``html``: GET ``/`` (the page's HTML);
* ``fleet``: GET ``/api/fleet`` (the JSON the page renders its rows from);
* ``first_render_server``: the two one after the other, as the page loads them: the server's
  share of the first render;
* ``first_render_chromium`` (when Playwright and a Chromium are installed): navigation to the
  page until its last site row is in the DOM, in headless Chromium.

Each figure is reported as p50/p95 in milliseconds. The fleet is seeded once; nothing of it is
kept afterwards unless ``work`` is given.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from plantmind.central.inbox import Inbox
from plantmind.central.service import CentralService
from plantmind.sync.wire import encode_batch

__all__ = ["ServedHub", "run_hub_page_bench", "seed_fleet"]

SEVERITIES = ("critical", "warning", "warning", "info")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedHub:
    """``service``'s app served by uvicorn on 127.0.0.1 in a daemon thread (benchmarks and
    tests: the caller's thread stays free to drive a browser)."""

    def __init__(self, service: CentralService, port: int | None = None) -> None:
        self.service = service
        self.app = service.app()
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="hub", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the hub did not start on 127.0.0.1:{self.port}")
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class _SiteBatches:
    """One site's events, sent to the inbox in batches of ``size``."""

    def __init__(self, inbox: Inbox, site: str, size: int) -> None:
        self.inbox, self.site, self.size = inbox, site, size
        self.seq = 1
        self.sent = 0
        self.rows: list[tuple[int, str, float, str]] = []

    def add(self, cat: str, ts: float, data: dict[str, Any]) -> None:
        self.rows.append((self.seq, cat, ts, json.dumps(data, separators=(",", ":"))))
        self.seq += 1
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.inbox.receive(encode_batch(self.site, self.rows), "bench")
            self.sent += len(self.rows)
            self.rows = []


def seed_fleet(
    service: CentralService,
    *,
    sites: int = 50,
    assets: int = 200,
    alerts: int = 10_000,
    open_fraction: float = 0.1,
    now: float | None = None,
    seed: int = 0,
    batch_events: int = 10_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Send the fleet's batches and heartbeats into ``service``'s inbox; returns counts and the
    seconds it took. ``alerts`` is per site; ``open_fraction`` of them stay open."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    inbox = service.inbox
    t0 = time.perf_counter()
    n_events = 0
    for s in range(sites):
        site = f"site-{s:03d}"
        out = _SiteBatches(inbox, site, batch_events)
        add = out.add
        for a in range(assets):
            health = rng.uniform(20, 100)
            rul = health * 3600 * rng.uniform(1, 48)
            add("health", now - rng.uniform(1, 30), {
                "asset_id": f"A-{a:03d}", "kind": "pump", "ts": now - 10, "health": round(health, 1),
                "rul": round(rul, 1), "rul_low": round(rul * 0.6, 1), "rul_high": round(rul * 1.5, 1),
                "unit": "s", "method": "model", "failure_probability": round(1 - health / 100, 3),
            })  # fmt: skip
        for i in range(alerts):
            opened = now - rng.uniform(60, 30 * 86400)
            state = "open" if rng.random() < open_fraction else "resolved"
            add("alerts", now - rng.uniform(0.5, 20), {
                "id": f"{site}-al-{i}", "asset_id": f"A-{rng.randrange(assets):03d}",
                "severity": rng.choice(SEVERITIES), "state": state, "opened_at": opened,
                "last_active_at": opened + rng.uniform(0, 3600), "peak_score": rng.random(),
                "message": "bearing temperature above its learned range", "signals": ["t"],
            })  # fmt: skip
        for station in ("ST-1", "ST-2"):
            for h in range(24):
                total = rng.randrange(50, 200)
                failed = rng.randrange(0, total // 10)
                uncertain = rng.randrange(0, total // 20 + 1)
                start = (now // 3600 - h) * 3600
                add("aggregates", start + 3600, {
                    "kind": "inspections", "station": station, "model": "m3", "start": start,
                    "period_s": 3600.0, "total": total, "passed": total - failed - uncertain,
                    "failed": failed, "uncertain": uncertain,
                })  # fmt: skip
        out.flush()
        n_events += out.sent
        inbox.heartbeat(
            {"site": site, "ts": now, "interval_s": 30, "outbox": {"queued": rng.randrange(0, 5),
             "oldest_ts": now - 3}, "last_forwarded": now - 1,
             "models": [{"name": "detector", "version": 3}, {"name": "health", "version": 2}]}
        )  # fmt: skip
        if progress is not None and (s + 1) % 10 == 0:
            progress(f"seeded {s + 1}/{sites} sites ({n_events:,} events)")
    return {"events": n_events, "seed_s": round(time.perf_counter() - t0, 2)}


def _pcts(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=20, method="inclusive") if len(xs) > 1 else [xs[0]] * 19
    return {"p50_ms": round(statistics.median(xs) * 1000, 1), "p95_ms": round(q[18] * 1000, 1)}


def _chromium_times(url: str, token: str, repeats: int, n_sites: int) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    exe = next((p for c in ("chromium", "chromium-browser") if (p := shutil.which(c))), None)
    if exe is None:
        return {"skipped": "no chromium on PATH"}
    times: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            page.goto(f"{url}/#token={token}")  # keeps the token in the tab's sessionStorage
            page.wait_for_selector(f"#fleet-rows tr:nth-child({n_sites})", timeout=30_000)
            for _ in range(repeats):
                t0 = time.perf_counter()
                page.goto(f"{url}/?r={time.time_ns()}")
                page.wait_for_selector(f"#fleet-rows tr:nth-child({n_sites})", timeout=30_000)
                times.append(time.perf_counter() - t0)
        finally:
            browser.close()
    return _pcts(times)


def run_hub_page_bench(
    *,
    sites: int = 50,
    assets: int = 200,
    alerts: int = 10_000,
    repeats: int = 30,
    chromium: bool = True,
    work: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Seed the fleet and time the page (see the module docstring); returns the figures."""
    if min(sites, assets, repeats) < 1 or alerts < 0:
        raise ValueError("sites, assets and repeats must be at least 1, alerts at least 0")
    own = work is None
    home = Path(tempfile.mkdtemp(prefix="pm-hub-page-")) if work is None else Path(work)
    home.mkdir(parents=True, exist_ok=True)
    service = CentralService(f"sqlite:///{home / 'central.db'}", home)
    served: ServedHub | None = None
    try:
        seeded = seed_fleet(service, sites=sites, assets=assets, alerts=alerts, progress=progress)
        token = service.tokens.create("viewer", label="bench")
        served = ServedHub(service)
        headers = {"Authorization": f"Bearer {token}"}
        html: list[float] = []
        fleet: list[float] = []
        first: list[float] = []
        with httpx.Client(base_url=served.url, timeout=30) as c:
            r = c.get("/api/fleet", headers=headers)
            r.raise_for_status()
            rows = len(r.json()["sites"])
            fleet_bytes = len(r.content)
            for _ in range(repeats):
                t0 = time.perf_counter()
                c.get("/").raise_for_status()
                t1 = time.perf_counter()
                c.get("/api/fleet", headers=headers).raise_for_status()
                t2 = time.perf_counter()
                html.append(t1 - t0)
                fleet.append(t2 - t1)
                first.append(t2 - t0)
        out: dict[str, Any] = {
            "sites": sites,
            "assets_per_site": assets,
            "alerts_per_site": alerts,
            "alerts_total": sites * alerts,
            "events_seeded": seeded["events"],
            "seed_s": seeded["seed_s"],
            "db_mb": round((home / "central.db").stat().st_size / 2**20, 1),
            "fleet_rows": rows,
            "fleet_json_kb": round(fleet_bytes / 1024, 1),
            "repeats": repeats,
            "html": _pcts(html),
            "fleet": _pcts(fleet),
            "first_render_server": _pcts(first),
        }
        if chromium:
            out["first_render_chromium"] = _chromium_times(
                served.url, token, max(5, repeats // 3), rows
            )
        return out
    finally:
        if served is not None:
            served.close()
        service.close()
        if own:
            shutil.rmtree(home, ignore_errors=True)
