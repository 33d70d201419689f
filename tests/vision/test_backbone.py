"""A user-supplied ONNX backbone: streaming feature statistics, one ONNX file at the edge."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from plantmind.demo.parts import PART_DEFECTS, make_part, png_bytes
from plantmind.vision.backbone import _heat, train_backbone_model
from plantmind.vision.images import list_images, normalise, resize
from plantmind.vision.runtime import InspectionModel

# the tests export their stand-in backbone with torch's legacy exporter, which warns
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _backbone(path) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, stride=2, padding=2),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, stride=2, padding=1),
    ).eval()
    torch.onnx.export(
        net, (torch.zeros(1, 1, 64, 64),), str(path), input_names=["x"], output_names=["f"],
        dynamic_axes={"x": {0: "n"}, "f": {0: "n"}}, opset_version=17, dynamo=False,
    )  # fmt: skip


def test_backbone_model_scores_through_the_runtime(tmp_path, good_dir):
    _backbone(tmp_path / "bb.onnx")
    meta = train_backbone_model(
        list_images([good_dir]), tmp_path / "m", tmp_path / "bb.onnx", size=64, holdout=0.3
    )
    assert meta.kind == "backbone" and meta.n_holdout >= 10
    model = InspectionModel(tmp_path / "m")
    img = make_part(77, "chip", (96, 112))[0]
    scored = model.score(png_bytes(img))
    assert scored.heatmap.shape == (64, 64)
    # the appended head computes what the numpy reference computes from the backbone's features
    bb = ort.InferenceSession(str(tmp_path / "bb.onnx"))
    f = bb.run(None, {"x": normalise(resize(img, 64))[None]})[0][0]
    full = ort.InferenceSession(str(tmp_path / "m" / "model.onnx"))
    assert np.isfinite(full.run(None, {"x": normalise(resize(img, 64))[None]})[0]).all()
    assert 0.0 <= _heat(np.ones_like(f)).max() < 1e-6
    good = [model.score(png_bytes(make_part(300 + i, None, (96, 112))[0])).score for i in range(8)]
    bad = [
        model.score(png_bytes(make_part(400 + i, PART_DEFECTS[i % 4], (96, 112))[0])).score
        for i in range(8)
    ]
    assert np.mean(bad) > np.mean(good)


def test_cli_trains_a_station_on_a_backbone(tmp_path, good_dir):
    from typer.testing import CliRunner

    from plantmind.cli import app

    _backbone(tmp_path / "bb.onnx")
    home = tmp_path / "home"
    r = CliRunner().invoke(
        app,
        ["inspect", "train", "--station", "QS-1", "--good", str(good_dir), "--size", "64",
         "--backbone", str(tmp_path / "bb.onnx"), "--home", str(home)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    meta = InspectionModel(home / "vision" / "QS-1" / "model").meta
    assert meta.kind == "backbone"
