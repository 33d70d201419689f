"""Scoring a station model made of several extractors and densities (what ``inspect train``'s
automatic choice writes), the same numpy code in training and at the edge.

A model directory holds one ONNX file per extractor (``<extractor>.onnx``: image in, features
out, and the station net's heatmap first) and one density per *scorer* (an extractor with a
density kind: ``<extractor>-<kind>.npz``; kind ``heatmap`` has none). ``model.json``'s
``extra["auto"]`` lists them with each scorer's calibration, the sorted raw scores of held-out
good images. A candidate is one scorer or several: each member's raw score becomes its rank
among the good calibration scores (extended linearly past the highest, so defects stay
ordered), the ranks are averaged, and the image score is ``v / (1 + v)``. No torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from plantmind.vision.density import GaussianDensity, PatchDensity, load_density
from plantmind.vision.images import normalise, resize
from plantmind.vision.runtime import image_score

__all__ = [
    "TILE_MARGIN",
    "AutoRuntime",
    "Outputs",
    "ScorerSpec",
    "rank_calibrate",
    "run_extractor",
    "upsample",
]

#: Context kept around each tile (pixels, a multiple of every extractor's stride).
TILE_MARGIN = 32

#: Extractor outputs of one image: name → (heatmap or None, (F, h, w) features or None).
Outputs = dict[str, tuple[np.ndarray | None, np.ndarray | None]]


def rank_calibrate(raw: float, good_sorted: np.ndarray) -> float:
    """``raw``'s rank among the good calibration scores (0..1), extended linearly past the
    highest good score in units of its distance from the median good score."""
    g = good_sorted
    if g.size == 0:
        return float(raw)
    top = float(g[-1])
    if raw > top:
        spread = max(top - float(np.median(g)), 1e-9)
        return 1.0 + (raw - top) / spread
    return float(np.searchsorted(g, raw, side="right")) / g.size


def upsample(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) float map → ``shape`` (bilinear)."""
    if m.shape == shape:
        return m.astype(np.float32)
    img = Image.fromarray(np.ascontiguousarray(m, dtype=np.float32), mode="F")
    out = img.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.float32)


def _grid_mask(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(H, W) 0/1 mask → the (h, w) cells that touch it."""
    img = Image.fromarray((mask > 0).astype(np.uint8) * 255)
    small = np.asarray(img.resize((grid[1], grid[0]), Image.Resampling.BOX), dtype=np.float32)
    return small > 0


def run_extractor(sess: Any, x: np.ndarray, tile: int | None = None) -> list[np.ndarray]:
    """The session's outputs for the standardised batch ``x`` (N, C, H, W); with ``tile`` (the
    side the graph was exported at), in overlapping tiles of that side whose outputs are cut to
    their centres and put together: memory bounded by one tile, whatever the image's size."""
    name = sess.get_inputs()[0].name
    if tile is None:
        return list(sess.run(None, {name: x}))
    n, _, h, w = x.shape
    m = TILE_MARGIN
    step = tile - 2 * m
    ny, nx = -(-h // step), -(-w // step)
    ph, pw = ny * step + 2 * m, nx * step + 2 * m
    xp = np.pad(x, ((0, 0), (0, 0), (m, ph - h - m), (m, pw - w - m)), mode="reflect")
    outs: list[np.ndarray] = []
    for iy in range(ny):
        for ix in range(nx):
            y0, x0 = iy * step, ix * step
            res = sess.run(
                None, {name: np.ascontiguousarray(xp[:, :, y0 : y0 + tile, x0 : x0 + tile])}
            )
            if not outs:
                for r in res:
                    f = tile // r.shape[-1]
                    outs.append(np.zeros((n, r.shape[1], ny * step // f, nx * step // f), r.dtype))
            for o, r in zip(outs, res, strict=True):
                f = tile // r.shape[-1]
                mf, sf = m // f, step // f
                o[:, :, iy * sf : (iy + 1) * sf, ix * sf : (ix + 1) * sf] = r[
                    :, :, mf : mf + sf, mf : mf + sf
                ]
    return [o[:, :, : h * o.shape[2] // (ny * step), : w * o.shape[3] // (nx * step)] for o in outs]


@dataclass
class ScorerSpec:
    """One extractor with one density kind (``heatmap``: the station net's own heatmap)."""

    name: str
    extractor: str
    kind: str
    distance_ref: float
    calib: np.ndarray  # sorted raw scores of good calibration images
    density: PatchDensity | GaussianDensity | None = None

    def raw(
        self,
        heatmap: np.ndarray | None,
        features: np.ndarray | None,
        mask: np.ndarray | None,
        topk: float,
        out_shape: tuple[int, int],
    ) -> tuple[float, np.ndarray]:
        """The raw score and the shown (out_shape) map in [0, 1] of one image."""
        if self.density is None:
            assert heatmap is not None
            hm = upsample(heatmap, out_shape)
            if mask is not None:
                hm = hm * mask
            return image_score(hm, mask, topk), hm
        assert features is not None
        dist = self.density.distances(features[None])[0]
        small = None if mask is None else _grid_mask(mask, dist.shape)
        raw = self.density.score(dist, small)
        shown = np.clip(upsample(dist, out_shape) / (2.0 * max(self.distance_ref, 1e-9)), 0, 1)
        if heatmap is not None:
            shown = 0.5 * upsample(heatmap, out_shape) + 0.5 * shown
        if mask is not None:
            shown = shown * mask
        return raw, shown


class AutoRuntime:
    """The extractors and scorers of a model directory; scores with the ``members`` given
    (default: the chosen candidate's)."""

    def __init__(
        self,
        directory: Path,
        auto: dict[str, Any],
        threads: int = 1,
        members: Sequence[str] | None = None,
        topk: float = 0.005,
    ) -> None:
        import onnxruntime as ort

        self.directory = directory
        self.auto = auto
        self.topk = topk
        self.members = list(members if members is not None else auto["choice"])
        # the shown heatmap's members (chosen on validation pixel AUROC; older files: the same)
        self.map_members = list(auto.get("heatmap_choice") or self.members)
        if members is not None:
            self.map_members = self.members
        self.scorers: dict[str, ScorerSpec] = {}
        for name in dict.fromkeys([*self.members, *self.map_members]):
            s = auto["scorers"][name]
            dens = load_density(directory / s["density"]) if s.get("density") else None
            self.scorers[name] = ScorerSpec(
                name,
                s["extractor"],
                s["kind"],
                float(s["distance_ref"]),
                np.sort(np.asarray(s["calib"], dtype=np.float64)),
                dens,
            )
        need = sorted({sc.extractor for sc in self.scorers.values()})
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.shapes: dict[str, tuple[int, int]] = {}
        self.tiles: dict[str, int | None] = {}
        self.sessions: dict[str, Any] = {}
        for e in need:
            spec = auto["extractors"][e]
            self.shapes[e] = (int(spec["shape"][0]), int(spec["shape"][1]))
            self.tiles[e] = spec.get("tile")
            self.sessions[e] = ort.InferenceSession(
                str(directory / spec["file"]), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        self.out_shape: tuple[int, int] = (int(auto["out_shape"][0]), int(auto["out_shape"][1]))

    def outputs(self, img: np.ndarray) -> Outputs:
        """Every needed extractor's outputs for one decoded (H, W, C) uint8 image."""
        res: Outputs = {}
        for e, sess in self.sessions.items():
            x = normalise(resize(img, self.shapes[e]))[None]
            out = run_extractor(sess, x, self.tiles[e])
            if len(out) == 2:
                res[e] = (out[0][0, 0], out[1][0])
            else:
                res[e] = (None, out[0][0])
        return res

    def scorer_outputs(
        self,
        outs: Outputs,
        mask: np.ndarray | None = None,
        names: Sequence[str] | None = None,
    ) -> dict[str, tuple[float, np.ndarray]]:
        """Each scorer's raw score and shown (``out_shape``) map for one image."""
        res = {}
        for n in names if names is not None else self.scorers:
            sc = self.scorers[n]
            hm, feats = outs[sc.extractor]
            res[n] = sc.raw(hm, feats, mask, self.topk, self.out_shape)
        return res

    def combine(
        self,
        per: dict[str, tuple[float, np.ndarray]],
        members: Sequence[str],
        map_members: Sequence[str] | None = None,
    ) -> tuple[float, np.ndarray]:
        """A candidate's image score in [0, 1) (mean calibrated rank v → v / (1 + v)) and
        shown heatmap (the maps of ``map_members``, default ``members``, averaged) from
        :meth:`scorer_outputs`."""
        vals = [rank_calibrate(per[n][0], self.scorers[n].calib) for n in members]
        v = float(np.mean(vals))
        shown = list(map_members or members)
        hm = np.mean([per[n][1] for n in shown], axis=0).astype(np.float32)
        return v / (1.0 + v), hm

    def score_outputs(
        self, outs: Outputs, members: Sequence[str] | None = None, mask: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """The candidate's (default: the chosen one's) image score and shown heatmap (by
        default from the heatmap choice)."""
        if members is not None:
            names = list(members)
            return self.combine(self.scorer_outputs(outs, mask, names), names)
        need = list(dict.fromkeys([*self.members, *self.map_members]))
        return self.combine(self.scorer_outputs(outs, mask, need), self.members, self.map_members)
