"""The edge page in Chromium, over a real edge service of the example plant served on
127.0.0.1: signals on charts with a time axis (site time) and minute history when zoomed out,
an alert acknowledged with a name and a comment, an inspection reviewed out of the queue, a
question answered with citations and live context, the sign-in message for a missing or stale
token, and a layout without horizontal overflow at 768 px and 390 px. Each state is
screenshotted into docs/screenshots/ for docs/pages.md.

The node is fed before the page opens: three hours of generated readings (written to the store
as minute aggregates), a sensor fault on one signal two hours ago (a data-quality warning,
resolved since), and a fault on two signals of P-101 now (an ongoing critical equipment alert);
the plant's documents are indexed (BM25 only: no embedding model to load) and the inspection
station is trained on generated parts (a tiny model, seconds).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
from playwright.sync_api import expect

from plantmind.core.auth import TokenStore
from plantmind.core.plant import PlantIndex, example_plant_path, load_plant
from plantmind.core.types import Alert, AlertState, SampleBatch, Severity
from plantmind.detect.robust import RobustConfig
from plantmind.edge.service import EdgeService

TZ = ZoneInfo("Europe/Berlin")  # the example plant's site time zone (plant.yaml)


class _Hub:
    """A transport that acknowledges every batch: the uplink forwards, the page shows it."""

    destination = "test-hub"

    def __init__(self) -> None:
        self.events = 0

    async def send(self, batch: Any) -> int:
        self.events += len(batch)
        return int(batch.last)

    async def close(self) -> None:
        return None


def _ticks(
    index: PlantIndex,
    t0: float,
    n: int,
    rng: np.random.Generator,
    bump: dict[str, float] | None = None,
) -> SampleBatch:
    # every signal around the middle of its range, 1 s apart; ``bump`` moves named signals by
    # a share of their range
    mid, span = (index.low + index.high) / 2, index.high - index.low
    sig = np.tile(np.arange(index.n_signals), n)
    ts = np.repeat(t0 + np.arange(n, dtype=float), index.n_signals)
    val = np.tile(mid, n) + rng.normal(0, 0.01, len(sig)) * np.tile(span, n)
    for sid, delta in (bump or {}).items():
        s = index.signal_position()[sid]
        val[sig == s] += delta * span[s]
    return SampleBatch(sig, ts, val)


@dataclass
class Edge:
    url: str
    token: str
    viewer_token: str
    service: EdgeService
    hub: _Hub


def _feed(svc: EdgeService) -> None:
    node, index = svc.node, svc.node.index
    rng = np.random.default_rng(0)
    now = float(int(time.time()))
    t = now - 3 * 3600
    svc.learn(_ticks(index, t, 300, rng))
    t += 300
    fault_at = now - 2 * 3600
    while t < now - 60:
        n = int(min(600, now - 60 - t))
        bump = {"P-101.motor_current": 0.4} if t <= fault_at < t + n else None
        if bump:  # one minute of a stuck-high current reading, then normal again
            k = int(fault_at - t)
            svc.ingest(_ticks(index, t, k, rng))
            svc.ingest(_ticks(index, t + k, 60, rng, bump))
            svc.ingest(_ticks(index, t + k + 60, n - k - 60, rng))
        else:
            svc.ingest(_ticks(index, t, n, rng))
        t += n
    bump = {"P-101.bearing_temperature": 0.5, "P-101.vibration_rms": 0.5}
    svc.ingest(_ticks(index, t, 60, rng, bump))
    node.store.flush()
    assert len(node.tracker.open_alerts()) == 1, "the fault on P-101 must be an open alert"


def _documents(svc: EdgeService) -> None:
    from plantmind.demo.run import index_plant_documents

    info = index_plant_documents(svc.node, svc.plant, example_plant_path())
    assert info["documents"] >= 3 and not info["failed"], info


def _inspection(home: Path, svc: EdgeService) -> None:
    from plantmind.demo.parts import make_part, png_bytes, write_parts
    from plantmind.vision.images import list_images
    from plantmind.vision.train import TrainConfig

    good = home / "good-parts"
    write_parts(good, 20, seed=1, size=(64, 64))
    stations = svc.stations
    cfg = TrainConfig(
        size=32, widths=(4, 8), steps=2, batch_size=4, holdout=0.5, seed=3, auto=False
    )
    stations.train("QS-1", list_images([good]), cfg)
    for k in range(2):  # verdicts as the model gives them
        stations.inspect("QS-1", png_bytes(make_part(20 + k, size=(64, 64))[0]), f"cam/{k}.png")
    model = stations.model("QS-1")
    model.thresholds.review, model.thresholds.fail = 0.0, 2.0  # every part uncertain
    model.save_meta()
    for k, defect in enumerate(("scratch", "pit")):
        part = png_bytes(make_part(30 + k, defect, size=(64, 64))[0])
        assert stations.inspect("QS-1", part, f"cam/review-{k}.png")[0].verdict == "uncertain"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    home = tmp_path_factory.mktemp("edge-page")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLANTMIND_EMBED", "0")  # BM25 only: no embedding model to load
        hub = _Hub()
        plant = load_plant(example_plant_path())
        svc = EdgeService(
            plant, home, restore=False, detector_config=RobustConfig(warmup=100), transport=hub
        )
        _documents(svc)  # first, as the demo does: each alert's causes come from them
        _feed(svc)
        svc.causes.flush(30.0)  # the probable causes are on the alerts before the page opens
        _inspection(home, svc)
        tokens = TokenStore.in_home(home)
        token = tokens.create("operator", label="test operator")
        viewer = tokens.create("viewer", label="wall screen")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        box: dict[str, Any] = {}

        async def serve() -> None:
            try:
                server, task = await svc.serve("127.0.0.1", 0)
                svc.start()  # the uplink forwards to the test hub
                box["server"] = server
                box["port"] = server.servers[0].sockets[0].getsockname()[1]
            finally:
                started.set()
            try:
                await task
            finally:
                await svc.close()

        thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
        thread.start()
        assert started.wait(30) and "port" in box, "the edge API did not start"
        try:
            yield Edge(f"http://127.0.0.1:{box['port']}/", token, viewer, svc, hub)
        finally:
            loop.call_soon_threadsafe(setattr, box["server"], "should_exit", True)
            thread.join(30)
            loop.close()


def _open(page: Any, edge: Edge, token: str | None = None) -> None:
    page.goto(f"{edge.url}#token={token or edge.token}")
    expect(page.locator("#app")).to_be_visible()


def _canvas(page: Any, signal: str) -> Any:
    return page.locator(f'canvas[data-signal="{signal}"]')


def test_signals_are_charted_with_a_time_axis_and_history_when_zoomed_out(
    page: Any, edge: Edge, screenshot: Any
) -> None:
    _open(page, edge)
    temp = _canvas(page, "P-101.bearing_temperature")
    expect(temp).to_have_attribute("data-raw", re.compile(r"^[1-9]\d*$"))
    # the axis counts in the site's time, as the header clock does
    last_ts = edge.service.node.stats.last_ts
    assert last_ts is not None
    clock = datetime.fromtimestamp(last_ts, TZ).strftime("%Y-%m-%d %H:%M:%S")
    expect(page.locator("#clock")).to_have_text(clock)
    ticks = temp.get_attribute("data-ticks") or ""
    assert re.fullmatch(r"(\d\d:\d\d ?){3,}", ticks), ticks
    t0, t1 = float(temp.get_attribute("data-t0") or 0), float(temp.get_attribute("data-t1") or 0)
    assert t1 == last_ts and t1 - t0 == 600
    # the ongoing P-101 alert is shaded up to now; the current alert that ended two hours
    # ago leaves no stripe in the 10-minute window
    (mark,) = json.loads(temp.get_attribute("data-marks") or "[]")
    assert mark[1] == t1 and mark[0] < t1 - 30
    current = _canvas(page, "P-101.motor_current")
    expect(current).to_have_attribute("data-marks", "[]")
    screenshot(page, "edge-overview")
    # zoomed out to a day: the minute aggregates from the store, the old alert shaded
    page.get_by_role("button", name="1 day").click()
    expect(current).to_have_attribute("data-t0", str(int(t1 - 86400)))
    assert int(current.get_attribute("data-buckets") or 0) >= 150  # ~3 h of minutes
    assert len(json.loads(current.get_attribute("data-marks") or "[]")) == 1


def test_an_alert_is_acknowledged_with_a_name_and_a_comment(
    page: Any, edge: Edge, screenshot: Any
) -> None:
    _open(page, edge)
    (alert,) = edge.service.node.tracker.open_alerts()
    card = page.locator(f'.alert[data-alert="{alert.id}"]')
    expect(card).to_contain_text("critical")
    expect(card).to_contain_text("equipment")
    expect(card.locator(".check")).to_contain_text("inspect the equipment")
    # the probable cause from the plant's work orders and the procedure, cited
    expect(card).to_contain_text("Probable cause")
    expect(card).to_contain_text("WO-25-0150")
    expect(card).to_contain_text("P-101_pump_manual.md")
    opened = datetime.fromtimestamp(alert.opened_at, TZ).strftime("%Y-%m-%d %H:%M:%S")
    expect(card.locator(".meta")).to_contain_text(opened)  # site time, not UTC
    # filters: the resolved warning is left out by "open only" and by severity "critical"
    expect(page.locator("#alerts .alert")).to_have_count(2)
    page.locator("#f-open").check()
    expect(page.locator("#alerts .alert")).to_have_count(1)
    page.locator("#f-open").uncheck()
    page.locator("#f-severity").select_option("warning")
    expect(page.locator("#alerts .alert")).to_have_count(1)
    expect(page.locator("#alerts .alert")).to_contain_text("data-quality")
    page.locator("#f-severity").select_option("")
    expect(page.locator("#page-info")).to_have_text("1–2 of 2")
    # no name, no action
    card.locator("input.comment-input").fill("DE bearing hot to the touch, oil dark")
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#alerts-msg")).to_contain_text("Enter your name")
    page.locator("#op-name").fill("Jo Miller")
    card.get_by_role("button", name="Acknowledge").click()
    expect(card.locator(".action")).to_contain_text("Acknowledged by Jo Miller")
    expect(card.locator(".action")).to_contain_text("DE bearing hot to the touch, oil dark")
    expect(card).to_contain_text("acknowledged")
    # stored with the alert, and shown with the action's event in the audit view
    edge.service.node.store.flush()
    stored = edge.service.node.get_alert(alert.id)
    assert stored is not None
    assert [(n["name"], n["comment"]) for n in stored.details["actions"]] == [
        ("Jo Miller", "DE bearing hot to the touch, oil dark")
    ]
    row = page.locator('tr.event[data-kind="alert.acknowledged"]')
    expect(row.locator(".operator")).to_contain_text("Jo Miller", timeout=10_000)
    screenshot(page, "edge-alerts")


def test_an_inspection_review_leaves_the_queue(page: Any, edge: Edge, screenshot: Any) -> None:
    _open(page, edge)
    queue = page.locator("#queue .tile")
    expect(queue).to_have_count(2)
    first = queue.first
    inspection_id = first.get_attribute("data-inspection")
    img = first.locator("img")
    expect(img).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    expect(page.locator("#results .tile")).to_have_count(4)
    screenshot(page, "edge-inspection")
    first.get_by_role("button", name="Good").click()
    expect(page.locator(f'#queue .tile[data-inspection="{inspection_id}"]')).to_have_count(0)
    expect(queue).to_have_count(1)
    done = page.locator(f'#results .tile[data-inspection="{inspection_id}"]')
    expect(done).to_contain_text("reviewed: good by test operator")


def test_a_question_gets_a_cited_answer_with_live_context(
    page: Any, edge: Edge, screenshot: Any
) -> None:
    _open(page, edge)
    page.locator("#ask-asset").select_option("P-101")
    page.locator("#ask-q").fill("P-101 brg temp high, what to check?")
    page.get_by_role("button", name="Ask").click()
    citations = page.locator("#answer .citation")
    expect(citations.first).to_be_visible(timeout=20_000)
    assert "work_orders.csv" in " ".join(citations.all_inner_texts())
    expect(page.locator("#answer")).to_contain_text("Live context: P-101")
    expect(page.locator("#answer .readings")).to_contain_text("Bearing temperature")
    page.locator("#assist-panel").scroll_into_view_if_needed()
    screenshot(page, "edge-assistant")


def test_a_missing_or_stale_token_shows_the_sign_in_message(
    page: Any, edge: Edge, screenshot: Any
) -> None:
    page.goto(edge.url)
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#signin-msg")).to_contain_text("not signed in")
    expect(page.locator("#app")).to_be_hidden()
    screenshot(page, "edge-signin")
    # a token of an earlier run (unknown here)
    page.goto(edge.url + "#token=pm_0badc0de_" + "x" * 43)
    page.reload()  # a change of fragment alone does not load the page again
    expect(page.locator("#signin-msg")).to_contain_text("not accepted")
    # signing in with a current token opens the page; a viewer gets no action buttons
    page.locator("#token-input").fill(edge.viewer_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("wall screen (viewer)")
    expect(page.locator("#alerts .alert").first).to_be_visible()
    expect(page.locator("#alerts .alert button")).to_have_count(0)


@pytest.mark.parametrize(
    ("width", "height", "name"), [(768, 1024, "edge-tablet"), (390, 844, "edge-phone")]
)
def test_the_layout_fits_a_tablet_and_a_phone(
    page: Any, edge: Edge, screenshot: Any, width: int, height: int, name: str
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    _open(page, edge)
    expect(_canvas(page, "P-101.bearing_temperature")).to_have_attribute(
        "data-raw", re.compile(r"^[1-9]")
    )
    expect(page.locator("#results .tile").first).to_be_visible()
    expect(page.locator("tr.event").first).to_be_visible()
    overflow = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], f"horizontal overflow at {width} px: {overflow}"
    box = page.locator("#alerts-panel").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    screenshot(page, name)


def test_alert_text_is_shown_as_text_never_as_markup(page: Any, edge: Edge) -> None:
    # an alert message is data: markup in it must show as characters, run nothing, load nothing
    node = edge.service.node
    (alert,) = node.tracker.open_alerts()
    evil = Alert(
        "al_markup", alert.site_id, "C-201", alert.opened_at - 600, alert.opened_at - 590,
        Severity.WARNING, ["C-201.motor_current"],
        '<img src="//evil.example/x.png" onerror="window.__xss=1"><b>bold</b>', 0.6,
        state=AlertState.RESOLVED, resolved_at=alert.opened_at - 500,
        details={"recommended_check": "<script>window.__xss=2</script>"},
    )  # fmt: skip
    node.store.upsert_alert(evil).result()
    try:
        _open(page, edge)
        card = page.locator('#alerts .alert[data-alert="al_markup"]')
        expect(card.locator(".msgtext")).to_have_text(evil.message)
        expect(card.locator(".check")).to_contain_text("<script>window.__xss=2</script>")
        assert card.locator(".msgtext *, img, script").count() == 0
        assert page.evaluate("() => window.__xss === undefined")
    finally:
        node.store.submit(lambda c: c.execute("DELETE FROM alerts WHERE id = 'al_markup'")).result()
