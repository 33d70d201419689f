"""Checks every detector must pass: causality, NaN and gaps, a vanished signal, state
save/restore, bounded memory. Every detector of the registry (plantmind.detect.registry) has
an entry in DETECTORS: a registered detector without one fails
``test_every_registered_detector_has_a_harness``."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np
import pytest

from plantmind.core.types import SampleBatch
from plantmind.detect.base import Detector
from plantmind.detect.default import DEFAULT_DETECTOR
from plantmind.detect.registry import detector_names, make_detector
from plantmind.detect.robust import RobustConfig

# the harness: how the suite builds each registered detector (a short warm-up where the
# detector has one, so the checks see it score)
DETECTORS: dict[str, Callable[[int], Detector]] = {
    "robust": lambda n: make_detector("robust", n, config=RobustConfig(warmup=100)),
    "streaming": lambda n: make_detector("streaming", n),
    "streaming-seasonal": lambda n: make_detector("streaming-seasonal", n),
}


def test_every_registered_detector_has_a_harness():
    assert set(detector_names()) == set(DETECTORS)
    assert DEFAULT_DETECTOR in DETECTORS


def test_an_unknown_detector_is_refused_with_the_known_names():
    with pytest.raises(
        ValueError,
        match="unknown detector 'nope' \\(known: robust, streaming, streaming-seasonal\\)",
    ):
        make_detector("nope", 3)


def _stream(n_signals: int, n_ticks: int, seed: int = 0) -> SampleBatch:
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(n_ticks, dtype=float), n_signals)
    s = np.tile(np.arange(n_signals), n_ticks)
    base = np.tile(np.linspace(1, 50, n_signals), n_ticks)
    v = base + rng.normal(0, 0.5, n_ticks * n_signals)
    v[(t > 300) & (s == 0)] += 20.0  # a level shift on signal 0
    return SampleBatch(s, t, v)


@pytest.fixture(params=sorted(DETECTORS))
def make(request: pytest.FixtureRequest) -> Callable[[int], Detector]:
    return DETECTORS[request.param]


def test_scores_are_in_unit_interval_and_detect_the_shift(make):
    det = make(4)
    b = _stream(4, 400)
    out = det.score_batch(b)
    assert out.score.shape == (len(b),)
    assert np.all((out.score >= 0) & (out.score <= 1))
    shifted = (b.signal == 0) & (b.ts == 301)
    assert out.score[shifted][0] >= 0.5


def test_causal_future_data_does_not_change_past_scores(make):
    b = _stream(3, 400)
    cut = 250 * 3
    changed = SampleBatch(b.signal, b.ts, b.value.copy())
    changed.value[cut:] = np.random.default_rng(9).normal(0, 100, len(b) - cut)
    a = make(3).score_batch(b).score[:cut]
    c = make(3).score_batch(changed).score[:cut]
    np.testing.assert_array_equal(a, c)


def test_batch_boundaries_do_not_matter(make):
    b = _stream(3, 400)
    whole = make(3).score_batch(b).score
    det = make(3)
    parts = [det.score_batch(b.select(slice(i, i + 97))).score for i in range(0, len(b), 97)]
    np.testing.assert_array_equal(whole, np.concatenate(parts))


def test_nan_and_gaps_are_survived(make):
    b = _stream(2, 400)
    v = b.value.copy()
    v[::7] = np.nan
    v[5] = np.inf
    keep = ~((b.ts > 150) & (b.ts < 200))  # a gap of 50 ticks on both signals
    gappy = SampleBatch(b.signal, b.ts, v).select(keep)
    out = make(2).score_batch(gappy)
    assert np.all(np.isfinite(out.score))
    assert np.all(out.score[~np.isfinite(gappy.value)] == 0.0)


def test_vanished_signal_does_not_disturb_the_others(make):
    b = _stream(3, 400)
    gone = ~((b.signal == 2) & (b.ts > 120))
    ref = make(3).score_batch(b)
    got = make(3).score_batch(b.select(gone))
    mask = b.signal[gone] != 2
    np.testing.assert_array_equal(got.score[mask], ref.score[gone][mask])


def test_state_save_and_restore_resume_exactly(make):
    b = _stream(3, 400)
    cut = 200 * 3
    straight = make(3).score_batch(b).score
    first = make(3)
    first.score_batch(b.select(slice(0, cut)))
    state = pickle.loads(pickle.dumps(first.state_dict()))
    second = make(3)
    second.load_state_dict(state)
    np.testing.assert_array_equal(
        second.score_batch(b.select(slice(cut, None))).score, straight[cut:]
    )


def test_memory_per_signal_is_bounded(make):
    det = make(10)
    before = det.bytes_per_signal
    det.score_batch(_stream(10, 2000))
    assert det.bytes_per_signal == before
    assert before < 8192  # bounded: a fixed state per signal, at most 8 KiB


def test_resize_keeps_state_and_adds_untrained_signals(make):
    det = make(2)
    det.score_batch(_stream(2, 200))
    det.resize(3)
    assert det.n_signals == 3
    out = det.score_batch(SampleBatch([2, 2], [0.0, 1.0], [5.0, 6.0]))
    assert np.all(out.score == 0.0)  # still warming up


def test_out_of_range_index_is_refused(make):
    with pytest.raises(IndexError):
        make(2).score_batch(SampleBatch([5], [0.0], [1.0]))
