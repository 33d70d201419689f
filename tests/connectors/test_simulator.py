"""The simulated plant: determinism, physical coupling, normal operating modes, every fault kind
against a fault-free run with the same seed, sample rates, scaling and pacing."""

from __future__ import annotations

import asyncio
import itertools
import time

import numpy as np
import pytest

from plantmind.connectors.simulator import (
    FAULT_KINDS,
    Fault,
    PlantSimulator,
    SimulatorSource,
    demo_fault_schedule,
    scaled_plant,
)
from plantmind.core.plant import Plant, parse_plant
from plantmind.core.types import SampleBatch

SEED = 11
HOUR = 3600


def _matrix(sim: PlantSimulator, batch: SampleBatch) -> np.ndarray:
    """Readings as (ticks, signals); valid when every signal is due every tick."""
    n = sim.index.n_signals
    assert len(batch) % n == 0
    return batch.value.reshape(-1, n)


def _run(plant: Plant, ticks: int, faults: tuple[Fault, ...] = (), seed: int = SEED):
    sim = PlantSimulator(plant, seed=seed, faults=faults)
    return sim, _matrix(sim, sim.step(ticks))


@pytest.fixture(scope="module")
def clean(plant: Plant) -> tuple[PlantSimulator, np.ndarray]:
    """An hour of the example plant without faults."""
    return _run(plant, HOUR)


@pytest.fixture(scope="module")
def two_hours(plant: Plant) -> tuple[PlantSimulator, np.ndarray]:
    return _run(plant, 2 * HOUR, seed=3)


def _col(sim: PlantSimulator, m: np.ndarray, signal_id: str) -> np.ndarray:
    return m[:, sim.index.signal_position()[signal_id]]


def _rising_edges(x: np.ndarray, threshold: float) -> int:
    on = x > threshold
    return int(np.sum(on[1:] & ~on[:-1]))


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_the_same_samples_whatever_the_chunking(plant):
    faults = tuple(demo_fault_schedule(plant))
    whole = PlantSimulator(plant, seed=5, faults=faults).step(HOUR)
    sim = PlantSimulator(plant, seed=5, faults=faults)
    sizes = np.random.default_rng(0).integers(1, 400, 40)
    parts = []
    while sim.ticks_done < HOUR:
        parts.append(sim.step(int(min(sizes[len(parts) % 40], HOUR - sim.ticks_done))))
    chunked = SampleBatch.concat(parts)
    assert np.array_equal(whole.signal, chunked.signal)
    assert np.array_equal(whole.ts, chunked.ts)
    assert np.array_equal(whole.value, chunked.value)


def test_another_seed_gives_other_samples(plant):
    a = PlantSimulator(plant, seed=1).step(100)
    b = PlantSimulator(plant, seed=2).step(100)
    assert np.array_equal(a.ts, b.ts)
    assert not np.allclose(a.value, b.value)


def test_batches_are_time_ordered_and_index_the_plant(plant):
    sim = PlantSimulator(plant, start_ts=1000.0)
    assert sim.now == 1000.0
    b = sim.step(10)
    assert sim.now == 1010.0 and sim.ticks_done == 10
    assert np.all(np.diff(b.ts) >= 0)
    assert b.ts[0] == 1000.0 and b.ts[-1] == 1009.0
    assert len(b) == 10 * sim.index.n_signals
    assert set(b.signal.tolist()) == set(range(sim.index.n_signals))
    assert len(sim.step(0)) == 0
    with pytest.raises(ValueError, match="n_ticks"):
        sim.step(-1)


# --- normal operation --------------------------------------------------------------------------


def test_readings_stay_in_expected_ranges_without_faults(two_hours):
    sim, m = two_hours
    span = sim.index.high - sim.index.low
    tol = 0.01 * span
    low_ok = m.min(axis=0) >= sim.index.low - tol
    high_ok = m.max(axis=0) <= sim.index.high + tol
    ok = low_ok & high_ok
    bad = [s for s, good in zip(sim.index.signal_ids, ok, strict=True) if not good]
    assert bad == []
    # and every signal actually moves
    assert np.all(m.std(axis=0) > 1e-4 * span)


def test_normal_operating_modes_recur_within_two_hours(two_hours):
    sim, m = two_hours
    col = lambda s: _col(sim, m, s)  # noqa: E731
    assert _rising_edges(col("P-102.motor_current"), 20.0) >= 3  # standby pump starts
    assert col("P-101.motor_current").min() > 30.0  # duty pump runs throughout
    assert _rising_edges(col("C-201.motor_current"), 80.0) >= 20  # compressor load cycles
    pressure = col("C-201.discharge_pressure")
    assert np.percentile(pressure, 1) > 6.8 and np.percentile(pressure, 99) < 7.7
    assert _rising_edges(-col("CV-401.belt_speed"), -0.3) >= 2  # conveyor stops
    assert _rising_edges(-col("M-301.spindle_speed"), -200.0) >= 20  # tool and part changes
    # demand changes move the duty pump's flow by tens of m3/h
    flow = col("P-101.flow")
    assert np.percentile(flow, 95) - np.percentile(flow, 5) > 20.0


def test_two_hours_of_history_cover_the_next_hour(plant):
    # Start at 12:30 UTC (13:30 in Berlin), around the daily maximum of the ambient
    # temperature, so the test sees the operating modes rather than the daily cycle.
    sim = PlantSimulator(plant, seed=SEED, start_ts=1_767_600_000.0 + 4.5 * HOUR)
    m = _matrix(sim, sim.step(3 * HOUR))
    history, after = m[: 2 * HOUR], m[2 * HOUR :]
    margin = 0.02 * (sim.index.high - sim.index.low)
    low = np.percentile(history, 0.5, axis=0) - margin
    high = np.percentile(history, 99.5, axis=0) + margin
    outside = ((after < low) | (after > high)).mean(axis=0)
    assert outside.max() < 0.05, dict(zip(sim.index.signal_ids, outside.round(3), strict=True))
    assert outside.mean() < 0.01


def test_flow_pressure_and_current_move_together(two_hours):
    sim, m = two_hours
    flow = _col(sim, m, "P-101.flow")
    pressure = _col(sim, m, "P-101.discharge_pressure")
    current = _col(sim, m, "P-101.motor_current")
    # more demand opens the valve: more flow, lower head on the pump curve, more power
    assert np.corrcoef(flow, pressure)[0, 1] < -0.8
    assert np.corrcoef(flow, current)[0, 1] > 0.6


def test_standby_pump_ramps_up_over_seconds(two_hours):
    sim, m = two_hours
    current = _col(sim, m, "P-102.motor_current")
    flow = _col(sim, m, "P-102.flow")
    starts = np.flatnonzero((current[1:] > 20.0) & (current[:-1] <= 20.0)) + 1
    starts = starts[starts < len(flow) - 30]
    assert starts.size
    for k in starts:
        assert flow[k - 1] < 5.0
        assert flow[k] < 0.8 * flow[k + 20]  # not at full flow on the first second
        assert flow[k + 15] > 100.0  # but there within the soft-start time


# --- faults ------------------------------------------------------------------------------------


def _fault_run(plant, fault: Fault):
    sim, m = _run(plant, HOUR, (fault,))
    return sim, m, slice(int(fault.start), int(fault.start + fault.duration))


def test_stuck_sensor_repeats_the_last_reading_exactly(plant, clean):
    fault = Fault("stuck_sensor", "P-101", 600, 300)
    sim, m, win = _fault_run(plant, fault)
    assert sim.ground_truth[0].signal_id == "P-101.flow"
    x, ref = _col(sim, m, "P-101.flow"), _col(*clean, "P-101.flow")
    assert np.all(x[win] == ref[win.start - 1])
    assert np.unique(ref[win]).size > 100
    assert np.array_equal(x[: win.start], ref[: win.start])
    assert np.array_equal(x[win.stop :], ref[win.stop :])


def test_sensor_drift_grows_over_the_window(plant, clean):
    fault = Fault("sensor_drift", "C-201", 600, 480)
    sim, m, win = _fault_run(plant, fault)
    sid = sim.ground_truth[0].signal_id
    assert sid == "C-201.discharge_pressure"
    offset = (_col(sim, m, sid) - _col(*clean, sid))[win]
    span = 9.5
    assert abs(offset[:60].mean()) < 0.03 * span
    assert offset[-60:].mean() > 0.12 * span
    assert np.all(np.diff(offset) >= 0)


def test_spikes_are_isolated_large_jumps(plant, clean):
    fault = Fault("spikes", "M-301", 600, 360)
    sim, m, win = _fault_run(plant, fault)
    sid = sim.ground_truth[0].signal_id
    assert sid == "M-301.vibration_rms"
    diff = _col(sim, m, sid) - _col(*clean, sid)
    hits = np.flatnonzero(diff)
    assert 360 / 60 <= hits.size <= 360 / 10 + 1
    assert np.all((hits >= win.start) & (hits < win.stop))
    assert np.all(np.diff(hits) > 1)  # single samples
    assert np.all(np.abs(diff[hits]) >= 0.2 * 3.5 * 0.999)


def test_bearing_wear_raises_vibration_and_temperature_until_repair(plant, clean):
    fault = Fault("bearing_wear", "P-101", 300, 900)
    sim, m, win = _fault_run(plant, fault)
    vib, vib0 = _col(sim, m, "P-101.vibration_rms"), _col(*clean, "P-101.vibration_rms")
    temp = _col(sim, m, "P-101.bearing_temperature")
    temp0 = _col(*clean, "P-101.bearing_temperature")
    early = slice(win.start, win.start + 120)
    late = slice(win.stop - 120, win.stop)
    assert vib[early].mean() / vib0[early].mean() < 1.1  # progressive, not a step
    assert vib[late].mean() / vib0[late].mean() > 2.2
    assert (temp - temp0)[late].mean() > 6.0
    assert np.array_equal(vib[win.stop :], vib0[win.stop :])  # repaired at the window's end
    assert np.array_equal(_col(sim, m, "P-101.flow"), _col(*clean, "P-101.flow"))


def test_cavitation_makes_pressure_and_flow_pulsate(plant, clean):
    fault = Fault("cavitation", "P-101", 900, 360)
    sim, m, win = _fault_run(plant, fault)
    inner = slice(win.start + 30, win.stop - 30)
    for sid in ("P-101.discharge_pressure", "P-101.flow", "P-101.motor_current"):
        x, ref = _col(sim, m, sid), _col(*clean, sid)
        # step-to-step changes: the 0.05-0.3 Hz pulsation, not the slower demand changes
        assert np.diff(x[inner]).std() > 2.5 * np.diff(ref[inner]).std(), sid
    flow, flow0 = _col(sim, m, "P-101.flow"), _col(*clean, "P-101.flow")
    assert flow[inner].mean() < flow0[inner].mean()
    vib, vib0 = _col(sim, m, "P-101.vibration_rms"), _col(*clean, "P-101.vibration_rms")
    assert vib[inner].mean() > vib0[inner].mean() + 0.5


def test_valve_closure_lowers_flow_and_current_and_raises_pressure(plant, clean):
    fault = Fault("valve_closure", "P-101", 900, 360)
    sim, m, win = _fault_run(plant, fault)
    closed = slice(win.start + 60, win.stop - 30)
    col = lambda s: (_col(sim, m, s)[closed].mean(), _col(*clean, s)[closed].mean())  # noqa: E731
    flow, flow0 = col("P-101.flow")
    pressure, pressure0 = col("P-101.discharge_pressure")
    current, current0 = col("P-101.motor_current")
    vib, vib0 = col("P-101.vibration_rms")
    assert flow < 0.5 * flow0
    assert pressure > pressure0 + 0.5
    assert current < current0 - 5.0
    assert vib > vib0 + 0.3


def test_sensor_faults_touch_only_their_signal(plant, clean):
    faults = tuple(f for f in demo_fault_schedule(plant) if f.signal_id is not None)
    sim, m = _run(plant, HOUR, faults)
    touched = {sim.index.signal_position()[f.signal_id] for f in faults}
    untouched = [i for i in range(sim.index.n_signals) if i not in touched]
    assert np.array_equal(m[:, untouched], clean[1][:, untouched])
    assert all(not np.array_equal(m[:, i], clean[1][:, i]) for i in touched)


def test_fault_on_a_slow_signal_lands_on_its_samples():
    plant = _rates_plant()
    faults = (
        Fault("stuck_sensor", "X-1", 20, 40, signal_id="X-1.slow"),
        Fault("spikes", "X-1", 100, 200, signal_id="X-1.slow"),
    )
    sim = PlantSimulator(plant, seed=1, faults=faults)
    ref = PlantSimulator(plant, seed=1)
    b, b0 = sim.step(400), ref.step(400)
    pos = sim.index.signal_position()["X-1.slow"]
    sel, sel0 = b.signal == pos, b0.signal == pos
    x, x0, ts = b.value[sel], b0.value[sel0], b.ts[sel] - sim.start_ts
    stuck = (ts >= 20) & (ts < 60)
    assert np.all(x[stuck] == x0[ts == 15][0])
    spikes = np.flatnonzero((x != x0) & (ts >= 100))
    assert spikes.size >= 3 and np.all(ts[spikes] < 300)


# --- ground truth and the demo schedule ---------------------------------------------------------


def test_ground_truth_matches_the_schedule(plant):
    faults = demo_fault_schedule(plant)
    sim = PlantSimulator(plant, start_ts=5000.0, faults=faults)
    assert len(sim.ground_truth) == len(faults)
    for f, w in zip(faults, sim.ground_truth, strict=True):
        assert (w.kind, w.asset_id) == (f.kind, f.asset_id)
        assert w.start_ts == 5000.0 + f.start and w.end_ts == 5000.0 + f.start + f.duration
        assert w.signal_id == f.signal_id
        assert w.to_dict()["end_ts"] == w.end_ts


def _check_schedule(faults: list[Fault], duration_s: float) -> None:
    assert sorted(f.kind for f in faults) == sorted(FAULT_KINDS)
    for f in faults:
        assert f.start >= 0 and f.start + f.duration <= duration_s - 180 * min(1, duration_s / HOUR)
    by_asset: dict[str, list[Fault]] = {}
    for f in faults:
        by_asset.setdefault(f.asset_id, []).append(f)
    for fs in by_asset.values():
        fs.sort(key=lambda f: f.start)
        assert all(a.start + a.duration <= b.start for a, b in itertools.pairwise(fs))
    edges = sorted([(f.start, 1) for f in faults] + [(f.start + f.duration, -1) for f in faults])
    assert max(np.cumsum([d for _, d in edges])) <= 2


def test_demo_schedule_covers_every_kind_without_overlap(plant):
    faults = demo_fault_schedule(plant)
    _check_schedule(faults, HOUR)
    assert min(f.start for f in faults) >= 240
    assert all(f.duration >= 240 for f in faults)
    PlantSimulator(plant, faults=faults)  # valid for the simulator
    for duration in (1800.0, 2 * HOUR, 24 * HOUR):
        _check_schedule(demo_fault_schedule(plant, duration), duration)


def test_demo_schedule_on_a_scaled_plant():
    big = scaled_plant(2000)
    faults = demo_fault_schedule(big)
    _check_schedule(faults, HOUR)
    assert all(f.asset_id.startswith("L0000.") for f in faults)
    PlantSimulator(big, faults=faults)


def test_demo_schedule_needs_a_pump():
    no_pump = parse_plant(
        """
name: no pumps
sites:
  - id: s
    name: S
    lines:
      - id: l
        name: L
        assets:
          - id: C-1
            name: Compressor
            kind: air_compressor
            signals:
              - {id: C-1.p, name: p, unit: bar, expected_range: [0, 9.5], sample_rate_hz: 1,
                 role: discharge_pressure}
          - id: M-1
            name: Spindle
            kind: cnc_spindle
            signals:
              - {id: M-1.v, name: v, unit: mm/s, expected_range: [0, 3.5], sample_rate_hz: 1,
                 role: vibration_rms}
"""
    )
    with pytest.raises(ValueError, match=r"the plant has no .+ asset free for \w+"):
        demo_fault_schedule(no_pump)
    with pytest.raises(ValueError, match="duration_s"):
        demo_fault_schedule(no_pump, 0)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault("cavitation", "P-999", 0, 10), "unknown asset 'P-999'"),
        (Fault("spikes", "P-101", 0, 10, signal_id="P-101.nope"), "unknown signal 'P-101.nope'"),
        (Fault("spikes", "P-101", 0, 10, signal_id="C-201.vibration_rms"), "on asset 'P-101'"),
        (Fault("cavitation", "C-201", 0, 10), "does not apply to asset kind 'air_compressor'"),
        (Fault("valve_closure", "M-301", 0, 10), "does not apply to asset kind 'cnc_spindle'"),
        (Fault("bearing_wear", "CV-401", 0, 10), "does not apply to asset kind 'belt_conveyor'"),
        (Fault("bearing_wear", "P-101", -1, 10), "start must be >= 0"),
        (Fault("bearing_wear", "P-101", 0, 0), "duration must be > 0"),
        (Fault("bearing_wear", "P-101", 0, -5), "duration must be > 0"),
        (Fault("bearing_wear", "P-101", float("nan"), 5), "start must be a finite"),
        (Fault("bearing_wear", "P-101", 0, 10, severity=0), "severity must be > 0"),
        (Fault("melting", "P-101", 0, 10), "unknown fault kind 'melting'"),  # type: ignore[arg-type]
        (Fault("bearing_wear", "P-101", 0, 10, signal_id="P-101.flow"), "only for sensor faults"),
    ],
)
def test_invalid_faults_are_refused_with_the_reason(plant, fault, message):
    with pytest.raises(ValueError, match=message) as info:
        PlantSimulator(plant, faults=[Fault("spikes", "P-101", 0, 10), fault])
    assert "fault #1" in str(info.value)


def test_invalid_settings_are_refused(plant):
    with pytest.raises(ValueError, match="tick_s"):
        PlantSimulator(plant, tick_s=0)


@pytest.mark.parametrize(
    ("kind", "asset", "signal"),
    [
        ("sensor_drift", "P-101", "P-101.discharge_pressure"),
        ("sensor_drift", "M-301", "M-301.spindle_temperature"),
        ("sensor_drift", "CV-401", "CV-401.motor_temperature"),
        ("stuck_sensor", "P-102", "P-102.flow"),
        ("stuck_sensor", "C-201", "C-201.motor_current"),
        ("stuck_sensor", "M-301", "M-301.spindle_load"),
        ("spikes", "C-201", "C-201.vibration_rms"),
        ("spikes", "CV-401", "CV-401.motor_current"),
    ],
)
def test_sensor_faults_default_to_a_fitting_signal(plant, kind, asset, signal):
    sim = PlantSimulator(plant, faults=[Fault(kind, asset, 0, 10)])
    assert sim.ground_truth[0].signal_id == signal


# --- sample rates, other plants, scale ----------------------------------------------------------


def _rates_plant() -> Plant:
    return parse_plant(
        """
name: rates
sites:
  - id: s
    name: S
    lines:
      - id: l
        name: L
        assets:
          - id: X-1
            name: Mystery machine
            kind: mystery_machine
            signals:
              - {id: X-1.slow, name: slow, unit: bar, expected_range: [2, 4], sample_rate_hz: 0.2}
              - {id: X-1.fast, name: fast, unit: bar, expected_range: [-5, 5], sample_rate_hz: 50}
              - {id: X-1.third, name: third, unit: "%", expected_range: [0, 100],
                 sample_rate_hz: 0.3333333333}
          - id: P-9
            name: Pump with an extra sensor
            kind: centrifugal_pump
            signals:
              - {id: P-9.flow, name: flow, unit: m3/h, expected_range: [0, 26], sample_rate_hz: 1,
                 role: flow}
              - {id: P-9.seal, name: seal, unit: degC, expected_range: [20, 30], sample_rate_hz: 1,
                 role: seal_temperature}
"""
    )


def test_sample_rates_below_the_tick_rate_are_respected():
    sim = PlantSimulator(_rates_plant(), start_ts=0.0)
    b = sim.step(30)
    pos = sim.index.signal_position()
    ts = {sid: b.ts[b.signal == i] for sid, i in pos.items()}
    assert ts["X-1.slow"].tolist() == [0, 5, 10, 15, 20, 25]
    assert ts["X-1.third"].tolist() == list(range(0, 30, 3))
    assert ts["X-1.fast"].tolist() == list(range(30))  # at most one sample per tick
    assert np.all(np.diff(b.ts) >= 0)
    half = PlantSimulator(_rates_plant(), start_ts=0.0, tick_s=0.5).step(20)
    flow = half.ts[half.signal == pos["P-9.flow"]]
    assert flow.tolist() == [float(s) for s in range(10)]  # 1 Hz on 0.5 s ticks


def test_unknown_kinds_and_roles_wander_inside_their_range():
    sim = PlantSimulator(_rates_plant(), seed=2)
    b = sim.step(7200)
    for i, sid in enumerate(sim.index.signal_ids):
        x = b.value[b.signal == i]
        low, high = sim.index.low[i], sim.index.high[i]
        assert low <= x.min() and x.max() <= high, sid
        assert x.std() > 0.01 * (high - low), sid
    # a known role on a smaller pump is scaled to that pump's range
    flow = b.value[b.signal == sim.index.signal_position()["P-9.flow"]]
    assert 10.0 < flow.mean() < 22.0


def test_scaled_plant_has_ten_thousand_unique_signals_and_simulates():
    t0 = time.perf_counter()
    big = scaled_plant(10_000)
    build_s = time.perf_counter() - t0
    ids = [s.id for _, _, a in big.iter_assets() for s in a.signals]
    assert len(ids) >= 10_000 and len(set(ids)) == len(ids)
    assert "L0042.P-101.flow" in ids
    assert build_s < 4.0  # about 0.15 s on a laptop; loose for slow CI machines
    sim = PlantSimulator(big, seed=1)
    t0 = time.perf_counter()
    b = sim.step(100)
    gen_s = time.perf_counter() - t0
    assert len(b) == 100 * len(ids)
    assert len(b) / gen_s > 1_000_000  # ≥ 10 M/s measured; loose for slow CI machines
    m = b.value.reshape(100, -1)
    span = sim.index.high - sim.index.low
    assert np.all(m.min(axis=0) >= sim.index.low - 0.05 * span)
    assert np.all(m.max(axis=0) <= sim.index.high + 0.05 * span)


# --- streaming ----------------------------------------------------------------------------------


async def test_stream_paces_to_the_requested_speed(plant):
    sim = PlantSimulator(plant)
    t0 = time.monotonic()
    batches = [b async for b in sim.stream(speed=10.0, duration_s=3.0)]
    wall = time.monotonic() - t0
    assert len(batches) == 3
    assert 0.25 <= wall < 1.0  # 3 simulated seconds at 10x
    assert sim.now == sim.start_ts + 3.0


async def test_stream_without_speed_stops_after_duration(plant):
    sim = PlantSimulator(plant)
    sizes = [len(b) // sim.index.n_signals async for b in sim.stream(batch_ticks=7, duration_s=100)]
    assert sum(sizes) == 100 and sizes[-1] == 100 % 7
    with pytest.raises(ValueError, match="batch_ticks"):
        async for _ in sim.stream(batch_ticks=0):
            pass


async def test_stream_yields_to_the_event_loop(plant):
    sim = PlantSimulator(plant)
    ticks = 0

    async def other() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    async for _ in sim.stream(duration_s=50):
        pass
    task.cancel()
    assert ticks >= 40


async def test_simulator_source_counts_and_closes(plant):
    source = SimulatorSource(PlantSimulator(plant), batch_ticks=5, duration_s=50)
    assert source.name == "simulator"
    n = 0
    async for batch in source.batches():
        n += 1
        if n == 3:
            await source.close()
        assert len(batch) == 5 * source.simulator.index.n_signals
    assert n == 3
    diag = source.diagnostics()
    assert diag["batches"] == 3 and diag["samples"] == 15 * source.simulator.index.n_signals
