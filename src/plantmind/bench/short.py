"""``plantmind bench short``: detection on *short* files, as a user with a short export has
them: the model learns from the first rows of each file and scores the rest.

Two kinds of data, both scored with the product's own :class:`~plantmind.detect.learned.TableModel`
and, in the same run, two plain library baselines fitted on the same learning rows:

* ``lw-ewma``: scikit-learn's Ledoit–Wolf shrinkage covariance of the standardised learning
  rows, the Mahalanobis distance per row, an EWMA (λ = 0.2), alarm above the 99th percentile
  of the learning rows' own EWMA.
* ``iforest``: scikit-learn's ``IsolationForest`` with its default settings
  (``random_state=0``), alarm where it predicts an outlier.

**Tennessee Eastman** (``--tep DIR``, the Braatz files): each test run ``dNN_te`` is its own
file; learn on its rows 1–160 (before the fault starts), score rows 161–960. Detection rate
of a fault = share of scored rows alarmed; false-alarm rate = share of ``d00_te``'s scored
rows alarmed (faults 3, 9 and 15, undetectable from these measurements, are shown as a
second false-alarm check). The mean detection rate is over faults 1, 2, 4–8, 10–14, 16–21.

**Generated files** (:mod:`plantmind.bench.short_files`): three styles × six anomaly kinds ×
seeds; learning period :func:`~plantmind.detect.learned.default_learn_rows` (printed per
file); row-wise F1, false-alarm rate (alarmed normal rows / normal rows) and missed-alarm rate
(unalarmed anomalous rows / anomalous rows), summed over the files. Development seeds are
0–2; ``--lockbox`` scores seeds 100–104 instead, which settings were never chosen on.

``--sweep`` scores every setting of :data:`SWEEP` (the grid the defaults were chosen from)
and reports all of them.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from plantmind.bench.short_files import KINDS, STYLES, generate
from plantmind.bench.tep import FAULTS_SCORED, load_tep
from plantmind.detect.learned import LearnSettings, TableModel, default_learn_rows

__all__ = ["DEV_SEEDS", "LOCKBOX_SEEDS", "SWEEP", "format_short", "run_short"]

TEP_LEARN = 160
DEV_SEEDS = (0, 1, 2)
LOCKBOX_SEEDS = (100, 101, 102, 103, 104)
SWEEP: list[dict[str, Any]] = [
    {"ewma": lam, "margin": m, "principal_allowance": a, "max_modes": k}
    for lam, m, a, k in itertools.product((0.1, 0.2, 0.3), (1.0, 1.25, 1.5), (1.0, 3.0, 10.0), (1,))
] + [
    {"ewma": lam, "margin": m, "principal_allowance": 3.0, "max_modes": 3}
    for lam, m in ((0.1, 1.5), (0.1, 1.25), (0.2, 1.25))
]


def _ours(settings: LearnSettings) -> Any:
    def fn(learn: np.ndarray, rest: np.ndarray) -> np.ndarray:
        names = [f"x{j}" for j in range(learn.shape[1])]
        return TableModel.fit(learn, names, settings=settings).score(rest).alarm

    return fn


def _lw_stat(learn: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, float]:
    """The Ledoit–Wolf baseline's statistic on ``rest`` and its own alarm limit."""
    from scipy.signal import lfilter
    from sklearn.covariance import LedoitWolf

    mu, sd = learn.mean(axis=0), learn.std(axis=0, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    lw = LedoitWolf().fit((learn - mu) / sd)

    def stat(x: np.ndarray) -> np.ndarray:
        d2 = lw.mahalanobis((x - mu) / sd)
        y, _ = lfilter([0.2], [1.0, -0.8], d2, zi=[0.8 * learn.shape[1]])
        return np.asarray(y)

    return stat(rest), float(np.quantile(stat(learn), 0.99))


def _lw_ewma(learn: np.ndarray, rest: np.ndarray) -> np.ndarray:
    stat, limit = _lw_stat(learn, rest)
    return stat > limit


def _iforest(learn: np.ndarray, rest: np.ndarray) -> np.ndarray:
    from sklearn.ensemble import IsolationForest

    mu = np.nanmean(learn, axis=0)
    f = IsolationForest(random_state=0).fit(np.where(np.isnan(learn), mu, learn))
    return np.asarray(f.predict(np.where(np.isnan(rest), mu, rest)) == -1)


def _tep(root: Path, fns: dict[str, Any]) -> dict[str, Any]:
    runs = {
        f: load_tep(root / f"d{f:02d}_te.dat")
        for f in range(22)
        if (root / f"d{f:02d}_te.dat").exists()
    }
    if 0 not in runs:
        raise FileNotFoundError(f"{root / 'd00_te.dat'} missing")
    out: dict[str, Any] = {}
    for name, fn in fns.items():
        rate = {f: float(fn(x[:TEP_LEARN], x[TEP_LEARN:]).mean()) for f, x in runs.items()}
        out[name] = {
            "detection_rate": {f: r for f, r in rate.items() if f != 0},
            "mean_detection_rate": float(np.mean([rate[f] for f in FAULTS_SCORED if f in rate])),
            "false_alarm_rate": rate[0],
            "alarm_rate_3_9_15": float(np.mean([rate[f] for f in (3, 9, 15) if f in rate])),
        }
    if "lw-ewma" in fns:  # the baseline at its best: the limit that alarms on 5 % of d00_te
        stats = {f: _lw_stat(x[:TEP_LEARN], x[TEP_LEARN:])[0] for f, x in runs.items()}
        lim = float(np.quantile(stats[0], 0.95))
        rate = {f: float((s > lim).mean()) for f, s in stats.items()}
        out["lw-oracle5"] = {
            "detection_rate": {f: r for f, r in rate.items() if f != 0},
            "mean_detection_rate": float(np.mean([rate[f] for f in FAULTS_SCORED if f in rate])),
            "false_alarm_rate": rate[0],
            "alarm_rate_3_9_15": float(np.mean([rate[f] for f in (3, 9, 15) if f in rate])),
        }
    return out


def _generated(seeds: tuple[int, ...], fns: dict[str, Any]) -> dict[str, Any]:
    files = [generate(s, k, seed) for s in STYLES for k in KINDS for seed in seeds]
    res: dict[str, Any] = {}
    for name, fn in fns.items():
        tot = np.zeros(4, np.int64)  # tp, fp, fn, tn
        by_style: dict[str, np.ndarray] = {s: np.zeros(4, np.int64) for s in STYLES}
        per_file = []
        for f in files:
            n = len(f.values)
            nl = default_learn_rows(n, f.values.shape[1])
            a = np.asarray(fn(f.values[:nl], f.values[nl:]), dtype=bool)
            y = f.label[nl:].astype(bool)
            c = np.array([(a & y).sum(), (a & ~y).sum(), (~a & y).sum(), (~a & ~y).sum()])
            tot += c
            by_style[f.style] += c
            per_file.append(
                {"style": f.style, "kind": f.kind, "seed": f.seed, "rows": n,
                 "learned_rows": nl, "normal_rows": f.normal_rows, **_prf(c)}
            )  # fmt: skip
        res[name] = {
            **_prf(tot),
            "by_style": {s: _prf(c) for s, c in by_style.items()},
            "files": per_file,
        }
    return res


def _prf(c: np.ndarray) -> dict[str, float]:
    tp, fp, fn, tn = (int(v) for v in c)
    return {
        "f1": 2 * tp / max(2 * tp + fp + fn, 1),
        "far": fp / max(fp + tn, 1),
        "mar": fn / max(fn + tp, 1),
    }


def run_short(
    tep_root: str | Path | None,
    out_dir: str | Path,
    *,
    lockbox: bool = False,
    sweep: bool = False,
    settings: LearnSettings | None = None,
) -> dict[str, Any]:
    """Score TEP (when ``tep_root`` is given) and the generated files; write and return the
    summary (see the module docstring)."""
    base = settings or LearnSettings()
    seeds = LOCKBOX_SEEDS if lockbox else DEV_SEEDS
    fns: dict[str, Any] = {"ours": _ours(base), "lw-ewma": _lw_ewma, "iforest": _iforest}
    summary: dict[str, Any] = {
        "settings": asdict(base),
        "seeds": list(seeds),
        "generated": _generated(seeds, fns),
    }
    if tep_root is not None:
        summary["tep"] = _tep(Path(tep_root), fns)
    if sweep:
        rows = []
        for over in SWEEP:
            s = replace(base, **over)
            one = {"ours": _ours(s)}
            row: dict[str, Any] = {**over, "generated": _generated(seeds, one)["ours"]}
            row["generated"].pop("files")
            if tep_root is not None:
                row["tep"] = _tep(Path(tep_root), one)["ours"]
            rows.append(row)
        summary["sweep"] = rows
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def format_short(summary: dict[str, Any], *, per_file: bool = False) -> str:
    """The tables a person reads: TEP per fault, generated files per style (and per file,
    with its learning period, when ``per_file``), the sweep."""
    lines: list[str] = []
    names = list(summary["generated"])
    if "tep" in summary:
        tep = summary["tep"]
        names = list(tep)
        lines.append(f"Tennessee Eastman, learn rows 1–{TEP_LEARN} of each run, score the rest")
        lines.append("fault " + "".join(f"{n:>12}" for n in names))
        for f in sorted(tep[names[0]]["detection_rate"], key=int):
            mark = "" if int(f) in FAULTS_SCORED else "   (not averaged)"
            lines.append(
                f"{int(f):>5} "
                + "".join(f"{100 * tep[n]['detection_rate'][f]:>11.1f} " for n in names)
                + mark
            )
        lines.append(
            "meanDR" + "".join(f"{100 * tep[n]['mean_detection_rate']:>11.1f} " for n in names)
        )
        lines.append(
            "FAR   " + "".join(f"{100 * tep[n]['false_alarm_rate']:>11.2f} " for n in names)
        )
        lines.append(
            "3/9/15" + "".join(f"{100 * tep[n]['alarm_rate_3_9_15']:>11.2f} " for n in names)
        )
        lines.append("")
    gen = summary["generated"]
    names = list(gen)
    lines.append(f"generated files (seeds {summary['seeds']}), default learning period per file")
    lines.append(f"{'method':<9}{'style':<10}{'F1':>7}{'FAR %':>8}{'MAR %':>8}")
    for n in names:
        for style, m in [("all", gen[n]), *gen[n]["by_style"].items()]:
            lines.append(
                f"{n:<9}{style:<10}{m['f1']:>7.3f}{100 * m['far']:>8.1f}{100 * m['mar']:>8.1f}"
            )
    if per_file:
        lines.append(f"{'style':<10}{'kind':<10}{'seed':>5}{'rows':>6}  learned   normal"
                     f"{'F1':>7}{'FAR %':>7}{'MAR %':>7}")  # fmt: skip
        for f in gen["ours"]["files"]:
            lines.append(
                f"{f['style']:<10}{f['kind']:<10}{f['seed']:>5}{f['rows']:>6}  "
                f"1–{f['learned_rows']:<6} 1–{f['normal_rows']:<5}{f['f1']:>7.3f}"
                f"{100 * f['far']:>7.1f}{100 * f['mar']:>7.1f}"
            )
    for row in summary.get("sweep", []):
        g = row["generated"]
        t = row.get("tep")
        tep_txt = (
            f"  TEP DR {100 * t['mean_detection_rate']:.1f} FAR {100 * t['false_alarm_rate']:.2f}"
            f" 3/9/15 {100 * t['alarm_rate_3_9_15']:.2f}"
            if t
            else ""
        )
        lines.append(
            f"sweep ewma={row['ewma']:<4} margin={row['margin']:<5} "
            f"allowance={row['principal_allowance']:<5} modes={row.get('max_modes', 1)} generated F1 {g['f1']:.3f} "
            f"FAR {100 * g['far']:.1f} MAR {100 * g['mar']:.1f}{tep_txt}"
        )
    return "\n".join(lines)
