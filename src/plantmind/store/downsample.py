"""Downsampling of raw samples into fixed time buckets per signal.

This module owns the open (not yet finished) bucket of every signal: running count, sum, min
and max in flat numpy arrays, updated by one numba loop per :class:`SampleBatch`. Buckets are
aligned to the epoch (``start = floor(ts / bucket_s) * bucket_s``), so every node and every
restart agrees on bucket boundaries and a bucket split by a restart can be merged again when
stored (see :meth:`plantmind.store.edge.EdgeStore.write_aggregates`).

A signal's open bucket is finished when a sample of a newer bucket arrives for that signal
(or on :meth:`Downsampler.flush`); finished buckets come back as one :class:`Buckets` of
parallel arrays, never as one Python object per bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba import njit

from plantmind.core.types import SampleBatch

__all__ = ["Buckets", "Downsampler"]


@dataclass(slots=True)
class Buckets:
    """Finished buckets as parallel arrays: signal ``signal[i]`` (index into the plant's
    signal table) had ``count[i]`` finite samples in ``[start[i], start[i] + bucket_s)`` with
    mean ``mean[i]``, minimum ``min[i]`` and maximum ``max[i]``."""

    signal: np.ndarray  # int32
    start: np.ndarray  # float64
    count: np.ndarray  # int64
    mean: np.ndarray  # float64
    min: np.ndarray  # float64
    max: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.signal)

    @classmethod
    def empty(cls) -> Buckets:
        return cls(
            np.empty(0, np.int32),
            np.empty(0),
            np.empty(0, np.int64),
            np.empty(0),
            np.empty(0),
            np.empty(0),
        )

    @classmethod
    def concat(cls, parts: list[Buckets]) -> Buckets:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__slots__))

    def rows(self) -> Iterator[tuple[int, float, int, float, float, float]]:
        """``(signal, start, count, mean, min, max)`` tuples; for tests and small outputs."""
        return zip(
            self.signal.tolist(),
            self.start.tolist(),
            self.count.tolist(),
            self.mean.tolist(),
            self.min.tolist(),
            self.max.tolist(),
            strict=True,
        )


@njit(cache=True)
def _update_kernel(
    sig: np.ndarray,
    ts: np.ndarray,
    val: np.ndarray,
    bucket_s: float,
    open_start: np.ndarray,
    n: np.ndarray,
    total: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    out_sig: np.ndarray,
    out_start: np.ndarray,
    out_n: np.ndarray,
    out_mean: np.ndarray,
    out_lo: np.ndarray,
    out_hi: np.ndarray,
) -> tuple[int, int, int]:
    """Fold samples into the open buckets. Returns (emitted, late, position of the first
    sample with an out-of-range signal index or -1)."""
    n_signals = open_start.shape[0]
    for i in range(sig.shape[0]):
        s = sig[i]
        if s < 0 or s >= n_signals:
            return 0, 0, i
    k = 0
    late = 0
    for i in range(sig.shape[0]):
        v = val[i]
        t = ts[i]
        # NaN/inf readings would poison sum/min/max for the whole bucket; skip them.
        if not (np.isfinite(v) and np.isfinite(t)):
            continue
        s = sig[i]
        b = np.floor(t / bucket_s) * bucket_s
        if n[s] > 0:
            if b == open_start[s]:
                n[s] += 1
                total[s] += v
                if v < lo[s]:
                    lo[s] = v
                if v > hi[s]:
                    hi[s] = v
                continue
            if b < open_start[s]:
                # The bucket this sample belongs to was already emitted: it cannot be changed.
                late += 1
                continue
            out_sig[k] = s
            out_start[k] = open_start[s]
            out_n[k] = n[s]
            out_mean[k] = total[s] / n[s]
            out_lo[k] = lo[s]
            out_hi[k] = hi[s]
            k += 1
        open_start[s] = b
        n[s] = 1
        total[s] = v
        lo[s] = v
        hi[s] = v
    return k, late, -1


class Downsampler:
    """Per-signal fixed time buckets (default 60 s) of count/mean/min/max.

    Memory: 40 bytes per signal (five 8-byte arrays). Not thread-safe: one pipeline thread
    owns it.

    Samples that belong to a bucket older than the signal's open bucket are dropped and counted
    in :attr:`late` (that bucket has already been emitted); non-finite values are skipped.
    Samples in the open bucket may arrive in any order.
    """

    def __init__(self, n_signals: int, bucket_s: float = 60.0) -> None:
        if n_signals < 0:
            raise ValueError(f"n_signals must be >= 0, got {n_signals}")
        if not (np.isfinite(bucket_s) and bucket_s > 0):
            raise ValueError(f"bucket_s must be a positive number, got {bucket_s}")
        self.bucket_s = float(bucket_s)
        self.late = 0
        """Samples dropped because their bucket had already been emitted."""
        self._alloc(int(n_signals))

    def _alloc(self, n_signals: int) -> None:
        self._open_start = np.zeros(n_signals, dtype=np.float64)
        self._n = np.zeros(n_signals, dtype=np.int64)  # 0 = no open bucket
        self._sum = np.zeros(n_signals, dtype=np.float64)
        self._min = np.zeros(n_signals, dtype=np.float64)
        self._max = np.zeros(n_signals, dtype=np.float64)

    @property
    def n_signals(self) -> int:
        return self._n.shape[0]

    def update(self, batch: SampleBatch) -> Buckets:
        """Fold a batch in; return the buckets it finished (in the order they finished).
        Raises IndexError (and changes nothing) if a signal index is out of range."""
        m = len(batch)
        if m == 0:
            return Buckets.empty()
        # Each sample finishes at most one bucket, so m rows always suffice. np.empty of a large
        # size is only address space until written, so the oversized buffer costs little.
        out = Buckets(
            np.empty(m, np.int32),
            np.empty(m),
            np.empty(m, np.int64),
            np.empty(m),
            np.empty(m),
            np.empty(m),
        )
        k, late, bad = _update_kernel(
            batch.signal,
            batch.ts,
            batch.value,
            self.bucket_s,
            self._open_start,
            self._n,
            self._sum,
            self._min,
            self._max,
            out.signal,
            out.start,
            out.count,
            out.mean,
            out.min,
            out.max,
        )
        if bad != -1:
            raise IndexError(
                f"signal index {batch.signal[bad]} out of range for a downsampler of "
                f"{self.n_signals} signals"
            )
        self.late += late
        # Copy the used prefix so the big scratch buffer is freed rather than kept alive.
        return Buckets(*(getattr(out, f)[:k].copy() for f in Buckets.__slots__))

    def flush(self, before: float | None = None) -> Buckets:
        """Emit and close open buckets: all of them (``before=None``, on shutdown), or only
        those that end at or before ``before`` (to finish buckets of signals that went quiet).
        """
        has = self._n > 0
        if before is not None:
            has &= self._open_start + self.bucket_s <= before
        idx = np.flatnonzero(has)
        n = self._n[idx]
        out = Buckets(
            idx.astype(np.int32),
            self._open_start[idx].copy(),
            n.copy(),
            self._sum[idx] / n,
            self._min[idx].copy(),
            self._max[idx].copy(),
        )
        # A later sample of a bucket closed here opens that bucket again and it is emitted a
        # second time; EdgeStore.write_aggregates merges rows of the same bucket, so nothing is
        # lost or double counted.
        self._n[idx] = 0
        return out

    def open_buckets(self) -> Buckets:
        """The open buckets as they stand, without closing them (for a live view)."""
        idx = np.flatnonzero(self._n > 0)
        n = self._n[idx]
        return Buckets(
            idx.astype(np.int32),
            self._open_start[idx].copy(),
            n.copy(),
            self._sum[idx] / n,
            self._min[idx].copy(),
            self._max[idx].copy(),
        )

    def resize(self, n_signals: int) -> None:
        """Change the number of signals, keeping open buckets of signals
        ``0 .. min(old, new) - 1``."""
        if n_signals < 0:
            raise ValueError(f"n_signals must be >= 0, got {n_signals}")
        old = (self._open_start, self._n, self._sum, self._min, self._max)
        keep = min(self.n_signals, n_signals)
        self._alloc(n_signals)
        for new_a, old_a in zip(
            (self._open_start, self._n, self._sum, self._min, self._max), old, strict=True
        ):
            new_a[:keep] = old_a[:keep]
