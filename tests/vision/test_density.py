"""The patch density: bounded memory however many images, exact nearest-neighbour distances
in whitened units, unusual patches score higher, regions of interest are honoured."""

from __future__ import annotations

import numpy as np
import pytest

from plantmind.vision.density import DensityFitter, PatchDensity, top_mean
from plantmind.vision.runtime import combine


def _good_maps(rng: np.random.Generator, n: int, c: int = 6, r: int = 4) -> np.ndarray:
    base = rng.normal(size=(n, c, r, r))
    base[:, 1] = 3.0 * base[:, 0] + 0.1 * base[:, 1]  # correlated channels: whitening matters
    return base.astype(np.float32)


def test_bank_stays_bounded_and_is_a_sample_of_every_batch():
    rng = np.random.default_rng(0)
    fitter = DensityFitter(bank_size=64, seed=1)
    for k in range(50):  # 50 batches of 8 images x 16 patches = 6,400 patches
        maps = _good_maps(rng, 8)
        maps[:, 5] = k  # channel 5 says which batch a patch came from
        fitter.add(maps)
    dens = fitter.finish()
    assert dens.bank.shape == (64, 6)
    # the reservoir holds patches from early and late batches alike (uniform sample)
    raw = dens.bank @ np.linalg.inv(dens.whiten) + dens.mean
    batches = np.round(raw[:, 5]).astype(int)
    assert batches.min() < 15 and batches.max() > 35


def test_distances_are_nearest_neighbour_distances_after_whitening():
    rng = np.random.default_rng(2)
    fitter = DensityFitter(bank_size=10_000)
    good = _good_maps(rng, 20)
    fitter.add(good)
    dens = fitter.finish()
    query = _good_maps(rng, 2)
    got = dens.distances(query)
    q = query.transpose(0, 2, 3, 1).reshape(-1, 6)
    qw = (q - dens.mean) @ dens.whiten
    brute = np.sqrt(((qw[:, None, :] - dens.bank[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(got.reshape(-1), brute, rtol=1e-3, atol=1e-3)
    # a patch that breaks the learned channel correlation is far from every good one,
    # although each of its channel values is ordinary
    odd = query.copy()
    odd[0, 1, 2, 2] = -3.0 * odd[0, 0, 2, 2]
    d_odd = dens.distances(odd)[0]
    assert d_odd[2, 2] > 3 * np.median(got)
    assert dens.score(d_odd) > dens.score(got[1])


def test_save_and_load_give_the_same_scores(tmp_path):
    rng = np.random.default_rng(3)
    fitter = DensityFitter(bank_size=200, top_k=2)
    fitter.add(_good_maps(rng, 30))
    dens = fitter.finish()
    dens.save(tmp_path / "d.npz")
    again = PatchDensity.load(tmp_path / "d.npz")
    q = _good_maps(rng, 3)
    np.testing.assert_array_equal(dens.distances(q), again.distances(q))
    assert again.top_k == 2


def test_combine_scores_only_inside_the_region_of_interest():
    rng = np.random.default_rng(4)
    fitter = DensityFitter()
    fitter.add(_good_maps(rng, 40))
    dens = fitter.finish()
    feats = _good_maps(rng, 1)[0]
    feats[:, 0, 0] += 40.0  # a defect-like patch in the top-left corner of a 4 x 4 grid
    hm = np.zeros((16, 16), np.float32)
    full, shown = combine(hm, feats, dens, None, distance_ref=2.0)
    mask = np.ones((16, 16), np.float32)
    mask[:4, :4] = 0  # the corner is an excluded area of the station
    masked, shown_m = combine(hm, feats, dens, mask, distance_ref=2.0)
    assert 0.0 < masked < full < 1.0
    assert shown.max() == pytest.approx(0.5) and shown_m[:4, :4].max() == 0.0


def test_top_mean_and_an_empty_fit():
    assert top_mean(np.array([1.0, 5.0, 3.0]), 2) == 4.0
    assert top_mean(np.array([]), 3) == 0.0
    with pytest.raises(ValueError, match="no good patches"):
        DensityFitter().finish()
