"""Downsampler: epoch-aligned buckets, count/mean/min/max, NaN skipped, late samples, flush."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from plantmind.core.types import SampleBatch
from plantmind.store.downsample import Buckets, Downsampler


def _batch(sig: list[int], ts: list[float], val: list[float]) -> SampleBatch:
    return SampleBatch(np.array(sig), np.array(ts), np.array(val))


def test_bucket_boundaries() -> None:
    ds = Downsampler(1, bucket_s=60.0)
    out = ds.update(_batch([0, 0, 0], [120.0, 150.0, 179.999], [1.0, 2.0, 3.0]))
    assert len(out) == 0
    # 180.0 starts the next bucket and so finishes [120, 180).
    out = ds.update(_batch([0], [180.0], [10.0]))
    assert list(out.rows()) == [(0, 120.0, 3, 2.0, 1.0, 3.0)]
    # A gap of several buckets emits only the one open bucket, nothing for empty buckets.
    out = ds.update(_batch([0], [400.0], [7.0]))
    assert list(out.rows()) == [(0, 180.0, 1, 10.0, 10.0, 10.0)]
    assert list(ds.flush().rows()) == [(0, 360.0, 1, 7.0, 7.0, 7.0)]


def test_emits_per_signal_and_in_finish_order() -> None:
    ds = Downsampler(3, bucket_s=10.0)
    out = ds.update(
        _batch(
            [0, 1, 2, 1, 0, 2],
            [1.0, 2.0, 3.0, 11.0, 12.0, 5.0],
            [1.0, 5.0, 7.0, 6.0, 2.0, 8.0],
        )
    )
    assert list(out.rows()) == [(1, 0.0, 1, 5.0, 5.0, 5.0), (0, 0.0, 1, 1.0, 1.0, 1.0)]
    assert out.signal.dtype == np.int32
    flushed = ds.flush()
    assert sorted(flushed.rows()) == [
        (0, 10.0, 1, 2.0, 2.0, 2.0),
        (1, 10.0, 1, 6.0, 6.0, 6.0),
        (2, 0.0, 2, 7.5, 7.0, 8.0),
    ]
    assert len(ds.flush()) == 0  # flush closed them


def _reference(sig: np.ndarray, ts: np.ndarray, val: np.ndarray, width: float) -> list[tuple]:
    groups: dict[tuple[int, float], list[float]] = defaultdict(list)
    for s, t, v in zip(sig.tolist(), ts.tolist(), val.tolist(), strict=True):
        if math.isfinite(v):
            groups[(s, math.floor(t / width) * width)].append(v)
    return sorted(
        (s, b, len(vs), sum(vs) / len(vs), min(vs), max(vs)) for (s, b), vs in groups.items()
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_values_match_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_signals, width = 50, 60.0
    m = 20_000
    sig = rng.integers(0, n_signals, m)
    # Per-signal increasing timestamps, interleaved arrival, spanning many buckets.
    ts = np.empty(m)
    clock = np.full(n_signals, 1_700_000_000.0)
    for i, s in enumerate(sig.tolist()):
        clock[s] += rng.exponential(5.0)
        ts[i] = clock[s]
    val = rng.normal(100.0, 20.0, m)
    val[rng.random(m) < 0.05] = np.nan
    val[rng.random(m) < 0.01] = np.inf
    ds = Downsampler(n_signals, bucket_s=width)
    parts = [
        ds.update(SampleBatch(sig[a : a + 997], ts[a : a + 997], val[a : a + 997]))
        for a in range(0, m, 997)
    ]
    parts.append(ds.flush())
    got = sorted(Buckets.concat(parts).rows())
    want = _reference(sig, ts, val, width)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g[:3] == w[:3]
        assert g[3] == pytest.approx(w[3], rel=1e-12)
        assert g[4:] == w[4:]
    assert ds.late == 0


def test_nan_and_inf_skipped() -> None:
    ds = Downsampler(2, bucket_s=60.0)
    ds.update(
        _batch([0, 0, 0, 0, 1], [0.0, 1.0, 2.0, 3.0, 0.0], [np.nan, 4.0, np.inf, -np.inf, np.nan])
    )
    # A non-finite timestamp is skipped too, rather than opening a NaN bucket.
    ds.update(_batch([0], [np.nan], [5.0]))
    rows = list(ds.flush().rows())
    # Signal 1 only ever had NaN: no bucket at all, rather than a count-0/NaN-mean row.
    assert rows == [(0, 0.0, 1, 4.0, 4.0, 4.0)]


def test_late_samples_for_emitted_bucket_dropped_and_counted() -> None:
    ds = Downsampler(1, bucket_s=10.0)
    ds.update(_batch([0, 0], [1.0, 12.0], [1.0, 2.0]))  # emits [0,10)
    out = ds.update(_batch([0, 0], [5.0, 13.0], [100.0, 3.0]))
    assert len(out) == 0
    assert ds.late == 1
    assert list(ds.flush().rows()) == [(0, 10.0, 2, 2.5, 2.0, 3.0)]


def test_out_of_order_within_open_bucket_is_fine() -> None:
    ds = Downsampler(1, bucket_s=10.0)
    ds.update(_batch([0, 0, 0], [8.0, 2.0, 5.0], [3.0, 1.0, 2.0]))
    assert ds.late == 0
    assert list(ds.flush().rows()) == [(0, 0.0, 3, 2.0, 1.0, 3.0)]


def test_flush_before_closes_only_finished_buckets() -> None:
    ds = Downsampler(2, bucket_s=60.0)
    ds.update(_batch([0, 1], [10.0, 70.0], [1.0, 2.0]))
    out = ds.flush(before=100.0)  # [0,60) ended, [60,120) has not
    assert list(out.rows()) == [(0, 0.0, 1, 1.0, 1.0, 1.0)]
    assert list(ds.open_buckets().rows()) == [(1, 60.0, 1, 2.0, 2.0, 2.0)]
    assert list(ds.flush(before=120.0).rows()) == [(1, 60.0, 1, 2.0, 2.0, 2.0)]
    assert len(ds.open_buckets()) == 0


def test_open_buckets_does_not_close() -> None:
    ds = Downsampler(1, bucket_s=60.0)
    ds.update(_batch([0, 0], [1.0, 2.0], [1.0, 3.0]))
    assert list(ds.open_buckets().rows()) == [(0, 0.0, 2, 2.0, 1.0, 3.0)]
    assert list(ds.flush().rows()) == [(0, 0.0, 2, 2.0, 1.0, 3.0)]


def test_out_of_range_signal_raises_and_changes_nothing() -> None:
    ds = Downsampler(2)
    with pytest.raises(IndexError, match="-1"):
        ds.update(_batch([0, -1], [1.0, 1.0], [1.0, 1.0]))
    with pytest.raises(IndexError, match="2"):
        ds.update(_batch([0, 2], [1.0, 1.0], [1.0, 1.0]))
    assert len(ds.open_buckets()) == 0


def test_resize_keeps_open_buckets() -> None:
    ds = Downsampler(2, bucket_s=10.0)
    ds.update(_batch([0, 1], [1.0, 2.0], [1.0, 2.0]))
    ds.resize(3)
    ds.update(_batch([2], [3.0], [3.0]))
    assert sorted(ds.flush().rows()) == [
        (0, 0.0, 1, 1.0, 1.0, 1.0),
        (1, 0.0, 1, 2.0, 2.0, 2.0),
        (2, 0.0, 1, 3.0, 3.0, 3.0),
    ]
    ds.resize(1)
    assert ds.n_signals == 1


def test_empty_batch_and_invalid_bucket() -> None:
    ds = Downsampler(1)
    assert len(ds.update(SampleBatch.empty())) == 0
    with pytest.raises(ValueError):
        Downsampler(1, bucket_s=0.0)
