"""The patch density: bounded memory however many images, exact nearest-neighbour distances
in whitened units (at the same place of the part for a positional bank), unusual patches score
higher, regions of interest are honoured."""

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
    fitter = DensityFitter(bank_size=64, positional=False, seed=1)
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


def test_positional_bank_keeps_whole_maps_bounded_and_uniform():
    rng = np.random.default_rng(5)
    fitter = DensityFitter(bank_size=16 * 20, seed=1)  # 4 x 4 grid: room for 20 maps
    for k in range(50):  # 400 images
        maps = _good_maps(rng, 8)
        maps[:, 5] = k
        fitter.add(maps)
    dens = fitter.finish()
    assert dens.positional and dens.grid == 4
    assert dens.bank.shape == (20, 4, 4, 6)
    raw = dens.bank.reshape(-1, 6) @ np.linalg.inv(dens.whiten) + dens.mean
    batches = np.round(raw[:, 5]).reshape(20, 16).astype(int)
    # whole maps are kept (every patch of a kept map comes from the same batch) ...
    assert (batches == batches[:, :1]).all()
    # ... sampled from early and late batches alike
    assert batches.min() < 15 and batches.max() > 35


def test_a_patch_normal_elsewhere_is_unusual_at_the_wrong_place():
    rng = np.random.default_rng(6)
    good = rng.normal(scale=0.1, size=(60, 3, 4, 4)).astype(np.float32)
    good[:, 0, :, 0] += 5.0  # a bright edge along the left column of every good part
    pos, glob = DensityFitter(), DensityFitter(positional=False)
    pos.add(good)
    glob.add(good)
    dp, dg = pos.finish(), glob.finish()
    query = rng.normal(scale=0.1, size=(1, 3, 4, 4)).astype(np.float32)
    query[:, 0, :, 0] += 5.0
    moved = query.copy()
    moved[0, 0, 1, 2] += 5.0  # the edge's look, but in the middle of the part
    far = dp.distances(moved)[0, 1, 2]
    assert far > 2.5 * dp.distances(query)[0].max()
    # a global bank finds that look among the edge patches and calls it normal
    assert dg.distances(moved)[0, 1, 2] < far / 2
    with pytest.raises(ValueError, match="grid 5×5 does not match"):
        dp.distances(np.zeros((1, 3, 5, 5), np.float32))


@pytest.mark.parametrize("positional", [True, False])
def test_distances_are_nearest_neighbour_distances_after_whitening(positional):
    rng = np.random.default_rng(2)
    fitter = DensityFitter(bank_size=10_000, positional=positional)
    good = _good_maps(rng, 20)
    fitter.add(good)
    dens = fitter.finish()
    query = _good_maps(rng, 2)
    got = dens.distances(query)
    qw = (query.transpose(0, 2, 3, 1) - dens.mean) @ dens.whiten  # (2, 4, 4, 6)
    if positional:  # the nearest good patch at the same grid position
        diff = qw[:, None] - dens.bank[None]  # (2, M, 4, 4, 6)
        brute = np.sqrt((diff**2).sum(-1)).min(1)
    else:
        flat = qw.reshape(-1, 6)
        brute = np.sqrt(((flat[:, None, :] - dens.bank[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(got.reshape(-1), brute.reshape(-1), rtol=1e-3, atol=1e-3)
    # a patch that breaks the learned channel correlation is far from every good one,
    # although each of its channel values is ordinary
    odd = query.copy()
    odd[0, 1, 2, 2] = -3.0 * odd[0, 0, 2, 2]
    d_odd = dens.distances(odd)[0]
    assert d_odd[2, 2] > 3 * np.median(got)
    assert dens.score(d_odd) > dens.score(got[1])


def test_save_and_load_give_the_same_scores(tmp_path):
    rng = np.random.default_rng(3)
    fitter = DensityFitter(bank_size=200, top_share=2 / 16)  # 2 of a 4 x 4 map
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
    with pytest.raises(ValueError, match="top_share"):
        DensityFitter(top_share=0.0)
    fitter = DensityFitter()
    fitter.add(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="differs from the first batch"):
        fitter.add(np.zeros((2, 3, 8, 8), np.float32))


def test_gaussian_density_is_the_per_position_mahalanobis_distance(tmp_path):
    from plantmind.vision.density import GaussianFitter, load_density

    rng = np.random.default_rng(4)
    maps = _good_maps(rng, 60)
    maps[:, 2, 0, 0] += 5.0  # position (0, 0) is bright in channel 2 on every good part
    fitter = GaussianFitter(top_share=0.1, shrink=0.01)
    for k in range(0, 60, 16):  # streamed in batches
        fitter.add(maps[k : k + 16])
    dens = fitter.finish()
    q = _good_maps(rng, 2)
    got = dens.distances(q)
    assert got.shape == (2, 4, 4)
    x = maps.reshape(60, 6, 16).transpose(2, 0, 1).astype(np.float64)  # (P, N, C)
    for p in (0, 5, 15):
        mu = x[p].mean(0)
        cov = np.cov(x[p].T) + 0.01 * np.eye(6)
        d = q.reshape(2, 6, 16)[:, :, p] - mu
        ref = np.sqrt(np.einsum("nc,nc->n", d, np.linalg.solve(cov, d.T).T))
        assert np.allclose(got.reshape(2, 16)[:, p], ref, rtol=1e-3)
    # bright channel 2 is normal at (0, 0) and unusual elsewhere
    bright = q.copy()
    bright[:, 2] += 5.0
    d_bright = dens.distances(bright)
    assert d_bright[:, 0, 0].max() < got[:, 0, 0].min()
    assert d_bright[:, 1, 1].min() > got[:, 1, 1].max()
    dens.save(tmp_path / "g.npz")
    again = load_density(tmp_path / "g.npz")
    assert np.allclose(again.distances(q), got) and again.score(got[0]) == dens.score(got[0])
    with pytest.raises(ValueError, match="does not match"):
        dens.distances(q[:, :, :2, :2])
