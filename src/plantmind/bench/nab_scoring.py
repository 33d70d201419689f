"""NAB scoring: the Numenta Anomaly Benchmark's windowed, sigmoid-weighted score, its
corpus-wide threshold sweep, and the null/perfect normalisation to 0–100.

This module owns the *rules* of the benchmark and nothing else: it takes per-row anomaly
scores (or 0/1 alarms), the labelled anomaly windows and the timestamps of each file, and
returns raw and normalised scores. Loading the corpus from disk lives in
:mod:`plantmind.bench.nab_data`; running detectors lives elsewhere.

It is a vectorised re-implementation of NAB v1.1 (github.com/numenta/NAB), following
``nab/sweeper.py`` (``Sweeper.calcSweepScore``, ``calcScoreByThreshold``, ``scoreDataSet``),
``nab/optimizer.py`` (``optimizeThreshold``), ``nab/scorer.py`` (``scoreCorpus``),
``nab/runner.py`` (``Runner.normalize``) and ``nab/util.py`` (``getProbationPeriod``);
the method is described in A. Lavin and S. Ahmad, "Evaluating Real-time Anomaly Detection
Algorithms – the Numenta Anomaly Benchmark", IEEE ICMLA 2015 (arXiv:1510.03336).

The rules, as NAB's code applies them:

* The first ``min(floor(0.15·n), 0.15·5000)`` rows of a file are *probationary* and ignored:
  they are neither detections, nor misses, nor true negatives.
* Each row gets a *sweep score* as if it were a detection. Inside window ``[l, r]`` (width
  ``W = r − l + 1``) the relative position is ``−(r − i + 1)/W`` (−1 at the first row, −1/W
  at the last) and the row is worth ``A_TP · σ(pos)/σ(−1)``, so a detection on the first row
  of a window is worth exactly ``A_TP``. Outside windows the position is ``|i − r_prev| /
  (W_prev − 1)`` relative to the closest *preceding* window and the row is worth
  ``A_FP · σ(pos)`` (negative); before any window it is worth ``−A_FP``. Here
  ``σ(x) = 2/(1 + e^{5x}) − 1``, and ``σ(x) = −1`` for ``x > 3``.
* A window is worth the best (i.e. earliest) detected row in it — only the first detection
  counts — or ``−A_FN`` if nothing in it is detected. Every detected row outside the windows
  adds its (negative) sweep score. True negatives are worth nothing.
* A row is a detection when ``anomaly_score >= threshold``. The threshold is chosen once per
  profile for the whole corpus by sweeping every distinct anomaly score of every
  non-probationary row, highest first, starting from a "nothing detected" threshold of 1.1,
  and keeping the highest-scoring threshold (the highest such threshold on ties).
* ``normalised = 100 · (raw − null) / (perfect − null)``, where ``null`` is the score of
  detecting nothing (``−A_FN`` per scorable window) and ``perfect`` is ``A_TP`` times the
  number of windows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "NAB_PROFILES",
    "NO_DETECTION_THRESHOLD",
    "PROBATIONARY_PERCENT",
    "CorpusScore",
    "CostMatrix",
    "FileLayout",
    "FileScore",
    "LabelledCorpus",
    "ProfileScores",
    "ThresholdCurve",
    "detections_at",
    "normalize",
    "normalized_scores",
    "null_score",
    "optimize_threshold",
    "perfect_score",
    "prepare_corpus",
    "prepare_file",
    "probationary_length",
    "scaled_sigmoid",
    "score_at_threshold",
    "score_corpus",
    "score_detections",
    "sweep_scores",
    "threshold_curve",
]

PROBATIONARY_PERCENT = 0.15
"""NAB's ``probationaryPercent`` (``Runner.__init__``)."""

NO_DETECTION_THRESHOLD = 1.1
"""The sweep's starting threshold, above every anomaly score in [0, 1] (``calcScoreByThreshold``)."""


@dataclass(frozen=True, slots=True)
class CostMatrix:
    """Weights of one NAB application profile (``config/profiles.json`` ``CostMatrix``)."""

    tp: float
    fp: float
    fn: float
    tn: float = 1.0  # present in NAB's profiles, unused by its scoring


NAB_PROFILES: dict[str, CostMatrix] = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": CostMatrix(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": CostMatrix(tp=1.0, fp=0.11, fn=2.0),
}
"""The three published NAB v1.1 profiles."""


def probationary_length(n_rows: int, probationary_percent: float = PROBATIONARY_PERCENT) -> int:
    """Number of leading rows NAB ignores: ``min(floor(p·n), p·5000)`` (``getProbationPeriod``).

    NAB compares ``row_index >= min(...)``; the bound can be fractional for unusual ``p``, so
    the count of ignored rows is its ceiling.
    """
    if n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    if not 0.0 <= probationary_percent <= 1.0:
        raise ValueError(f"probationary_percent must be in [0, 1], got {probationary_percent}")
    bound = min(math.floor(probationary_percent * n_rows), probationary_percent * 5000)
    return min(n_rows, math.ceil(bound))


def scaled_sigmoid(position: ArrayLike) -> NDArray[np.float64]:
    """NAB's ``scaledSigmoid``: ``2·sigmoid(−5·x) − 1``, and −1 for ``x > 3``."""
    x = np.asarray(position, dtype=np.float64)
    out = np.full(x.shape, -1.0)
    near = x <= 3.0
    # Evaluated with math.exp on the distinct positions (few: they are multiples of 1/W), so
    # the values are bit-identical to NAB's; numpy's exp can differ in the last place.
    uniq, inverse = np.unique(x[near], return_inverse=True)
    vals = np.fromiter(
        (2.0 * (1.0 / (1.0 + math.exp(-(-5.0 * v)))) - 1.0 for v in uniq.tolist()),
        dtype=np.float64,
        count=uniq.shape[0],
    )
    out[near] = vals[inverse]
    return out


# scaledSigmoid(-1.0), computed as NAB does with math.exp so the TP normaliser is bit-identical.
_MAX_TP = 2.0 * (1.0 / (1.0 + math.exp(-5.0))) - 1.0


@dataclass(frozen=True, slots=True)
class FileLayout:
    """One file's geometry for scoring: rows, probationary rows and window row ranges."""

    name: str
    n_rows: int
    n_probationary: int
    windows: NDArray[np.int64]  # shape (k, 2): first and last row index of each window, inclusive
    window_of_row: NDArray[np.int64]  # shape (n_rows,): window number, or -1 outside windows

    @property
    def n_windows(self) -> int:
        return int(self.windows.shape[0])

    @property
    def scorable_windows(self) -> int:
        """Windows with at least one non-probationary row (the others are ignored by NAB)."""
        return int(np.count_nonzero(self.windows[:, 1] >= self.n_probationary))


def _as_comparable(timestamps: ArrayLike, limits: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    ts = np.asarray(timestamps)
    if ts.ndim != 1:
        raise ValueError(f"timestamps must be one-dimensional, got shape {ts.shape}")
    if np.issubdtype(ts.dtype, np.datetime64):
        if not limits:
            return ts, np.empty(0, dtype=ts.dtype)
        lim = np.array([np.datetime64(v) for v in limits])
        common = np.promote_types(ts.dtype, lim.dtype)
        return ts.astype(common), lim.astype(common)
    if ts.dtype.kind in "iuf":
        lim = np.asarray(limits, dtype=np.float64)
        return ts.astype(np.float64), lim
    raise TypeError(
        f"timestamps must be numpy datetime64 or numbers (epoch seconds), got dtype {ts.dtype}"
    )


def prepare_file(
    name: str,
    timestamps: ArrayLike,
    windows: Sequence[tuple[Any, Any]],
    probationary_percent: float = PROBATIONARY_PERCENT,
) -> FileLayout:
    """Locate one file's windows by exact timestamp match, as NAB does.

    ``windows`` holds ``(start, end)`` pairs (datetime64, ISO strings or epoch numbers of
    the same kind as ``timestamps``). NAB requires each limit to be a timestamp present in
    the file; it walks the rows in order, so this also requires each limit to occur once,
    ``start <= end`` by row and windows ordered and disjoint by row. Windows of a single row
    are refused: NAB divides by ``width − 1`` for false positives after them.
    """
    flat = [v for pair in windows for v in pair]
    if any(len(pair) != 2 for pair in windows):
        raise ValueError(f"{name}: each window must be a (start, end) pair")
    ts, lim = _as_comparable(timestamps, flat)
    n = int(ts.shape[0])
    bounds = np.empty((len(windows), 2), dtype=np.int64)
    for k in range(len(windows)):
        for j in range(2):
            hits = np.flatnonzero(ts == lim[2 * k + j])
            if hits.size != 1:
                what = "does not occur" if hits.size == 0 else f"occurs {hits.size} times"
                raise ValueError(
                    f"{name}: window {k} {'start' if j == 0 else 'end'} {flat[2 * k + j]!s} "
                    f"{what} in the file's timestamps (NAB needs an exact, unique match)"
                )
            bounds[k, j] = hits[0]
        if bounds[k, 1] < bounds[k, 0]:
            raise ValueError(f"{name}: window {k} ends before it starts")
        if bounds[k, 1] == bounds[k, 0]:
            raise ValueError(f"{name}: window {k} has a single row; NAB cannot score it")
        if k and bounds[k, 0] <= bounds[k - 1, 1]:
            raise ValueError(f"{name}: windows {k - 1} and {k} overlap or are out of order")
    window_of_row = np.full(n, -1, dtype=np.int64)
    for k, (lo, hi) in enumerate(bounds):
        window_of_row[lo : hi + 1] = k
    return FileLayout(
        name=name,
        n_rows=n,
        n_probationary=probationary_length(n, probationary_percent),
        windows=bounds,
        window_of_row=window_of_row,
    )


def sweep_scores(layout: FileLayout, cost: CostMatrix) -> NDArray[np.float64]:
    """Per-row value of a detection, NAB's ``AnomalyPoint.sweepScore`` (``calcSweepScore``)."""
    n = layout.n_rows
    rows = np.arange(n, dtype=np.int64)
    out = np.empty(n, dtype=np.float64)
    wid = layout.window_of_row
    inside = wid >= 0
    if layout.n_windows:
        right = layout.windows[wid[inside], 1]
        width = (layout.windows[wid[inside], 1] - layout.windows[wid[inside], 0] + 1).astype(
            np.float64
        )
        pos = -(right - rows[inside] + 1) / width
        out[inside] = scaled_sigmoid(pos) * cost.tp / _MAX_TP
    outside = ~inside
    # Closest preceding window: the last window whose end row is before this row.
    prev = np.searchsorted(layout.windows[:, 1], rows[outside], side="left") - 1
    vals = np.full(prev.shape, -1.0)
    has_prev = prev >= 0
    if np.any(has_prev):
        p = prev[has_prev]
        prev_right = layout.windows[p, 1]
        prev_width = (layout.windows[p, 1] - layout.windows[p, 0] + 1).astype(np.float64)
        pos = np.abs(prev_right - rows[outside][has_prev]) / (prev_width - 1.0)
        vals[has_prev] = scaled_sigmoid(pos)
    out[outside] = vals * cost.fp
    return out


@dataclass(frozen=True, slots=True)
class LabelledCorpus:
    """Files ready for scoring, in a fixed order, with their windows located."""

    layouts: dict[str, FileLayout]

    @property
    def n_windows(self) -> int:
        return sum(lay.n_windows for lay in self.layouts.values())

    @property
    def scorable_windows(self) -> int:
        return sum(lay.scorable_windows for lay in self.layouts.values())


def prepare_corpus(
    windows: Mapping[str, Sequence[tuple[Any, Any]]],
    timestamps: Mapping[str, ArrayLike],
    probationary_percent: float = PROBATIONARY_PERCENT,
    files: Sequence[str] | None = None,
) -> LabelledCorpus:
    """Prepare every file in ``files`` (default: every file of ``timestamps``)."""
    names = list(timestamps) if files is None else list(files)
    missing = [f for f in names if f not in windows or f not in timestamps]
    if missing:
        raise KeyError(f"no windows or timestamps for {len(missing)} file(s): {missing[:5]}")
    return LabelledCorpus(
        {f: prepare_file(f, timestamps[f], windows[f], probationary_percent) for f in names}
    )


def _resolve(profile: str | CostMatrix) -> CostMatrix:
    if isinstance(profile, CostMatrix):
        return profile
    try:
        return NAB_PROFILES[profile]
    except KeyError:
        raise KeyError(f"unknown NAB profile {profile!r}; known: {sorted(NAB_PROFILES)}") from None


def _check_rows(layout: FileLayout, values: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.shape != (layout.n_rows,):
        raise ValueError(
            f"{layout.name}: {what} has shape {arr.shape}, expected ({layout.n_rows},)"
        )
    return arr


# --------------------------------------------------------------------------------------------
# Scoring a fixed set of detections (NAB's scoring step, ``Sweeper.scoreDataSet``)


@dataclass(frozen=True, slots=True)
class FileScore:
    """One file's raw score and NAB's row counts (probationary rows excluded)."""

    score: float
    tp: int
    tn: int
    fp: int
    fn: int

    @property
    def total(self) -> int:
        return self.tp + self.tn + self.fp + self.fn


@dataclass(frozen=True, slots=True)
class CorpusScore:
    """Raw corpus score (sum over files) with the per-file breakdown."""

    score: float
    files: dict[str, FileScore]
    threshold: float | None = None  # None when scored from alarms

    @property
    def tp(self) -> int:
        return sum(f.tp for f in self.files.values())

    @property
    def fp(self) -> int:
        return sum(f.fp for f in self.files.values())

    @property
    def fn(self) -> int:
        return sum(f.fn for f in self.files.values())

    @property
    def tn(self) -> int:
        return sum(f.tn for f in self.files.values())


def _score_file(
    layout: FileLayout, detected: np.ndarray, sweep: np.ndarray, cost: CostMatrix
) -> FileScore:
    scorable = np.arange(layout.n_rows) >= layout.n_probationary
    wid = layout.window_of_row
    inside = (wid >= 0) & scorable
    outside = (wid < 0) & scorable
    hit_in = inside & detected
    hit_out = outside & detected
    # Each scorable window is worth -A_FN, or its best (earliest) detected row.
    best = np.full(layout.n_windows, -cost.fn)
    np.maximum.at(best, wid[hit_in], sweep[hit_in])
    window_part = best[layout.windows[:, 1] >= layout.n_probationary]
    score = float(np.sum(sweep[hit_out])) + float(np.sum(window_part))
    tp = int(np.count_nonzero(hit_in))
    fp = int(np.count_nonzero(hit_out))
    return FileScore(
        score=score,
        tp=tp,
        fp=fp,
        fn=int(np.count_nonzero(inside)) - tp,
        tn=int(np.count_nonzero(outside)) - fp,
    )


def score_detections(
    corpus: LabelledCorpus,
    detections: Mapping[str, ArrayLike],
    profile: str | CostMatrix,
    threshold: float | None = None,
) -> CorpusScore:
    """Score boolean per-row detections (e.g. a detector's own alarm column)."""
    cost = _resolve(profile)
    files: dict[str, FileScore] = {}
    total = 0.0
    for name, layout in corpus.layouts.items():
        if name not in detections:
            raise KeyError(f"no detections for {name}")
        det = _check_rows(layout, detections[name], "detections").astype(bool)
        fs = _score_file(layout, det, sweep_scores(layout, cost), cost)
        files[name] = fs
        total += fs.score
    return CorpusScore(score=total, files=files, threshold=threshold)


def detections_at(anomaly_scores: ArrayLike, threshold: float) -> NDArray[np.bool_]:
    """NAB's rule: a row is a detection when its anomaly score is ``>= threshold``."""
    return np.asarray(anomaly_scores, dtype=np.float64) >= threshold


def score_at_threshold(
    corpus: LabelledCorpus,
    anomaly_scores: Mapping[str, ArrayLike],
    threshold: float,
    profile: str | CostMatrix,
) -> CorpusScore:
    """Score anomaly scores at one threshold, per file then summed (NAB's ``scoreCorpus``)."""
    dets: dict[str, NDArray[np.bool_]] = {}
    for name, layout in corpus.layouts.items():
        if name not in anomaly_scores:
            raise KeyError(f"no anomaly scores for {name}")
        dets[name] = detections_at(_finite(layout, anomaly_scores[name]), threshold)
    return score_detections(corpus, dets, profile, threshold=threshold)


def _finite(layout: FileLayout, values: ArrayLike) -> NDArray[np.float64]:
    arr = _check_rows(layout, values, "anomaly scores").astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{layout.name}: anomaly scores contain NaN or infinity")
    return arr


# --------------------------------------------------------------------------------------------
# The corpus-wide threshold sweep (``Sweeper.calcScoreByThreshold`` + ``optimizeThreshold``)


@dataclass(frozen=True, slots=True)
class ThresholdCurve:
    """Raw corpus score for every candidate threshold, highest threshold first.

    Row ``j`` is the score when every non-probationary row with ``anomaly_score >=
    thresholds[j]`` is a detection; the first row (threshold 1.1) detects nothing unless some
    score equals 1.1 — exactly NAB's ``scoresByThreshold`` list.
    """

    thresholds: NDArray[np.float64]
    scores: NDArray[np.float64]
    tp: NDArray[np.int64]
    tn: NDArray[np.int64]
    fp: NDArray[np.int64]
    fn: NDArray[np.int64]

    def best(self) -> tuple[float, float]:
        """(threshold, raw score) of the maximum; the highest threshold wins ties, as in NAB."""
        j = int(np.argmax(self.scores))
        return float(self.thresholds[j]), float(self.scores[j])


def threshold_curve(
    corpus: LabelledCorpus,
    anomaly_scores: Mapping[str, ArrayLike],
    profile: str | CostMatrix,
) -> ThresholdCurve:
    """Sweep all thresholds over all files jointly (vectorised ``calcScoreByThreshold``)."""
    cost = _resolve(profile)
    a_parts: list[np.ndarray] = []
    s_parts: list[np.ndarray] = []
    g_parts: list[np.ndarray] = []
    base = 0.0
    offset = 0
    for name, layout in corpus.layouts.items():
        if name not in anomaly_scores:
            raise KeyError(f"no anomaly scores for {name}")
        a = _finite(layout, anomaly_scores[name])
        keep = slice(layout.n_probationary, layout.n_rows)
        wid = layout.window_of_row[keep]
        a_parts.append(a[keep])
        s_parts.append(sweep_scores(layout, cost)[keep])
        g_parts.append(np.where(wid >= 0, wid + offset, -1))
        offset += layout.n_windows
        base -= cost.fn * layout.scorable_windows
    a = np.concatenate(a_parts) if a_parts else np.empty(0)
    s = np.concatenate(s_parts) if s_parts else np.empty(0)
    g = np.concatenate(g_parts) if g_parts else np.empty(0, dtype=np.int64)

    order = np.argsort(-a, kind="stable")  # NAB: sorted(..., reverse=True), stable
    a, s, g = a[order], s[order], g[order]
    m = a.shape[0]

    # False positives accumulate in sweep order, exactly like NAB's scoreParts["fp"]; the
    # window parts change only when a window's best detection improves.
    fp_part = np.cumsum(np.where(g < 0, s, 0.0))
    delta = np.zeros(m)
    in_window = np.flatnonzero(g >= 0)
    if in_window.size:
        # Group the in-window points by window, keeping sweep order inside each group, and
        # replace each point's contribution by the change of that window's running best.
        by_window = in_window[np.argsort(g[in_window], kind="stable")]
        gw = g[by_window]
        starts = np.flatnonzero(np.r_[True, gw[1:] != gw[:-1]])
        ends = np.r_[starts[1:], gw.shape[0]]
        for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
            idx = by_window[lo:hi]
            running = np.maximum(np.maximum.accumulate(s[idx]), -cost.fn)
            delta[idx] = np.diff(running, prepend=-cost.fn)
    # Extended precision keeps the running window total within ~1e-14 of NAB's fresh sums.
    window_part = (base + np.cumsum(delta, dtype=np.longdouble)).astype(np.float64)
    cum = fp_part + window_part

    is_fp = g < 0
    tp_c = np.cumsum(~is_fp, dtype=np.int64)
    fp_c = np.cumsum(is_fp, dtype=np.int64)
    n_in = int(tp_c[-1]) if m else 0
    n_out = int(fp_c[-1]) if m else 0

    run_end = np.flatnonzero(np.r_[a[1:] != a[:-1], True]) if m else np.empty(0, dtype=np.int64)
    thresholds = a[run_end]
    scores = cum[run_end]
    tp = tp_c[run_end]
    fp = fp_c[run_end]
    if m == 0 or a[0] != NO_DETECTION_THRESHOLD:
        thresholds = np.r_[NO_DETECTION_THRESHOLD, thresholds]
        scores = np.r_[base, scores]
        tp = np.r_[0, tp]
        fp = np.r_[0, fp]
    return ThresholdCurve(
        thresholds=thresholds,
        scores=scores,
        tp=tp,
        tn=n_out - fp,
        fp=fp,
        fn=n_in - tp,
    )


def optimize_threshold(
    corpus: LabelledCorpus,
    anomaly_scores: Mapping[str, ArrayLike],
    profile: str | CostMatrix,
) -> tuple[float, float]:
    """NAB's optimiser: the (threshold, raw score) that maximises the corpus score."""
    return threshold_curve(corpus, anomaly_scores, profile).best()


# --------------------------------------------------------------------------------------------
# Normalisation (``Runner.normalize``)


def null_score(corpus: LabelledCorpus, profile: str | CostMatrix) -> float:
    """Raw score of the null detector (nothing detected): ``−A_FN`` per scorable window."""
    return -_resolve(profile).fn * corpus.scorable_windows


def perfect_score(corpus: LabelledCorpus, profile: str | CostMatrix) -> float:
    """NAB's "perfect" score: ``A_TP`` times the number of labelled windows."""
    return _resolve(profile).tp * corpus.n_windows


def normalize(raw: float, null: float, perfect: float) -> float:
    """``100 · (raw − null) / (perfect − null)``."""
    if perfect == null:
        raise ValueError("perfect and null scores coincide (no windows?); cannot normalise")
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True, slots=True)
class ProfileScores:
    """A detector's NAB result for one profile."""

    profile: str
    threshold: float  # the optimised threshold
    raw_optimized: float  # corpus score at that threshold (scoring step, per-file sums)
    optimized: float  # normalised
    raw_fixed: float | None  # corpus score of the detector's own alarms, if given
    fixed: float | None  # normalised
    null: float
    perfect: float


def normalized_scores(
    results: Mapping[str, tuple[ArrayLike, ArrayLike | None]],
    windows: Mapping[str, Sequence[tuple[Any, Any]]],
    timestamps: Mapping[str, ArrayLike],
    profiles: Mapping[str, CostMatrix] | None = None,
    probationary_percent: float = PROBATIONARY_PERCENT,
) -> dict[str, ProfileScores]:
    """Full NAB evaluation of one detector on the files of ``results``.

    ``results`` maps a file to ``(anomaly_scores, alarms)``; ``alarms`` (0/1 per row, or
    None) gives the "fixed" score, the detector's own decisions without threshold tuning.
    The "fixed" score is only reported when every file has alarms.
    """
    corpus = prepare_corpus(windows, timestamps, probationary_percent, files=list(results))
    scores = {f: r[0] for f, r in results.items()}
    alarms = {f: r[1] for f, r in results.items() if r[1] is not None}
    out: dict[str, ProfileScores] = {}
    for name, cost in (NAB_PROFILES if profiles is None else profiles).items():
        null = null_score(corpus, cost)
        perfect = perfect_score(corpus, cost)
        threshold, _ = optimize_threshold(corpus, scores, cost)
        raw = score_at_threshold(corpus, scores, threshold, cost).score
        raw_fixed = fixed = None
        if len(alarms) == len(results):
            raw_fixed = score_detections(corpus, alarms, cost).score
            fixed = normalize(raw_fixed, null, perfect)
        out[name] = ProfileScores(
            profile=name,
            threshold=threshold,
            raw_optimized=raw,
            optimized=normalize(raw, null, perfect),
            raw_fixed=raw_fixed,
            fixed=fixed,
            null=null,
            perfect=perfect,
        )
    return out


def score_corpus(
    results: Mapping[str, tuple[ArrayLike, ArrayLike | None]],
    windows: Mapping[str, Sequence[tuple[Any, Any]]],
    timestamps: Mapping[str, ArrayLike],
    profile: str | CostMatrix,
    threshold: float | None = None,
    probationary_percent: float = PROBATIONARY_PERCENT,
) -> CorpusScore:
    """Raw NAB score of one detector: at ``threshold`` on the anomaly scores, or, when
    ``threshold`` is None, from the alarm column of every file."""
    corpus = prepare_corpus(windows, timestamps, probationary_percent, files=list(results))
    if threshold is not None:
        return score_at_threshold(corpus, {f: r[0] for f, r in results.items()}, threshold, profile)
    dets: dict[str, ArrayLike] = {}
    for f, (_, alarm) in results.items():
        if alarm is None:
            raise ValueError(f"{f}: no alarm column; pass a threshold to score anomaly scores")
        dets[f] = alarm
    return score_detections(corpus, dets, profile)
