"""Thresholds from good images only, and their refinement by labels."""

from __future__ import annotations

import numpy as np
import pytest

from plantmind.vision.threshold import MIN_GOOD, NotEnoughGoodImages, Thresholds


def test_threshold_from_good_scores_alone_meets_the_false_reject_rate():
    rng = np.random.default_rng(0)
    good = rng.gamma(4.0, 0.02, 2000)
    thr = Thresholds.fit(good, false_reject_rate=0.02)
    fresh = rng.gamma(4.0, 0.02, 100_000)
    frr = np.mean([thr.verdict(s) == "fail" for s in fresh[:20_000]])
    assert 0.005 < frr < 0.035
    assert thr.review <= thr.fail
    assert thr.verdict(float("nan")) == "fail"
    assert thr.verdict(0.0) == "pass"


def test_too_few_good_scores_is_a_clear_error():
    with pytest.raises(NotEnoughGoodImages, match=f"at least {MIN_GOOD}"):
        Thresholds.fit([0.1, 0.2, 0.3], 0.01)


def test_known_low_scoring_defects_widen_the_review_band_within_budget():
    rng = np.random.default_rng(1)
    good = rng.normal(0.2, 0.02, 500)
    base = Thresholds.fit(good, 0.01)
    sneaky = rng.normal(0.235, 0.005, 20)  # defects that score like the worst good parts
    refined = Thresholds.fit(good, 0.01, defects=sneaky)
    assert refined.fail == pytest.approx(base.fail)
    assert refined.review < base.review
    # never more than review_budget × FRR of good parts sent to review
    assert np.mean(good >= refined.review) <= 0.05 + 1e-9
    assert refined.n_defect == 20


def test_thresholds_round_trip():
    thr = Thresholds.fit(np.linspace(0, 1, 50), 0.05)
    assert Thresholds.from_dict(thr.to_dict()) == thr


def test_trained_model_threshold_comes_from_held_out_good_images(trained):
    """No defect was ever shown; the threshold still fails defects and passes most good parts."""
    from plantmind.demo.parts import PART_DEFECTS, make_part, png_bytes
    from plantmind.vision.runtime import InspectionModel

    directory, _result = trained
    model = InspectionModel(directory)
    assert model.meta.thresholds["n_defect"] == 0
    good = [
        model.score(png_bytes(make_part(9000 + i, None, (96, 112))[0])).score for i in range(12)
    ]
    bad = [
        model.score(png_bytes(make_part(9100 + i, PART_DEFECTS[i % 4], (96, 112))[0])).score
        for i in range(12)
    ]
    # a tiny model trained for seconds: it ranks defects above good parts more often than not
    pairs = np.mean([b > g for b in bad for g in good])
    assert pairs > 0.6, (good, bad)
