"""Confidential signals end to end: an edge node on simulated data with faults on a
confidential signal and on a confidential asset sends through its outbox into an in-process
hub, and the hub's database holds no value of them: no aggregates, no health of the
confidential asset, and alerts whose texts name asset, signal, severity and mechanism only."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from plantmind.central.service import CentralService, default_db_url
from plantmind.connectors.simulator import Fault, PlantSimulator
from plantmind.core.plant import EgressPolicy, Plant, PlantIndex, example_plant_path, parse_plant
from plantmind.edge.service import EdgeService
from plantmind.sync.egress import ConfidentialFilter
from plantmind.sync.forwarder import EmbeddedTransport

SECRET_SIGNAL = "C-201.discharge_pressure"  # confidential itself
SECRET_ASSET = "M-301"  # confidential asset: its signals inherit it
EPOCH = 1_767_571_200.0
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _plant(confidential_values: bool = False) -> Plant:
    doc = yaml.safe_load(example_plant_path().read_text(encoding="utf-8"))
    for site in doc["sites"]:
        for line in site["lines"]:
            for asset in line["assets"]:
                if asset["id"] == SECRET_ASSET:
                    asset["sensitivity"] = "confidential"
                for sig in asset["signals"]:
                    if sig["id"] == SECRET_SIGNAL:
                        sig["sensitivity"] = "confidential"
    doc["egress"]["confidential_values"] = confidential_values
    # only live data is aggregated: ten-minute periods fit several into a short run
    doc["egress"]["aggregate_period_s"] = 600.0
    return parse_plant(yaml.safe_dump(doc, sort_keys=False))


async def _run_site(home: Path, plant: Plant) -> dict[str, set[str]]:
    """History, then live data with a drift on the confidential signal and spikes on the
    confidential asset; returns each confidential signal's readings as alert texts format
    them (``.4g``)."""
    history_s, live_s = 3600.0, 1800.0
    faults = [
        Fault("sensor_drift", "C-201", history_s + 120, 900, signal_id=SECRET_SIGNAL),
        Fault("spikes", SECRET_ASSET, history_s + 1100, 500, signal_id="M-301.vibration_rms"),
    ]
    sim = PlantSimulator(plant, seed=3, start_ts=EPOCH, faults=faults)
    hub = CentralService(default_db_url(home), home)
    edge = EdgeService(
        plant,
        home,
        restore=False,
        transport=EmbeddedTransport(hub.inbox.receive),
        health_models={},
        clock=lambda: sim.now,
    )
    index = edge.node.index
    secret = sorted(index.confidential_signals)
    pos = index.signal_position()
    readings: dict[str, set[str]] = {sid: set() for sid in secret}
    stopped = False
    try:
        while sim.now < EPOCH + history_s:
            edge.learn(sim.step(600))
        edge.start()
        while sim.now < EPOCH + history_s + live_s:
            batch = sim.step(5)
            edge.ingest(batch)
            for sid in secret:
                vals = batch.value[batch.signal == pos[sid]]
                readings[sid].update(f"{v:.4g}" for v in vals)
            await asyncio.sleep(0)
        stopped = True  # stop() closes the service, whatever it returns
        assert await edge.stop(drain_s=30.0)
    finally:
        if not stopped:
            await edge.close()
        hub.close()
    return readings


def _stored(home: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    engine = sa.create_engine(default_db_url(home))
    with engine.connect() as conn:
        events = [
            {"category": c, "data": json.loads(d)}
            for c, d in conn.execute(sa.text("SELECT category, data FROM inbox"))
        ]
        alerts = [
            {"message": m, "data": json.loads(d)}
            for m, d in conn.execute(sa.text("SELECT message, data FROM alerts"))
        ]
    engine.dispose()
    return events, alerts


def test_no_value_of_a_confidential_signal_reaches_the_hub(tmp_path):
    plant = _plant()
    readings = asyncio.run(_run_site(tmp_path, plant))
    secret = set(readings)
    assert SECRET_SIGNAL in secret and "M-301.vibration_rms" in secret  # inherited
    events, alerts = _stored(tmp_path)
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_cat.setdefault(e["category"], []).append(e["data"])

    # aggregates: the others' are there, none of a confidential signal
    agg_signals = {d["signal"] for d in by_cat.get("aggregates", [])}
    assert "C-201.motor_current" in agg_signals
    assert not agg_signals & secret
    # health: derived figures of other assets leave; nothing of the confidential asset
    health_assets = {d["asset_id"] for d in by_cat.get("health", [])}
    assert "P-101" in health_assets and "C-201" in health_assets
    assert SECRET_ASSET not in health_assets

    # the alerts on the confidential signal and asset are there, value-free
    hidden = [
        e
        for e in by_cat.get("alerts", [])
        if e["asset_id"] == SECRET_ASSET or set(e["signals"]) & secret
    ]
    assert {e["asset_id"] for e in hidden} >= {"C-201", SECRET_ASSET}
    ids = sorted(index_ids(plant), key=len, reverse=True)
    # the hub's alert view (its newest state of each alert) is checked like the inbox
    viewed = [a["data"] for a in alerts if a["data"]["asset_id"] in {"C-201", SECRET_ASSET}]
    assert viewed and all(
        a["message"] == a["data"]["message"]
        for a in alerts
        if a["data"]["asset_id"] in {"C-201", SECRET_ASSET}
    )
    for data in hidden + viewed:
        texts = json.dumps([data["message"], data["details"]])
        for ident in ids:  # ids like P-101 carry digits of their own
            texts = texts.replace(ident, "")
        assert not re.search(r"\d", texts), data["message"]
        # every number the stored event carries (ids, which hold digits, taken out first)
        whole = json.dumps({k: v for k, v in data.items() if k != "id"})
        for ident in ids:
            whole = whole.replace(ident, "")
        numbers = set(_NUMBER.findall(whole))
        for sid in secret:
            assert not numbers & readings[sid], (sid, numbers & readings[sid])
        assert "range" not in data["message"] or "learned range" in data["message"]
        assert data["severity"] in data["message"] and data["asset_id"] in data["message"]
    drift = next(e for e in hidden if e["asset_id"] == "C-201")
    assert drift["message"].startswith(f"C-201 {drift['severity']}: {SECRET_SIGNAL} ")
    # and no other event names a confidential signal at all
    for e in events:
        if e["category"] != "alerts":
            text = json.dumps(e["data"])
            assert not any(sid in text for sid in secret), e


def index_ids(plant: Plant) -> set[str]:
    out: set[str] = set()
    for site, line, asset in plant.iter_assets():
        out |= {site.id, line.id, asset.id, *(s.id for s in asset.signals)}
    return out


def _alert(signals: list[str], message: str) -> dict[str, Any]:
    return {
        "id": "al_1",
        "asset_id": "C-201",
        "severity": "critical",
        "signals": signals,
        "message": message,
        "peak_score": 0.93,
        "details": {"contributions": {signals[0]: message}},
    }


def test_the_filter_rule_and_the_opt_in():
    index = PlantIndex.build(_plant())
    text = (
        f"{SECRET_SIGNAL} = 8.731 bar, 0.41 range widths above its learned normal range 5.9–7.4 bar"
    )
    f = ConfidentialFilter(index, EgressPolicy())
    out = f.apply("alerts", _alert([SECRET_SIGNAL], text))
    assert out["message"] == (
        f"C-201 critical: {SECRET_SIGNAL} above its learned range "
        "(values confidential, kept on site)"
    )
    assert out["details"]["contributions"] == {
        SECRET_SIGNAL: f"{SECRET_SIGNAL} above its learned range"
    }
    assert out["peak_score"] == 0.93
    public = _alert(["C-201.motor_current"], "C-201.motor_current = 120 A, spike")
    assert f.apply("alerts", public) is public  # no confidential signal involved
    assert f.apply("aggregates", {"signal": SECRET_SIGNAL, "asset": "C-201"}) is None
    assert f.apply("aggregates", {"signal": "C-201.motor_current"}) is not None
    assert f.apply("health", {"asset_id": "C-201", "health": 90.0}) is not None
    assert f.apply("health", {"asset_id": SECRET_ASSET, "health": 90.0}) is None
    assert f.apply("events", {"message": f"{SECRET_SIGNAL} = 8.7"}) is None
    # a site that opts in sends everything as it is
    opt_in = ConfidentialFilter(index, EgressPolicy(confidential_values=True))
    raw = _alert([SECRET_SIGNAL], text)
    assert opt_in.apply("alerts", raw) is raw
    assert opt_in.apply("aggregates", {"signal": SECRET_SIGNAL}) is not None
    assert index.signal_sensitivity[index.signal_position()["C-201.motor_current"]] == "internal"
