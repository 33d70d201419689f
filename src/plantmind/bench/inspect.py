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

from plantmind.vision.auto import auroc
from plantmind.vision.images import load_image, normalise, resize
from plantmind.vision.runtime import InspectionModel
from plantmind.vision.train import TrainConfig, train_model

__all__ = [
    "DEFECT_CLASSES",
    "auroc",
    "histogram_auroc",
    "loco_table",
    "run_auto_bench",
    "run_auto_seed",
    "run_inspect_bench",
    "split_magnetic_tile",
    "time_default_path",
]

DEFECT_CLASSES = ("Blowhole", "Break", "Crack", "Fray", "Uneven")


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


def _cpu_pinned() -> Any:
    """A context that pins this process to one CPU (where the OS allows), as one edge core."""
    import contextlib
    import os

    @contextlib.contextmanager
    def pin() -> Any:
        get = getattr(os, "sched_getaffinity", None)
        put = getattr(os, "sched_setaffinity", None)
        old = get(0) if get else None
        if put and old:
            put(0, {min(old)})
        try:
            yield
        finally:
            if put and old:
                put(0, old)

    return pin()


def time_default_path(
    model_dir: Path, side: int = 256, repeats: int = 40, cpu: bool = False
) -> float:
    """Median ms per image of the model's chosen path through onnxruntime on one thread and
    one CPU, for a ``side`` × ``side`` image (decoded; resizing included). ``cpu``: the
    process's CPU time instead of wall-clock time (what one core spends, whatever else the
    machine runs at the moment)."""
    model = InspectionModel(model_dir, threads=1)
    rng = np.random.default_rng(0)
    shape = (side, side, model.meta.channels)
    img = np.clip(rng.normal(128, 30, shape), 0, 255).astype(np.uint8)
    clock = time.process_time if cpu else time.perf_counter
    times = []
    with _cpu_pinned():
        for i in range(repeats + 3):
            t = clock()
            model.score_array(img)
            if i >= 3:
                times.append(1000 * (clock() - t))
    return float(np.median(times))


def run_auto_seed(
    data: Path,
    out: Path,
    cfg: TrainConfig,
    seed: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """One training with the automatic choice on the seed's split; every candidate scored on
    the test set (image and pixel AUROC, per class) through onnxruntime, as at the edge."""
    from dataclasses import replace

    from plantmind.vision.auto import load_auto, train_auto

    out.mkdir(parents=True, exist_ok=True)
    train, test = split_magnetic_tile(data, seed)
    cfg = replace(cfg, seed=seed, keep_candidates=True)
    t0 = time.perf_counter()
    result = train_auto(train, out / "model", station="magnetic_tile", cfg=cfg, progress=progress)
    train_s = time.perf_counter() - t0
    auto = result.meta.extra["auto"]
    cands = auto["candidates"]
    rt = load_auto(out / "model", threads=1, members=list(auto["scorers"]))
    n_bins = 10_000
    pix = {c["name"]: (np.zeros(n_bins + 1), np.zeros(n_bins + 1)) for c in cands}
    scores: dict[str, list[float]] = {c["name"]: [] for c in cands}
    classes = []
    for k, (path, cls) in enumerate(test):
        img = load_image(path, channels=result.meta.channels)
        m = (
            np.asarray(
                Image.open(path.with_suffix(".png"))
                .convert("L")
                .resize(rt.out_shape[::-1], Image.Resampling.NEAREST)
                if path.with_suffix(".png").is_file()
                else np.zeros(rt.out_shape, np.uint8)
            )
            > 127
        )
        per = rt.scorer_outputs(rt.outputs(img))
        for c in cands:
            s, hm = rt.combine(per, c["members"])
            scores[c["name"]].append(s)
            q = np.clip((hm * n_bins).astype(np.int64), 0, n_bins)
            pos, neg = pix[c["name"]]
            pos += np.bincount(q[m], minlength=n_bins + 1)
            neg += np.bincount(q[~m], minlength=n_bins + 1)
        classes.append(cls)
        if progress is not None:
            progress("scoring", k + 1, len(test))
    cls_arr = np.asarray(classes)
    labels = cls_arr != "Free"
    table = []
    for c in cands:
        s = np.asarray(scores[c["name"]])
        per_class = {
            d: round(auroc(np.r_[np.zeros((~labels).sum()), np.ones(n)], np.r_[s[~labels], sd]), 4)
            for d in DEFECT_CLASSES
            if (n := int((sd := s[cls_arr == d]).size))
        }
        table.append(
            {
                **{
                    k: c[k]
                    for k in ("name", "val_auroc", "val_pixel_auroc", "val_frr", "ms", "chosen")
                },
                **{
                    k: c[k]
                    for k in ("val_pixel_draws", "val_pixel_kinds", "val_auroc_draws")
                    if k in c
                },
                "heatmap": c.get("heatmap", False),
                "image_auroc": round(auroc(labels, s), 4),
                "pixel_auroc": round(histogram_auroc(*pix[c["name"]]), 4),
                "per_class": per_class,
            }
        )
    chosen = next(t for t in table if t["chosen"])
    heat = next((t for t in table if t["heatmap"]), chosen)
    by_name = {t["name"]: t for t in table}
    # every heatmap rule's pick (chosen on validation alone) with its test pixel AUROC
    rules = {
        r: {**v, "pixel_auroc": by_name[v["pick"]]["pixel_auroc"]}
        for r, v in auto.get("heatmap_rules", {}).items()
        if v["pick"] in by_name
    }
    thr = result.meta.thresholds
    s_ch = np.asarray(scores[chosen["name"]])
    summary = {
        "seed": seed,
        "choice": chosen["name"],
        "heatmap_choice": heat["name"],
        "heatmap_rule": auto.get("heatmap_rule"),
        "heatmap_rules": rules,
        "image_auroc": chosen["image_auroc"],
        # the shown heatmap is the heatmap choice's (what the edge draws)
        "pixel_auroc": heat["pixel_auroc"],
        "per_class_image_auroc": chosen["per_class"],
        "false_reject_rate_on_test_good": round(float(np.mean(s_ch[~labels] >= thr["fail"])), 4),
        "defects_failed": round(float(np.mean(s_ch[labels] >= thr["fail"])), 4),
        "ms_per_image_256_one_core": round(time_default_path(out / "model"), 2),
        "cpu_ms_per_image_256_one_core": round(time_default_path(out / "model", cpu=True), 2),
        "train_seconds": round(train_s, 1),
        "train_steps": result.steps,
        "train_images": len(train),
        "test_images": len(test),
        "out_shape": auto["out_shape"],
        "notes": auto["notes"],
        "candidates": table,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def loco_table(seed_summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave-one-defect-class-out, per seed and class: the candidate that a person choosing by
    the *other four* real classes would pick (mean per-class image AUROC) and its AUROC on the
    left-out class, beside the automatic choice's (chosen from synthetic defects alone, which
    never sees any real class)."""
    rows = []
    for s in seed_summaries:
        for cls in DEFECT_CLASSES:
            pool = [t for t in s["candidates"] if cls in t["per_class"]]
            if not pool:
                continue
            best = max(
                pool,
                key=lambda t: np.mean([v for k, v in t["per_class"].items() if k != cls] or [0]),
            )
            rows.append(
                {
                    "seed": s["seed"],
                    "left_out": cls,
                    "auto_choice": s["choice"],
                    "auto_auroc": s["per_class_image_auroc"].get(cls, float("nan")),
                    "chosen_without_class": best["name"],
                    "auroc_on_left_out": best["per_class"][cls],
                }
            )
    return rows


def run_auto_bench(
    data: Path,
    out: Path,
    cfg: TrainConfig | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    progress: Callable[[str, int, int], None] | None = None,
    reuse: bool = False,
) -> dict[str, Any]:
    """``bench inspect``: trainings with different seeds, each with the automatic choice;
    every candidate's figures; the leave-one-class-out table; ``summary.json`` in ``out``.
    ``reuse``: a seed whose ``seed<N>/summary.json`` exists is read, not run again (seeds run
    in parallel processes, then put together)."""
    cfg = cfg or TrainConfig()
    runs = []
    for s in seeds:
        done = out / f"seed{s}" / "summary.json"
        if reuse and done.is_file():
            runs.append(json.loads(done.read_text(encoding="utf-8")))
        else:
            runs.append(run_auto_seed(data, out / f"seed{s}", cfg, s, progress))
    summary = {
        "seeds": [{k: r[k] for k in r if k != "candidates"} for r in runs],
        "image_auroc": [r["image_auroc"] for r in runs],
        "pixel_auroc": [r["pixel_auroc"] for r in runs],
        "ms_per_image_256_one_core": [r["ms_per_image_256_one_core"] for r in runs],
        "candidates": {r["seed"]: r["candidates"] for r in runs},
        "loco": loco_table(runs),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
