"""CNC motor spindles running job cycles.

A part is machined by a program: a few operations, each at its own speed and cutting load, with
tool changes in between (spindle stopped for 6–10 s). Between parts the spindle stops for the
part change (15–40 s); after about one part in seven the operator takes a break or sets up
(2–6 min idle). The plan moves on to the next program every few parts, and each part's stock
varies the load by ±15 %. The programs have similar average speeds, so the temperature does not
wander with the program mix.

Vibration grows with speed² (unbalance) and with cutting load; the spindle bearing temperature
follows the frictional heat (speed²) and load with a ≈8 min lag, the motor spindle being
water-cooled toward ambient.
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

__all__ = ["SpindleModel"]

#: (speed rpm, cutting load %, duration s) per operation of each program
PROGRAMS: tuple[tuple[tuple[float, float, float], ...], ...] = (
    ((9000, 30, 45), (11500, 18, 60), (6000, 55, 35)),
    ((7500, 40, 50), (11000, 25, 40), (10000, 22, 30), (4500, 60, 25)),
    ((12000, 15, 50), (8000, 35, 40), (6000, 50, 30)),
    ((5000, 65, 30), (9500, 28, 55), (11000, 20, 45)),
)

_N_OPS = np.array([len(p) for p in PROGRAMS])
_TABLE = np.zeros((len(PROGRAMS), int(_N_OPS.max()), 3))
for _i, _prog in enumerate(PROGRAMS):
    _TABLE[_i, : len(_prog)] = _prog

CUTTING, TOOL_CHANGE, PART_CHANGE, BREAK = 0, 1, 2, 3


class SpindleModel(KindModel):
    kind: ClassVar[str] = "cnc_spindle"
    roles: ClassVar[tuple[str, ...]] = (
        "spindle_speed",
        "spindle_load",
        "vibration_rms",
        "spindle_temperature",
    )
    reference_high: ClassVar[dict[str, float]] = {
        "spindle_speed": 12500.0,
        "spindle_load": 100.0,
        "vibration_rms": 3.5,
    }
    noise: ClassVar[dict[str, tuple[float, float]]] = {
        "spindle_speed": (0.001, 0.0004),
        "spindle_load": (0.02, 0.004),
        "vibration_rms": (0.04, 0.004),
        "spindle_temperature": (0.0, 0.003),
    }
    nonneg: ClassVar[frozenset[str]] = frozenset({"spindle_speed", "spindle_load", "vibration_rms"})

    MAX_RPM = 12000.0
    P_BREAK = 0.15
    P_SWITCH = 0.3
    VIB_FLOOR = 0.12
    VIB_SPEED = 0.85
    VIB_PER_LOAD = 0.011
    RISE_BASE_C = 3.0
    RISE_SPEED_C = 20.0
    RISE_PER_LOAD = 0.06
    MEAN_RISE_C = 9.0  # long-run average of the speed and load terms, for a warm start
    TAU_SPEED_S = 1.2
    TAU_LOAD_S = 1.5
    TAU_THERMAL_S = 480.0

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
        self.vib_scale = 1.0 + 0.08 * params.standard_normal(n)
        self.phase = np.full(n, BREAK)
        self.prog = rng.integers(0, len(PROGRAMS), n)
        self.op = np.zeros(n, dtype=np.intp)
        self.part = np.ones(n)
        # Start each spindle somewhere in a short idle, so they are not in lockstep.
        self.jobs = HoldProcess(
            np.zeros((2, n)), float(first.t[0]) + 30.0 * rng.random(n), self._transition
        )
        self.speed = np.zeros(n)
        self.load = np.zeros(n)
        self.z_load = rng.standard_normal(n)
        self.z_vib = rng.standard_normal(n)
        self.phi_load = ar_phi(4.0, dt)
        self.phi_vib = ar_phi(8.0, dt)
        self.a_speed = lag_alpha(self.TAU_SPEED_S, dt)
        self.a_load = lag_alpha(self.TAU_LOAD_S, dt)
        self.a_thermal = lag_alpha(self.TAU_THERMAL_S, dt)
        amb = self.site_cols(first.ambient)[0]
        self.temp = amb + self.RISE_BASE_C + self.MEAN_RISE_C

    def _transition(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        phase, prog, op = self.phase[idx], self.prog[idx], self.op[idx]
        u = self.rng.random((5, len(idx)))
        last_op = op >= _N_OPS[prog] - 1
        cutting = phase == CUTTING
        idle = (phase == PART_CHANGE) | (phase == BREAK)
        new_phase = np.select(
            [cutting & ~last_op, cutting & (u[0] < self.P_BREAK), cutting],
            [TOOL_CHANGE, BREAK, PART_CHANGE],
            default=CUTTING,
        )
        op = np.where(phase == TOOL_CHANGE, op + 1, np.where(idle, 0, op))
        switch = idle & (u[1] < self.P_SWITCH)
        # The production plan cycles through the part numbers.
        prog = np.where(switch, (prog + 1) % len(PROGRAMS), prog)
        self.part[idx] = np.where(idle, 0.85 + 0.3 * u[3], self.part[idx])
        self.phase[idx], self.prog[idx], self.op[idx] = new_phase, prog, op

        speed, load, duration = _TABLE[prog, op].T
        is_cut = new_phase == CUTTING
        hold = np.select(
            [is_cut, new_phase == TOOL_CHANGE, new_phase == PART_CHANGE],
            [duration * (0.85 + 0.3 * u[4]), 6.0 + 4.0 * u[4], 15.0 + 25.0 * u[4]],
            default=120.0 + 240.0 * u[4],
        )
        values = np.vstack(
            [np.where(is_cut, speed, 0.0), np.where(is_cut, load * self.part[idx], 0.0)]
        )
        return values, hold

    def advance(self, block: TickBlock, fx: Effects | None) -> dict[str, np.ndarray]:
        ticks = len(block.t)
        jobs = self.jobs.sample(block.t)
        z_load = ar1(self.rng.standard_normal((ticks, self.n)), self.z_load, self.phi_load)
        z_vib = ar1(self.rng.standard_normal((ticks, self.n)), self.z_vib, self.phi_vib)
        self.z_load, self.z_vib = z_load[-1], z_vib[-1]

        speed = lag(jobs[0], self.speed, self.a_speed)
        load = lag(jobs[1] * (1.0 + 0.06 * z_load), self.load, self.a_load)
        self.speed, self.load = speed[-1], load[-1]
        rel2 = (speed / self.MAX_RPM) ** 2
        vib = self.VIB_FLOOR + self.VIB_SPEED * rel2 + self.VIB_PER_LOAD * load
        vib = vib * self.vib_scale * (1.0 + 0.04 * z_vib)
        if fx is not None:
            vib = vib * fx.vib_mult + fx.vib_add

        amb = self.site_cols(block.ambient)
        steady = amb + self.RISE_BASE_C + self.RISE_SPEED_C * rel2 + self.RISE_PER_LOAD * load
        temp = lag(steady, self.temp, self.a_thermal)
        self.temp = temp[-1]
        heat = self.fault_heat(fx, ticks)
        if heat is not None:
            temp = temp + heat
        return {
            "spindle_speed": speed,
            "spindle_load": load,
            "vibration_rms": vib,
            "spindle_temperature": temp,
        }
