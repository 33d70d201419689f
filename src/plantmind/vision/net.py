"""The segmentation network (a small U-Net, Ronneberger et al., MICCAI 2015) trained from
scratch to find synthetic defects. Torch is needed only here and in :mod:`.train`; the edge
runs the exported ONNX graph.

The exported graph has two outputs: the heatmap (sigmoid, a 5 × 5 mean: defects are regions,
single pixels are noise) and the encoder's patch features; the image score and the shown
heatmap are computed from them in numpy by both the trained model and the runtime
(:func:`plantmind.vision.runtime.combine`), so the two cannot drift apart.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SegNet"]


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SegNet(nn.Module):
    """U-Net with ``len(widths)`` levels; input (N, C, S, S) standardised, output (N, 1, S, S)
    logits (``forward``) or smoothed defect probabilities (``heatmap``)."""

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (12, 24, 48, 64)) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.widths = tuple(widths)
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths:
            self.down.append(_block(c, w))
            c = w
        self.up = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(_block(c + w, w))
            c = w
        self.head = nn.Conv2d(c, 1, 1)

    def _encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        skips = []
        for i, blk in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2)
            x = blk(x)
            skips.append(x)
        return skips

    def _decode(self, skips: list[torch.Tensor]) -> torch.Tensor:
        x = skips[-1]
        for blk, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = blk(torch.cat([x, skip], dim=1))
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._decode(self._encode(x))

    @staticmethod
    def _smooth(logits: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits)
        return F.avg_pool2d(p, 5, stride=1, padding=2, count_include_pad=False)

    def heatmap(self, x: torch.Tensor) -> torch.Tensor:
        return self._smooth(self.forward(x))

    def heatmap_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The heatmap and the patch features: the two deepest levels (each averaged over its
        3 × 3 neighbourhood, the shallower one average-pooled to the deepest level's grid,
        S / 2^(levels−1) on a side) and their 9 × 9 surroundings' mean: what
        :mod:`plantmind.vision.density` models."""
        skips = self._encode(x)
        return self._smooth(self._decode(skips)), self._patch_features(skips)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The patch features alone (the encoder only: what fitting the density needs)."""
        return self._patch_features(self._encode(x))

    @staticmethod
    def _patch_features(skips: list[torch.Tensor]) -> torch.Tensor:
        deep = len(skips) - 1
        feats = []
        for i in range(max(0, deep - 1), deep + 1):
            # each patch described with its 3 × 3 neighbourhood (as PatchCore), then the
            # shallower level average-pooled to the deepest level's grid
            f = F.avg_pool2d(skips[i], 3, stride=1, padding=1, count_include_pad=False)
            feats.append(F.avg_pool2d(f, 2 ** (deep - i)) if i < deep else f)
        local = torch.cat(feats, dim=1)
        # and the mean of its 9 × 9 surroundings: a region whose finish differs stands out even
        # where each patch alone looks like good texture (magnetic tiles: image AUROC 0.933 →
        # 0.939, pixel AUROC 0.804 → 0.827 with a positional density)
        context = F.avg_pool2d(local, 9, stride=1, padding=4, count_include_pad=False)
        return torch.cat([local, context], dim=1)


class HeatmapExport(nn.Module):
    """What goes into the ONNX file: image in, heatmap and patch features out."""

    def __init__(self, net: SegNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.heatmap_and_features(x)
