"""Rotary screw air compressors with load/unload control.

The receiver pressure integrates ``(capacity · loaded − air demand) / volume``: loaded, it rises
to the cut-out pressure and the compressor unloads; unloaded, demand draws it down to the cut-in
pressure and it loads again, so pressure saw-tooths with a period set by the demand. Motor
current and vibration follow the load state within seconds (the inlet valve and the motor's
torque), discharge temperature follows it with the oil's thermal lag (≈3 min). Air demand steps
every 5–20 min and follows the daily demand cycle.

Oil-injected compressors carry bearing friction heat away in the oil, so bearing wear shows up in
the discharge temperature as well as in vibration.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from plantmind.connectors.simulator._base import KindModel, TickBlock
from plantmind.connectors.simulator._dynamics import (
    Effects,
    HoldProcess,
    ar1,
    ar_phi,
    lag,
    lag_alpha,
)

__all__ = ["CompressorModel"]


class CompressorModel(KindModel):
    kind: ClassVar[str] = "air_compressor"
    roles: ClassVar[tuple[str, ...]] = (
        "discharge_pressure",
        "discharge_temperature",
        "motor_current",
        "vibration_rms",
    )
    reference_high: ClassVar[dict[str, float]] = {
        "discharge_pressure": 9.5,
        "motor_current": 160.0,
        "vibration_rms": 6.0,
    }
    noise: ClassVar[dict[str, tuple[float, float]]] = {
        "discharge_pressure": (0.002, 0.002),
        "discharge_temperature": (0.0, 0.002),
        "motor_current": (0.008, 0.002),
        "vibration_rms": (0.04, 0.004),
    }
    nonneg: ClassVar[frozenset[str]] = frozenset(
        {"discharge_pressure", "motor_current", "vibration_rms"}
    )

    CUT_IN_BAR = 7.0
    CUT_OUT_BAR = 7.5
    #: pressure rise rate (bar/s) with the compressor loaded and no demand: receiver volume vs FAD
    RATE_BAR_S = 0.02
    I_LOADED = 112.0
    I_PER_BAR = 28.0  # more pressure ratio, more torque
    I_UNLOADED = 40.0
    VIB_LOADED = 2.0
    VIB_UNLOADED = 1.3
    RISE_UNLOADED_C = 42.0
    RISE_LOADED_C = 22.0
    TAU_LOAD_S = 2.0
    TAU_OIL_S = 180.0

    def __init__(
        self,
        site: np.ndarray,
        line: np.ndarray,
        rng: np.random.Generator,
        params: np.random.Generator,
        dt: float,
        first: TickBlock,
    ) -> None:
        super().__init__(site, line, rng, params, dt, first)
        n = self.n
        self.rate = self.RATE_BAR_S * (1.0 + 0.08 * params.standard_normal(n))
        self.vib_scale = 1.0 + 0.08 * params.standard_normal(n)
        t0 = float(first.t[0])
        level, hold = self._draw(rng.random((2, n)))
        self.demand = HoldProcess(level[None, :], t0 + hold * rng.random(n), self._transition)
        self.pressure = self.CUT_IN_BAR + (self.CUT_OUT_BAR - self.CUT_IN_BAR) * rng.random(n)
        self.loaded = rng.random(n) < level
        self.load_lag = self.loaded.astype(np.float64)
        self.z_demand = rng.standard_normal(n)
        self.z_vib = rng.standard_normal(n)
        self.phi_demand = ar_phi(30.0, dt)
        self.phi_vib = ar_phi(10.0, dt)
        self.a_load = lag_alpha(self.TAU_LOAD_S, dt)
        self.a_oil = lag_alpha(self.TAU_OIL_S, dt)
        amb = self.site_cols(first.ambient)[0]
        self.oil_state = amb + self.RISE_UNLOADED_C + self.RISE_LOADED_C * level

    @staticmethod
    def _draw(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return 0.35 + 0.4 * u[0], 300.0 + 900.0 * u[1]

    def _transition(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        level, hold = self._draw(self.rng.random((2, len(idx))))
        return level[None, :], hold

    def advance(self, block: TickBlock, fx: Effects | None) -> dict[str, np.ndarray]:
        ticks = len(block.t)
        z_demand = ar1(self.rng.standard_normal((ticks, self.n)), self.z_demand, self.phi_demand)
        z_vib = ar1(self.rng.standard_normal((ticks, self.n)), self.z_vib, self.phi_vib)
        self.z_demand, self.z_vib = z_demand[-1], z_vib[-1]
        demand = self.demand.sample(block.t)[0] * self.site_cols(block.demand)
        demand *= 1.0 + 0.05 * z_demand

        # The load/unload hysteresis is the one nonlinear state here; it needs a tick loop, but
        # each step is a handful of vector ops over all compressors.
        pressure = np.empty((ticks, self.n))
        loaded = np.empty((ticks, self.n))
        p, on = self.pressure, self.loaded
        step = self.rate * self.dt
        for k in range(ticks):
            p = p + step * (on - demand[k])
            on = np.where(on, p < self.CUT_OUT_BAR, p <= self.CUT_IN_BAR)
            pressure[k] = p
            loaded[k] = on
        self.pressure, self.loaded = p, on

        load = lag(loaded, self.load_lag, self.a_load)
        self.load_lag = load[-1]
        current = self.I_UNLOADED + load * (
            self.I_LOADED - self.I_UNLOADED + self.I_PER_BAR * (pressure - self.CUT_IN_BAR)
        )
        vib = self.vib_scale * (self.VIB_UNLOADED + (self.VIB_LOADED - self.VIB_UNLOADED) * load)
        vib = vib * (1.0 + 0.03 * z_vib)
        if fx is not None:
            vib = vib * fx.vib_mult + fx.vib_add

        amb = self.site_cols(block.ambient)
        temp = lag(
            amb + self.RISE_UNLOADED_C + self.RISE_LOADED_C * load, self.oil_state, self.a_oil
        )
        self.oil_state = temp[-1]
        heat = self.fault_heat(fx, ticks)
        if heat is not None:
            temp = temp + heat
        return {
            "discharge_pressure": pressure,
            "discharge_temperature": temp,
            "motor_current": current,
            "vibration_rms": vib,
        }
