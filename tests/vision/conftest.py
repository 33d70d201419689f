"""Shared fixtures: generated part images and one small model trained on them (once per
session, a few seconds on a CPU)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# without the [vision] / [vision-train] extras these tests are not collected at all
_MISSING = [m for m in ("torch", "onnx", "onnxruntime", "PIL") if not importlib.util.find_spec(m)]
collect_ignore_glob = ["test_*.py"] if _MISSING else []


@pytest.fixture(scope="session")
def good_dir(tmp_path_factory) -> Path:
    from plantmind.demo.parts import write_parts

    d = tmp_path_factory.mktemp("good")
    write_parts(d, 40, seed=1, size=(96, 112))
    return d


@pytest.fixture(scope="session")
def tiny_cfg():
    from plantmind.vision.train import TrainConfig

    return TrainConfig(
        size=64, widths=(8, 16, 32), steps=60, batch_size=8, lr=1e-2, holdout=0.3, seed=3
    )


@pytest.fixture(scope="session")
def trained(tmp_path_factory, good_dir, tiny_cfg):
    """(model directory, TrainResult)."""
    from plantmind.vision.images import list_images
    from plantmind.vision.train import train_model

    out = tmp_path_factory.mktemp("model")
    result = train_model(list_images([good_dir]), out, "QS-T", tiny_cfg)
    return out, result
