"""Behaviour of SeasonalRecordDetector on generated daily signals: a day that breaks the
daily pattern is reported by the seasonal view, a spike by the streaming part, regular days
are quiet; the score is causal and state resumes exactly."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from plantmind.core.types import SampleBatch
from plantmind.detect.seasonal import SEASONAL, SeasonalConfig, SeasonalRecordDetector
from plantmind.detect.streaming import StreamingRankDetector

DAY = 288  # samples per day at 5-minute intervals
DAYS = 14


def _daily(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(DAY * DAYS) * 300.0
    x = 50 + 10 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 0.5, t.size)
    return t, x


def _score(t: np.ndarray, x: np.ndarray, det: SeasonalRecordDetector | None = None):
    det = det or SeasonalRecordDetector(1)
    return det, det.score_batch(SampleBatch(np.zeros(len(x)), t, x))


def test_a_missing_daily_peak_is_reported_by_the_seasonal_view():
    t, x = _daily()
    day = 11 * DAY
    peak = slice(day + DAY // 8, day + 3 * DAY // 8)  # the top of the sine, at a low level
    x[peak] = 40 + np.random.default_rng(1).normal(0, 0.5, peak.stop - peak.start)
    _, out = _score(t, x)
    hit = np.flatnonzero(out.score[peak] >= 0.5)
    assert hit.size, "the flattened peak was not reported"
    assert SEASONAL in out.channel[peak][hit]
    # the streaming detector alone: the low level is a familiar one, only its time is new
    alone = StreamingRankDetector(1).score_batch(SampleBatch(np.zeros(len(x)), t, x))
    assert out.score[peak].max() > alone.score[peak].max()


def test_a_spike_after_warm_up_is_reported():
    t, x = _daily()
    x[9 * DAY] += 30.0
    _, out = _score(t, x)
    assert out.score[9 * DAY] >= 0.5


def test_regular_days_are_quiet():
    t, x = _daily(seed=3)
    _, out = _score(t, x)
    scored = out.score[3 * DAY :]
    assert np.count_nonzero(scored >= 0.5) <= 3


def test_causal_appending_future_data_does_not_change_past_scores():
    t, x = _daily()
    cut = 8 * DAY
    _, whole = _score(t, x)
    changed = x.copy()
    changed[cut:] = np.random.default_rng(7).normal(0, 100, x.size - cut)
    _, other = _score(t, changed)
    _, short = _score(t[:cut], x[:cut])
    np.testing.assert_array_equal(whole.score[:cut], other.score[:cut])
    np.testing.assert_array_equal(whole.score[:cut], short.score)


def test_state_save_and_load_resumes_exactly():
    t, x = _daily()
    x[10 * DAY : 10 * DAY + 60] = 50.0
    cut = 7 * DAY + 13
    _, straight = _score(t, x)
    first, _ = _score(t[:cut], x[:cut])
    state = pickle.loads(pickle.dumps(first.state_dict()))
    second = SeasonalRecordDetector(1)
    second.load_state_dict(state)
    _, rest = _score(t[cut:], x[cut:], second)
    np.testing.assert_array_equal(rest.score, straight.score[cut:])


def test_a_bad_state_or_config_is_refused():
    det = SeasonalRecordDetector(2)
    state = det.state_dict()
    del state["ring"]
    with pytest.raises(ValueError, match="lacks"):
        SeasonalRecordDetector(1).load_state_dict(state)
    with pytest.raises(ValueError):
        SeasonalRecordDetector(1, config=SeasonalConfig(margin=0.0))


def test_a_signal_sampled_daily_has_no_seasonal_view():
    rng = np.random.default_rng(2)
    t = np.arange(400) * 86400.0
    x = rng.normal(0, 1, 400)
    _, out = _score(t, x)
    assert SEASONAL not in out.channel
