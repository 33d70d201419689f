"""AssetCorrelationDetector on generated correlated data: 6 signals driven by 2 latent AR(1)
factors plus independent noise, so each signal is ~90 % explained by the others."""

from __future__ import annotations

import time

import numpy as np
import pytest

from plantmind.detect.multivariate import AssetCorrelationConfig, AssetCorrelationDetector

LOADINGS = np.array(
    [
        [1.0, 0.0],
        [0.9, 0.3],
        [0.8, -0.4],
        [0.0, 1.0],
        [0.3, 0.9],
        [-0.5, 0.8],
    ]
)
NAMES = ["flow", "pressure", "power", "temp_in", "temp_out", "valve"]


def make_data(n: int, seed: int, noise: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = np.zeros((n, 2))
    e = rng.standard_normal((n, 2)) * np.sqrt(1 - 0.8**2)
    for t in range(1, n):
        f[t] = 0.8 * f[t - 1] + e[t]
    x = f @ LOADINGS.T + noise * rng.standard_normal((n, 6))
    return x * np.array([10.0, 2.0, 50.0, 1.0, 1.0, 5.0]) + np.array([100, 5, 300, 20, 25, 40])


@pytest.fixture(scope="module")
def fitted() -> tuple[AssetCorrelationDetector, dict[str, np.ndarray], np.ndarray]:
    train = make_data(3000, seed=1)
    det = AssetCorrelationDetector(6).fit(train)
    return det, det.state_dict(), train


def fresh(fitted_: tuple[AssetCorrelationDetector, dict[str, np.ndarray], np.ndarray]):
    det, state, _ = fitted_
    det.load_state_dict(state)
    return det


def test_normal_alarm_rate_near_target(fitted) -> None:
    det = fresh(fitted)
    rates = []
    for seed in (11, 12, 13):
        det.reset_stream()
        _, alarm, _ = det.update(make_data(5000, seed=seed))
        rates.append(alarm.mean())
    assert np.mean(rates) <= 3 * det.config.target_far
    assert max(rates) <= 0.05


def test_correlation_break_detected_inside_ranges(fitted) -> None:
    det = fresh(fitted)
    _, _, train = fitted
    x = make_data(1500, seed=21)
    # from t=500 "power" (2) follows a mirror image of its normal relation: it stays inside
    # its own normal range (and every other signal is untouched)
    mu, sd = train.mean(0), train.std(0)
    x[500:, 2] = mu[2] - 0.8 * (x[500:, 2] - mu[2])
    lo, hi = train.min(0), train.max(0)
    x = np.clip(x, lo, hi)  # and no signal leaves its training range anywhere
    assert np.all((x >= lo - 1e-9) & (x <= hi + 1e-9)), "test data must stay inside every range"
    assert np.all(np.abs((x[500:, 2] - mu[2]) / sd[2]) < 4.0)
    score, alarm, contrib = det.update(x)
    assert alarm[:500].mean() < 0.05
    assert alarm[520:].mean() > 0.9
    assert np.all((score >= 0) & (score <= 1))
    # the broken signal is the top contributor while alarming
    top = np.argmax(contrib[520:][alarm[520:]], axis=1)
    assert np.mean(top == 2) > 0.8
    text = det.explain(contrib[-1], NAMES)
    assert text.startswith("power decoupled from"), text


def test_mean_shift_detected_and_explained(fitted) -> None:
    det = fresh(fitted)
    _, _, train = fitted
    x = make_data(1200, seed=31)
    x[600:, 3] += 2.0 * train[:, 3].std()  # temp_in drifts off: +2σ of its normal spread
    _, alarm, contrib = det.update(x)
    assert alarm[:600].mean() < 0.05
    assert alarm[620:].mean() > 0.9
    assert np.argmax(contrib[-1]) == 3
    assert "temp_in" in det.explain(contrib[-1], NAMES).split(";")[0]


def test_state_round_trip_resumes_exactly(fitted) -> None:
    det = fresh(fitted)
    x = make_data(800, seed=41)
    x[400:, 1] += 3.0
    x[100, 2] = np.nan
    det.update(x[:300])
    state = {k: v.copy() for k, v in det.state_dict().items()}
    assert all(isinstance(v, np.ndarray) for v in state.values())
    a = det.update(x[300:])
    other = AssetCorrelationDetector(6)
    other.load_state_dict(state)
    b = other.update(x[300:])
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def test_nan_rows_survive(fitted) -> None:
    det = fresh(fitted)
    rng = np.random.default_rng(5)
    x = make_data(1500, seed=51)
    mu = fitted[2].mean(0)
    x[700:, 2] = mu[2] - 0.8 * (x[700:, 2] - mu[2])  # correlation break as above
    x[rng.random(x.shape) < 0.1] = np.nan  # 10 % missing values
    x[200:210] = np.nan  # and a gap where nothing reports
    x[300:400, 4] = np.nan  # one signal silent for a while
    score, alarm, contrib = det.update(x)
    assert np.all(np.isfinite(score)) and np.all(np.isfinite(contrib))
    assert alarm[:700].mean() < 0.05
    assert alarm[750:].mean() > 0.8
    # an all-NaN row repeats the previous output and changes nothing
    before = det.state_dict()
    s, a, _ = det.update(np.full(6, np.nan))
    assert s == score[-1] and a == alarm[-1]
    np.testing.assert_array_equal(before["stat"], det.state_dict()["stat"])


def test_learns_online_during_warmup() -> None:
    cfg = AssetCorrelationConfig(warmup=2000)
    det = AssetCorrelationDetector(6, cfg)
    x = make_data(3000, seed=61)
    x[2500:, 0] += 1.5 * x[:2000, 0].std()
    score, alarm, _ = det.update(x)
    assert det.fitted
    assert not alarm[:2000].any() and np.all(score[:2000] == 0.0)
    assert alarm[2000:2500].mean() < 0.05
    assert alarm[2520:].mean() > 0.9


def test_constant_and_collinear_signals_do_not_crash() -> None:
    x = make_data(1000, seed=71)
    x = np.hstack([x, x[:, :1] * 2.0, np.full((1000, 1), 7.0)])  # exact copy and a constant
    det = AssetCorrelationDetector(8).fit(x)
    y = make_data(300, seed=72)
    y = np.hstack([y, y[:, :1] * 2.0, np.full((300, 1), 7.0)])
    score, alarm, contrib = det.update(y)
    assert np.all(np.isfinite(score)) and np.all(np.isfinite(contrib))
    assert alarm.mean() < 0.05


def test_cost_per_row_for_50_signals() -> None:
    rng = np.random.default_rng(8)
    load = rng.standard_normal((50, 5))
    train = rng.standard_normal((3000, 5)) @ load.T + 0.3 * rng.standard_normal((3000, 50))
    det = AssetCorrelationDetector(50).fit(train)
    x = rng.standard_normal((2000, 5)) @ load.T + 0.3 * rng.standard_normal((2000, 50))
    det.update(x[:100])
    t = time.perf_counter()
    det.update(x[100:])
    per_row = (time.perf_counter() - t) / 1900
    assert per_row < 1e-3  # typically ~0.05 ms
