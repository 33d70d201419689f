"""AssetBank (many assets' joint models scored together) against the detector it stacks, and
RelationshipView (the edge's multivariate view) on generated related signals: its rows, its
learning period, a relation break, its words and its saved state."""

from __future__ import annotations

import numpy as np
import pytest

from plantmind.core.types import SampleBatch
from plantmind.detect.asset_bank import AssetBank
from plantmind.detect.base import Scores
from plantmind.detect.multivariate import AssetCorrelationConfig, AssetCorrelationDetector
from plantmind.detect.relationship import RelationshipConfig, RelationshipView

#: three assets: two of 3 signals, one of 2 (two groups in the bank)
COLUMNS = [np.array([0, 1, 2]), np.array([3, 4]), np.array([5, 6, 7])]
NAMES = ["A.flow", "A.current", "A.pressure", "B.speed", "B.load", "C.x", "C.y", "C.z"]
ASSET_OF = np.array([0, 0, 0, 1, 1, 2, 2, 2])


def related(n: int, seed: int) -> np.ndarray:
    """``n`` rows of 8 signals; within each asset the signals follow one latent AR(1)."""
    rng = np.random.default_rng(seed)
    f = np.zeros((n, 3))
    e = rng.standard_normal((n, 3)) * 0.6
    for t in range(1, n):
        f[t] = 0.8 * f[t - 1] + e[t]
    load = np.array([1.0, 0.9, -0.7, 1.0, 0.8, 1.0, 0.6, 0.9])
    x = f[:, ASSET_OF] * load + 0.2 * rng.standard_normal((n, 8))
    return 50.0 + 5.0 * x


def detectors(config: AssetCorrelationConfig) -> list[AssetCorrelationDetector]:
    train = related(2000, seed=1)
    return [AssetCorrelationDetector(len(c), config).fit(train[:, c]) for c in COLUMNS]


@pytest.mark.parametrize(
    "config",
    [
        AssetCorrelationConfig(lags=0, ewma=0.1, ridge=1e-3, principal_allowance=3.0),
        AssetCorrelationConfig(lags=0, ewma=0.2, adapt=0.01),
        AssetCorrelationConfig(lags=0, ewma=0.1, adapt_mean=0.01),
    ],
    ids=["frozen", "adapting", "mean-following"],
)
def test_bank_scores_equal_the_detectors_row_loop(config) -> None:
    dets = detectors(config)
    bank = AssetBank(dets, COLUMNS)
    x = related(600, seed=2)
    x[300:, 1] = 100.0 - x[300:, 1]  # A.current mirrored: its relation to A.flow breaks
    rng = np.random.default_rng(3)
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values: imputed by the model
    x[40] = np.nan  # a row where nothing reports: skipped by every model
    got = bank.score(x)
    for k, (det, cols) in enumerate(zip(dets, COLUMNS, strict=True)):
        score, _, contrib = det.update(x[:, cols])
        np.testing.assert_allclose(got.score[:, k], score, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.contributions(k), contrib, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.deviations(k)[-1], det.zdev, rtol=1e-9, atol=1e-12)
    assert (got.score[:300, 0] >= 0.5).mean() < 0.05
    assert (got.score[320:, 0] >= 0.5).mean() > 0.9


def test_bank_state_round_trip_resumes_exactly() -> None:
    bank = AssetBank(detectors(AssetCorrelationConfig(lags=0, adapt_mean=0.01)), COLUMNS)
    x = related(400, seed=4)
    bank.score(x[:150])
    state = {k: v.copy() for k, v in bank.state_dict().items()}
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in state.values())
    a = bank.score(x[150:])
    b = AssetBank.from_state(state).score(x[150:])
    np.testing.assert_array_equal(a.score, b.score)
    for ca, cb in zip(a.contrib, b.contrib, strict=True):
        np.testing.assert_array_equal(ca, cb)


# -- the view over a stream of samples -----------------------------------------------------
def batch(x: np.ndarray, t0: float) -> SampleBatch:
    """Rows as one batch of samples, 1 s apart, each signal 0.1 s after the previous one."""
    n, p = x.shape
    sig = np.tile(np.arange(p), n)
    ts = np.repeat(t0 + np.arange(n, dtype=float), p) + np.tile(np.arange(p) * 0.1, n)
    return SampleBatch(sig, ts, x.reshape(-1))


def view(**kw: float) -> RelationshipView:
    cfg = RelationshipConfig(**{"learn_rows": 1500, "min_learn_rows": 300, **kw})  # type: ignore[arg-type]
    return RelationshipView(ASSET_OF, NAMES, ["A", "B", "C"], cfg)


def test_the_view_learns_first_then_alarms_a_relation_break_and_names_it() -> None:
    v = view()
    assert v.observe(batch(related(1000, seed=5), 0.0), live=False) is None
    assert v.status["state"] == "learning" and "1,000 of 1,500" in v.status["text"]
    v.observe(batch(related(500, seed=6), 1000.0), live=False)
    assert v.learned and v.status["state"] == "scoring"
    assert v.status["assets"] == 3
    normal = v.observe(batch(related(600, seed=7), 1500.0), live=True)
    assert normal is not None and (normal >= 0.5).mean() < 0.01
    x = related(300, seed=8)
    x[:, 1] = 100.0 - x[:, 1]  # A.current now falls when A.flow rises: inside its range
    b = batch(x, 2100.0)
    s = Scores(np.zeros(len(b)), np.zeros(len(b), np.int8), np.zeros(len(b)))
    v.fuse(b, s, channel=6, live=True)
    late = b.ts >= 2130.0
    on_a = np.isin(b.signal, [0, 1])
    assert (s.score[late & on_a] >= 0.5).mean() > 0.9
    assert set(np.unique(s.channel[late & (s.score >= 0.5)])) == {6}
    assert (s.score[late & (b.signal >= 3)] >= 0.5).mean() < 0.01  # other assets stay quiet
    words = v.describe(1)
    assert words.startswith("relationship broke: ") and "A.current" in words, words
    assert "decoupled from" in words


def test_history_long_enough_is_fitted_at_the_first_live_batch() -> None:
    v = view()
    v.observe(batch(related(400, seed=9), 0.0), live=False)
    assert not v.learned
    out = v.observe(batch(related(10, seed=10), 400.0), live=True)
    assert v.learned and v.learned_rows == 400 and out is not None


def test_without_history_the_view_learns_from_live_operation() -> None:
    v = view()
    assert v.observe(batch(related(400, seed=11), 0.0), live=True) is None
    assert v.observe(batch(related(400, seed=12), 400.0), live=True) is None
    assert not v.learned  # still learning: live rows fill the buffer to learn_rows


def test_rows_hold_each_signals_latest_value() -> None:
    v = view()
    b = SampleBatch(
        np.array([0, 1, 0, 2, 1]),
        np.array([0.0, 0.2, 1.0, 1.5, 3.4]),
        np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
    )
    rows, row_of = v._rows(b)
    assert rows.shape == (3, 8) and list(row_of) == [0, 0, 1, 1, 2]
    np.testing.assert_array_equal(rows[:, :3], [[1, 2, np.nan], [3, 2, 4], [3, 5, 4]])
    late = SampleBatch(np.array([2, 2]), np.array([3.9, 4.0]), np.array([7.0, 8.0]))
    rows, row_of = v._rows(late)  # 3.9 falls in a row already scored: only held
    assert list(row_of) == [-1, 0]
    np.testing.assert_array_equal(rows[0, :3], [3, 5, 8])


def test_the_views_state_round_trip_keeps_models_whose_signals_remain() -> None:
    v = view()
    v.observe(batch(related(1500, seed=13), 0.0), live=False)
    v.observe(batch(related(100, seed=14), 1500.0), live=True)
    state = v.state_dict()
    assert state and all(v_.dtype != object for v_ in state.values())
    x = batch(related(200, seed=15), 1600.0)
    a = v.observe(x, live=True)
    again = view()
    again.load_state_dict(state)
    np.testing.assert_array_equal(again.observe(x, live=True), a)
    # a plant without C.z: asset C's model is dropped, the others are kept, columns remapped
    names = [n for n in NAMES if n != "C.z"]
    smaller = RelationshipView(ASSET_OF[:7], names, ["A", "B", "C"], v.config)
    smaller.load_state_dict(state)
    assert smaller.learned and smaller.bank is not None and smaller.bank.n_models == 2
    assert smaller.describe(5).endswith("relationship to the asset's other signals broke")
