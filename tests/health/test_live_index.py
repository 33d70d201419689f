"""The live health index means something: smoothing in plant time bounds a one-window dip, the
trend has the right sign, a sensor fault (a data-quality alert) does not lower an asset's
health, a deviation index agrees with the detector, and remaining life comes in operating hours
on a stated basis (the demo's simulated wear read as days, not minutes)."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest

from plantmind.connectors.simulator import PlantSimulator
from plantmind.core.types import SampleBatch
from plantmind.demo.pump import (
    DEMO_TIME_SCALE,
    PUMP_MODEL_CONFIG,
    pump_model,
    simulate_bearing_histories,
)
from plantmind.edge.node import EdgeNode
from plantmind.health.live import (
    ALARM_HEALTH,
    HealthMonitor,
    deviation_health,
    health_trend,
    model_time_basis,
    smooth_step,
)
from plantmind.health.rul import RulModel
from plantmind.health.service import HealthService

T0 = 1_767_600_000.0


# -- the pieces ---------------------------------------------------------------------------------
def test_smoothing_is_in_plant_time_not_in_samples():
    # the same 60 s of a dip, seen as 6 updates of 10 s or 60 of 1 s, moves the index the same
    coarse = fine = 100.0
    for _ in range(6):
        coarse = smooth_step(coarse, 0.0, 10.0, 120.0)
    for _ in range(60):
        fine = smooth_step(fine, 0.0, 1.0, 120.0)
    assert coarse == pytest.approx(fine, rel=1e-9)
    assert coarse == pytest.approx(100.0 * math.exp(-0.5), rel=1e-9)
    assert smooth_step(None, 42.0, 10.0, 120.0) == 42.0
    assert smooth_step(50.0, 0.0, 0.0, 120.0) == 50.0


def test_trend_sign_and_words():
    t = np.arange(0.0, 600.0, 10.0)
    falling = 90.0 - 0.05 * t  # 3 points a minute
    slope, word = health_trend(t, falling, window_s=300.0)
    assert word == "falling" and slope == pytest.approx(-180.0)  # points per hour
    slope, word = health_trend(t, 40.0 + 0.05 * t, window_s=300.0)
    assert word == "rising" and slope > 0
    rng = np.random.default_rng(0)
    slope, word = health_trend(t, 97.0 + rng.normal(0, 0.3, len(t)), window_s=300.0)
    assert word == "stable"
    # on a declared clock (1 plant second = 1440 operating seconds) the rate is per operating hour
    slope, _ = health_trend(t, falling, window_s=300.0, time_scale=1440.0)
    assert slope == pytest.approx(-180.0 / 1440.0)
    assert health_trend(t[:2], falling[:2], window_s=300.0) == (None, None)
    with pytest.raises(ValueError, match="differ in length"):
        health_trend(t, falling[:-1], window_s=300.0)


def test_deviation_health_follows_the_detectors_alarm_point():
    h = deviation_health(np.array([-1.0, 0.0, 0.125, 0.25, 0.5]), range_margin=0.25)
    assert h[0] == h[1] == 100.0
    assert h[3] == pytest.approx(ALARM_HEALTH)  # at the detector's alarm point
    assert 50 < h[2] < 100 and h[4] < 25


def test_bad_settings_are_refused(plant):
    with pytest.raises(ValueError, match="smooth_s"):
        HealthMonitor(plant, smooth_s=0.0)
    with pytest.raises(ValueError, match="trend_window_s"):
        HealthMonitor(plant, trend_window_s=float("nan"))


# -- through the monitor and the node -----------------------------------------------------------
def _signal(plant, asset_id: str, role: str) -> str:
    for s in plant.asset(asset_id).signals:
        if s.role == role or s.id.endswith("." + role):
            return s.id
    raise AssertionError(f"{asset_id} has no {role}")


def _series(monitor_or_service, asset: str, since: float) -> tuple[np.ndarray, ...]:
    st = monitor_or_service.get(asset)
    pts = [p for p in st.history if p[0] >= since]
    return tuple(np.array(col, dtype=float) for col in zip(*pts, strict=True))


def test_one_bad_window_barely_moves_the_smoothed_index(plant):
    """One 10 s cycle far outside the normal range: the raw index collapses for that cycle,
    the smoothed one moves by at most 1 - exp(-10/120) of the dip and comes back."""
    sim = PlantSimulator(plant, seed=3, start_ts=T0)
    mon = HealthMonitor(plant)  # its own ranges: an hour of cycle means, then slow widening
    sid = _signal(plant, "C-201", "discharge_temperature")
    pos = mon.index.signal_position()[sid]
    while sim.now < T0 + 5400:
        mon.observe(sim.step(10))
    before = mon.get("C-201").health
    assert before is not None and before > 90
    dip_at = sim.now
    lo_raw = 100.0
    lows = []
    while sim.now < dip_at + 600:
        batch = sim.step(10)
        if sim.now <= dip_at + 10:  # one window: the reading jumps 40 K
            v = batch.value.copy()
            v[batch.signal == pos] += 40.0
            batch = SampleBatch(batch.signal, batch.ts, v)
        mon.observe(batch)
        st = mon.get("C-201")
        lo_raw = min(lo_raw, st.health_raw)
        lows.append(st.health)
    assert lo_raw < 10  # the raw index saw it
    bound = 100.0 * (1 - math.exp(-10.0 / 120.0))
    assert before - min(lows) <= bound + 1.0  # the smoothed index moved ≤ ~9 points
    assert lows[-1] > 90


def test_a_stuck_sensor_does_not_lower_the_conveyors_health(plant, tmp_path):
    """CV-401's motor current freezes at a value far outside its normal range for 6 min: the
    node raises a data-quality alert, the health service leaves the signal out and the
    conveyor's health stays up, and says which signal was left out. The same stream without
    the node's alerts (the monitor alone) does fall: the exclusion is what keeps it up."""
    sim = PlantSimulator(plant, seed=5, start_ts=T0)
    node = EdgeNode(plant, tmp_path, restore=False)
    service = HealthService(plant, {}).attach(node)
    alone = HealthMonitor(plant)
    sid = _signal(plant, "CV-401", "motor_current")
    pos = node.index.signal_ids.index(sid)
    while sim.now < T0 + 3 * 3600:
        b = sim.step(600)
        node.learn(b)
        alone.observe(b)
    rng = node.detector.normal_range(pos)
    assert rng is not None
    frozen = rng[1] + 3.0 * (rng[1] - rng[0])  # far above the learned range, not moving
    start = sim.now
    before = service.get("CV-401").health
    assert before is not None and before > 90
    seen = []
    while sim.now < start + 900:
        b = sim.step(5)
        if sim.now <= start + 360:
            v = b.value.copy()
            v[b.signal == pos] = frozen
            b = SampleBatch(b.signal, b.ts, v)
        node.ingest(b)
        alone.observe(b)
        st = service.get("CV-401")
        if sim.now <= start + 360:
            seen.append((st.health, [x["signal"] for x in st.excluded_signals]))
    alerts = [a for a in node.store.list_alerts(limit=100, since=None) if a.asset_id == "CV-401"]
    assert alerts and all(a.details.get("category") == "data-quality" for a in alerts)
    assert min(h for h, _ in seen) > 90
    assert any(sid in left for _, left in seen[5:])
    # without the node's alerts, the same frozen reading drags the index down
    _, h_alone, _, _ = _series(alone, "CV-401", start)
    assert h_alone.min() < 30
    node.close()


# -- remaining life in operating hours ----------------------------------------------------------
@pytest.fixture(scope="module")
def small_model(plant) -> RulModel:
    hist = simulate_bearing_histories(plant, n_runs=8, seed=4)
    m = RulModel(dataclasses.replace(PUMP_MODEL_CONFIG, max_iter=60)).fit(hist)
    m.trained_on.update(cycle_s=10.0, asset_kind="centrifugal_pump")
    return m


def _run(plant, model: RulModel, seconds: float) -> HealthMonitor:
    sim = PlantSimulator(plant, seed=9, start_ts=T0)
    mon = HealthMonitor(plant, {"centrifugal_pump": model})
    while sim.now < T0 + seconds:
        mon.observe(sim.step(30))
    return mon


def test_rul_in_hours_on_the_plants_clock(plant, small_model):
    st = _run(plant, small_model, 900).get("P-101")
    assert st.method == "model" and st.unit == "h" and st.rul_basis == "plant operating time"
    cap_h = small_model.config.cap / 3600.0
    assert 0 <= st.rul_low <= st.rul <= st.rul_high <= cap_h + 1e-9
    assert st.horizon == pytest.approx(cap_h / 2)


def test_demo_rul_reads_in_days_on_a_declared_basis(plant, small_model, tmp_path, monkeypatch):
    import plantmind.demo.pump as simulated

    m = copy.copy(small_model)  # shallow: the same trees, a trained_on of its own
    m.trained_on = dict(small_model.trained_on)
    monkeypatch.setattr(simulated, "train_pump_model", lambda p=None, **kw: m)
    model = pump_model(tmp_path, plant)  # what the demo uses: trained_on declares the basis
    scale, basis = model_time_basis(model)
    assert scale == DEMO_TIME_SCALE and "simulated" in basis
    assert model_time_basis(pump_model(tmp_path, plant)) == (scale, basis)  # cached, reloaded
    st = _run(plant, model, 900).get("P-101")
    d = st.to_dict()
    assert d["unit"] == "h" and "simulated" in d["rul_basis"]
    # a healthy pump's life is days on this basis (the plateau is 600 s × 1440 = 10 days),
    # where the simulator's clock alone would have said minutes
    assert 48 < d["rul"] <= 240 + 1e-6 and d["rul_low"] <= d["rul"] <= d["rul_high"]
    raw = _run(plant, small_model, 900).get("P-101")
    assert st.rul == pytest.approx(raw.rul * DEMO_TIME_SCALE, rel=1e-9)


def test_a_bad_time_scale_is_refused(plant, small_model):
    m = copy.copy(small_model)
    m.trained_on = dict(small_model.trained_on, time_scale="fast")
    with pytest.raises(ValueError, match="time_scale must be a number"):
        HealthMonitor(plant, {"centrifugal_pump": m})
    m.trained_on["time_scale"] = -1
    with pytest.raises(ValueError, match="positive"):
        HealthMonitor(plant, {"centrifugal_pump": m})


# -- the demo's hour, replayed offline ----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_hour_health_is_smooth_and_agrees_with_alerts(plant, small_model, tmp_path):
    """The demo's schedule (seed 7, 6 h of history, then the hour of faults) through a node and
    the health service, as ``plantmind demo`` wires them: no index below the alarm level
    without an open equipment alert (M-301 used to read 0 with none open), no sensor fault
    (C-201 drift, CV-401 stuck, M-301 spikes) lowers its asset below 90, and no update moves
    the smoothed index by more than one 10 s cycle's weight."""
    from plantmind.demo.run import DEMO_EPOCH, _live_faults

    history_s = 6 * 3600.0
    sim = PlantSimulator(
        plant, seed=7, start_ts=DEMO_EPOCH, faults=_live_faults(plant, 3600.0, history_s)
    )
    node = EdgeNode(plant, tmp_path, restore=False)
    service = HealthService(plant, {"centrifugal_pump": small_model}).attach(node)
    live0 = DEMO_EPOCH + history_s
    while sim.now < live0:
        node.learn(sim.step(600))
    points: dict[str, list[tuple[float, float, bool]]] = {a: [] for a in node.index.asset_ids}
    while sim.now < live0 + 3600:
        node.ingest(sim.step(1))
        for a, pts in points.items():
            st = service.get(a)
            if st.health is not None and (not pts or pts[-1][0] != st.ts):
                pts.append((float(st.ts), float(st.health), st.alert_consistent))
    node.close()
    step_bound = 100.0 * (1 - math.exp(-10.0 / 120.0)) + 0.5
    for a, pts in points.items():
        h = np.array([p[1] for p in pts])
        assert len(h) > 300, a
        assert np.abs(np.diff(h)).max() <= step_bound, a
        assert all(p[2] for p in pts), f"{a}: health below {ALARM_HEALTH} with no open alert"
    for a in ("C-201", "CV-401", "M-301"):  # only sensor faults in the hour
        assert min(p[1] for p in points[a]) > 90, a
    # the bearing wear still shows: P-101 falls well below the alarm level, then recovers
    p101 = np.array([p[1] for p in points["P-101"]])
    assert p101.min() < 40 and p101[-30:].mean() > 80


def test_a_data_quality_alert_on_a_model_input_holds_the_prediction(plant, small_model):
    """While one of the model's inputs has an open data-quality alert, the remaining life is
    held at its last trusted value (the fault reads as wear otherwise) and the summary says so."""
    from plantmind.core.types import Alert, Severity

    sim = PlantSimulator(plant, seed=9, start_ts=T0)
    open_now: list[Alert] = []
    mon = HealthMonitor(plant, {"centrifugal_pump": small_model}, open_alerts=lambda: open_now)
    while sim.now < T0 + 900:
        mon.observe(sim.step(30))
    held_at = mon.get("P-101").rul
    sid = _signal(plant, "P-101", "vibration_rms")
    assert sid.rsplit(".", 1)[-1] in small_model.used_signals
    pos = mon.index.signal_position()[sid]
    open_now.append(
        Alert("al_1", "riverside", "P-101", sim.now, sim.now, Severity.WARNING, [sid],
              f"{sid} = 9 mm/s, stuck", 0.8, details={"category": "data-quality"})
    )  # fmt: skip
    while sim.now < T0 + 1500:
        b = sim.step(30)
        v = b.value.copy()
        v[b.signal == pos] = 9.0  # a broken vibration transmitter reads far too high
        mon.observe(SampleBatch(b.signal, b.ts, v))
    st = mon.get("P-101")
    assert st.rul == pytest.approx(held_at)
    assert st.health_raw < st.health  # the raw prediction did fall: the hold is what kept it
    assert [x["signal"] for x in st.excluded_signals] == [sid] and "held" in st.note
