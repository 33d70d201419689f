"""Signals the simulator has no physics for (unknown asset kinds or roles): a bounded, slowly
wandering value inside the expected range, so any plant model can be simulated."""

from __future__ import annotations

import numpy as np

from plantmind.connectors.simulator._dynamics import ar1, ar_phi

__all__ = ["GenericSignals"]


class GenericSignals:
    """AR(1) processes squashed with tanh into the middle of each signal's expected range."""

    #: correlation time of the wander; slow enough to look like a process value
    TAU_S = 120.0
    #: half-width of the band used, as a fraction of the span (tanh never reaches it)
    BAND = 0.3
    NOISE_SPAN = 0.003

    def __init__(
        self, low: np.ndarray, high: np.ndarray, rng: np.random.Generator, dt: float
    ) -> None:
        self.mid = (low + high) / 2.0
        self.half = self.BAND * (high - low)
        self.rng = rng
        self.phi = ar_phi(self.TAU_S, dt)
        self.z = rng.standard_normal(len(low))

    def advance(self, t: np.ndarray) -> np.ndarray:
        """True values ``(ticks, signals)``."""
        z = ar1(self.rng.standard_normal((len(t), len(self.z))), self.z, self.phi)
        self.z = z[-1]
        return self.mid + self.half * np.tanh(z)
