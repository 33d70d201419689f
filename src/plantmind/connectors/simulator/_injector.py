"""Applies validated faults block by block: physical faults become :class:`Effects` on their
asset kind's model, sensor faults rewrite one signal's readings.

Every random choice a fault makes (cavitation's oscillation, spike times and sizes) comes from
its own generator, so a run with faults equals the fault-free run with the same seed everywhere
the faults do not reach.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from plantmind.connectors.simulator._dynamics import Effects, first_tick_at, is_due
from plantmind.connectors.simulator.faults import ResolvedFault

__all__ = ["FaultInjector"]

#: bearing wear at severity 1: vibration ×(1 + 1.75) and +12 °C at the end of the window
WEAR_VIB_GAIN = 1.75
WEAR_HEAT_C = 12.0
#: cavitation: mean head loss, oscillating head loss (per unit of the oscillation's std)
CAV_MEAN_LOSS = 0.05
CAV_SWING_LOSS = 0.10
CAV_VIB_GAIN = 0.4
CAV_RAMP_S = 20.0
VALVE_RAMP_S = 30.0
#: sensor faults, as fractions of the signal's expected span
DRIFT_SPAN = 0.15
SPIKE_SPAN = (0.2, 0.5)
SPIKE_GAP_S = (10.0, 60.0)


def _progress(t: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of the window elapsed at ``t``, and whether ``t`` is inside it."""
    inside = (t >= start) & (t < end)
    return np.clip((t - start) / (end - start), 0.0, 1.0), inside


def _ramp(t: np.ndarray, start: float, end: float, ramp_s: float) -> np.ndarray:
    """0 outside the window, rising to 1 over ``ramp_s`` after the start and falling back over
    ``ramp_s`` before the end, so the whole effect stays inside the ground-truth window."""
    ramp = min(ramp_s, (end - start) / 2.0)
    g = np.clip(np.minimum(t - start, end - t) / ramp, 0.0, 1.0)
    return np.where((t >= start) & (t < end), g, 0.0)


@dataclass
class _Physical:
    fault: ResolvedFault
    asset: int
    rng: np.random.Generator
    #: cavitation oscillation: frequencies (Hz), phases and amplitudes of a sum of sines, with a
    #: slow envelope, so the pressure pulsation is irregular within 0.05–0.3 Hz
    freqs: np.ndarray = field(default_factory=lambda: np.empty(0))
    phases: np.ndarray = field(default_factory=lambda: np.empty(0))
    amps: np.ndarray = field(default_factory=lambda: np.empty(0))
    envelope: tuple[float, float] = (0.0, 0.0)

    def oscillation(self, t: np.ndarray) -> np.ndarray:
        x = (t - self.fault.window.start_ts)[:, None]
        s = np.sin(2.0 * np.pi * self.freqs[None, :] * x + self.phases[None, :]) @ self.amps
        f_env, p_env = self.envelope
        return s * (1.0 + 0.35 * np.sin(2.0 * np.pi * f_env * x[:, 0] + p_env))


@dataclass
class _Sensor:
    fault: ResolvedFault
    col: int
    mid: float
    span: float
    k_start: int
    k_end: int
    spike_ticks: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    spike_size: np.ndarray = field(default_factory=lambda: np.empty(0))
    hold_tick: int = -1
    held: float | None = None


class FaultInjector:
    """Fault effects for the simulator's blocks.

    Parameters
    ----------
    faults
        Validated faults, in the order given by the user.
    seed
        The simulation seed; fault ``i`` draws from its own stream derived from it.
    slots
        Asset id → (asset kind, index of the asset within its kind model).
    signal_pos
        Signal id → column in the readings.
    low, high, per_tick
        Per-signal expected range and samples per tick.
    start_ts, dt
        Time of tick 0 and the tick length.
    """

    def __init__(
        self,
        faults: Sequence[ResolvedFault],
        *,
        seed: int,
        slots: dict[str, tuple[str, int]],
        signal_pos: dict[str, int],
        low: np.ndarray,
        high: np.ndarray,
        per_tick: np.ndarray,
        start_ts: float,
        dt: float,
    ) -> None:
        self.physical: dict[str, list[_Physical]] = {}
        self.sensors: list[_Sensor] = []
        self.dt = dt
        for i, rf in enumerate(faults):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1000 + i,)))
            w = rf.window
            if w.signal_id is None:
                kind, asset = slots[w.asset_id]
                self.physical.setdefault(kind, []).append(self._physical(rf, asset, rng))
            else:
                col = signal_pos[w.signal_id]
                sensor = _Sensor(
                    rf,
                    col,
                    mid=float(low[col] + high[col]) / 2.0,
                    span=float(high[col] - low[col]),
                    k_start=first_tick_at(w.start_ts, start_ts, dt),
                    k_end=first_tick_at(w.end_ts, start_ts, dt),
                )
                self._plan_sensor(sensor, per_tick[col : col + 1], rng, start_ts)
                self.sensors.append(sensor)
        # Stuck readings override whatever else the reading carries, so they go last.
        self.sensors.sort(key=lambda s: s.fault.window.kind == "stuck_sensor")

    @staticmethod
    def _physical(rf: ResolvedFault, asset: int, rng: np.random.Generator) -> _Physical:
        p = _Physical(rf, asset, rng)
        if rf.fault.kind == "cavitation":
            n = 6
            p.freqs = rng.uniform(0.05, 0.3, n)
            p.phases = rng.uniform(0.0, 2.0 * np.pi, n)
            amps = rng.uniform(0.5, 1.0, n)
            p.amps = amps / math.sqrt(float(np.sum(amps**2)) / 2.0)  # unit standard deviation
            p.envelope = (float(rng.uniform(0.005, 0.02)), float(rng.uniform(0.0, 2.0 * np.pi)))
        return p

    @staticmethod
    def _due_from(k: int, per_tick: np.ndarray, step: int) -> int:
        """The nearest tick at or after ``k`` (``step=1``) or before ``k`` (``step=-1``) at which
        the signal is due, or -1 when there is none before."""
        span = math.ceil(1.0 / max(float(per_tick[0]), 1e-9)) + 2
        ticks = np.arange(k, k + step * span, step)
        ticks = ticks[ticks >= 0]
        due = np.flatnonzero(is_due(ticks, per_tick)[:, 0])
        return int(ticks[due[0]]) if due.size else -1

    def _plan_sensor(
        self, s: _Sensor, per_tick: np.ndarray, rng: np.random.Generator, start_ts: float
    ) -> None:
        w = s.fault.window
        if w.kind == "stuck_sensor":
            s.hold_tick = self._due_from(s.k_start - 1, per_tick, -1) if s.k_start > 0 else -1
            if s.hold_tick < 0:
                s.hold_tick = self._due_from(s.k_start, per_tick, 1)
        elif w.kind == "spikes":
            ticks: list[int] = []
            at = w.start_ts + rng.uniform(2.0, 20.0)
            while at < w.end_ts:
                k = self._due_from(first_tick_at(at, start_ts, self.dt), per_tick, 1)
                if k < s.k_end and (not ticks or k > ticks[-1]):
                    ticks.append(k)
                at += rng.uniform(*SPIKE_GAP_S)
            s.spike_ticks = np.asarray(ticks, dtype=np.int64)
            lo, hi = SPIKE_SPAN
            s.spike_size = rng.uniform(lo, hi, len(ticks)) * s.span * s.fault.fault.severity

    def effects(self, kind: str, n_assets: int, t: np.ndarray) -> Effects | None:
        """Physical-fault modifiers for the assets of ``kind`` over block times ``t``."""
        faults = self.physical.get(kind)
        if not faults:
            return None
        t_first, t_end = float(t[0]), float(t[-1]) + self.dt
        active = [
            p for p in faults if p.fault.window.start_ts < t_end and p.fault.window.end_ts > t_first
        ]
        if not active:
            return None
        fx = Effects((len(t), n_assets))
        for p in active:
            w, sev, a = p.fault.window, p.fault.fault.severity, p.asset
            if w.kind == "bearing_wear":
                # Wear accelerates: damage grows with the square of elapsed time.
                u, inside = _progress(t, w.start_ts, w.end_ts)
                wear = np.where(inside, u * u, 0.0)
                fx.vib_mult[:, a] *= 1.0 + WEAR_VIB_GAIN * sev * wear
                fx.heat[:, a] += WEAR_HEAT_C * sev * wear
            elif w.kind == "cavitation":
                g = _ramp(t, w.start_ts, w.end_ts, CAV_RAMP_S) * sev
                # Vapour bubbles collapse at random: broadband vibration on top of the pulsation.
                burst = np.abs(p.rng.standard_normal(len(t)))
                fx.head_loss[:, a] += g * (CAV_MEAN_LOSS + CAV_SWING_LOSS * p.oscillation(t))
                fx.vib_mult[:, a] *= 1.0 + CAV_VIB_GAIN * g
                fx.vib_add[:, a] += g * (0.3 + 0.5 * burst)
            elif w.kind == "valve_closure":
                g = _ramp(t, w.start_ts, w.end_ts, VALVE_RAMP_S)
                fx.valve_close[:, a] = np.maximum(fx.valve_close[:, a], np.minimum(sev, 1.0) * g)
        return fx

    def apply(self, readings: np.ndarray, t: np.ndarray, k0: int) -> None:
        """Corrupt the block's ``readings`` ``(ticks, signals)`` in place; ``k0`` is the index
        of the block's first tick."""
        k1 = k0 + len(t)
        for s in self.sensors:
            kind = s.fault.window.kind
            if kind == "stuck_sensor":
                self._stuck(s, readings, k0, k1)
                continue
            if s.k_end <= k0 or s.k_start >= k1:
                continue
            col = readings[:, s.col]
            if kind == "sensor_drift":
                w = s.fault.window
                u, inside = _progress(t, w.start_ts, w.end_ts)
                col += np.where(inside, DRIFT_SPAN * s.fault.fault.severity * s.span * u, 0.0)
            else:
                here = (s.spike_ticks >= k0) & (s.spike_ticks < k1)
                rows = s.spike_ticks[here] - k0
                # Spikes point away from where the reading sits, so they always stand out.
                sign = np.where(col[rows] < s.mid, 1.0, -1.0)
                col[rows] += sign * s.spike_size[here]
            readings[:, s.col] = col

    @staticmethod
    def _stuck(s: _Sensor, readings: np.ndarray, k0: int, k1: int) -> None:
        if s.held is None and k0 <= s.hold_tick < k1:
            s.held = float(readings[s.hold_tick - k0, s.col])
        lo = max(k0, s.k_start, s.hold_tick + 1)
        hi = min(k1, s.k_end)
        if s.held is not None and lo < hi:
            readings[lo - k0 : hi - k0, s.col] = s.held
