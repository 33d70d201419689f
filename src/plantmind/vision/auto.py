"""A station that chooses its own method by validation (``inspect train``'s default).

The good images are split three ways: training (the station net and every density learn from
these), *calibration* (held-out good: each scorer's rank calibration and the thresholds) and
*validation* (held-out good, plus copies of them with synthetic defects of the kinds real parts
show, :data:`~.defects.VALIDATION_KINDS`, none of which the station net trains on). Every
candidate, one scorer (extractor × density) or a rank-calibrated ensemble of several, is scored
on the validation set: image AUROC of good vs. defective copies and the false-reject rate of
the validation good images at the threshold set on the calibration images. The best candidate
within the edge time budget is kept; the choice and every candidate's figures go into the
model card (``model.json``'s ``extra["auto"]``). Time is the process's CPU time, so the choice
does not depend on what else the machine runs during training.

The validation defects come in ``val_draws`` independent draws. The shown heatmap is chosen
separately from the image score, by a rule (:data:`HEATMAP_RULES`) over the pixel AUROC
against the synthetic masks per draw and per defect kind: between near-tied candidates one draw
of synthetic defects decides by noise. Every rule's pick is recorded, with how well it did on a
defect kind (and a draw) left out of its choice, so rules are compared on validation alone; the
default, ``worst_kind`` (the best lowest pixel AUROC over the kinds), had the best left-out-kind
figure of the seven rules over three magnetic-tile trainings (validation only, 0.959 vs
0.952-0.956: differences within noise).

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

from plantmind.vision.defects import VALIDATION_KINDS, add_real_defect
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

__all__ = ["HEATMAP_RULES", "STATION", "PixelTable", "auroc", "choose_heatmap", "train_auto"]

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


def _with_defect(
    img: np.ndarray, rng: np.random.Generator, kinds: tuple[str, ...] = VALIDATION_KINDS
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of the (H, W, C) uint8 image with one realistic synthetic defect, and its mask."""
    x = img.astype(np.float32).transpose(2, 0, 1)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2), keepdims=True), 4.0)
    y, mask = add_real_defect((x - mean) / std, rng, kinds)
    out = np.clip(y * std + mean, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy()
    return out, mask > 0


PIXEL_BINS = 2000


def _pixel_auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    n1, n0 = pos.sum(), neg.sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (n1 * n0))


#: Rules for choosing the shown heatmap from the validation draws (``TrainConfig.heatmap_rule``;
#: every rule's pick is recorded in the model card, so they can be compared):
#: ``single``: the best pixel AUROC on the first draw alone (the rule before draws existed);
#: ``pooled``: the best pixel AUROC over all draws together;
#: ``mean_rank``: the best mean rank over the draws;
#: ``worst_kind``: the best lowest pixel AUROC over the defect kinds (all draws);
#: ``kind_rank``: the best mean rank over the defect kinds;
#: ``margin``: among the candidates that the best (pooled) beats by less than the spread of the
#: draws (one standard deviation of the paired per-draw differences), the cheapest: fewest
#: extractors beyond the image choice's, then fewest members, then fastest;
#: ``margin_kind``: the same, with the spread over the defect kinds instead of the draws.
HEATMAP_RULES = (
    "single", "pooled", "mean_rank", "worst_kind", "kind_rank", "margin", "margin_kind"
)  # fmt: skip


class PixelTable:
    """Pixel histograms of every candidate's shown heatmap on the validation set: the good
    images' pixels, and per (draw, defect kind) the defective copies' pixels inside and outside
    their masks. Pixel AUROC of any subset of draws and kinds (good pixels always included)."""

    def __init__(self, cands: Sequence[str], draws: int, kinds: Sequence[str]) -> None:
        self.kinds = list(kinds)
        self.draws = draws
        shape = (draws, len(self.kinds), PIXEL_BINS + 1)
        self.good = {c: np.zeros(PIXEL_BINS + 1) for c in cands}
        self.pos = {c: np.zeros(shape) for c in cands}
        self.neg = {c: np.zeros(shape) for c in cands}

    def add(self, c: str, hm: np.ndarray, mask: np.ndarray | None, draw: int, kind: str) -> None:
        """One image's shown map ``hm`` in [0, 1] (``mask`` None: a good image)."""
        q = np.clip((hm * PIXEL_BINS).astype(np.int64), 0, PIXEL_BINS)
        if mask is None:
            self.good[c] += np.bincount(q.reshape(-1), minlength=PIXEL_BINS + 1)
            return
        k = self.kinds.index(kind)
        self.pos[c][draw, k] += np.bincount(q[mask], minlength=PIXEL_BINS + 1)
        self.neg[c][draw, k] += np.bincount(q[~mask], minlength=PIXEL_BINS + 1)

    def auroc(
        self, c: str, draws: Sequence[int] | None = None, kinds: Sequence[int] | None = None
    ) -> float:
        """Pixel AUROC of candidate ``c`` over the draws and kind indices given (default all)."""
        d = list(range(self.draws)) if draws is None else list(draws)
        k = list(range(len(self.kinds))) if kinds is None else list(kinds)
        cell = np.ix_(d, k)
        pos = self.pos[c][cell].sum(axis=(0, 1))
        neg = self.good[c] + self.neg[c][cell].sum(axis=(0, 1))
        return _pixel_auroc(pos, neg)


def _ranks(v: np.ndarray) -> np.ndarray:
    """Rank of each row's value within its column (1: highest), ties averaged: (C, D) → (C, D)."""
    from scipy.stats import rankdata

    return np.stack([rankdata(-v[:, j]) for j in range(v.shape[1])], axis=1)


def choose_heatmap(
    pix: PixelTable,
    cands: Sequence[str],
    cost: dict[str, tuple[float, ...]],
    rule: str,
    draws: Sequence[int] | None = None,
    kinds: Sequence[int] | None = None,
) -> str:
    """The candidate whose heatmap is shown, by ``rule`` (:data:`HEATMAP_RULES`) on the
    validation draws and kinds given; ``cost``: each candidate's sort key of cheapness (ties
    and the margin rules prefer the cheaper)."""
    if rule not in HEATMAP_RULES:
        raise ValueError(f"unknown heatmap rule {rule!r} (one of {', '.join(HEATMAP_RULES)})")
    c_list = list(cands)
    d = list(range(pix.draws)) if draws is None else list(draws)
    k = list(range(len(pix.kinds))) if kinds is None else list(kinds)
    pooled = np.asarray([pix.auroc(c, d, k) for c in c_list])
    pooled = np.nan_to_num(pooled, nan=0.0)

    def best_of(score: np.ndarray) -> str:
        # highest score; exact ties: the higher pooled figure, then the cheaper
        i = min(range(len(c_list)), key=lambda j: (-score[j], -pooled[j], cost[c_list[j]]))
        return c_list[i]

    if rule == "pooled":
        return best_of(pooled)
    if rule == "single":
        return best_of(np.nan_to_num([pix.auroc(c, d[:1], k) for c in c_list], nan=0.0))
    by_draw = np.nan_to_num([[pix.auroc(c, [j], k) for j in d] for c in c_list], nan=0.0)
    by_kind = np.nan_to_num([[pix.auroc(c, d, [j]) for j in k] for c in c_list], nan=0.0)
    by_draw = np.asarray(by_draw).reshape(len(c_list), len(d))
    by_kind = np.asarray(by_kind).reshape(len(c_list), len(k))
    if rule == "mean_rank":
        return best_of(-_ranks(by_draw).mean(axis=1))
    if rule == "kind_rank":
        return best_of(-_ranks(by_kind).mean(axis=1))
    if rule == "worst_kind":
        return best_of(by_kind.min(axis=1))
    per = by_draw if rule == "margin" else by_kind
    top = c_list.index(best_of(pooled))
    diff = per[top][None, :] - per  # (C, D): how much the best beats each, per draw / kind
    spread = diff.std(axis=1, ddof=1) if per.shape[1] > 1 else np.zeros(len(c_list))
    tied = [c for j, c in enumerate(c_list) if diff[j].mean() <= spread[j]]
    return min(tied, key=lambda c: cost[c])


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
        t = time.process_time()
        x = np.stack([normalise(resize(im, self.shapes[e])) for im in imgs])
        out = run_extractor(self.sess[e], x, self.tiles[e])
        self.ms[e].append(1000 * (time.process_time() - t) / len(imgs))
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
    if cfg.heatmap_rule not in HEATMAP_RULES:
        raise TrainingError(
            f"unknown heatmap rule {cfg.heatmap_rule!r} (one of {', '.join(HEATMAP_RULES)})"
        )
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
                t = time.process_time()
                hm, f = outs[sc.extractor]
                res[name], shown = sc.raw(hm, f, None, cfg.topk, out_shape)
                dens_ms.setdefault(name, []).append(1000 * (time.process_time() - t))
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
        # against the synthetic defects' masks (the heatmap may come from another candidate),
        # in ``cfg.val_draws`` independent draws of defects (each its own generator), so the
        # heatmap choice can see how much its figures move from one synthetic draw to the next
        draws = max(1, cfg.val_draws)
        cnames = ["+".join(c) for c in cands]
        pix = PixelTable(cnames, draws, VALIDATION_KINDS)

        def add_pixels(
            maps: dict[str, np.ndarray], mask: np.ndarray | None, draw: int, kind: str
        ) -> None:
            for c, cn in zip(cands, cnames, strict=True):
                hm = maps[c[0]] if len(c) == 1 else np.mean([maps[m] for m in c], axis=0)
                pix.add(cn, hm, mask, draw, kind)

        vrngs = [np.random.default_rng(cfg.seed + 7 + 1009 * d) for d in range(draws)]
        val_raw, val_lab, val_draw = [], [], []
        total = val_idx.size * (1 + draws * cfg.val_defects)
        for j, i in enumerate(val_idx):
            maps: dict[str, np.ndarray] = {}
            val_raw.append(raw_scores(per_shape(int(i)), maps))
            add_pixels(maps, None, 0, "")
            val_lab.append(0)
            val_draw.append(-1)
            img = big.raw(int(i))
            for d in range(draws):
                for _ in range(cfg.val_defects):
                    kind = str(vrngs[d].choice(list(VALIDATION_KINDS)))
                    bad, bad_mask = _with_defect(img, vrngs[d], (kind,))
                    maps = {}
                    val_raw.append(
                        raw_scores({e: resize(bad, shapes[e]) for e in extractors}, maps)
                    )
                    add_pixels(maps, bad_mask, d, kind)
                    val_lab.append(1)
                    val_draw.append(d)
            if progress is not None:
                progress("validation", (j + 1) * (1 + draws * cfg.val_defects), total)
        labels = np.asarray(val_lab, dtype=bool)
        draw_of = np.asarray(val_draw)
        # CPU time of this process (one-core equivalent), 10th percentile: the machine's own
        # speed, not the load of the moment (a choice should not depend on what else ran during
        # training: wall-clock timings on a loaded 2-core machine put EfficientNet-Lite0 over
        # the 50 ms budget and the choice fell back to the station net, magnetic tiles image
        # AUROC 0.65-0.82 instead of 0.97)
        ex_ms = {e: float(np.quantile(v, 0.1)) if v else 0.0 for e, v in sess.ms.items()}
        sc_ms = {k: float(np.quantile(v, 0.1)) for k, v in dens_ms.items()}

        def values(members: tuple[str, ...], rows: list[dict[str, float]]) -> np.ndarray:
            v = np.asarray(
                [np.mean([rank_calibrate(r[m], pool[m].calib) for m in members]) for r in rows]
            )
            return v / (1.0 + v)

        table: list[dict[str, Any]] = []
        for c, cn in zip(cands, cnames, strict=True):
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
                    "val_pixel_auroc": round(pix.auroc(cn), 4),
                    "val_pixel_draws": [round(pix.auroc(cn, [d]), 4) for d in range(draws)],
                    "val_pixel_kinds": {
                        kd: round(pix.auroc(cn, kinds=[k]), 4)
                        for k, kd in enumerate(VALIDATION_KINDS)
                    },
                    "val_auroc_draws": [
                        round(auroc(labels[sel], vv[sel]), 4)
                        for d in range(draws)
                        if (sel := (draw_of == d) | (draw_of == -1)).any()
                    ],
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

        # the shown heatmap: among the candidates whose extra extractors and densities still fit
        # the time budget beside the chosen one, the one ``cfg.heatmap_rule`` picks from the
        # validation draws (every rule's pick is recorded, with how well each rule's pick did
        # on a defect kind / a draw it did not see: the rules compared on validation alone)
        def union_ms(t: dict[str, Any]) -> float:
            mem = {*chosen["members"], *t["members"]}
            used = {pool[m].extractor for m in mem}
            return sum(ex_ms[e] for e in used) + sum(sc_ms[m] for m in mem)

        fits = [t for t in table if union_ms(t) <= max(cfg.max_ms, chosen["ms"])] or [chosen]
        own = {pool[m].extractor for m in chosen["members"]}
        cost: dict[str, tuple[float, ...]] = {
            t["name"]: (
                len({pool[m].extractor for m in t["members"]} - own),
                len(t["members"]),
                round(union_ms(t), 1),
            )
            for t in fits
        }
        fit_names = [t["name"] for t in fits]
        rule_picks = {r: choose_heatmap(pix, fit_names, cost, r) for r in HEATMAP_RULES}
        nk = len(VALIDATION_KINDS)
        held_out: dict[str, dict[str, float | None]] = {}
        for rule in HEATMAP_RULES:
            kind_scores = []
            for ki in range(nk):
                rest = [i for i in range(nk) if i != ki]
                pick = choose_heatmap(pix, fit_names, cost, rule, kinds=rest)
                kind_scores.append(pix.auroc(pick, kinds=[ki]))
            draw_scores = []
            for di in range(draws) if draws > 1 else ():
                rest = [i for i in range(draws) if i != di]
                pick = choose_heatmap(pix, fit_names, cost, rule, draws=rest)
                draw_scores.append(pix.auroc(pick, [di]))
            held_out[rule] = {
                "left_out_kind": round(float(np.nanmean(kind_scores)), 4),
                "left_out_draw": (
                    round(float(np.nanmean(draw_scores)), 4) if draw_scores else None
                ),
            }
        heat = next(t for t in table if t["name"] == rule_picks[cfg.heatmap_rule])
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
            "heatmap_rule": cfg.heatmap_rule,
            "heatmap_rules": {r: {"pick": p, **held_out[r]} for r, p in rule_picks.items()},
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
                "draws": draws,
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
