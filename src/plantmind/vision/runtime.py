"""The edge runtime: a trained model as an ONNX file plus its metadata, scored through
onnxruntime on the CPU, and the heatmap → image score rule shared with training.

No torch here: an edge node needs ``onnxruntime``, ``pillow`` and numpy (extra ``[vision]``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from plantmind.vision.density import DENSITY_FILE, PatchDensity
from plantmind.vision.images import load_image, normalise, region_mask, resize
from plantmind.vision.threshold import Thresholds

__all__ = [
    "META_FILE",
    "MODEL_FILE",
    "REGISTRY_FILE",
    "InspectionModel",
    "ModelMeta",
    "Scored",
    "combine",
    "image_score",
]

MODEL_FILE = "model.onnx"
META_FILE = "model.json"
#: in a station's model folder installed from the signed model registry: the version's
#: ``{"name", "version", "digest"}`` (absent for a model trained or copied locally)
REGISTRY_FILE = "registry.json"


def image_score(heatmap: np.ndarray, mask: np.ndarray | None = None, topk: float = 0.005) -> float:
    """Mean of the top ``topk`` fraction of heatmap values (at least 4 pixels) inside ``mask``.

    A maximum would follow single noisy pixels; a mean over the whole image would dilute a small
    pit among thousands of good pixels. The top 0.5 % is about the area of the smallest defect
    the model can see at its working size.
    """
    h = heatmap.reshape(-1) if mask is None else heatmap.reshape(-1)[mask.reshape(-1) > 0]
    if h.size == 0:
        return 0.0
    k = max(4, round(topk * h.size))
    k = min(k, h.size)
    return float(np.partition(h, h.size - k)[h.size - k :].mean())


def _upsample(m: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(m, dtype=np.float32), mode="F")
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


def combine(
    heatmap: np.ndarray,
    features: np.ndarray | None,
    density: PatchDensity | None,
    mask: np.ndarray | None = None,
    topk: float = 0.005,
    distance_ref: float | None = 1.0,
) -> tuple[float, np.ndarray]:
    """One image's score in [0, 1] and shown heatmap from the model's two outputs, the same in
    training and at the edge. With a patch density the score comes from the density (the most
    unusual patches): ``d / (d + distance_ref)``, so 0.5 is the median held-out good image
    (``distance_ref`` None: the raw distance ``d``, what training calibrates with); the heatmap
    shown is the mean of the segmentation heatmap and the patch distances upsampled and scaled
    so that ``2 × distance_ref`` reads 1. Without a density (older models) both come from the
    heatmap alone."""
    if density is None or features is None:
        hm = heatmap if mask is None else heatmap * mask
        return image_score(hm, mask, topk), hm
    dist = density.distances(features[None])[0]
    r, size = dist.shape[0], heatmap.shape[0]
    small: np.ndarray | None = None
    if mask is not None:
        f = size // r
        # any() over axes returns an array; numpy's stubs also allow a scalar bool
        small = cast(np.ndarray, mask[: r * f, : r * f].reshape(r, f, r, f).any(axis=(1, 3)))
    raw = density.score(dist, small)
    ref = 1.0 if distance_ref is None else max(distance_ref, 1e-9)
    score = raw if distance_ref is None else raw / (raw + ref)
    shown = 0.5 * heatmap + 0.5 * np.clip(_upsample(dist, size) / (2.0 * ref), 0, 1)
    if mask is not None:
        shown = shown * mask
    return score, shown.astype(np.float32)


@dataclass
class ModelMeta:
    """What the runtime needs beside the ONNX graph."""

    station: str
    size: int
    channels: int
    kind: str = "segnet"
    topk: float = 0.005
    model_id: str = ""
    trained_at: float = 0.0
    n_train: int = 0
    n_holdout: int = 0
    train_seconds: float = 0.0
    thresholds: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def read(cls, path: Path) -> ModelMeta:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Scored:
    """One image's result: score, (size, size) heatmap in [0, 1] and the original shape."""

    score: float
    heatmap: np.ndarray
    height: int
    width: int


class InspectionModel:
    """A trained station model loaded for scoring (``<dir>/model.onnx`` + ``model.json``)."""

    def __init__(self, directory: str | Path, threads: int = 1) -> None:
        import onnxruntime as ort

        self.directory = Path(directory)
        onnx_path = self.directory / MODEL_FILE
        meta_path = self.directory / META_FILE
        missing = FileNotFoundError(
            f"{self.directory}: no trained model ({MODEL_FILE}, {META_FILE})"
        )
        if not meta_path.is_file():
            raise missing
        self.meta = ModelMeta.read(meta_path)
        if self.meta.kind != "auto" and not onnx_path.is_file():
            raise missing
        self.thresholds = Thresholds.from_dict(self.meta.thresholds)
        #: the registry version this folder was installed from, else None
        self.registry: dict[str, Any] | None = None
        reg = self.directory / REGISTRY_FILE
        if reg.is_file():
            doc = json.loads(reg.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and {"name", "version", "digest"} <= set(doc):
                self.registry = {"name": str(doc["name"]), "version": int(doc["version"]),
                                 "digest": str(doc["digest"])}  # fmt: skip
        self.distance_ref = float(self.meta.extra.get("distance_ref", 1.0))
        self.density: PatchDensity | None = None
        self.auto: Any = None
        if self.meta.kind == "auto":
            # several extractors and densities chosen at training (vision/auto.py)
            from plantmind.vision.ensemble import AutoRuntime

            self.auto = AutoRuntime(
                self.directory, self.meta.extra["auto"], threads, topk=self.meta.topk
            )
            return
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        dens = self.directory / DENSITY_FILE
        two = len(self.session.get_outputs()) >= 2
        self.density = PatchDensity.load(dens) if two and dens.is_file() else None

    def save_meta(self) -> None:
        self.meta.thresholds = self.thresholds.to_dict()
        tmp = self.directory / (META_FILE + ".tmp")
        tmp.write_text(self.meta.to_json(), encoding="utf-8")
        os.replace(tmp, self.directory / META_FILE)

    def heatmaps(self, batch: np.ndarray) -> np.ndarray:
        """(N, C, S, S) standardised → (N, S, S) segmentation heatmaps."""
        return self.infer(batch)[0]

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, C, S, S) → the (N, S, S) heatmaps and the (N, F, R, R) patch features (None for
        a model exported without them)."""
        out = self.session.run(None, {self.input_name: batch.astype(np.float32)})
        return out[0][:, 0], (out[1] if len(out) > 1 else None)

    def score_batch(
        self, batch: np.ndarray, mask: np.ndarray | None = None
    ) -> list[tuple[float, np.ndarray]]:
        """(score, shown heatmap) for each image of a standardised batch (see :func:`combine`)."""
        hms, feats = self.infer(batch)
        return [
            combine(
                hm,
                None if feats is None else feats[i],
                self.density,
                mask,
                self.meta.topk,
                self.distance_ref,
            )
            for i, hm in enumerate(hms)
        ]

    def score(
        self,
        data: bytes | str | Path,
        source: str | None = None,
        include: list[Any] | tuple[Any, ...] = (),
        exclude: list[Any] | tuple[Any, ...] = (),
    ) -> Scored:
        """Score one image (bytes or a path); regions in the original image's pixels."""
        img = load_image(data, channels=self.meta.channels, source=source)
        return self.score_array(img, include, exclude)

    def score_array(
        self,
        img: np.ndarray,
        include: list[Any] | tuple[Any, ...] = (),
        exclude: list[Any] | tuple[Any, ...] = (),
    ) -> Scored:
        """Score a decoded (H, W, C) uint8 image (from :func:`load_image`)."""
        h, w = img.shape[:2]
        if self.auto is not None:
            shape = self.auto.out_shape
            amask = region_mask(h, w, shape, include, exclude)
            score, hm = self.auto.score_outputs(self.auto.outputs(img), mask=amask)
            return Scored(score, hm, h, w)
        mask = region_mask(h, w, self.meta.size, include, exclude)
        score, hm = self.score_batch(normalise(resize(img, self.meta.size))[None], mask)[0]
        return Scored(score, hm, h, w)
