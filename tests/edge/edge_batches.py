"""Batches of every signal of a plant around the middle of its expected range, shared by the
edge API tests."""

from __future__ import annotations

import numpy as np

from plantmind.core.plant import PlantIndex
from plantmind.core.types import SampleBatch


def ticks(
    index: PlantIndex,
    t0: float,
    n: int,
    rng: np.random.Generator | None = None,
    bump: dict[str, float] | None = None,
) -> SampleBatch:
    """``n`` ticks of every signal from ``t0`` (1 s apart), noise of 1 % of each range
    (``rng``: default seeded by ``t0``); ``bump`` moves named signals by a share of their
    range."""
    rng = rng if rng is not None else np.random.default_rng(int(t0))
    mid = (index.low + index.high) / 2
    span = index.high - index.low
    sig = np.tile(np.arange(index.n_signals), n)
    ts = np.repeat(t0 + np.arange(n, dtype=float), index.n_signals)
    val = np.tile(mid, n) + rng.normal(0, 0.01, len(sig)) * np.tile(span, n)
    for sid, delta in (bump or {}).items():
        s = index.signal_position()[sid]
        val[sig == s] += delta * span[s]
    return SampleBatch(sig, ts, val)
