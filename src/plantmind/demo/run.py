"""``plantmind demo``: the simulated plant monitored by an edge service (built like
``plantmind edge run`` builds it), with its API and page and an in-process hub.

The demo first lets the node learn a stretch of fault-free history at full speed (what a
plant does with its historian when it commissions plantmind), then runs the plant live at the
chosen speed with a fault schedule, and finally scores itself against the simulator's ground
truth: which injected faults raised an alert on the right asset, how late, and how many alerts
came from healthy assets.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from plantmind.central.service import CentralService, default_db_url
from plantmind.connectors.simulator import Fault, FaultWindow, PlantSimulator, demo_fault_schedule
from plantmind.connectors.simulator.faults import SENSOR_FAULT_KINDS
from plantmind.core.auth import TOKEN_FILE, TokenStore
from plantmind.core.plant import Plant, example_plant_path, load_plant
from plantmind.core.types import Alert, Severity
from plantmind.demo.inspection import DemoInspection
from plantmind.demo.pump import pump_model
from plantmind.detect.relationship import RelationshipConfig
from plantmind.edge.service import EdgeService
from plantmind.sync.forwarder import EmbeddedTransport

__all__ = ["DemoConfig", "DemoProgress", "cause_summary", "fault_summary", "run_demo"]

#: Plant time at which the demo's history starts (a Monday, 00:00 UTC): fixed so that a seed
#: gives the same demo every time, daily cycle included.
DEMO_EPOCH = 1_767_571_200.0
DETECTION_GRACE_S = 60.0  # an alert this soon after a fault's end still counts as detecting it
AFTERMATH_S = 300.0  # alerts this soon after a fault's end are its aftermath, not false alerts


@dataclass
class DemoConfig:
    home: Path
    duration_s: float | None = 60.0  # wall-clock seconds of live plant; None = until stopped
    speed: float = 60.0
    seed: int = 7
    history_h: float = 6.0
    host: str = "127.0.0.1"
    port: int | None = 8080  # None: no API server
    plant_path: Path | None = None
    batch_ticks: int = 1
    #: the relationship view on (detect/relationship.py): True, or its configuration
    multivariate: bool | RelationshipConfig = False


@dataclass
class DemoProgress:
    phase: str = "starting"
    sim_ts: float = 0.0
    live_start: float = 0.0
    live_end: float | None = None
    samples: int = 0
    open_alerts: int = 0
    alerts_opened: int = 0
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def fault_summary(
    truth: list[FaultWindow], alerts: list[Alert], live_start: float, live_end: float
) -> dict[str, Any]:
    """Score alerts against the injected faults (see the module docstring)."""
    faults = []
    for w in truth:
        hits = [
            a
            for a in alerts
            if a.asset_id == w.asset_id
            and w.start_ts <= a.opened_at <= w.end_ts + DETECTION_GRACE_S
        ]
        first = min(hits, key=lambda a: a.opened_at) if hits else None
        faults.append(
            {
                "kind": w.kind,
                "asset": w.asset_id,
                "signal": w.signal_id,
                "start": w.start_ts,
                "end": w.end_ts,
                "detected": first is not None,
                "delay_s": round(first.opened_at - w.start_ts, 1) if first else None,
                "alert": first.message if first else None,
                "severity": str(first.severity) if first else None,
                "category": first.details.get("category") if first else None,
                "critical_alerts": sum(a.severity == Severity.CRITICAL for a in hits),
            }
        )
    false = [
        a
        for a in alerts
        if live_start <= a.opened_at <= live_end
        and not any(
            a.asset_id == w.asset_id and w.start_ts <= a.opened_at <= w.end_ts + AFTERMATH_S
            for w in truth
        )
    ]
    hours = max(live_end - live_start, 1.0) / 3600.0
    kinds = sorted({w.kind for w in truth})
    detected_kinds = sorted({str(f["kind"]) for f in faults if f["detected"]})
    return {
        "simulated_hours": round(hours, 3),
        "faults": faults,
        "fault_kinds": kinds,
        "detected_kinds": detected_kinds,
        "faults_detected": sum(f["detected"] for f in faults),
        "false_alerts": len(false),
        "false_alerts_per_hour": round(len(false) / hours, 3),
        # severity that means something: at most one critical alert per equipment fault, none
        # for a sensor fault (drift, stuck, spikes: a data-quality warning)
        "critical_per_equipment_fault_max": max(
            (int(f["critical_alerts"] or 0) for f in faults if f["kind"] not in SENSOR_FAULT_KINDS),
            default=0,
        ),
        "critical_for_sensor_faults": sum(
            int(f["critical_alerts"] or 0) for f in faults if f["kind"] in SENSOR_FAULT_KINDS
        ),
        "false_alert_details": [
            {"asset": a.asset_id, "opened_at": a.opened_at, "message": a.message} for a in false
        ],
    }


def _live_faults(plant: Plant, live_s: float, offset_s: float) -> list[Fault]:
    hour = 3600.0
    faults: list[Fault] = []
    start = 0.0
    # one schedule per simulated hour, so a long demo keeps showing faults
    while start < live_s:
        span = min(hour, live_s - start)
        if span < 900.0 and faults:
            break
        for f in demo_fault_schedule(plant, span):
            faults.append(replace(f, start=f.start + offset_s + start))
        start += hour
    return faults


def cause_summary(alerts: list[Alert]) -> dict[str, Any]:
    """How many alerts got a probable cause from the work orders and a procedure passage
    (``details`` written by :mod:`plantmind.assist.cause`), and the slowest lookup."""
    looked = [a for a in alerts if "cause_lookup" in a.details]
    ms = [float(a.details["cause_lookup"].get("ms") or 0.0) for a in looked]
    return {
        "alerts": len(alerts),
        "looked_up": len(looked),
        "with_work_order": sum(bool(a.details.get("probable_causes")) for a in looked),
        "with_procedure": sum(a.details.get("procedure") is not None for a in looked),
        "lookup_ms_max": round(max(ms), 2) if ms else None,
    }


def index_plant_documents(node: Any, plant: Plant, plant_path: Path) -> dict[str, Any]:
    """Index the plant's document folders (``sites[].documents``, relative to plant.yaml) and
    its sensor sheet in the node's knowledge index, as ``plantmind docs add`` with no path
    would: the assistant answers from the first question, and the embedding model (when
    installed) is loaded here, before the page opens, not on the first question."""
    targets: list[Path] = []
    for site in plant.sites:
        for folder in site.documents:
            f = Path(folder.path)
            targets.append(f if f.is_absolute() else plant_path.parent / f)
    targets.append(plant_path)
    index = node.knowledge
    results = index.add(targets)
    return {
        "documents": len(index.documents()),
        "chunks": index.size,
        "failed": [r.error for r in results if r.status == "failed"],
        "embedder": getattr(index.embedder, "name", None),
    }


async def run_demo(
    cfg: DemoConfig, on_progress: Callable[[DemoProgress], None] | None = None
) -> dict[str, Any]:
    """Run the demo; returns the summary (also what ``--summary-json`` writes)."""
    plant_path = cfg.plant_path or example_plant_path()
    plant = load_plant(plant_path)
    if cfg.port is not None:
        from plantmind.edge.server import check_port

        check_port(cfg.host, cfg.port)  # fail before minutes of history, not after
    if cfg.home.exists():
        for suffix in ("", "-wal", "-shm"):
            for name in ("edge.db", "outbox.db", "central.db"):
                (cfg.home / f"{name}{suffix}").unlink(missing_ok=True)
        (cfg.home / TOKEN_FILE).unlink(missing_ok=True)  # earlier demos' tokens stop working
        # earlier demos' inspection results too: they are stamped in the same simulated hours
        # (one clock for alerts and inspections), so they would mix with this run's
        for suffix in ("", "-wal", "-shm"):
            (cfg.home / "vision" / f"inspections.db{suffix}").unlink(missing_ok=True)
        overlays = cfg.home / "vision" / "overlays"
        if overlays.is_dir():
            for png in overlays.glob("*.png"):
                png.unlink(missing_ok=True)
    cfg.home.mkdir(parents=True, exist_ok=True)
    history_s = cfg.history_h * 3600.0
    # an unbounded demo still needs a finite schedule: a day of faults, then it repeats quietly
    live_s = cfg.duration_s * cfg.speed if cfg.duration_s is not None else 24 * 3600.0
    faults = _live_faults(plant, live_s, history_s)
    sim = PlantSimulator(plant, seed=cfg.seed, start_ts=DEMO_EPOCH, faults=faults)
    # the hub in-process on SQLite, fed through the site's outbox like a remote one would be
    hub = CentralService(default_db_url(cfg.home), cfg.home)
    edge = EdgeService(
        plant,
        cfg.home,
        restore=False,
        transport=EmbeddedTransport(hub.inbox.receive),
        # live health: the pump model is trained on simulated bearing wear (cached in the home)
        health_models={"centrifugal_pump": pump_model(cfg.home, plant)},
        # plant time, the simulator's: the uplink's aggregates and the inspection results, so
        # inspections and alerts share one clock
        clock=lambda: sim.now,
        multivariate=cfg.multivariate,
    )
    node, uplink, health = edge.node, edge.uplink, edge.health
    assert uplink is not None  # a transport was given
    parts = DemoInspection.start(edge, seed=cfg.seed)  # QS-1 on generated parts
    token = TokenStore.in_home(cfg.home).create("admin", label="demo")
    prog = DemoProgress(live_start=DEMO_EPOCH + history_s)
    report = on_progress or (lambda p: None)
    server = task = None
    try:
        # 1. history, at full speed
        prog.phase = "learning history"
        chunk = 600
        while sim.now < prog.live_start:
            n = int(min(chunk, round((prog.live_start - sim.now) / sim.tick_s)))
            batch = sim.step(max(n, 1))
            edge.learn(batch)
            prog.sim_ts = sim.now
            prog.samples += len(batch)
            report(prog)
            await asyncio.sleep(0)
        # 2. the plant's documents, so the assistant answers from the first question
        prog.phase = "indexing documents"
        report(prog)
        knowledge = await asyncio.to_thread(index_plant_documents, node, plant, plant_path)
        # 3. the API, then the live plant
        if cfg.port is not None:
            server, task = await edge.serve(cfg.host, cfg.port)
            port = server.servers[0].sockets[0].getsockname()[1] if server.servers else cfg.port
            prog.url = f"http://{cfg.host}:{port}/"
            prog.extra["page_url"] = f"{prog.url}#token={token}"
        prog.phase = "live"
        edge.start()
        wall0 = time.monotonic()
        sim_live0 = sim.now
        last_report = 0.0
        while True:
            if cfg.duration_s is not None and sim.now - sim_live0 >= live_s:
                break
            batch = sim.step(cfg.batch_ticks)
            edge.ingest(batch)
            parts.tick(sim.now)
            prog.sim_ts = sim.now
            prog.samples += len(batch)
            # pace against the monotonic clock: no drift accumulates over a long demo
            due = (sim.now - sim_live0) / cfg.speed
            delay = due - (time.monotonic() - wall0)
            if delay > 0:
                await asyncio.sleep(delay)
            elif sim.now - last_report > 30:
                await asyncio.sleep(0)
            if sim.now - last_report >= 10 * sim.tick_s:
                last_report = sim.now
                prog.open_alerts = len(node.tracker.open_alerts())
                prog.alerts_opened = node.stats.alerts_opened
                report(prog)
        prog.live_end = sim.now
        prog.phase = "done"
        report(prog)
        rest = node.downsampler.flush()  # the last buckets, so the last period is complete
        if len(rest):
            node.store.write_aggregates(node.index.signal_ids, rest)
        await uplink.finish(sim.now)
        edge.causes.flush()  # the last alerts' probable causes, stored before they are read
        node.store.flush()
        alerts = node.store.list_alerts(limit=100_000, since=None)
        truth = [w for w in sim.ground_truth if w.start_ts < sim.now]
        summary = fault_summary(truth, alerts, prog.live_start, sim.now)
        summary.update(
            {
                "seed": cfg.seed,
                "speed": cfg.speed,
                "wall_seconds": round(time.monotonic() - wall0, 2),
                "history_hours": cfg.history_h,
                "signals": node.index.n_signals,
                "samples_scored": node.stats.samples_scored,
                "multivariate": (
                    node.relationship.status if node.relationship is not None else None
                ),
                "alerts_total": len([a for a in alerts if a.opened_at >= prog.live_start]),
                "home": str(cfg.home),
                "hub": {**hub.counts(), "outbox": uplink.stats()},
                "inspection": parts.summary(),
                "knowledge": knowledge,
                "probable_causes": cause_summary(
                    [a for a in alerts if a.opened_at >= prog.live_start]
                ),
                "health": [s.to_dict() for s in health.snapshot()],
            }
        )
        return summary
    finally:
        if server is not None and task is not None:
            server.should_exit = True
            await task
        parts.close()
        await edge.close()
        hub.close()


def write_summary(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
