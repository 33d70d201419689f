"""Training a station model from good images only, and exporting it for the edge.

The images are decoded once, resized and written to a memory-mapped file under the work folder
(``N × S × S × C`` bytes on disk, paged in as needed), so 10,000 training images need no more
RAM than a few hundred; nothing grows with the number of images except that file. A held-out
part of the good images (never defects) sets the thresholds (:class:`Thresholds`).

Needs torch (extra ``[vision-train]``); scoring at the edge does not.
"""

from __future__ import annotations

import math
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plantmind.vision.defects import DEFECT_KINDS, add_defect
from plantmind.vision.density import DENSITY_FILE, DensityFitter
from plantmind.vision.images import ImageError, load_image, normalise, resize
from plantmind.vision.runtime import META_FILE, MODEL_FILE, ModelMeta, combine
from plantmind.vision.threshold import MIN_GOOD, NotEnoughGoodImages, Thresholds

__all__ = ["TrainConfig", "TrainResult", "TrainingError", "export_onnx", "train_model"]


class TrainingError(ValueError):
    """Training could not start or finish; the message says why (and names files)."""


@dataclass
class TrainConfig:
    size: int = 128
    # 12–96 channels: magnetic tiles, three trainings, pixel AUROC 0.838–0.868 (8–64: 0.837–0.850)
    widths: tuple[int, ...] = (12, 24, 48, 96)
    steps: int = 6000
    batch_size: int = 16
    # random crops of this side: the net is convolutional, so crops give 4× the samples per CPU
    # second (magnetic tiles, ~9 min: 0.64 image AUROC on full images, 0.75 on crops)
    crop: int | None = 64
    lr: float = 1e-2
    p_defect: float = 0.75  # share of training images that get a synthetic defect
    flips: bool = True  # mirror images (parts whose orientation is fixed may want False)
    holdout: float = 0.15  # share of good images held out for the thresholds
    min_holdout: int = MIN_GOOD
    false_reject_rate: float = 0.01
    topk: float = 0.005
    # patch density on the net's own features (vision/density.py): a reservoir of at most
    # bank_size good patches (bounded memory) and the image score from the top_share most
    # unusual patches. aligned: parts sit in a fixture, so each patch is compared with the good
    # patches at the same place (False: parts at any position, compared with all patches)
    bank_size: int = 262_144
    # a global bank is searched whole for every patch: kept small for edge scoring speed
    global_bank_size: int = 16_384
    density_top_share: float = 0.04
    aligned: bool = True
    seed: int = 0
    # training time cap: the schedule anneals by time or steps, whichever runs out first
    max_seconds: float | None = 540.0
    threads: int | None = None
    kinds: tuple[str, ...] = DEFECT_KINDS
    # the automatic choice (vision/auto.py): candidate extractors (``lite0`` is skipped, with a
    # note, when its packages are missing), the working size of the pretrained one (the station
    # net works at ``size``), the edge time budget a candidate must meet, synthetic defects per
    # held-out good image for the validation, and whether every candidate's files are kept
    auto: bool = True
    extractors: tuple[str, ...] = ("station", "lite0")
    pretrained_size: int = 256
    max_ms: float = 50.0
    val_defects: int = 2
    # independent draws of validation defects (val_defects per held-out good image each) and
    # the rule that picks the shown heatmap from them (vision/auto.py's HEATMAP_RULES)
    val_draws: int = 3
    heatmap_rule: str = "worst_kind"
    keep_candidates: bool = False
    # working shapes longer than this on a side are processed in tiles of this side
    tile: int = 1024


@dataclass
class TrainResult:
    directory: Path
    meta: ModelMeta
    skipped: list[tuple[str, str]] = field(default_factory=list)
    holdout_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seconds: float = 0.0
    steps: int = 0
    final_loss: float = float("nan")


class ImageCache:
    """Good images decoded once into a memory-mapped (N, S, S, C) uint8 file."""

    def __init__(
        self,
        paths: Sequence[Path],
        size: int | tuple[int, int],
        folder: Path,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.size = size
        hw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self.shape = hw
        self.skipped: list[tuple[str, str]] = []
        self.paths: list[Path] = []
        channels: int | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.file = folder / f"cache-{uuid.uuid4().hex[:8]}.u8"
        mm: np.memmap | None = None
        n = 0
        for i, p in enumerate(paths):
            try:
                img = load_image(p, channels=channels)
            except ImageError as exc:
                self.skipped.append((str(p), exc.problem))
                continue
            if channels is None:
                channels = img.shape[2]
                mm = np.memmap(
                    self.file, dtype=np.uint8, mode="w+", shape=(len(paths), *hw, channels)
                )
            assert mm is not None
            mm[n] = resize(img, size)
            self.paths.append(p)
            n += 1
            if progress is not None:
                progress("decoding", i + 1, len(paths))
        self.channels = channels or 1
        self.n = n
        if mm is not None:
            mm.flush()
            del mm
            self.data = np.memmap(
                self.file, dtype=np.uint8, mode="r", shape=(len(paths), *hw, self.channels)
            )

    def get(self, i: int) -> np.ndarray:
        return normalise(np.asarray(self.data[i]))

    def raw(self, i: int) -> np.ndarray:
        """The i-th image as decoded and resized, (H, W, C) uint8."""
        return np.asarray(self.data[i])

    def close(self) -> None:
        self.data = None  # type: ignore[assignment]
        self.file.unlink(missing_ok=True)


def _batch(
    cache: ImageCache, idx: np.ndarray, rng: np.random.Generator, cfg: TrainConfig
) -> tuple[np.ndarray, np.ndarray]:
    xs, ms = [], []
    for i in idx:
        x = cache.get(int(i))
        if cfg.flips:
            if rng.random() < 0.5:
                x = x[:, :, ::-1]
            if rng.random() < 0.5:
                x = x[:, ::-1, :]
        other = None
        h, w = x.shape[1:]
        crop = cfg.crop if cfg.crop and cfg.crop < min(h, w) else None
        if crop:
            y0, x0 = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
            x = x[:, y0 : y0 + crop, x0 : x0 + crop]
        elif h != w:
            s = min(h, w)  # the defect generator works on squares
            y0, x0 = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
            x = x[:, y0 : y0 + s, x0 : x0 + s]
        x = np.ascontiguousarray(x)
        if rng.random() < cfg.p_defect:
            other = cache.get(int(rng.integers(0, cache.n)))
            s = x.shape[1]
            y0, x0 = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
            other = np.ascontiguousarray(other[:, y0 : y0 + s, x0 : x0 + s])
            x, m = add_defect(x, rng, other, cfg.kinds)
        else:
            m = np.zeros(x.shape[1:], dtype=np.float32)
        xs.append(x)
        ms.append(m)
    return np.stack(xs), np.stack(ms)[:, None]


def _lr_factor(progress: float) -> float:
    """Learning-rate factor at ``progress`` in [0, 1]: warm-up over 5 %, then cosine to zero."""
    if progress < 0.05:
        return (progress + 1e-3) / 0.05
    return 0.5 * (1 + math.cos(math.pi * (progress - 0.05) / 0.95))


def _loss(logits: Any, target: Any) -> Any:
    """Focal loss (γ = 2, as DRAEM) plus soft Dice: defects are a tiny share of the pixels."""
    import torch
    from torch.nn import functional as F

    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p = torch.sigmoid(logits)
    pt = p * target + (1 - p) * (1 - target)
    focal = ((1 - pt) ** 2 * bce).mean()
    inter = (p * target).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return focal * 10 + dice


def export_onnx(net: Any, path: Path, channels: int, size: int | tuple[int, int]) -> None:
    """Write the heatmap graph (input ``image`` (N, C, S, S), output ``heatmap`` (N, 1, S, S)
    and the patch features; ``size`` (h, w) for a non-square working shape)."""
    import torch

    from plantmind.vision.net import HeatmapExport

    net.eval()
    hw = (size, size) if isinstance(size, int) else size
    dummy = torch.zeros(1, channels, *hw)
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated but needs no onnxscript and handles this net
        warnings.simplefilter("ignore")
        torch.onnx.export(
            HeatmapExport(net),
            (dummy,),
            str(path),
            input_names=["image"],
            output_names=["heatmap", "features"],
            dynamic_axes={"image": {0: "n"}, "heatmap": {0: "n"}, "features": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )


def torch_heatmaps(net: Any, batch: np.ndarray) -> np.ndarray:
    """(N, C, S, S) → (N, S, S) with the trained torch model (what the ONNX file must match)."""
    return torch_outputs(net, batch)[0]


def torch_outputs(net: Any, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, S, S) → the heatmaps and patch features of the trained torch model."""
    import torch

    net.eval()
    with torch.no_grad():
        hm, feats = net.heatmap_and_features(torch.from_numpy(np.ascontiguousarray(batch)))
    return hm.numpy()[:, 0], feats.numpy()


def train_net(
    cache: ImageCache,
    train_idx: np.ndarray,
    cfg: TrainConfig,
    rng: np.random.Generator,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[Any, int, list[float]]:
    """Train the station's segmentation net on synthetic defects of the cached good images
    ``train_idx``; returns the net (eval mode), the last step and the losses."""
    import torch

    from plantmind.vision.net import SegNet

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    net = SegNet(cache.channels, cfg.widths)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr * _lr_factor(0.0), weight_decay=1e-4)

    net.train()
    losses: list[float] = []
    t_train = time.perf_counter()
    step = 0
    for step in range(cfg.steps):
        idx = rng.choice(train_idx, size=min(cfg.batch_size, train_idx.size), replace=False)
        x, m = _batch(cache, idx, rng, cfg)
        logits = net(torch.from_numpy(x))
        loss = _loss(logits, torch.from_numpy(m))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        # progress by steps or by time, whichever is further: with max_seconds the schedule
        # still anneals to zero when the CPU is slower (or busier) than expected
        done = (step + 1) / cfg.steps
        if cfg.max_seconds:
            done = max(done, (time.perf_counter() - t_train) / cfg.max_seconds)
        for group in opt.param_groups:
            group["lr"] = cfg.lr * _lr_factor(min(done, 1.0))
        losses.append(loss.item())
        if progress is not None:
            progress("training", step + 1, cfg.steps)
        if done >= 1.0:
            break
    net.eval()
    return net, step, losses


def train_model(
    good: Sequence[str | Path],
    out_dir: str | Path,
    station: str = "station",
    cfg: TrainConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    work_dir: str | Path | None = None,
) -> TrainResult:
    """Train a station model on ``good`` image paths and write ``model.onnx`` + ``model.json``
    to ``out_dir``. ``progress(phase, done, total)`` is called as it goes."""
    import torch

    cfg = cfg or TrainConfig()
    paths = [Path(p) for p in good]
    if not paths:
        raise TrainingError("no good images given (the folder or list is empty)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(dir=work_dir, prefix="pm-vision-")
    cache = ImageCache(paths, cfg.size, Path(tmp.name), progress)
    try:
        if cache.n == 0:
            first = "; ".join(f"{p}: {why}" for p, why in cache.skipped[:3])
            raise TrainingError(f"none of the {len(paths)} files is a usable image ({first})")
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(cache.n)
        n_hold = max(cfg.min_holdout, round(cfg.holdout * cache.n))
        if cache.n - n_hold < MIN_GOOD:
            raise NotEnoughGoodImages(
                f"too few good images to set a threshold: {cache.n} usable, at least "
                f"{cfg.min_holdout + MIN_GOOD} needed ({cfg.min_holdout} held out for the "
                f"threshold, {MIN_GOOD} to train on)"
            )
        hold_idx, train_idx = np.sort(order[:n_hold]), order[n_hold:]
        net, step, losses = train_net(cache, train_idx, cfg, rng, progress)
        net.eval()
        # the good patches' density in the net's feature space (bounded reservoir), from the
        # training images only
        fitter = DensityFitter(
            bank_size=cfg.bank_size if cfg.aligned else cfg.global_bank_size,
            top_share=cfg.density_top_share,
            positional=cfg.aligned,
            seed=cfg.seed,
        )
        fit_idx = np.sort(train_idx)
        for j in range(0, fit_idx.size, 32):
            xb = np.stack([cache.get(int(i)) for i in fit_idx[j : j + 32]])
            with torch.no_grad():
                fitter.add(net.features(torch.from_numpy(xb)).numpy())
            if progress is not None:
                progress("density", min(j + 32, fit_idx.size), fit_idx.size)
        density = fitter.finish()
        # thresholds from held-out good images, scored by the model as exported
        outputs: list[tuple[np.ndarray, np.ndarray]] = []
        for j in range(0, hold_idx.size, 32):
            xb = np.stack([cache.get(int(i)) for i in hold_idx[j : j + 32]])
            hms, feats = torch_outputs(net, xb)
            outputs.extend(zip(hms, feats, strict=True))
            if progress is not None:
                progress("thresholds", min(j + 32, hold_idx.size), hold_idx.size)
        raw = np.asarray([combine(h, f, density, None, cfg.topk, None)[0] for h, f in outputs])
        distance_ref = float(np.median(raw)) if raw.size else 1.0
        scores = raw / (raw + max(distance_ref, 1e-9))
        thr = Thresholds.fit(scores, cfg.false_reject_rate)
        export_onnx(net, out / MODEL_FILE, cache.channels, cfg.size)
        density.save(out / DENSITY_FILE)
        torch.save(net.state_dict(), out / "model.pt")
        seconds = time.perf_counter() - t0
        meta = ModelMeta(
            station=station,
            size=cfg.size,
            channels=cache.channels,
            topk=cfg.topk,
            model_id=uuid.uuid4().hex[:12],
            trained_at=time.time(),
            n_train=int(train_idx.size),
            n_holdout=int(hold_idx.size),
            train_seconds=round(seconds, 2),
            thresholds=thr.to_dict(),
            extra={
                "widths": list(cfg.widths),
                "distance_ref": round(distance_ref, 6),
                "density_bank": int(density.bank.shape[0]),
                "density_positional": density.positional,
                "steps": step + 1,
                "batch_size": cfg.batch_size,
                "holdout_scores": [round(float(s), 6) for s in scores],
                "skipped": [[p, why] for p, why in cache.skipped],
            },
        )
        (out / META_FILE).write_text(meta.to_json(), encoding="utf-8")
        return TrainResult(
            out,
            meta,
            cache.skipped,
            scores,
            seconds,
            step + 1,
            float(np.mean(losses[-50:])) if losses else float("nan"),
        )
    finally:
        cache.close()
        tmp.cleanup()
