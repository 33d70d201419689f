"""Data-quality gate at the edge's entrance: drops (and counts) samples that cannot be scored
(NaN, ±inf, a timestamp that is not after the signal's previous one), so that the rest of the
batch still flows. Signal names unknown to the plant are rejected earlier, where names are
mapped to indices (see :mod:`plantmind.edge.mapping`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from plantmind.core.types import SampleBatch

__all__ = ["QualityCounters", "QualityGate"]

OK, NOT_FINITE, OUT_OF_ORDER, DUPLICATE, BAD_TIME = range(5)
REASONS = ("ok", "not finite", "out of order", "duplicate timestamp", "invalid timestamp")


@njit(cache=True, nogil=True)
def _gate_kernel(sig, ts, val, last_ts, verdict):
    for i in range(sig.shape[0]):
        s = sig[i]
        t = ts[i]
        if not np.isfinite(t):
            verdict[i] = 4
        elif not np.isfinite(val[i]):
            verdict[i] = 1
        elif t < last_ts[s]:
            verdict[i] = 2
        elif t == last_ts[s]:
            verdict[i] = 3
        else:
            verdict[i] = 0
            last_ts[s] = t


@dataclass
class QualityCounters:
    """How many samples were dropped, per reason and per signal index."""

    by_reason: dict[str, int] = field(default_factory=dict)
    by_signal: dict[int, int] = field(default_factory=dict)

    def total(self) -> int:
        return sum(self.by_reason.values())


class QualityGate:
    """Keeps the last accepted timestamp per signal and filters batches (see module doc)."""

    def __init__(self, n_signals: int) -> None:
        self.last_ts = np.full(n_signals, -np.inf)
        self.counters = QualityCounters()

    def filter(self, batch: SampleBatch) -> tuple[SampleBatch, dict[str, dict[int, int]]]:
        """The scoreable samples, and for the dropped ones ``{reason: {signal: count}}``."""
        n = len(batch)
        if n == 0:
            return batch, {}
        verdict = np.empty(n, np.int8)
        _gate_kernel(batch.signal, batch.ts, batch.value, self.last_ts, verdict)
        bad = verdict != OK
        if not bad.any():
            return batch, {}
        dropped: dict[str, dict[int, int]] = {}
        for code in np.unique(verdict[bad]):
            reason = REASONS[code]
            sigs, counts = np.unique(batch.signal[verdict == code], return_counts=True)
            per = {int(s): int(c) for s, c in zip(sigs, counts, strict=True)}
            dropped[reason] = per
            self.counters.by_reason[reason] = self.counters.by_reason.get(reason, 0) + int(
                counts.sum()
            )
            for s, c in per.items():
                self.counters.by_signal[s] = self.counters.by_signal.get(s, 0) + c
        return batch.select(~bad), dropped
