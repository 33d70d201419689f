"""A station's regions of interest and excluded regions decide where defects count."""

from __future__ import annotations

import numpy as np

from plantmind.core.plant import Region
from plantmind.demo.parts import make_part, png_bytes
from plantmind.vision.images import region_mask
from plantmind.vision.runtime import InspectionModel


def test_region_mask_in_original_pixels():
    m = region_mask(100, 200, 50, [Region(x=0, y=0, width=100, height=100)])
    assert m is not None and m.shape == (50, 50)
    assert m[:, :25].all() and not m[:, 25:].any()
    m = region_mask(100, 200, 50, exclude=[Region(x=100, y=0, width=100, height=50)])
    assert m[:25, 25:].sum() == 0 and m[25:, :].all() and m[:, :25].all()
    assert region_mask(10, 10, 8) is None


def test_an_excluded_defect_does_not_count(trained):
    directory, _ = trained
    model = InspectionModel(directory)
    img, mask = make_part(4242, "chip", (128, 128))
    ys, xs = np.nonzero(mask)
    box = Region(
        x=max(0, int(xs.min()) - 12),
        y=max(0, int(ys.min()) - 12),
        width=int(xs.max() - xs.min()) + 25,
        height=int(ys.max() - ys.min()) + 25,
    )
    data = png_bytes(img)
    whole = model.score(data)
    without = model.score(data, exclude=[box])
    assert without.score < whole.score
    only = model.score(data, include=[box])
    outside = region_mask(128, 128, model.meta.size, [box]) == 0
    assert outside.any() and only.heatmap[outside].max() == 0.0
    assert only.heatmap[~outside].max() > 0.0
