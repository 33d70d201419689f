"""The interface every asset-kind model implements, and what the engine hands it per block."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from plantmind.connectors.simulator._dynamics import Effects, lag, lag_alpha

__all__ = ["KindModel", "TickBlock"]


@dataclass(frozen=True)
class TickBlock:
    """One block of ticks: absolute times ``t`` ``(ticks,)`` and the site conditions
    ``ambient`` (degC) and ``demand`` (factor around 1), both ``(ticks, sites)``."""

    t: np.ndarray
    dt: float
    ambient: np.ndarray
    demand: np.ndarray


class KindModel(abc.ABC):
    """Vectorised physics of all assets of one kind: state arrays of shape ``(assets,)``,
    advanced a block at a time; outputs are true values per role, ``(ticks, assets)``."""

    kind: ClassVar[str]
    roles: ClassVar[tuple[str, ...]]
    #: the ``expected_range`` high of each role in the example plant; a signal with another range
    #: is scaled by ``its high / this``, so a smaller pump of the same kind stays in its range.
    #: Roles left out (temperatures) are not scaled.
    reference_high: ClassVar[dict[str, float]]
    #: measurement noise per role: (fraction of the reading, fraction of the expected span)
    noise: ClassVar[dict[str, tuple[float, float]]]
    #: roles of quantities that cannot be negative (readings are folded at zero)
    nonneg: ClassVar[frozenset[str]]
    #: local fault heating (a worn bearing) shows at the sensor within a couple of minutes
    TAU_HEAT_S: ClassVar[float] = 90.0

    def __init__(
        self,
        site: np.ndarray,
        line: np.ndarray,
        rng: np.random.Generator,
        params: np.random.Generator,
        dt: float,
        first: TickBlock,
    ) -> None:
        self.n = len(site)
        self.site = np.asarray(site, dtype=np.intp)
        self.line = np.asarray(line, dtype=np.intp)
        self.rng = rng
        self.dt = dt
        self.heat = np.zeros(self.n)
        self.a_heat = lag_alpha(self.TAU_HEAT_S, dt)

    @abc.abstractmethod
    def advance(self, block: TickBlock, fx: Effects | None) -> dict[str, np.ndarray]:
        """True values per role for the block, ``(ticks, assets)``; advances the state."""

    def fault_heat(self, fx: Effects | None, ticks: int) -> np.ndarray | None:
        """Temperature rise from physical faults, lagged; None while there is none."""
        if fx is None and not self.heat.any():
            return None
        target = fx.heat if fx is not None else np.zeros((ticks, self.n))
        heat = lag(target, self.heat, self.a_heat)
        # Snap the decayed tail to zero so the no-fault fast path resumes after a repair.
        self.heat = np.where(np.abs(heat[-1]) < 1e-6, 0.0, heat[-1])
        return heat

    def site_cols(self, x: np.ndarray) -> np.ndarray:
        """Per-site block array ``(ticks, sites)`` spread to this model's assets."""
        return x[:, self.site]
