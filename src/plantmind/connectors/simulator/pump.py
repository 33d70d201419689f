"""Centrifugal pumps: hydraulic operating point, motor current, vibration and bearing heat.

Physics (per pump, rated speed ``n = 1``):

* pump curve ``H = H0 n² - A Q²`` against the system curve ``H = HS + k(v) Q²`` with
  ``k(v) = K_PIPE + K_VALVE / v²`` for a discharge valve ``v`` open; solving gives the operating
  point in closed form, so flow, pressure and current always move together;
* shaft power ``ρ g Q H / η(Q) + losses``, with the efficiency peaking at the best-efficiency
  point (BEP, which moves with speed by the affinity laws);
* motor current: magnetising current in quadrature with the active current, plus an
  acceleration current while a soft start ramps the speed;
* vibration grows with speed² and with the distance from BEP (recirculation, radial thrust);
* bearing temperature: a slow first-order lag (≈17 min) toward ambient plus a load-dependent
  rise; fault heating passes through a fast local lag (the RTD sits at the race).

Pumps on one line share its demand. The first pump of a line is the duty pump and runs
continuously; the others are standby pumps that run during high-demand phases (8–20 min) and
stop during low-demand phases (2–6 min). Each pump is modelled on its own branch (no shared
header), which keeps the operating point closed-form.
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

__all__ = ["PumpModel"]


class PumpModel(KindModel):
    kind: ClassVar[str] = "centrifugal_pump"
    roles: ClassVar[tuple[str, ...]] = (
        "vibration_rms",
        "bearing_temperature",
        "motor_current",
        "discharge_pressure",
        "flow",
    )
    reference_high: ClassVar[dict[str, float]] = {
        "vibration_rms": 4.5,
        "motor_current": 90.0,
        "discharge_pressure": 6.5,
        "flow": 260.0,
    }
    noise: ClassVar[dict[str, tuple[float, float]]] = {
        "vibration_rms": (0.04, 0.004),
        "bearing_temperature": (0.0, 0.002),
        "motor_current": (0.01, 0.002),
        "discharge_pressure": (0.003, 0.002),
        "flow": (0.01, 0.002),
    }
    nonneg: ClassVar[frozenset[str]] = frozenset(
        {"vibration_rms", "motor_current", "discharge_pressure", "flow"}
    )

    # Hydraulics: metres of head, m3/h of flow. A 45 kW cooling-water pump, BEP 180 m3/h at 45 m.
    H0 = 58.0
    A = 4.0e-4
    HS = 15.0
    K_PIPE = 4.0e-4
    K_VALVE = 2.7e-4
    Q_BEP = 180.0
    ETA_MAX = 0.82
    W_PER_M4H = 1000.0 * 9.81 / 3600.0  # ρ g / 3600: watts per (m3/h · m)
    LOSS_W = 1500.0
    BAR_PER_M = 0.0981
    P_SUCTION_BAR = 0.2
    # Motor: 400 V, cos φ 0.86, efficiency 0.93 → watts per ampere of active current.
    W_PER_A = 1.732 * 400.0 * 0.86 * 0.93
    I_MAG = 25.0
    I_ACCEL = 30.0
    VIB_BEP = 1.25
    VIB_OFF_BEP = 1.76
    VIB_FLOOR = 0.06
    RISE_C = 16.0
    RISE_PER_KW = 0.3
    VALVE_MIN = 0.25
    VALVE_CLOSED = 0.10
    TAU_SPEED_S = 2.5  # soft start: 95 % speed after ≈7.5 s
    TAU_VALVE_S = 4.0
    TAU_THERMAL_S = 1000.0

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
        _, first_of_group, self.group = np.unique(self.line, return_index=True, return_inverse=True)
        self.duty = np.zeros(n, dtype=bool)
        self.duty[first_of_group] = True
        n_groups = len(first_of_group)
        self.h0 = self.H0 * (1.0 + 0.015 * params.standard_normal(n))
        self.vib0 = self.VIB_BEP * (1.0 + 0.08 * params.standard_normal(n))
        self.rise = self.RISE_C * (1.0 + 0.05 * params.standard_normal(n))

        t0 = float(first.t[0])
        self._phase = (rng.random(n_groups) < 0.7).astype(np.float64)
        level, hold = self._draw(self._phase, rng.random((2, n_groups)))
        self.groups = HoldProcess(
            np.vstack([self._phase, level]), t0 + hold * rng.random(n_groups), self._transition
        )
        self.a_speed = lag_alpha(self.TAU_SPEED_S, dt)
        self.a_valve = lag_alpha(self.TAU_VALVE_S, dt)
        self.a_thermal = lag_alpha(self.TAU_THERMAL_S, dt)
        self.phi_demand = ar_phi(60.0, dt)
        self.phi_vib = ar_phi(10.0, dt)
        self.z_demand = rng.standard_normal(n)
        self.z_vib = rng.standard_normal(n)

        run = np.where(self.duty, 1.0, self._phase[self.group])
        self.speed = run.copy()
        amb = self.site_cols(first.ambient)[0]
        demand = self.site_cols(first.demand)[0]
        self.valve = np.clip(level[self.group] * demand, self.VALVE_MIN, 1.0)
        # Start warm: the bearing at the temperature it settles to while running, a little cooler
        # for standby pumps, so the first hours carry no warm-up transient.
        _, _, power, _ = self._hydraulics(np.ones(n), self.valve, 0.0)
        self.temp = amb + self.rise + self.RISE_PER_KW * power / 1000.0 - 2.0 * ~self.duty

    @staticmethod
    def _draw(phase: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        high = phase > 0.5
        level = np.where(high, 0.72 + 0.28 * u[0], 0.45 + 0.23 * u[0])
        hold = np.where(high, 480.0 + 720.0 * u[1], 120.0 + 240.0 * u[1])
        return level, hold

    def _transition(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        phase = 1.0 - self._phase[idx]
        self._phase[idx] = phase
        level, hold = self._draw(phase, self.rng.random((2, len(idx))))
        return np.vstack([phase, level]), hold

    def _hydraulics(
        self, speed: np.ndarray, valve: np.ndarray, head_loss: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Operating point: flow (m3/h), head (m), shaft power (W), relative distance from BEP."""
        keep = 1.0 - np.asarray(head_loss)
        k = self.K_PIPE + self.K_VALVE / (valve * valve)
        shutoff = self.h0 * speed * speed * keep
        flow = np.sqrt(np.maximum(shutoff - self.HS, 0.0) / (self.A * keep + k))
        head = self.HS + k * flow * flow
        bep = self.Q_BEP * np.maximum(speed, 0.05)
        rel = np.where(speed > 0.05, (flow - bep) / bep, 0.0)
        eta = self.ETA_MAX * np.clip(1.0 - rel * rel, 0.3, 1.0)
        power = self.W_PER_M4H * flow * head / eta + self.LOSS_W * speed**3
        return flow, head, power, rel

    def advance(self, block: TickBlock, fx: Effects | None) -> dict[str, np.ndarray]:
        ticks = len(block.t)
        g = self.groups.sample(block.t)
        phase, level = g[0][:, self.group], g[1][:, self.group]
        run = np.where(self.duty[None, :], 1.0, phase)

        z_demand = ar1(self.rng.standard_normal((ticks, self.n)), self.z_demand, self.phi_demand)
        z_vib = ar1(self.rng.standard_normal((ticks, self.n)), self.z_vib, self.phi_vib)
        self.z_demand, self.z_vib = z_demand[-1], z_vib[-1]

        target = level * self.site_cols(block.demand) * (1.0 + 0.02 * z_demand)
        target = np.clip(target, self.VALVE_MIN, 1.0)
        if fx is not None:
            target += (self.VALVE_CLOSED - target) * np.clip(fx.valve_close, 0.0, 1.0)
        valve = lag(target, self.valve, self.a_valve)
        speed = lag(run, self.speed, self.a_speed)
        accel = np.diff(speed, axis=0, prepend=self.speed[None, :]) * (self.TAU_SPEED_S / self.dt)
        self.valve, self.speed = valve[-1], speed[-1]

        head_loss = fx.head_loss if fx is not None else 0.0
        flow, head, power, rel = self._hydraulics(speed, valve, head_loss)
        active = power / self.W_PER_A
        current = np.hypot(self.I_MAG * run, active) + self.I_ACCEL * np.clip(accel, 0.0, 1.0)

        n2 = speed * speed
        vib = n2 * self.vib0 * (1.0 + self.VIB_OFF_BEP * rel * rel) * (1.0 + 0.03 * z_vib)
        vib += self.VIB_FLOOR
        if fx is not None:
            vib = vib * fx.vib_mult + fx.vib_add

        amb = self.site_cols(block.ambient)
        steady = amb + n2 * (self.rise + self.RISE_PER_KW * power / 1000.0)
        temp = lag(steady, self.temp, self.a_thermal)
        self.temp = temp[-1]
        heat = self.fault_heat(fx, ticks)
        if heat is not None:
            temp = temp + heat

        return {
            "vibration_rms": vib,
            "bearing_temperature": temp,
            "motor_current": current,
            "discharge_pressure": self.P_SUCTION_BAR + self.BAR_PER_M * head,
            "flow": flow,
        }
