"""Behaviour of the robust per-signal detector on generated signals with known faults."""

from __future__ import annotations

import numpy as np

from plantmind.core.types import SampleBatch
from plantmind.detect.robust import (
    ABOVE,
    SPIKE,
    STUCK,
    VOLATILITY,
    RobustConfig,
    RobustSignalDetector,
)

CFG = RobustConfig(warmup=600)


def _run(values: np.ndarray, cfg: RobustConfig = CFG):
    det = RobustSignalDetector(1, config=cfg)
    n = len(values)
    out = det.score_batch(SampleBatch(np.zeros(n), np.arange(n, dtype=float), values))
    return det, out


def _two_mode_signal(n: int, rng: np.random.Generator) -> np.ndarray:
    # a pump that stops (exact 0.0 from the meter's low-flow cut-off) and runs at 100 ± noise
    x = 100 + rng.normal(0, 1.0, n)
    for start in range(50, n, 400):
        x[start : start + 60] = 0.0
    return x


def test_learned_operating_modes_are_not_anomalies():
    rng = np.random.default_rng(1)
    _, out = _run(_two_mode_signal(6000, rng))
    assert (out.score[600:] >= 0.5).sum() == 0


def test_level_above_range_is_detected_and_explained():
    rng = np.random.default_rng(2)
    x = _two_mode_signal(3000, rng)
    x[2500:] = 140 + rng.normal(0, 1.0, 500)  # 40 % of the learned width above it
    det, out = _run(x)
    assert out.score[2501] >= 0.5 and out.channel[2501] == ABOVE
    assert (out.score[600:2500] >= 0.5).sum() == 0
    lo, hi = det.normal_range(0)
    assert -1 < lo < 1 and 100 < hi < 106  # the fault was not learned into the range


def test_spike_is_reported_one_sample_later():
    rng = np.random.default_rng(3)
    x = 50 + rng.normal(0, 0.5, 2000)
    x[1500] = 58.0  # inside no range, 16 sigma steps up and back
    _, out = _run(x)
    assert out.channel[1501] == SPIKE and out.score[1501] >= 0.5
    assert (out.score[600:1500] >= 0.5).sum() == 0


def test_sustained_oscillation_is_volatility_but_a_ramp_is_not():
    rng = np.random.default_rng(4)
    x = 50 + rng.normal(0, 0.5, 4000)
    x[1500:1510] += np.linspace(0, 10, 10)  # a start-up ramp to a new level ...
    x[1510:2000] += 10  # ... that stays
    x[3000:3300] += 4 * np.sin(np.arange(300) * 0.9)  # oscillation inside the range
    det = RobustSignalDetector(1, config=RobustConfig(warmup=600))
    first = det.score_batch(SampleBatch(np.zeros(1500), np.arange(1500.0), x[:1500]))
    # learn the second level as normal before the ramp is judged: replay the ramp in warm-up
    assert (first.score[600:] >= 0.5).sum() == 0
    out = det.score_batch(SampleBatch(np.zeros(2500), np.arange(1500.0, 4000.0), x[1500:]))
    ramp = out.score[0:60]
    assert (out.channel[0:60][ramp >= 0.5] == VOLATILITY).sum() == 0
    osc = out.channel[1500:1800]
    assert (osc == VOLATILITY).sum() > 100


def test_stuck_sensor_is_detected_but_a_resting_value_is_not():
    rng = np.random.default_rng(5)
    x = _two_mode_signal(3000, rng)
    x[2200:2300] = x[2199]  # frozen while running
    _, out = _run(x)
    assert STUCK in set(out.channel[2200:2300])
    assert (out.score[2206:2300] >= 0.5).all()  # alarms from the 6th repeat on
    stops = np.zeros(3000, bool)
    for start in range(850, 2200, 400):
        stops[start : start + 60] = True
    assert (out.score[stops] >= 0.5).sum() == 0


def test_false_alarm_feedback_makes_the_signal_less_sensitive():
    rng = np.random.default_rng(6)
    x = 50 + rng.normal(0, 0.5, 3000)
    x[2000:] += 2.0  # a small but real step above the learned range
    det, out = _run(x[:2100])
    peak = float(out.score[2000:2100].max())
    assert peak >= 0.5
    det.feedback(0, "false_alarm", peak)
    later = det.score_batch(SampleBatch(np.zeros(900), np.arange(2100.0, 3000.0), x[2100:]))
    assert later.score.max() < 0.5


def test_missed_feedback_makes_the_signal_more_sensitive():
    rng = np.random.default_rng(7)
    x = 50 + rng.normal(0, 0.5, 2000)
    det, _ = _run(x)
    probe = SampleBatch([0], [2000.0], [x[-1] + 1.0])
    before = det.state_dict()
    base = RobustSignalDetector(1, config=CFG)
    base.load_state_dict(before)
    s0 = base.score_batch(probe).score[0]
    det.feedback(0, "missed", 0.4)
    s1 = det.score_batch(probe).score[0]
    assert s1 > s0
