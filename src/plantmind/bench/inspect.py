"""``plantmind bench inspect``: the magnetic-tile benchmark of the station model.

Split (fixed, seeded): 70 % of ``MT_Free`` trains (its own held-out part sets the threshold,
no defect is ever seen); the test set is the other 30 % of ``MT_Free`` plus every image of the
five defect classes (``MT_<Class>/Imgs/*.jpg``, masks are the same-name ``.png``). Scoring goes
through the exported ONNX model on one onnxruntime thread, as at the edge. Pixel AUROC is over
all test pixels at the model's working size (masks resized with nearest neighbour).
"""

from __future__ import annotations

import csv
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from plantmind.vision.images import load_image, normalise, resize
from plantmind.vision.runtime import InspectionModel
from plantmind.vision.train import TrainConfig, train_model

__all__ = [
    "DEFECT_CLASSES",
    "auroc",
    "histogram_auroc",
    "run_inspect_bench",
    "split_magnetic_tile",
]

DEFECT_CLASSES = ("Blowhole", "Break", "Crack", "Fray", "Uneven")


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney U with average ranks for ties)."""
    from scipy.stats import rankdata

    y = np.asarray(labels).astype(bool).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def histogram_auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """AUROC from two histograms over the same bins (ties within a bin count one half): pixel
    AUROC over millions of pixels in bounded memory."""
    n1, n0 = pos.sum(), neg.sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    below = np.cumsum(neg) - neg  # negatives strictly below each bin
    return float((pos * (below + 0.5 * neg)).sum() / (n1 * n0))


def split_magnetic_tile(root: Path, seed: int = 0) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(train paths, [(test path, class)]); class "Free" is good."""
    free = sorted((root / "MT_Free" / "Imgs").glob("*.jpg"))
    if not free:
        raise FileNotFoundError(f"{root}: no MT_Free/Imgs/*.jpg (expected the magnetic-tile data)")
    perm = np.random.default_rng(seed).permutation(len(free))
    n_train = round(0.7 * len(free))
    train = [free[i] for i in sorted(perm[:n_train])]
    test = [(free[i], "Free") for i in sorted(perm[n_train:])]
    for cls in DEFECT_CLASSES:
        test.extend((p, cls) for p in sorted((root / f"MT_{cls}" / "Imgs").glob("*.jpg")))
    return train, test


def _mask(path: Path, size: int) -> np.ndarray:
    png = path.with_suffix(".png")
    if not png.is_file():
        return np.zeros((size, size), dtype=bool)
    m = Image.open(png).convert("L").resize((size, size), Image.Resampling.NEAREST)
    return np.asarray(m) > 127


def _peak_rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


def run_inspect_bench(
    data: Path,
    out: Path,
    cfg: TrainConfig | None = None,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Train, score the test split, write ``scores.csv``, ``heatmaps/`` and ``summary.json``."""
    cfg = cfg or TrainConfig(seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    train, test = split_magnetic_tile(data, seed)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    result = train_model(train, out / "model", station="magnetic_tile", cfg=cfg, progress=progress)
    train_s = time.perf_counter() - t0
    train_cpu = time.process_time() - cpu0
    model = InspectionModel(out / "model", threads=1)
    hm_dir = out / "heatmaps"
    hm_dir.mkdir(exist_ok=True)
    rows = []
    bins = np.linspace(0.0, 1.0, 100_001)
    pix_pos = np.zeros(bins.size - 1)
    pix_neg = np.zeros(bins.size - 1)
    infer_s = 0.0
    for k, (path, cls) in enumerate(test):
        img = load_image(path, channels=model.meta.channels)
        t1 = time.perf_counter()
        x = normalise(resize(img, model.meta.size))
        score, hm = model.score_batch(x[None])[0]
        infer_s += time.perf_counter() - t1
        verdict = model.thresholds.verdict(score)
        name = f"{cls}_{path.stem}"
        np.save(hm_dir / f"{name}.npy", hm.astype(np.float16))
        rows.append((str(path), cls, score, verdict))
        m = _mask(path, model.meta.size)
        pix_pos += np.histogram(hm[m], bins)[0]
        pix_neg += np.histogram(hm[~m], bins)[0]
        if progress is not None:
            progress("scoring", k + 1, len(test))
    with (out / "scores.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "class", "score", "verdict"])
        w.writerows((p, c, f"{s:.6f}", v) for p, c, s, v in rows)
    labels = np.array([c != "Free" for _, c, _, _ in rows])
    scores = np.array([s for _, _, s, _ in rows])
    per_class = {
        cls: round(
            auroc(np.r_[np.zeros((~labels).sum()), np.ones(n)], np.r_[scores[~labels], s]), 4
        )
        for cls in DEFECT_CLASSES
        if (n := int((s := scores[[c == cls for _, c, _, _ in rows]]).size))
    }
    good_scores = scores[~labels]
    summary = {
        "image_auroc": round(auroc(labels, scores), 4),
        "pixel_auroc": round(histogram_auroc(pix_pos, pix_neg), 4),
        "per_class_image_auroc": per_class,
        "false_reject_rate_on_test_good": round(
            float(np.mean([model.thresholds.verdict(s) == "fail" for s in good_scores])), 4
        ),
        "defects_failed": round(
            float(np.mean([model.thresholds.verdict(s) == "fail" for s in scores[labels]])), 4
        ),
        "train_images": len(train),
        "test_images": len(test),
        "train_seconds": round(train_s, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "train_steps": result.steps,
        "ms_per_image_onnx_1_thread": round(1000 * infer_s / max(1, len(test)), 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "size": cfg.size,
        "widths": list(cfg.widths),
        "seed": seed,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
