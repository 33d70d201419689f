"""Remaining-life model on generated fleets: training and prediction, artifacts, interval
coverage, operating regimes, and bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _health_data import FAST, make_fleet, truncate

from plantmind.health.artifact import ArtifactError, load_model, read_metadata, save_model
from plantmind.health.history import HistoryError, RunHistory, read_history_csv
from plantmind.health.regimes import RegimeNormalizer
from plantmind.health.rul import RulModel


@pytest.fixture(scope="module")
def trained() -> RulModel:
    return RulModel(FAST).fit(make_fleet(48, seed=0))


@pytest.fixture(scope="module")
def test_units() -> tuple[RunHistory, np.ndarray]:
    return truncate(make_fleet(120, seed=5), seed=3)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_train_predict_round_trip(trained, test_units):
    hist, true = test_units
    pred = trained.predict(hist)
    assert pred.asset_ids == hist.asset_ids
    capped = np.minimum(true, FAST.cap)
    # the wear law is learnable: far better than always predicting the mean
    assert _rmse(pred.rul, capped) < 0.5 * np.std(capped)
    assert np.all((pred.low <= pred.rul) & (pred.rul <= pred.high))
    assert trained.used_signals == ["a", "b", "c", "noise"]  # the flat sensor is dropped
    hi = trained.health_index(pred.rul)
    assert np.all((hi >= 0) & (hi <= 100))


def test_artifact_reproduces_predictions(trained, test_units, tmp_path):
    hist, _ = test_units
    save_model(trained, tmp_path / "m")
    meta = read_metadata(tmp_path / "m")
    assert meta["format_version"] == 1 and meta["trained_on"]["source"] == "generated"
    assert meta["features"] == trained.feature_names and "cv_rmse_all_points" in meta["metrics"]
    again = load_model(tmp_path / "m")
    a, b = trained.predict(hist), again.predict(hist)
    np.testing.assert_array_equal(a.rul, b.rul)
    np.testing.assert_array_equal(a.low, b.low)
    np.testing.assert_array_equal(a.high, b.high)


def test_artifact_errors(tmp_path, trained):
    with pytest.raises(ArtifactError, match=r"no model\.json"):
        load_model(tmp_path)
    save_model(trained, tmp_path / "m")
    text = (
        (tmp_path / "m" / "model.json")
        .read_text()
        .replace('"format_version": 1', '"format_version": 99')
    )
    (tmp_path / "m" / "model.json").write_text(text)
    with pytest.raises(ArtifactError, match="newer"):
        load_model(tmp_path / "m")


def test_interval_coverage_near_nominal(trained, test_units):
    hist, true = test_units
    pred = trained.predict(hist)
    capped = np.minimum(true, FAST.cap)
    cover = np.mean((capped >= pred.low) & (capped <= pred.high))
    # 90 % nominal on 120 held-out units: a binomial band of about ±6 points
    assert 0.8 <= cover <= 0.98


def test_failure_probability_is_monotone_in_horizon(trained):
    rul = np.array([5.0, 30.0, 55.0])
    p10 = trained.failure_probability(rul, 10)
    p40 = trained.failure_probability(rul, 40)
    assert np.all(p40 >= p10) and p10[0] > p10[2]
    assert np.all((p10 >= 0) & (p40 <= 1))


def test_regime_normalisation_on_multi_regime_data():
    train = make_fleet(48, seed=0, regimes=True)
    norm = RegimeNormalizer().fit(train.settings, train.signals)
    assert norm.k == 3
    single = RegimeNormalizer().fit(make_fleet(10, seed=1).settings, make_fleet(10, seed=1).signals)
    assert single.k == 1  # setting noise alone is not a regime
    hist, true = truncate(make_fleet(80, seed=9, regimes=True), seed=2)
    capped = np.minimum(true, FAST.cap)
    with_norm = RulModel(FAST).fit(train).predict(hist)
    without = RulModel(dataclasses.replace(FAST, n_regimes=1)).fit(train).predict(hist)
    # the regime shifts (25-40 units) dwarf the wear (≤ 2 units): normalising is what works
    assert _rmse(with_norm.rul, capped) < 0.5 * np.std(capped)
    assert _rmse(with_norm.rul, capped) < 0.8 * _rmse(without.rul, capped)


def test_history_without_failures_is_refused():
    with pytest.raises(HistoryError, match="no asset in the history ends in a failure"):
        RulModel(FAST).fit(make_fleet(10, failed=False))


def test_too_short_histories_are_refused():
    with pytest.raises(HistoryError, match="too short"):
        RulModel(dataclasses.replace(FAST, min_rows=50)).fit(make_fleet(10, min_len=5, max_len=9))
    with pytest.raises(HistoryError, match="at least 4"):
        RulModel(FAST).fit(make_fleet(3))


def test_nan_runs_are_carried_forward_and_all_nan_signals_refused(trained, test_units):
    hist, _ = test_units
    gappy = dataclasses.replace(hist, signals=hist.signals.copy())
    gappy.signals[::3, 0] = np.nan  # a sensor that drops every third reading
    gappy.signals[-15:, 1] = np.nan  # and one that went silent at the end
    pred = trained.predict(gappy)
    assert np.all(np.isfinite(pred.rul))
    gappy.signals[:, 2] = np.nan
    with pytest.raises(HistoryError, match="no finite value: c"):
        trained.predict(gappy)


def test_missing_model_signal_is_named(trained, test_units):
    hist, _ = test_units
    renamed = dataclasses.replace(hist, signal_names=["a", "b", "x", "noise", "flat"])
    with pytest.raises(HistoryError, match="lacks the model's signal"):
        trained.predict(renamed)


def _write_csv(path, h: RunHistory, *, marker: bool = True) -> None:
    b = h.bounds()
    lines = ["asset,time,op1,op2,op3,a,b,c,noise,flat" + (",failed" if marker else "")]
    for a in range(h.n_assets):
        for i in range(b[a], b[a + 1]):
            vals = [h.asset_ids[a], f"{h.time[i]:g}", *(f"{v:.5f}" for v in h.settings[i]),
                    *(f"{v:.5f}" for v in h.signals[i])]  # fmt: skip
            if marker:
                vals.append("1" if i == b[a + 1] - 1 and h.failed[a] else "0")
            lines.append(",".join(vals))
    path.write_text("\n".join(lines) + "\n")


def test_generic_csv_reader(tmp_path):
    h = make_fleet(6, seed=3)
    _write_csv(tmp_path / "h.csv", h)
    got = read_history_csv(tmp_path / "h.csv", settings=["op1", "op2", "op3"])
    assert got.signal_names == ["a", "b", "c", "noise", "flat"] and got.failed.all()
    np.testing.assert_allclose(got.signals, h.signals, atol=1e-5)
    np.testing.assert_allclose(got.rul(), h.rul())
    with pytest.raises(HistoryError, match="unknown column"):
        read_history_csv(tmp_path / "h.csv", settings=["speed"])
    _write_csv(tmp_path / "nomark.csv", h, marker=False)
    with pytest.raises(HistoryError, match="no end-of-life column"):
        read_history_csv(tmp_path / "nomark.csv")
    assert read_history_csv(tmp_path / "nomark.csv", all_failed=True).failed.all()
    (tmp_path / "bad.csv").write_text("asset,time,a,failed\nu1,1,abc,0\n")
    with pytest.raises(HistoryError, match="not a number"):
        read_history_csv(tmp_path / "bad.csv")


def test_flat_trees_and_networks_predict_like_scikit_learn():
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    from plantmind.health.mlp import MlpEnsemble
    from plantmind.health.trees import TreeEnsemble

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 6))
    y = x[:, 0] * 3 + np.sin(2 * x[:, 1])
    x[::7, 2] = np.nan  # missing values follow each split's learned side
    trees = [HistGradientBoostingRegressor(max_iter=30, random_state=k).fit(x[k::2], y[k::2]) for k in range(2)]  # fmt: skip
    want = np.mean([m.predict(x) for m in trees], axis=0)
    np.testing.assert_allclose(TreeEnsemble.from_sklearn(trees).predict(x), want, atol=1e-9)
    xf = np.nan_to_num(x)
    scaler = StandardScaler().fit(xf)
    nets = [MLPRegressor(hidden_layer_sizes=(8, 4), max_iter=50, random_state=k).fit(scaler.transform(xf), y) for k in range(2)]  # fmt: skip
    want = np.mean([m.predict(scaler.transform(xf)) for m in nets], axis=0)
    np.testing.assert_allclose(MlpEnsemble.from_sklearn(scaler, nets).predict(xf), want, atol=1e-9)
