"""The in-memory ring of recent raw samples, per signal.

This module owns the only copy of raw samples on the edge node: the last ``capacity`` samples
of every signal, kept in two preallocated 2-D arrays (``ts`` float64 and ``values`` float32,
one row per signal). Nothing here allocates per sample; :meth:`SampleRing.append` is one numba
loop over a :class:`~plantmind.core.types.SampleBatch`. Raw samples are never written to disk:
what outlives the ring is the downsampled history (:mod:`plantmind.store.downsample`).

Memory: ``capacity * 12 + 16`` bytes per signal (8 bytes timestamp + 4 bytes value per slot,
plus an int64 head and an int64 count), e.g. 3,616 bytes per signal at the default
``capacity=300``, so 10,000 signals take about 36 MB.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

from plantmind.core.types import SampleBatch

__all__ = ["SampleRing"]


@njit(cache=True)
def _append_kernel(
    sig: np.ndarray,
    ts: np.ndarray,
    val: np.ndarray,
    ring_ts: np.ndarray,
    ring_val: np.ndarray,
    head: np.ndarray,
    count: np.ndarray,
) -> tuple[int, int]:
    """Write each sample at its signal's head. Returns (position of the first sample with an
    out-of-range signal index or -1, dropped count)."""
    n_signals, capacity = ring_ts.shape
    # Validate first so that a bad index leaves the ring untouched instead of half-written.
    for i in range(sig.shape[0]):
        s = sig[i]
        if s < 0 or s >= n_signals:
            return i, 0
    dropped = 0
    for i in range(sig.shape[0]):
        s = sig[i]
        t = ts[i]
        c = count[s]
        h = head[s]
        # Keep each row in time order so readers can binary-search it: a sample older than the
        # signal's newest (or with a non-finite timestamp) is dropped and counted, not stored.
        if not np.isfinite(t):
            dropped += 1
            continue
        if c > 0:
            prev = h - 1 if h > 0 else capacity - 1
            if t < ring_ts[s, prev]:
                dropped += 1
                continue
        ring_ts[s, h] = t
        ring_val[s, h] = val[i]
        h += 1
        head[s] = 0 if h == capacity else h
        if c < capacity:
            count[s] = c + 1
    return -1, dropped


class SampleRing:
    """The most recent ``capacity`` samples of each of ``n_signals`` signals.

    Values are stored as float32 (raw sensor values rarely carry more than 7 significant
    digits, and it halves the memory); timestamps as float64 epoch seconds. NaN values are
    kept as they are (a NaN reading is information for a trend view); samples that go back in
    time for their signal, or have a non-finite timestamp, are dropped and counted in
    :attr:`dropped`.

    Thread safety: one lock serialises :meth:`append`, :meth:`resize` and the readers, so a
    reader on a web thread never sees a row half-way through an append. The lock is taken once
    per batch, not per sample.
    """

    def __init__(self, n_signals: int, capacity: int = 300) -> None:
        if n_signals < 0:
            raise ValueError(f"n_signals must be >= 0, got {n_signals}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = int(capacity)
        self._lock = threading.Lock()
        self.dropped = 0
        """Samples dropped so far because they went back in time or had a non-finite ts."""
        self._alloc(int(n_signals))

    def _alloc(self, n_signals: int) -> None:
        self._ts = np.zeros((n_signals, self._capacity), dtype=np.float64)
        self._val = np.zeros((n_signals, self._capacity), dtype=np.float32)
        # head: next slot to write; count: filled slots (<= capacity).
        self._head = np.zeros(n_signals, dtype=np.int64)
        self._count = np.zeros(n_signals, dtype=np.int64)

    @property
    def n_signals(self) -> int:
        return self._ts.shape[0]

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def nbytes(self) -> int:
        """Bytes held by the ring's arrays: ``n_signals * (capacity * 12 + 16)``."""
        return self._ts.nbytes + self._val.nbytes + self._head.nbytes + self._count.nbytes

    @staticmethod
    def bytes_per_signal(capacity: int = 300) -> int:
        """Memory one signal costs at ``capacity``."""
        return capacity * (8 + 4) + 8 + 8

    def counts(self) -> np.ndarray:
        """Number of samples held per signal (a copy)."""
        with self._lock:
            return self._count.copy()

    def append(self, batch: SampleBatch) -> None:
        """Add a batch. Raises IndexError (and stores nothing) if a signal index is out of
        range."""
        if len(batch) == 0:
            return
        with self._lock:
            bad, dropped = _append_kernel(
                batch.signal, batch.ts, batch.value, self._ts, self._val, self._head, self._count
            )
            if bad != -1:
                raise IndexError(
                    f"signal index {batch.signal[bad]} out of range for a ring of "
                    f"{self.n_signals} signals"
                )
            self.dropped += dropped

    def recent(
        self, signal: int, limit: int | None = None, since: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(ts, values)`` of one signal, oldest first: the samples with ``ts >= since``
        (all if None), of those the newest ``limit`` (all if None). Copies, not views."""
        if not 0 <= signal < self.n_signals:
            raise IndexError(f"signal index {signal} out of range for {self.n_signals} signals")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        with self._lock:
            c = int(self._count[signal])
            h = int(self._head[signal])
            start = (h - c) % self._capacity
            # np.roll-free: the valid slots are [start, start + c) modulo capacity.
            idx = (start + np.arange(c)) % self._capacity
            ts = self._ts[signal, idx]
            val = self._val[signal, idx]
        lo = 0 if since is None else int(np.searchsorted(ts, since, side="left"))
        if limit is not None:
            lo = max(lo, c - limit)
        return ts[lo:], val[lo:]

    def latest(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ts, values)`` of the newest sample of every signal (float64; NaN where a
        signal has none yet)."""
        with self._lock:
            rows = np.arange(self.n_signals)
            last = (self._head - 1) % self._capacity
            has = self._count > 0
            ts = np.where(has, self._ts[rows, last], np.nan)
            val = np.where(has, self._val[rows, last].astype(np.float64), np.nan)
        return ts, val

    def resize(self, n_signals: int) -> None:
        """Change the number of signals (after a plant change), keeping the data of signals
        ``0 .. min(old, new) - 1``; new signals start empty."""
        if n_signals < 0:
            raise ValueError(f"n_signals must be >= 0, got {n_signals}")
        with self._lock:
            old_ts, old_val, old_head, old_count = self._ts, self._val, self._head, self._count
            keep = min(old_ts.shape[0], n_signals)
            self._alloc(n_signals)
            self._ts[:keep] = old_ts[:keep]
            self._val[:keep] = old_val[:keep]
            self._head[:keep] = old_head[:keep]
            self._count[:keep] = old_count[:keep]

    def clear(self) -> None:
        """Forget all samples."""
        with self._lock:
            self._head[:] = 0
            self._count[:] = 0
