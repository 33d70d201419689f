"""Building blocks shared by the asset models: first-order lags and AR(1) noise filtered along
the time axis of a block, random piecewise-constant processes (operating modes), the site
environment (ambient temperature, daily demand), the per-block fault modifiers, and which
ticks each signal is due at.

Every array here is ``(ticks, assets)``: a block of ticks is computed at once per asset kind,
so a tick never costs a Python loop over signals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

__all__ = [
    "Effects",
    "Environment",
    "HoldProcess",
    "ar1",
    "ar_phi",
    "first_tick_at",
    "is_due",
    "lag",
    "lag_alpha",
    "samples_per_tick",
]

DAY_S = 86_400.0


def lag_alpha(tau_s: float, dt: float) -> float:
    """Smoothing factor of a first-order lag with time constant ``tau_s`` sampled every ``dt``.

    The exact zero-order-hold discretisation keeps the physical time constant whatever the tick.
    """
    return 1.0 - math.exp(-dt / tau_s)


def lag(x: np.ndarray, y0: np.ndarray, alpha: float) -> np.ndarray:
    """First-order lag ``y[k] = y[k-1] + alpha (x[k] - y[k-1])`` along axis 0, from state ``y0``."""
    y, _ = lfilter([alpha], [1.0, alpha - 1.0], x, axis=0, zi=((1.0 - alpha) * y0)[None, :])
    return y


def ar1(e: np.ndarray, z0: np.ndarray, phi: float) -> np.ndarray:
    """Unit-variance AR(1) noise driven by standard normal innovations ``e``, from state ``z0``."""
    z, _ = lfilter([math.sqrt(1.0 - phi * phi)], [1.0, -phi], e, axis=0, zi=(phi * z0)[None, :])
    return z


def ar_phi(tau_s: float, dt: float) -> float:
    """AR(1) coefficient whose correlation time is ``tau_s`` seconds."""
    return math.exp(-dt / tau_s)


Transition = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class HoldProcess:
    """Per-asset random piecewise-constant values: each asset holds ``values[:, i]`` until
    ``next_t[i]`` (absolute seconds), then ``transition(indices)`` returns the new values
    ``(channels, k)`` and how long they are held ``(k,)``.

    Changes happen in continuous time, so the mode sequence does not depend on the tick.
    """

    def __init__(self, values: np.ndarray, next_t: np.ndarray, transition: Transition) -> None:
        self.values = np.array(values, dtype=np.float64, ndmin=2)
        self.next_t = np.array(next_t, dtype=np.float64)
        self.transition = transition

    def sample(self, t: np.ndarray) -> np.ndarray:
        """The values at the block times ``t``: ``(channels, ticks, assets)``."""
        out = np.repeat(self.values[:, None, :], len(t), axis=1)
        t_last = t[-1]
        while True:
            idx = np.flatnonzero(self.next_t <= t_last)
            if idx.size == 0:
                return out
            when = self.next_t[idx]
            new, hold = self.transition(idx)
            later = t[:, None] >= when[None, :]
            out[:, :, idx] = np.where(later[None], new[:, None, :], out[:, :, idx])
            self.values[:, idx] = new
            self.next_t[idx] = when + hold


@dataclass
class Effects:
    """What physical faults do to one asset kind during a block; neutral values mean no fault.

    ``heat`` is a target temperature rise (degC) that the model passes through a fast lag,
    ``valve_close`` the fraction by which a pump's discharge valve moves toward 10 % open,
    ``head_loss`` the relative loss of pump head to cavitation.
    """

    shape: tuple[int, int]
    vib_mult: np.ndarray = field(init=False)
    vib_add: np.ndarray = field(init=False)
    heat: np.ndarray = field(init=False)
    valve_close: np.ndarray = field(init=False)
    head_loss: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.vib_mult = np.ones(self.shape)
        self.vib_add = np.zeros(self.shape)
        self.heat = np.zeros(self.shape)
        self.valve_close = np.zeros(self.shape)
        self.head_loss = np.zeros(self.shape)


class Environment:
    """Site conditions: ambient temperature with a daily swing, and a daily demand factor.

    Hours are local solar-ish hours of each site's timezone (fixed offset taken at the start), so
    the warmest time is mid-afternoon wherever the plant is.
    """

    AMBIENT_MEAN_C = 21.0
    AMBIENT_SWING_C = 3.0
    DEMAND_SWING = 0.06

    def __init__(self, site_offsets_s: np.ndarray, ambient_offsets_c: np.ndarray) -> None:
        self.offsets = np.asarray(site_offsets_s, dtype=np.float64)
        self.ambient_mean = self.AMBIENT_MEAN_C + np.asarray(ambient_offsets_c, dtype=np.float64)

    def _phase(self, t: np.ndarray) -> np.ndarray:
        return 2.0 * np.pi * ((t[:, None] + self.offsets[None, :]) % DAY_S) / DAY_S

    def ambient(self, t: np.ndarray) -> np.ndarray:
        """Ambient temperature per site ``(ticks, sites)``; warmest at 15:00, coldest at 03:00."""
        hours9 = 2.0 * np.pi * 9.0 / 24.0
        return self.ambient_mean[None, :] + self.AMBIENT_SWING_C * np.sin(self._phase(t) - hours9)

    def demand(self, t: np.ndarray) -> np.ndarray:
        """Multiplicative daily demand factor per site ``(ticks, sites)``; peaks at 14:00."""
        hours8 = 2.0 * np.pi * 8.0 / 24.0
        return 1.0 + self.DEMAND_SWING * np.sin(self._phase(t) - hours8)


#: tolerance for tick arithmetic, so rates like 1/3 Hz land on whole ticks
TICK_EPS = 1e-6


def samples_per_tick(rate_hz: np.ndarray, dt: float) -> np.ndarray:
    """Samples a signal is due per tick; 1 or more means every tick."""
    return np.asarray(rate_hz, dtype=np.float64) * dt


def is_due(k: np.ndarray, per_tick: np.ndarray) -> np.ndarray:
    """Whether each signal is due at each tick index: ``(len(k), len(per_tick))``.

    A signal is due at tick 0 and whenever ``floor(k · rate · dt)`` steps up, so a 0.2 Hz signal
    on 1 s ticks is due at ticks 0, 5, 10, … and an irregular ratio keeps its average rate.
    """
    kk = np.asarray(k, dtype=np.float64)[:, None]
    now = np.floor(kk * per_tick[None, :] + TICK_EPS)
    before = np.floor((kk - 1.0) * per_tick[None, :] + TICK_EPS)
    return (now > before) | (kk == 0) | (per_tick[None, :] >= 1.0 - TICK_EPS)


def first_tick_at(t: float, start_ts: float, dt: float) -> int:
    """Index of the first tick at or after absolute time ``t``."""
    return max(0, math.ceil((t - start_ts) / dt - TICK_EPS))
