"""Belt conveyors on a variable-speed drive.

The belt runs at the speed of the product being made (one of a few recipe speeds), changed
every 5–20 min, and stops for 2–5 min every
15–35 min (jams cleared, upstream waiting). The load per metre follows the upstream part flow:
a level that steps with production plus a fast fluctuation as parts pass; on a stopped belt the
load stands still. Motor current is the drive's magnetising current plus a part proportional to
speed and load (friction and lift), and the winding temperature follows I² losses with the
motor's ≈20 min thermal time constant.
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

__all__ = ["ConveyorModel"]

#: belt speeds of the products the line makes (m/s)
SPEEDS_MS = np.array([1.4, 1.6, 1.8])


class ConveyorModel(KindModel):
    kind: ClassVar[str] = "belt_conveyor"
    roles: ClassVar[tuple[str, ...]] = (
        "belt_speed",
        "motor_current",
        "motor_temperature",
        "belt_load",
    )
    reference_high: ClassVar[dict[str, float]] = {
        "belt_speed": 2.2,
        "motor_current": 18.0,
        "belt_load": 40.0,
    }
    noise: ClassVar[dict[str, tuple[float, float]]] = {
        "belt_speed": (0.004, 0.002),
        "motor_current": (0.01, 0.003),
        "motor_temperature": (0.0, 0.002),
        "belt_load": (0.03, 0.004),
    }
    nonneg: ClassVar[frozenset[str]] = frozenset({"belt_speed", "motor_current", "belt_load"})

    I_MAG = 2.8
    I_PER_MS = 2.0
    I_PER_KG_MS = 0.14
    RISE_BASE_C = 12.0
    RISE_PER_A2 = 0.1
    TAU_SPEED_S = 3.0
    TAU_THERMAL_S = 1200.0

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
        t0 = float(first.t[0])
        self._on = np.ones(n)
        u = rng.random((5, n))
        self.runs = HoldProcess(self._on[None, :], t0 + 900.0 * u[0], self._toggle)
        self.setpoint = HoldProcess(
            self._speed(u[1])[None, :], t0 + 1200.0 * u[2], self._step_speed
        )
        self.level = HoldProcess(self._level(u[3])[None, :], t0 + 1200.0 * u[4], self._step_level)
        self.speed = self.setpoint.values[0].copy()
        self.z_load = rng.standard_normal(n)
        self.phi_load = ar_phi(8.0, dt)
        self.a_speed = lag_alpha(self.TAU_SPEED_S, dt)
        self.a_thermal = lag_alpha(self.TAU_THERMAL_S, dt)
        amb = self.site_cols(first.ambient)[0]
        current = self.I_MAG + self.speed * (
            self.I_PER_MS + self.I_PER_KG_MS * self.level.values[0]
        )
        self.temp = amb + self.RISE_BASE_C + self.RISE_PER_A2 * current**2

    @staticmethod
    def _speed(u: np.ndarray) -> np.ndarray:
        return SPEEDS_MS[np.minimum((u * len(SPEEDS_MS)).astype(np.intp), len(SPEEDS_MS) - 1)]

    @staticmethod
    def _level(u: np.ndarray) -> np.ndarray:
        return 12.0 + 10.0 * u

    def _toggle(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        on = 1.0 - self._on[idx]
        self._on[idx] = on
        u = self.rng.random(len(idx))
        return on[None, :], np.where(on > 0.5, 900.0 + 1200.0 * u, 120.0 + 180.0 * u)

    def _step_speed(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = self.rng.random((2, len(idx)))
        # Move to one of the other recipes' speeds.
        now = np.argmin(np.abs(self.setpoint.values[0, idx, None] - SPEEDS_MS[None, :]), axis=1)
        shift = 1 + (u[0] * (len(SPEEDS_MS) - 1)).astype(np.intp)
        return SPEEDS_MS[(now + shift) % len(SPEEDS_MS)][None, :], 300.0 + 900.0 * u[1]

    def _step_level(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = self.rng.random((2, len(idx)))
        return self._level(u[0])[None, :], 300.0 + 900.0 * u[1]

    def advance(self, block: TickBlock, fx: Effects | None) -> dict[str, np.ndarray]:
        ticks = len(block.t)
        run = self.runs.sample(block.t)[0]
        setpoint = self.setpoint.sample(block.t)[0]
        level = self.level.sample(block.t)[0] * self.site_cols(block.demand)
        z_load = ar1(self.rng.standard_normal((ticks, self.n)), self.z_load, self.phi_load)
        self.z_load = z_load[-1]

        speed = lag(run * setpoint, self.speed, self.a_speed)
        self.speed = speed[-1]
        moving = np.clip(speed / setpoint, 0.0, 1.0)
        load = level * (1.0 + 0.12 * z_load * moving)
        current = run * self.I_MAG + speed * (self.I_PER_MS + self.I_PER_KG_MS * load)
        amb = self.site_cols(block.ambient)
        steady = amb + self.RISE_BASE_C + self.RISE_PER_A2 * current * current
        temp = lag(steady, self.temp, self.a_thermal)
        self.temp = temp[-1]
        return {
            "belt_speed": speed,
            "motor_current": current,
            "motor_temperature": temp,
            "belt_load": load,
        }
