"""A station that chooses its own method by validation (``inspect train``'s default).

The good images are split three ways: training (the station net and every density learn from
these), *calibration* (held-out good: each scorer's rank calibration and the thresholds) and
*validation* (held-out good, plus copies of them with synthetic defects of the kinds real parts
show, :data:`~.defects.VALIDATION_KINDS`, none of which the station net trains on). Every
candidate, one scorer (extractor × density) or a rank-calibrated ensemble of several, is scored
on the validation set: image AUROC of good vs. defective copies and the false-reject rate of
the validation good images at the threshold set on the calibration images. The best candidate
within the edge time budget is kept; the choice and every candidate's figures go into the
model card (``model.json``'s ``extra["auto"]``).

Extractors are exported to ONNX first and everything after training the net runs through
onnxruntime, so the validation scores are the edge's own.
"""

from __future__ import annotations

import itertools
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from plantmind.vision.defects import add_real_defect
from plantmind.vision.density import DensityFitter, GaussianFitter
from plantmind.vision.ensemble import (
    AutoRuntime,
    Outputs,
    ScorerSpec,
    rank_calibrate,
    run_extractor,
)
from plantmind.vision.extractors import (
    LITE0,
    STRIDE_ALIGN,
    export_features_onnx,
    lite0_missing,
    load_lite0,
)
from plantmind.vision.images import normalise, resize, working_shape
from plantmind.vision.runtime import META_FILE, ModelMeta
from plantmind.vision.threshold import MIN_GOOD, NotEnoughGoodImages, Thresholds
from plantmind.vision.train import (
    ImageCache,
    TrainConfig,
    TrainingError,
    TrainResult,
    export_onnx,
    train_net,
)

__all__ = ["STATION", "auroc", "train_auto"]

STATION = "station"
#: Positional bank of the pretrained extractor (its grid is 4× the station net's): 128 maps.
PRETRAINED_BANK = 131_072


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


def _aspects(paths: Sequence[Path], n: int = 200) -> list[float]:
    out = []
    for p in list(paths)[:: max(1, len(paths) // n)]:
        try:
            with Image.open(p) as im:
                w, h = im.size
            out.append(w / h)
        except (OSError, ValueError, ZeroDivisionError):
            continue
    return out


def _scaled(shape: tuple[int, int], factor: float) -> tuple[int, int]:
    return tuple(  # type: ignore[return-value]
        max(STRIDE_ALIGN, round(v * factor / STRIDE_ALIGN) * STRIDE_ALIGN) for v in shape
    )


def _with_defect(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A copy of the (H, W, C) uint8 image with one realistic synthetic defect, and its mask."""
    x = img.astype(np.float32).transpose(2, 0, 1)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2), keepdims=True), 4.0)
    y, mask = add_real_defect((x - mean) / std, rng)
    out = np.clip(y * std + mean, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy()
    return out, mask > 0


PIXEL_BINS = 2000


def _pixel_auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    n1, n0 = pos.sum(), neg.sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (n1 * n0))


class _Sessions:
    """onnxruntime sessions of the exported extractors, with their working shapes."""

    def __init__(
        self,
        files: dict[str, tuple[Path, tuple[int, int]]],
        threads: int,
        tiles: dict[str, int | None],
    ) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.shapes = {e: shape for e, (_, shape) in files.items()}
        self.tiles = tiles
        self.sess = {
            e: ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"])
            for e, (f, _) in files.items()
        }
        self.ms: dict[str, list[float]] = {e: [] for e in files}

    def run(self, e: str, imgs: Sequence[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray]:
        """(heatmaps or None, features) of uint8 images through extractor ``e``."""
        t = time.perf_counter()
        x = np.stack([normalise(resize(im, self.shapes[e])) for im in imgs])
        out = run_extractor(self.sess[e], x, self.tiles[e])
        self.ms[e].append(1000 * (time.perf_counter() - t) / len(imgs))
        return (out[0][:, 0], out[1]) if len(out) == 2 else (None, out[0])

    def outputs(self, imgs: dict[str, np.ndarray]) -> Outputs:
        """Every extractor's outputs for one image given at each extractor's shape (resized
        from the original once, as the runtime does)."""
        res: Outputs = {}
        for e in self.sess:
            hm, f = self.run(e, [imgs[e]])
            res[e] = (None if hm is None else hm[0], f[0])
        return res


def train_auto(
    good: Sequence[str | Path],
    out_dir: str | Path,
    station: str = "station",
    cfg: TrainConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    work_dir: str | Path | None = None,
) -> TrainResult:
    """Train every candidate on ``good`` images, choose by validation, write the model (the
    chosen extractors' ONNX files, their densities, ``model.json``) to ``out_dir``."""
    cfg = cfg or TrainConfig()
    t0 = time.perf_counter()
    paths = [Path(p) for p in good]
    if not paths:
        raise TrainingError("no good images given (the folder or list is empty)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    extractors = [e for e in cfg.extractors if e in (STATION, LITE0)]
    if LITE0 in extractors and (why := lite0_missing()) is not None:
        extractors.remove(LITE0)
        notes.append(why)
    if not extractors:
        extractors = [STATION]
    base = cfg.pretrained_size if LITE0 in extractors else cfg.size
    out_shape = working_shape(_aspects(paths), base)
    shapes = {
        STATION: _scaled(out_shape, cfg.size / base),
        LITE0: out_shape,
    }
    threads = cfg.threads or 1
    tmp = tempfile.TemporaryDirectory(dir=work_dir, prefix="pm-vision-")
    caches: dict[tuple[int, int], ImageCache] = {}
    try:
        for e in extractors:
            if shapes[e] not in caches:
                caches[shapes[e]] = ImageCache(paths, shapes[e], Path(tmp.name), progress)
        big = caches[out_shape] if out_shape in caches else caches[shapes[extractors[0]]]
        out_shape = big.shape  # heatmaps are drawn at the largest working shape
        n = big.n
        if n == 0:
            first = "; ".join(f"{p}: {why}" for p, why in big.skipped[:3])
            raise TrainingError(f"none of the {len(paths)} files is a usable image ({first})")
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(n)
        n_hold = max(cfg.min_holdout, round(cfg.holdout * n))
        if n - n_hold < MIN_GOOD:
            raise NotEnoughGoodImages(
                f"too few good images to set a threshold: {n} usable, at least "
                f"{cfg.min_holdout + MIN_GOOD} needed ({cfg.min_holdout} held out for the "
                f"threshold, {MIN_GOOD} to train on)"
            )
        hold_idx, train_idx = np.sort(order[:n_hold]), order[n_hold:]
        # calibration and validation halves of the held-out good images (both all of them
        # when there are too few to halve)
        if hold_idx.size >= 2 * MIN_GOOD:
            cal_idx, val_idx = hold_idx[0::2], hold_idx[1::2]
        else:
            cal_idx = val_idx = hold_idx
        files: dict[str, tuple[Path, tuple[int, int]]] = {}
        # a working shape longer than cfg.tile on a side runs in tiles of that side (the graph
        # exported at the tile's shape): memory bounded by one tile
        tiles = {e: (cfg.tile if max(shapes[e]) > cfg.tile else None) for e in extractors}

        def graph_shape(e: str) -> tuple[int, int]:
            t = tiles[e]
            return shapes[e] if t is None else (t, t)

        steps, losses = 0, [float("nan")]
        net = None
        if STATION in extractors:
            net, steps, losses = train_net(caches[shapes[STATION]], train_idx, cfg, rng, progress)
            export_onnx(net, out / f"{STATION}.onnx", big.channels, graph_shape(STATION))
            files[STATION] = (out / f"{STATION}.onnx", shapes[STATION])
        if LITE0 in extractors:
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
                lite = load_lite0(big.channels)
            export_features_onnx(lite, out / f"{LITE0}.onnx", big.channels, graph_shape(LITE0))
            files[LITE0] = (out / f"{LITE0}.onnx", shapes[LITE0])
        sess = _Sessions(files, threads, tiles)

        # densities on the training images' features (every kind the station allows)
        # gaussian: PaDiM's per-position Gaussian (magnetic tiles, Lite0 features, seed 0: image
        # AUROC 0.97 where the positional nearest-neighbour bank gave 0.84)
        kinds = ["gaussian", "positional", "global"] if cfg.aligned else ["global"]
        fitters: dict[str, DensityFitter | GaussianFitter] = {}
        for e in extractors:
            for k in kinds:
                if k == "gaussian":
                    fitters[f"{e}/{k}"] = GaussianFitter(top_share=cfg.density_top_share)
                    continue
                bank = cfg.global_bank_size if k == "global" else cfg.bank_size
                if e == LITE0 and k == "positional":
                    bank = min(bank, PRETRAINED_BANK)
                fitters[f"{e}/{k}"] = DensityFitter(
                    bank_size=bank,
                    top_share=cfg.density_top_share,
                    positional=k == "positional",
                    seed=cfg.seed,
                )
        fit_idx = np.sort(train_idx)
        for e in extractors:
            cache = caches[shapes[e]]
            for j in range(0, fit_idx.size, 16):
                imgs = [cache.raw(int(i)) for i in fit_idx[j : j + 16]]
                _, feats = sess.run(e, imgs)
                for k in kinds:
                    fitters[f"{e}/{k}"].add(feats)
                if progress is not None:
                    progress(f"features {e}", min(j + 16, fit_idx.size), fit_idx.size)
        densities = {name: f.finish() for name, f in fitters.items()}
        names = list(densities)
        if STATION in extractors:
            names.insert(0, f"{STATION}/heatmap")
        pool = {
            name: ScorerSpec(
                name,
                name.split("/")[0],
                name.split("/")[1],
                1.0,
                np.zeros(0),
                densities.get(name),
            )
            for name in names
        }

        # raw scores of calibration and validation images (validation: good + defective)
        def raw_scores(
            imgs: dict[str, np.ndarray], maps: dict[str, np.ndarray] | None = None
        ) -> dict[str, float]:
            outs = sess.outputs(imgs)
            res = {}
            for name, sc in pool.items():
                t = time.perf_counter()
                hm, f = outs[sc.extractor]
                res[name], shown = sc.raw(hm, f, None, cfg.topk, out_shape)
                dens_ms.setdefault(name, []).append(1000 * (time.perf_counter() - t))
                if maps is not None:
                    maps[name] = shown
            return res

        def per_shape(i: int) -> dict[str, np.ndarray]:
            return {e: caches[shapes[e]].raw(i) for e in extractors}

        dens_ms: dict[str, list[float]] = {}
        cal_raw = []
        for j, i in enumerate(cal_idx):
            cal_raw.append(raw_scores(per_shape(int(i))))
            if progress is not None:
                progress("calibration", j + 1, cal_idx.size)
        for name, sc in pool.items():
            g = np.asarray([r[name] for r in cal_raw])
            sc.calib = np.sort(g)
            sc.distance_ref = float(np.median(g)) if g.size else 1.0

        # candidates: every scorer alone, every pair and triple of scorers
        cands: list[tuple[str, ...]] = [(n_,) for n_ in names]
        for r in (2, 3):
            cands += [c for c in itertools.combinations(names, r) if len({*c}) == r]
        # validation: image scores, and pixel histograms of every candidate's shown heatmap
        # against the synthetic defects' masks (the heatmap may come from another candidate)
        hist = {c: (np.zeros(PIXEL_BINS + 1), np.zeros(PIXEL_BINS + 1)) for c in cands}

        def add_pixels(maps: dict[str, np.ndarray], mask: np.ndarray) -> None:
            for c in cands:
                hm = maps[c[0]] if len(c) == 1 else np.mean([maps[m] for m in c], axis=0)
                q = np.clip((hm * PIXEL_BINS).astype(np.int64), 0, PIXEL_BINS)
                pos, neg = hist[c]
                pos += np.bincount(q[mask], minlength=PIXEL_BINS + 1)
                neg += np.bincount(q[~mask], minlength=PIXEL_BINS + 1)

        vrng = np.random.default_rng(cfg.seed + 7)
        val_raw, val_lab = [], []
        total = val_idx.size * (1 + cfg.val_defects)
        no_defect = np.zeros(out_shape, dtype=bool)
        for j, i in enumerate(val_idx):
            maps: dict[str, np.ndarray] = {}
            val_raw.append(raw_scores(per_shape(int(i)), maps))
            add_pixels(maps, no_defect)
            val_lab.append(0)
            img = big.raw(int(i))
            for _ in range(cfg.val_defects):
                bad, bad_mask = _with_defect(img, vrng)
                maps = {}
                val_raw.append(raw_scores({e: resize(bad, shapes[e]) for e in extractors}, maps))
                add_pixels(maps, bad_mask)
                val_lab.append(1)
            if progress is not None:
                progress("validation", (j + 1) * (1 + cfg.val_defects), total)
        labels = np.asarray(val_lab, dtype=bool)
        # the 10th percentile of the timings: the machine's own speed, not the load of the
        # moment (a choice should not depend on what else ran during training)
        ex_ms = {e: float(np.quantile(v, 0.1)) if v else 0.0 for e, v in sess.ms.items()}
        sc_ms = {k: float(np.quantile(v, 0.1)) for k, v in dens_ms.items()}

        def values(members: tuple[str, ...], rows: list[dict[str, float]]) -> np.ndarray:
            v = np.asarray(
                [np.mean([rank_calibrate(r[m], pool[m].calib) for m in members]) for r in rows]
            )
            return v / (1.0 + v)

        table: list[dict[str, Any]] = []
        for c in cands:
            vv = values(c, val_raw)
            cv = values(c, cal_raw)
            thr = Thresholds.fit(cv, cfg.false_reject_rate)
            frr = float(np.mean(vv[~labels] >= thr.fail))
            used = sorted({pool[m].extractor for m in c})
            ms = sum(ex_ms[e] for e in used) + sum(sc_ms[m] for m in c)
            table.append(
                {
                    "name": "+".join(c),
                    "members": list(c),
                    "val_auroc": round(auroc(labels, vv), 4),
                    "val_pixel_auroc": round(_pixel_auroc(*hist[c]), 4),
                    "val_frr": round(frr, 4),
                    "ms": round(ms, 1),
                    "objective": auroc(labels, vv) - max(0.0, frr - 2 * cfg.false_reject_rate),
                }
            )
        within = [t for t in table if t["ms"] <= cfg.max_ms] or [min(table, key=lambda t: t["ms"])]
        best = max(t["objective"] for t in within)
        # among the (near-)best, the fewest members, then the fastest
        near = [t for t in within if t["objective"] >= best - 0.002]
        chosen = min(near, key=lambda t: (len(t["members"]), t["ms"]))

        # the shown heatmap: the candidate with the best validation pixel AUROC whose extra
        # extractors and densities still fit the time budget beside the chosen one
        def union_ms(t: dict[str, Any]) -> float:
            mem = {*chosen["members"], *t["members"]}
            used = {pool[m].extractor for m in mem}
            return sum(ex_ms[e] for e in used) + sum(sc_ms[m] for m in mem)

        fits = [t for t in table if union_ms(t) <= max(cfg.max_ms, chosen["ms"])] or [chosen]
        heat = max(fits, key=lambda t: (t["val_pixel_auroc"], t is chosen))
        for t in table:
            t["objective"] = round(t["objective"], 4)
            t["chosen"] = t is chosen
            t["heatmap"] = t is heat
        members = tuple(chosen["members"])
        heat_members = tuple(heat["members"])

        # thresholds from every held-out good image (calibration and validation halves)
        hold_rows = cal_raw + [r for r, lab in zip(val_raw, val_lab, strict=True) if not lab]
        if cal_idx is val_idx:
            hold_rows = cal_raw
        scores = values(members, hold_rows)
        thr = Thresholds.fit(scores, cfg.false_reject_rate)
        keep = set(names) if cfg.keep_candidates else {*members, *heat_members}
        keep_ex = {pool[m].extractor for m in keep}
        scorers_meta = {}
        for name in names:
            if name not in keep:
                continue
            sc = pool[name]
            dfile = None
            if sc.density is not None:
                dfile = f"{name.replace('/', '-')}.npz"
                sc.density.save(out / dfile)
            scorers_meta[name] = {
                "extractor": sc.extractor,
                "kind": sc.kind,
                "density": dfile,
                "distance_ref": sc.distance_ref,
                "calib": [float(v) for v in sc.calib],  # exact: ranks of ties
            }
        for e, (f, _) in files.items():
            if e not in keep_ex:
                f.unlink(missing_ok=True)
        if net is not None and STATION in keep_ex:
            import torch

            torch.save(net.state_dict(), out / "model.pt")
        auto = {
            "choice": list(members),
            "heatmap_choice": list(heat_members),
            "ms": round(union_ms(heat), 1),
            "candidates": table,
            "extractors": {
                e: {
                    "file": f.name,
                    "shape": list(shape),
                    "tile": tiles[e],
                    "ms": round(ex_ms[e], 1),
                }
                for e, (f, shape) in files.items()
                if e in keep_ex
            },
            "scorers": scorers_meta,
            "out_shape": list(out_shape),
            "validation": {
                "good": int((~labels).sum()),
                "defective": int(labels.sum()),
                "calibration": int(cal_idx.size),
            },
            "notes": notes,
        }
        seconds = time.perf_counter() - t0
        meta = ModelMeta(
            station=station,
            size=max(out_shape),
            channels=big.channels,
            kind="auto",
            topk=cfg.topk,
            model_id=uuid.uuid4().hex[:12],
            trained_at=time.time(),
            n_train=int(train_idx.size),
            n_holdout=int(scores.size),
            train_seconds=round(seconds, 2),
            thresholds=thr.to_dict(),
            extra={
                "auto": auto,
                "widths": list(cfg.widths),
                "steps": steps + 1 if net is not None else 0,
                "holdout_scores": [round(float(s), 6) for s in scores],
                "skipped": [[p, why] for p, why in big.skipped],
            },
        )
        (out / META_FILE).write_text(meta.to_json(), encoding="utf-8")
        return TrainResult(
            out,
            meta,
            big.skipped,
            scores,
            seconds,
            steps + 1 if net is not None else 0,
            float(np.mean(losses[-50:])) if losses else float("nan"),
        )
    finally:
        for cache in caches.values():
            cache.close()
        tmp.cleanup()


def load_auto(directory: Path, threads: int = 1, members: Sequence[str] | None = None) -> Any:
    """The :class:`AutoRuntime` of a model written by :func:`train_auto`."""
    meta = ModelMeta.read(directory / META_FILE)
    return AutoRuntime(directory, meta.extra["auto"], threads, members, meta.topk)
