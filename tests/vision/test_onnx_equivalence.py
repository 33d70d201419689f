"""The exported ONNX graph, run by onnxruntime, scores like the trained torch model."""

from __future__ import annotations

import numpy as np
import torch

from plantmind.demo.parts import PART_DEFECTS, make_part
from plantmind.vision.images import normalise, resize
from plantmind.vision.net import SegNet
from plantmind.vision.runtime import InspectionModel, combine, image_score
from plantmind.vision.train import torch_heatmaps, torch_outputs

#: float32 through two runtimes with different kernels: heatmaps in [0, 1] agree to 1e-4.
TOLERANCE = 1e-4


def test_onnx_scores_equal_torch_scores(trained):
    directory, _result = trained
    model = InspectionModel(directory)
    net = SegNet(model.meta.channels, tuple(model.meta.extra["widths"]))
    net.load_state_dict(torch.load(directory / "model.pt"))
    images = [make_part(500 + i, None, (90 + 7 * i, 120))[0] for i in range(4)]
    images += [make_part(600 + i, d, (128, 128))[0] for i, d in enumerate(PART_DEFECTS)]
    batch = np.stack([normalise(resize(img, model.meta.size)) for img in images])
    ref = torch_heatmaps(net, batch)
    got = model.heatmaps(batch)
    assert got.shape == ref.shape == (len(images), model.meta.size, model.meta.size)
    assert np.abs(got - ref).max() < TOLERANCE
    for r, g in zip(ref, got, strict=True):
        assert abs(image_score(r) - image_score(g)) < TOLERANCE
    # the patch features and the final scores (patch density) agree too
    ref_h, ref_f = torch_outputs(net, batch)
    _, got_f = model.infer(batch)
    assert got_f is not None and got_f.shape == ref_f.shape
    assert np.abs(got_f - ref_f).max() < 1e-3 * max(1.0, float(np.abs(ref_f).max()))
    assert model.density is not None
    scored = model.score_batch(batch)
    for i, (score, shown) in enumerate(scored):
        ref_score, ref_shown = combine(
            ref_h[i], ref_f[i], model.density, None, model.meta.topk, model.distance_ref
        )
        assert abs(score - ref_score) <= 1e-3 * max(1.0, ref_score)
        assert np.abs(shown - ref_shown).max() < 1e-3


def test_held_out_scores_in_the_metadata_are_the_onnx_scores(trained, good_dir):
    """The thresholds were set from torch scores; the edge must see the same numbers."""
    directory, result = trained
    model = InspectionModel(directory)
    assert len(result.holdout_scores) == model.meta.n_holdout >= 10
    assert model.thresholds.fail >= max(result.holdout_scores) - 1e-6 or (
        np.mean(np.asarray(result.holdout_scores) >= model.thresholds.fail) <= 0.05
    )
