"""The edge runtime: a trained model as an ONNX file plus its metadata, scored through
onnxruntime on the CPU, and the heatmap → image score rule shared with training.

No torch here: an edge node needs ``onnxruntime``, ``pillow`` and numpy (extra ``[vision]``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plantmind.vision.images import load_image, normalise, region_mask, resize
from plantmind.vision.threshold import Thresholds

__all__ = ["META_FILE", "MODEL_FILE", "InspectionModel", "ModelMeta", "Scored", "image_score"]

MODEL_FILE = "model.onnx"
META_FILE = "model.json"


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
        if not onnx_path.is_file() or not meta_path.is_file():
            raise FileNotFoundError(
                f"{self.directory}: no trained model ({MODEL_FILE}, {META_FILE})"
            )
        self.meta = ModelMeta.read(meta_path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        self.thresholds = Thresholds.from_dict(self.meta.thresholds)

    def save_meta(self) -> None:
        self.meta.thresholds = self.thresholds.to_dict()
        tmp = self.directory / (META_FILE + ".tmp")
        tmp.write_text(self.meta.to_json(), encoding="utf-8")
        os.replace(tmp, self.directory / META_FILE)

    def prepare(
        self, data: bytes | str | Path, source: str | None = None
    ) -> tuple[np.ndarray, int, int]:
        """Decode and check an image; (C, S, S) float32 input and the original height, width."""
        img = load_image(data, channels=self.meta.channels, source=source)
        h, w = img.shape[:2]
        return normalise(resize(img, self.meta.size)), h, w

    def heatmaps(self, batch: np.ndarray) -> np.ndarray:
        """(N, C, S, S) standardised → (N, S, S) heatmaps."""
        out = self.session.run(None, {self.input_name: batch.astype(np.float32)})[0]
        return out[:, 0]

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
        hm = self.heatmaps(normalise(resize(img, self.meta.size))[None])[0]
        mask = region_mask(h, w, self.meta.size, include, exclude)
        if mask is not None:
            hm = hm * mask
        return Scored(image_score(hm, mask, self.meta.topk), hm, h, w)
