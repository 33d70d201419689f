"""Checks every asset detector (plantmind.detect.base.AssetDetector) must pass: causality,
NaN rows, state save/restore, pickling, bounded memory. Every asset detector of the registry
has an entry in ASSET_DETECTORS: a registered one without it fails the first test."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np
import pytest

from plantmind.detect.base import AssetDetector
from plantmind.detect.registry import asset_detector_names, make_asset_detector

ASSET_DETECTORS: dict[str, Callable[[int], AssetDetector]] = {
    "correlation": lambda n: make_asset_detector("correlation", n),
}


def test_every_registered_asset_detector_has_a_harness():
    assert set(asset_detector_names()) == set(ASSET_DETECTORS)


def _rows(n: int, seed: int = 0) -> np.ndarray:
    """Three signals that move together (a load and two consequences), with noise."""
    rng = np.random.default_rng(seed)
    load = 50 + 10 * np.sin(np.arange(n) / 40) + rng.normal(0, 0.5, n)
    return np.column_stack(
        [load, 0.8 * load + rng.normal(0, 0.3, n), 20 + 0.1 * load + rng.normal(0, 0.05, n)]
    )


@pytest.fixture(params=sorted(ASSET_DETECTORS))
def fitted(request: pytest.FixtureRequest) -> AssetDetector:
    return ASSET_DETECTORS[request.param](3).fit(_rows(2000, seed=1))


def _state(det: AssetDetector) -> dict[str, np.ndarray]:
    return {k: np.array(v, copy=True) for k, v in det.state_dict().items()}


def test_scores_are_in_unit_interval_and_a_broken_relationship_alarms(fitted):
    x = _rows(600, seed=2)
    x[400:, 1] = 40.0  # decoupled from the load, inside its usual range
    score, alarm, contrib = fitted.update(x)
    assert score.shape == (600,) and contrib.shape == (600, 3)
    assert np.all((score >= 0) & (score <= 1))
    assert alarm[:400].mean() < 0.05 and alarm[420:].mean() > 0.5


def test_causal_future_rows_do_not_change_past_scores(fitted):
    start = _state(fitted)
    a = _rows(500, seed=3)
    b = a.copy()
    b[300:] += 25.0
    s_a = fitted.update(a)[0]
    fitted.load_state_dict(start)
    s_b = fitted.update(b)[0]
    np.testing.assert_array_equal(s_a[:300], s_b[:300])


def test_nan_rows_are_survived(fitted):
    x = _rows(300, seed=4)
    x[100:110, 0] = np.nan
    x[200] = np.nan
    score, _, _ = fitted.update(x)
    assert np.all(np.isfinite(score[120:190])) and np.all(np.isfinite(score[210:]))


def test_state_restores_and_pickles_to_the_same_scores(fitted):
    x = _rows(400, seed=5)
    fitted.update(x[:200])
    saved = _state(fitted)
    clone = pickle.loads(pickle.dumps(fitted))
    rest = fitted.update(x[200:])[0]
    np.testing.assert_allclose(clone.update(x[200:])[0], rest)
    fitted.load_state_dict(saved)
    np.testing.assert_allclose(fitted.update(x[200:])[0], rest)


def test_memory_does_not_grow_with_the_stream(fitted):
    fitted.update(_rows(200, seed=6))
    before = sum(v.nbytes for v in fitted.state_dict().values())
    fitted.update(_rows(3000, seed=7))
    after = sum(v.nbytes for v in fitted.state_dict().values())
    assert after == before
