"""SampleRing: last-`capacity` samples per signal, time order across wrap-around, latest()."""

from __future__ import annotations

import numpy as np
import pytest

from plantmind.core.types import SampleBatch
from plantmind.store.ring import SampleRing


def _batch(sig: list[int], ts: list[float], val: list[float]) -> SampleBatch:
    return SampleBatch(np.array(sig), np.array(ts), np.array(val))


def test_keeps_exactly_last_capacity_across_wraparound() -> None:
    ring = SampleRing(3, capacity=5)
    # 13 samples of signal 1 in batches of 4 interleaved with other signals: wraps twice+.
    t = 0.0
    for _ in range(4):
        sig, ts, val = [], [], []
        for _ in range(4):
            if t < 13:
                sig += [1, 0]
                ts += [t, t]
                val += [t * 10, -t]
            t += 1
        ring.append(_batch(sig, ts, val))
    ts1, v1 = ring.recent(1)
    assert ts1.tolist() == [8.0, 9.0, 10.0, 11.0, 12.0]
    assert v1.tolist() == [80.0, 90.0, 100.0, 110.0, 120.0]
    assert ring.recent(2)[0].size == 0
    assert ring.counts().tolist() == [5, 5, 0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_model_many_signals(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_signals, cap = 200, 7
    ring = SampleRing(n_signals, capacity=cap)
    model: dict[int, list[tuple[float, float]]] = {s: [] for s in range(n_signals)}
    clock = np.zeros(n_signals)
    for _ in range(30):
        m = int(rng.integers(0, 400))
        sig = rng.integers(0, n_signals, m)
        ts = np.empty(m)
        for i, s in enumerate(sig):  # per-signal increasing timestamps, interleaved arrival
            clock[s] += rng.uniform(0.0, 2.0)
            ts[i] = clock[s]
        val = rng.normal(size=m)
        ring.append(SampleBatch(sig, ts, val))
        for s, t, v in zip(sig.tolist(), ts.tolist(), val.tolist(), strict=True):
            model[s].append((t, v))
    assert ring.dropped == 0
    for s in range(n_signals):
        want = model[s][-cap:]
        got_ts, got_v = ring.recent(s)
        assert got_ts.tolist() == [t for t, _ in want]
        np.testing.assert_array_equal(got_v, np.array([v for _, v in want], dtype=np.float32))


def test_many_signals_in_one_batch() -> None:
    n, per, cap = 1000, 7, 4
    ring = SampleRing(n, capacity=cap)
    sig = np.tile(np.arange(n), per)
    ts = np.repeat(np.arange(per, dtype=float), n)
    val = sig * 100.0 + ts
    ring.append(SampleBatch(sig, ts, val))
    for s in (0, 1, 499, 999):
        got_ts, got_v = ring.recent(s)
        assert got_ts.tolist() == [3.0, 4.0, 5.0, 6.0]
        assert got_v.tolist() == [s * 100.0 + t for t in (3.0, 4.0, 5.0, 6.0)]
    assert (ring.counts() == cap).all()


def test_recent_limit_and_since() -> None:
    ring = SampleRing(1, capacity=10)
    ring.append(_batch([0] * 8, [float(t) for t in range(8)], [float(t) for t in range(8)]))
    assert ring.recent(0, limit=3)[0].tolist() == [5.0, 6.0, 7.0]
    assert ring.recent(0, since=5.5)[0].tolist() == [6.0, 7.0]
    assert ring.recent(0, since=5.0)[0].tolist() == [5.0, 6.0, 7.0]  # inclusive
    assert ring.recent(0, since=2.0, limit=2)[0].tolist() == [6.0, 7.0]
    assert ring.recent(0, since=100.0)[0].size == 0
    assert ring.recent(0, limit=0)[0].size == 0
    with pytest.raises(IndexError):
        ring.recent(1)


def test_recent_returns_copies() -> None:
    ring = SampleRing(1, capacity=4)
    ring.append(_batch([0, 0], [1.0, 2.0], [1.0, 2.0]))
    ts, val = ring.recent(0)
    ts[:] = -1
    val[:] = -1
    assert ring.recent(0)[0].tolist() == [1.0, 2.0]


def test_latest_nan_where_empty() -> None:
    ring = SampleRing(4, capacity=3)
    ring.append(_batch([0, 2, 0, 2, 2, 2], [1.0, 1.0, 2.0, 2.0, 3.0, 4.0], [5, 6, 7, 8, 9, 10]))
    ts, val = ring.latest()
    assert ts[0] == 2.0 and val[0] == 7.0
    assert ts[2] == 4.0 and val[2] == 10.0
    assert np.isnan(ts[1]) and np.isnan(val[1])
    assert np.isnan(ts[3]) and np.isnan(val[3])


def test_back_in_time_and_nonfinite_ts_dropped() -> None:
    ring = SampleRing(2, capacity=5)
    ring.append(_batch([0, 0, 0, 0, 1], [1.0, 3.0, 2.0, np.nan, 5.0], [1, 3, 2, 9, 5]))
    assert ring.recent(0)[0].tolist() == [1.0, 3.0]
    assert ring.dropped == 2
    ring.append(_batch([0, 0], [3.0, 4.0], [33.0, 4.0]))  # equal ts is accepted
    assert ring.recent(0)[1].tolist() == [1.0, 3.0, 33.0, 4.0]


def test_nan_values_are_kept() -> None:
    ring = SampleRing(1, capacity=3)
    ring.append(_batch([0, 0], [1.0, 2.0], [np.nan, 1.0]))
    _, val = ring.recent(0)
    assert np.isnan(val[0]) and val[1] == 1.0


def test_out_of_range_signal_raises_and_stores_nothing() -> None:
    ring = SampleRing(2, capacity=3)
    with pytest.raises(IndexError, match="5"):
        ring.append(_batch([0, 1, 5], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]))
    assert ring.counts().tolist() == [0, 0]
    with pytest.raises(IndexError):
        ring.append(_batch([-1], [1.0], [1.0]))


def test_resize_keeps_data() -> None:
    ring = SampleRing(3, capacity=4)
    ring.append(_batch([0, 1, 2, 1], [1.0, 1.0, 1.0, 2.0], [10, 11, 12, 13]))
    ring.resize(5)
    assert ring.n_signals == 5
    assert ring.recent(1)[1].tolist() == [11.0, 13.0]
    assert ring.recent(4)[0].size == 0
    ring.append(_batch([4, 1], [3.0, 3.0], [44, 14]))
    assert ring.recent(4)[1].tolist() == [44.0]
    assert ring.recent(1)[1].tolist() == [11.0, 13.0, 14.0]
    ring.resize(2)
    assert ring.recent(0)[1].tolist() == [10.0]
    with pytest.raises(IndexError):
        ring.recent(2)


def test_nbytes_matches_documented_bytes_per_signal() -> None:
    ring = SampleRing(10, capacity=300)
    assert SampleRing.bytes_per_signal(300) == 3616
    assert ring.nbytes == 10 * 3616
    assert ring.capacity == 300


def test_values_stored_as_float32() -> None:
    ring = SampleRing(1, capacity=2)
    ring.append(_batch([0], [1.0], [0.1]))
    _, val = ring.recent(0)
    assert val.dtype == np.float32
    assert val[0] == np.float32(0.1)


def test_invalid_construction() -> None:
    with pytest.raises(ValueError):
        SampleRing(1, capacity=0)
    with pytest.raises(ValueError):
        SampleRing(-1)
