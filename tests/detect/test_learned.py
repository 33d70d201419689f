"""TableModel: the learn-then-score model behind ``plantmind detect``."""

from __future__ import annotations

import numpy as np
import pytest

from plantmind.detect.learned import (
    LearnSettings,
    ModelFileError,
    TableModel,
    TooFewRowsError,
    default_learn_rows,
    min_learn_rows,
)
from plantmind.detect.multivariate import AssetCorrelationDetector


def _related(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = np.cumsum(rng.normal(0, 0.1, (n, 2)), axis=0) * 0.2 + rng.normal(0, 1, (n, 2))
    load = rng.uniform(0.5, 1.5, (6, 2))
    return f @ load.T + rng.normal(0, 0.2, (n, 6))


def test_block_scoring_matches_the_detector_row_by_row() -> None:
    x = _related(900)
    x[500:, 2] += 1.5
    x[620, 1] = np.nan  # one missing cell
    x[640] = np.nan  # a missing row
    model = TableModel.fit(x[:300], [f"s{j}" for j in range(6)])
    fast = model.score(x[300:], chunk_rows=77)  # chunk edges must not matter
    det = AssetCorrelationDetector(6, model.settings.detector_config()).fit(x[:300])
    score, alarm, _ = det.update(x[300:])
    assert np.allclose(fast.score, score, atol=1e-12)
    assert np.array_equal(fast.alarm, alarm)
    assert fast.alarm[250:].mean() > 0.9 and fast.alarm[:150].mean() < 0.05


def test_the_default_learning_period_adapts_to_the_file() -> None:
    assert default_learn_rows(1200, 8) == 360
    assert default_learn_rows(100, 20) == min_learn_rows(20) == 60  # the floor
    assert default_learn_rows(10**7, 5) == 20_000  # the ceiling
    with pytest.raises(TooFewRowsError, match=r"at least 60 rows .* \(61 or more in all\)"):
        default_learn_rows(60, 20)


def test_columns_that_cannot_be_learned_are_named_and_the_rest_is_scored() -> None:
    x = _related(600)
    x = np.column_stack([x, np.full(600, 7.0), np.where(np.arange(600) % 3 == 0, 1.0, np.nan)])
    names = [f"s{j}" for j in range(6)] + ["setpoint", "sparse"]
    model = TableModel.fit(x[:200], names)
    assert model.excluded == {
        "setpoint": "constant (7) in the learning rows",
        "sparse": "missing in 66% of the learning rows",
    }
    assert model.scored_columns() == names[:6]
    x[400:, 0] += 4.0
    out = model.score(x[200:])
    assert out.alarm[220:].mean() > 0.9
    assert set(out.top[220:]) == {0}


def test_a_stuck_sensor_alarms_and_a_coarse_one_does_not() -> None:
    rng = np.random.default_rng(5)
    n = 900
    coarse = np.round(rng.normal(0, 0.3, n))  # mostly 0: runs of the same value are normal
    fine = rng.normal(10, 1, n)
    x = np.column_stack([coarse, fine])
    x[600:, 1] = x[599, 1]  # the fine sensor freezes
    model = TableModel.fit(x[:300], ["coarse", "fine"])
    out = model.score(x[300:])
    assert not out.alarm[:300].any()
    stuck = np.flatnonzero(out.alarm)
    assert stuck.size and stuck[0] + 300 == 599 + 29  # the 30th row of one value (from 599)
    assert out.reason[int(stuck[0])].startswith("fine stuck at ")
    assert set(out.top[stuck]) == {1}
    model.reset_stream()
    in_pieces = model.score(x[300:], chunk_rows=47)  # runs carry across blocks
    assert np.array_equal(in_pieces.score, out.score) and in_pieces.reason == out.reason


def test_a_saved_model_scores_other_files_the_same(tmp_path) -> None:
    x = _related(700, seed=2)
    model = TableModel.fit(x[:300], [f"s{j}" for j in range(6)])
    first = model.score(x[300:])
    path = model.save(tmp_path / "m.npz")
    again = TableModel.load(path).score(x[300:])
    assert np.array_equal(first.score, again.score) and first.reason == again.reason
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=r"bad\.npz: cannot read the model"):
        TableModel.load(tmp_path / "bad.npz")


def test_the_false_alarm_budget_moves_the_alarm_point() -> None:
    x = _related(2000, seed=4)
    x[1000:, 3] += np.linspace(0, 3, 1000)  # a slow drift: where it alarms depends on the budget
    names = [f"s{j}" for j in range(6)]
    loose = TableModel.fit(x[:600], names, settings=LearnSettings(false_alarm_rate=0.3))
    strict = TableModel.fit(x[:600], names, settings=LearnSettings(false_alarm_rate=0.001))
    assert loose.detectors[0].limit < strict.detectors[0].limit
    first_loose = np.flatnonzero(loose.score(x[600:]).alarm)[0]
    first_strict = np.flatnonzero(strict.score(x[600:]).alarm)[0]
    assert 400 <= first_loose < first_strict
    with pytest.raises(ValueError, match=r"false-alarm rate must be between 0 and 0\.5"):
        LearnSettings(false_alarm_rate=1.0)


def test_principal_allowance_of_one_is_the_plain_distance() -> None:
    x = _related(400)
    plain = LearnSettings(principal_allowance=1.0).detector_config()
    a = AssetCorrelationDetector(6, plain).fit(x)
    z = (x - a.mu) / a.sd
    cov = np.cov(z, rowvar=False)
    cov += np.eye(6) * plain.ridge * np.trace(cov) / 6
    assert np.allclose(a.prec, np.linalg.inv(cov))  # the plain inverse covariance
    wide = AssetCorrelationDetector(6, LearnSettings().detector_config()).fit(x)
    v = x[-1] - x.mean(axis=0)
    z = v / a.sd
    assert float(z @ wide.prec @ z) < float(z @ a.prec @ z)  # main directions weigh less


def test_one_model_per_operating_mode_when_asked(tmp_path) -> None:
    rng = np.random.default_rng(8)
    n = 1200
    running = (np.arange(n) // 150) % 2 == 0  # runs and stops, 150 rows each
    flow = np.where(running, 100.0, 0.0) + rng.normal(0, 1, n)
    current = np.where(running, 40.0, 2.0) + 0.2 * (flow - np.where(running, 100, 0))
    current = current + rng.normal(0, 0.3, n)
    x = np.column_stack([flow, current])
    names = ["flow", "current"]
    one = TableModel.fit(x[:600], names)
    two = TableModel.fit(x[:600], names, settings=LearnSettings(max_modes=3))
    assert len(one.detectors) == 1 and len(two.detectors) == 2 and two.mode_group == [0, 0]
    rest = x[600:].copy()
    # half flow at half current: on the line between the modes, in neither of them
    rest[400:, 0] = 50.0 + rng.normal(0, 1, 200)
    rest[400:, 1] = 21.0 + rng.normal(0, 0.3, 200)
    # settling at each mode change is a few rows of the EWMA; outside them, quiet
    quiet = two.score(rest[:400]).alarm
    assert quiet.mean() < 0.1
    assert one.score(rest).alarm[410:].mean() < 0.5  # one Gaussian over both: looks normal
    loaded = TableModel.load(two.save(tmp_path / "modes.npz"))
    assert loaded.mode_group == [0, 0]
    assert loaded.score(rest).alarm[410:].all()
