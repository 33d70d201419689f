"""``TableModel``: learn what normal looks like from the first rows of a file (or from a
known-normal file), then score every later row; what ``plantmind detect`` runs.

A user's file is short (a historian export of an hour or a day) and its signals are related,
so the model is built for that:

* **An explicit learning period.** :func:`default_learn_rows` takes a fraction of the file
  (:data:`LEARN_FRACTION`) with a floor (what the joint model needs: three rows per signal,
  and at least :data:`MIN_LEARN_ROWS`) and a ceiling (:data:`MAX_LEARN_ROWS`). Rows in the
  learning period are *not scored*; the caller marks them (``learning`` column), never as
  "no alarm".
* **Both views in one statistic.** Per asset (a group of columns; all columns by default) an
  :class:`~plantmind.detect.multivariate.AssetCorrelationDetector` with no lags: the
  Mahalanobis distance of the row under the learned mean and covariance, accumulated by an
  EWMA. A signal out of its own range, a spike and a slow drift raise it through the
  signal's own direction; a relation that breaks while each signal stays in range raises it
  through the low-variance directions. The per-signal contributions name the signal and the
  relation ("flow decoupled from pressure_in"). Each signal is also watched for being
  **stuck** (the same value for much longer than any run seen while learning), which a
  distance does not see.
* **A false-alarm budget.** The alarm point is calibrated on the learning rows themselves:
  each of :attr:`LearnSettings.folds` contiguous blocks is scored by a model fitted without
  it, and the limit is the ``1 − false_alarm_rate`` quantile of those out-of-fold statistics
  times :attr:`LearnSettings.margin`. The margin covers what a short learning period cannot
  show (slow variations of normal operation); its default was chosen by cross-validation
  over Tennessee Eastman runs and three styles of generated files (``plantmind bench
  short`` reports every setting tried).

Settings chosen by that cross-validation (``plantmind bench short --sweep`` prints the whole
grid; ``docs/architecture.md`` quotes it): no lags (with a few hundred rows a lagged
window's covariance is too poorly estimated), EWMA λ = 0.1, ridge 10⁻³ of the mean variance,
10 folds, margin 1.5, and the distance along the covariance's principal directions divided
by 3 (``principal_allowance``: normal operation moves along them further than a short
learning period shows; a broken relation moves across them). The rule, fixed before the
grid was scored: the best F1 on the generated files with their false-alarm rate ≤ 10 %,
Tennessee Eastman's ≤ 5 % on ``d00_te`` and ≤ 10 % on runs 3, 9 and 15.

Columns that cannot be modelled are named, not silently scored: constant while learning,
mostly missing while learning. A model is saved to one ``.npz`` file (arrays only, no
pickle) and loaded to score other files of the same signals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import lfilter

from plantmind.detect.multivariate import AssetCorrelationConfig, AssetCorrelationDetector

__all__ = [
    "LEARN_FRACTION",
    "MAX_LEARN_ROWS",
    "MIN_LEARN_ROWS",
    "LearnSettings",
    "ModelFileError",
    "RowScores",
    "TableModel",
    "TooFewRowsError",
    "default_learn_rows",
    "min_learn_rows",
]

LEARN_FRACTION = 0.3
MIN_LEARN_ROWS = 30
MAX_LEARN_ROWS = 20_000
_FORMAT = "plantmind.table-model/1"


class TooFewRowsError(ValueError):
    """The file has fewer rows than any learning period can use."""


class ModelFileError(ValueError):
    """A saved model that cannot be read or does not fit the file."""


@dataclass(frozen=True)
class LearnSettings:
    """How a :class:`TableModel` learns and where it alarms."""

    false_alarm_rate: float = 0.01  # expected share of normal rows alarmed (the budget)
    margin: float = 1.5  # multiplies the calibrated limit (short-history allowance)
    ewma: float = 0.1  # λ of the EWMA of the distance
    folds: int = 10  # contiguous blocks of the out-of-fold calibration
    ridge: float = 1e-3  # added to the covariance diagonal, times its mean variance
    principal_allowance: float = 3.0  # divides the distance along the main directions
    max_modes: int = 1  # operating modes per asset (a Gaussian mixture picks 1..max by BIC)
    stuck_rows: int = 30  # a run of one value shorter than this is never "stuck"
    stuck_factor: float = 3.0  # ... nor one shorter than this × the longest learned run

    def __post_init__(self) -> None:
        if not 0.0 < self.false_alarm_rate < 0.5:
            raise ValueError(
                f"false-alarm rate must be between 0 and 0.5 (a share of rows), "
                f"got {self.false_alarm_rate}"
            )
        if (
            self.margin <= 0
            or not 0.0 < self.ewma <= 1.0
            or self.folds < 2
            or self.principal_allowance < 1.0
        ):
            raise ValueError("invalid LearnSettings")

    def detector_config(self) -> AssetCorrelationConfig:
        return AssetCorrelationConfig(
            lags=0,
            ewma=self.ewma,
            target_far=self.false_alarm_rate,
            margin=self.margin,
            folds=self.folds,
            ridge=self.ridge,
            principal_allowance=self.principal_allowance,
        )


def min_learn_rows(n_signals: int) -> int:
    """Fewest learning rows for ``n_signals`` signals: three per signal, at least
    :data:`MIN_LEARN_ROWS`."""
    return max(MIN_LEARN_ROWS, 3 * int(n_signals))


def default_learn_rows(n_rows: int, n_signals: int) -> int:
    """The default learning period of a file: :data:`LEARN_FRACTION` of its rows, at least
    :func:`min_learn_rows`, at most :data:`MAX_LEARN_ROWS`; always leaves a row to score.

    >>> default_learn_rows(1200, 8), default_learn_rows(960, 52), default_learn_rows(10**6, 3)
    (360, 288, 20000)
    """
    need = min_learn_rows(n_signals)
    if n_rows <= need:
        raise TooFewRowsError(
            f"{n_rows} row(s) is too few: {n_signals} signal(s) need at least {need} rows "
            f"to learn from and more to score ({need + 1} or more in all)"
        )
    rows = round(LEARN_FRACTION * n_rows)
    return max(need, min(rows, MAX_LEARN_ROWS, n_rows - 1))


@dataclass
class RowScores:
    """Per scored row: ``score`` in [0, 1) (0.5 at the alarm point), ``alarm``, the column
    index of the top contributor (-1: none), and the reason of each alarmed row."""

    score: np.ndarray
    alarm: np.ndarray
    top: np.ndarray
    reason: dict[int, str] = field(default_factory=dict)  # row index → why (alarmed rows)


def _longest_run(x: np.ndarray) -> int:
    """Longest run of one repeated value (NaN breaks a run)."""
    if len(x) == 0:
        return 0
    same = np.concatenate(([False], x[1:] == x[:-1]))
    best = run = 1
    for s in same[1:]:
        run = run + 1 if s else 1
        best = max(best, run)
    return int(best)


def _modes(x: np.ndarray, max_modes: int, min_rows: int) -> list[np.ndarray]:
    """The learning rows of each operating mode: a Gaussian mixture on the standardised
    complete rows, 1..``max_modes`` components chosen by BIC; a mode with fewer than
    ``min_rows`` rows is not kept (its rows are scored by the others)."""
    if max_modes <= 1:
        return [x]
    ok = np.isfinite(x).all(axis=1)
    if ok.sum() < 2 * min_rows:
        return [x]
    from sklearn.mixture import GaussianMixture

    z = x[ok]
    z = (z - z.mean(axis=0)) / np.where(z.std(axis=0) > 0, z.std(axis=0), 1.0)
    best, best_bic = None, np.inf
    for k in range(1, max_modes + 1):
        if len(z) < k * min_rows:
            break
        gm = GaussianMixture(k, covariance_type="full", reg_covar=1e-3, random_state=0).fit(z)
        bic = float(gm.bic(z))
        if bic < best_bic:
            best, best_bic = gm, bic
    if best is None or best.n_components == 1:
        return [x]
    labels = best.predict(z)
    rows = x[ok]
    parts = [rows[labels == c] for c in range(best.n_components)]
    kept = [p for p in parts if len(p) >= min_rows]
    return kept or [x]


class TableModel:
    """Normal behaviour of a table's signals, learned from rows known to be normal.

    >>> rng = np.random.default_rng(1)
    >>> load = 50 + rng.normal(0, 3, 600)
    >>> rows = np.column_stack([load, 0.8 * load + rng.normal(0, 0.3, 600)])
    >>> rows[400:, 1] = 40 + rng.normal(0, 2.4, 200)  # current no longer follows load
    >>> model = TableModel.fit(rows[:300], ["load", "current"])
    >>> out = model.score(rows[300:])
    >>> int(out.alarm[:100].sum()) <= 5, bool(out.alarm[110:].mean() > 0.8)
    (True, True)
    >>> "decoupled from" in out.reason[150]
    True
    """

    #: alarmed rows in a row with the same top signal that share one wording
    REWORD_ROWS = 60

    def __init__(
        self,
        names: Sequence[str],
        groups: list[list[int]],
        detectors: list[AssetCorrelationDetector],
        stuck_limit: np.ndarray,
        excluded: dict[str, str],
        learned_rows: int,
        settings: LearnSettings,
        mode_group: list[int] | None = None,
    ) -> None:
        self.names = list(names)
        self.groups = groups
        self.detectors = detectors  # one per operating mode of each group
        #: the group (asset) of each detector
        self.mode_group = list(range(len(detectors))) if mode_group is None else mode_group
        self.stuck_limit = stuck_limit  # per column; 0 = not watched
        self.excluded = excluded  # column name → why it is not scored
        self.learned_rows = learned_rows
        self.settings = settings
        self.reset_stream()

    # ---------------------------------------------------------------- learning
    @classmethod
    def fit(
        cls,
        values: np.ndarray,
        names: Sequence[str],
        groups: Sequence[Sequence[int]] | None = None,
        settings: LearnSettings | None = None,
    ) -> TableModel:
        """Learn from ``values`` (rows × columns, NaN where missing); ``groups`` lists the
        column indices of each asset (default: one asset with every column)."""
        s = settings or LearnSettings()
        x = np.asarray(values, dtype=float)
        n, p = x.shape
        if p != len(names):
            raise ValueError(f"{p} columns but {len(names)} names")
        excluded: dict[str, str] = {}
        usable = np.ones(p, bool)
        with np.errstate(all="ignore"):
            finite = np.isfinite(x)
            share = finite.mean(axis=0) if n else np.zeros(p)
            for j in range(p):
                col = x[finite[:, j], j]
                if share[j] < 0.5:
                    excluded[names[j]] = (
                        f"missing in {1 - share[j]:.0%} of the learning rows"
                        if len(col)
                        else "no value in the learning rows"
                    )
                    usable[j] = False
                elif np.ptp(col) <= 1e-12 * (abs(float(col[0])) + 1.0):
                    excluded[names[j]] = f"constant ({col[0]:g}) in the learning rows"
                    usable[j] = False
        kept_groups = []
        for g in groups if groups is not None else [list(range(p))]:
            kg = [int(j) for j in g if usable[int(j)]]
            if kg:
                kept_groups.append(kg)
        if not kept_groups:
            raise ValueError(
                "no column can be learned: " + "; ".join(f"{k}: {v}" for k, v in excluded.items())
            )
        widest = max(len(g) for g in kept_groups)
        if n < min_learn_rows(widest):
            raise TooFewRowsError(
                f"{n} learning row(s) is too few for {widest} related signal(s): "
                f"at least {min_learn_rows(widest)} are needed"
            )
        dets: list[AssetCorrelationDetector] = []
        mode_group: list[int] = []
        for gi, g in enumerate(kept_groups):
            for rows in _modes(x[:, g], s.max_modes, min_learn_rows(len(g))):
                det = AssetCorrelationDetector(len(g), s.detector_config())
                det.fit(rows)
                dets.append(det)
                mode_group.append(gi)
        stuck = np.zeros(p)
        for j in range(p):
            if usable[j]:
                col = x[:, j]
                stuck[j] = max(s.stuck_rows, s.stuck_factor * _longest_run(col[np.isfinite(col)]))
        return cls(names, kept_groups, dets, stuck, excluded, n, s, mode_group)

    # ---------------------------------------------------------------- scoring
    def reset_stream(self) -> None:
        """Forget the recent past (between separate files); keep what was learned."""
        first = [self.mode_group.index(gi) for gi in range(len(self.groups))]
        # the statistic in units of the limit, per group; starts at its expected value
        self._stat = [
            len(g) / self.detectors[k].limit for g, k in zip(self.groups, first, strict=True)
        ]
        self._contrib = [np.zeros(len(g)) for g in self.groups]
        self._zdev = [np.zeros(len(g)) for g in self.groups]
        p = len(self.names)
        self._last = np.full(p, np.nan)
        self._run = np.zeros(p)
        self._worded: list[tuple[int, int, str] | None] = [None] * len(self.groups)
        self._rows_done = 0  # rows scored by earlier calls since the stream began
        self._row = 0  # the row being worded, counted from the stream's start

    def score(self, values: np.ndarray, chunk_rows: int = 20_000) -> RowScores:
        """Score ``values`` (rows × the learned columns, in time order), continuing the
        stream of the previous call."""
        x = np.asarray(values, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(self.names):
            raise ValueError(f"values must be (rows, {len(self.names)})")
        n = len(x)
        score = np.zeros(n)
        top = np.full(n, -1, np.int32)
        reason: dict[int, str] = {}
        for a in range(0, n, chunk_rows):
            self._score_chunk(x[a : a + chunk_rows], a, score, top, reason)
        self._rows_done += n
        return RowScores(score, score >= 0.5, top, reason)

    def _score_chunk(
        self,
        x: np.ndarray,
        offset: int,
        score: np.ndarray,
        top: np.ndarray,
        reason: dict[int, str],
    ) -> None:
        r = len(x)
        out = slice(offset, offset + r)
        for gi, g in enumerate(self.groups):
            modes = [k for k, m in enumerate(self.mode_group) if m == gi]
            s, contrib, zdev, owner = self._joint(gi, modes, x[:, g])
            better = s > score[out]
            idx = np.flatnonzero(better)
            score[out][idx] = s[idx]
            top[out][idx] = np.asarray(g)[np.argmax(contrib[idx], axis=1)] if idx.size else []
            names = [self.names[j] for j in g]
            for i in idx[s[idx] >= 0.5]:
                self._row = self._rows_done + offset + int(i)
                det = self.detectors[int(owner[i])]
                reason[offset + int(i)] = self._explain(gi, det, contrib[i], zdev[i], names)
        # stuck sensors
        watched = np.flatnonzero(self.stuck_limit > 0)
        for j in watched:
            col = x[:, j]
            runs = self._runs(int(j), col)
            lim = self.stuck_limit[j]
            hit = np.flatnonzero(runs >= lim)
            if hit.size:
                s = 1.0 - 0.5 * lim / runs[hit]
                up = s > score[out][hit]
                rows = hit[up]
                score[out][rows] = s[up]
                top[out][rows] = j
                for i, n_run in zip(rows, runs[rows], strict=True):
                    reason[offset + int(i)] = (
                        f"{self.names[j]} stuck at {col[i]:g} for {int(n_run)} rows "
                        f"(longest run while learning: {int(lim / self.settings.stuck_factor)})"
                        if lim > self.settings.stuck_rows
                        else f"{self.names[j]} stuck at {col[i]:g} for {int(n_run)} rows"
                    )

    def _explain(
        self,
        k: int,
        det: AssetCorrelationDetector,
        contrib: np.ndarray,
        zdev: np.ndarray,
        names: list[str],
    ) -> str:
        # Words cost far more than numbers: a run of alarmed rows with the same top signal
        # reuses its wording for up to REWORD_ROWS rows (a long excursion of a big file would
        # otherwise spend most of its time, and memory, on identical sentences).
        top = int(np.argmax(contrib))
        last = self._worded[k]
        if last is not None and last[0] == top and self._row - last[1] < self.REWORD_ROWS:
            return last[2]
        text = det.explain(contrib, names, deviations=zdev)
        self._worded[k] = (top, self._row, text)
        return text

    def _runs(self, j: int, col: np.ndarray) -> np.ndarray:
        """Length of the current run of one value at each row, carried across chunks."""
        prev = np.concatenate(([self._last[j]], col[:-1]))
        same = (col == prev) & np.isfinite(col)
        pos = np.arange(len(col))
        start = np.maximum.accumulate(np.where(same, -1, pos))  # where the current run began
        runs = np.where(start >= 0, pos - start + 1, self._run[j] + pos + 1).astype(float)
        if len(col):
            self._last[j] = col[-1]
            self._run[j] = runs[-1]
        return runs

    @staticmethod
    def _distance(
        det: AssetCorrelationDetector, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per row of a block: T² under ``det``'s model, the per-signal contributions, the
        standardised deviations, and which rows are empty (all values missing)."""
        z = (x - det.mu) / det.sd
        dv = z - det.m
        miss = np.isnan(dv)
        empty = np.asarray(miss.all(axis=1), dtype=bool)
        partial = np.flatnonzero(miss.any(axis=1) & ~empty)
        prec = det.prec
        for i in partial:  # conditional mean of the missing values given the others
            mi = np.flatnonzero(miss[i])
            oi = np.flatnonzero(~miss[i])
            dv[i, mi] = -np.linalg.solve(prec[np.ix_(mi, mi)], prec[np.ix_(mi, oi)] @ dv[i, oi])
        dv[empty] = 0.0
        g = dv @ prec
        t2 = np.einsum("ij,ij->i", dv, g)
        rbc = g * g / np.diagonal(prec)
        return t2, rbc, np.where(np.isnan(z), 0.0, z), empty

    def _joint(
        self, gi: int, modes: list[int], x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One group's statistic for a block (vectorised): score, contributions, EWMA
        deviations and the mode of each row. Each row's distance is taken under the mode it
        fits best, in units of that mode's limit, and one EWMA runs over them, so a change of
        mode costs nothing (per-mode EWMAs would each take long to forget the other mode).
        With one mode this is the detector's own ``update`` (no lags), to rounding."""
        lam = self.detectors[modes[0]].config.ewma
        t2, rbc, zc, empty = self._distance(self.detectors[modes[0]], x)
        lim0 = self.detectors[modes[0]].limit
        v, rbc = t2 / lim0, rbc / lim0
        owner = np.full(len(x), modes[0])
        for k in modes[1:]:
            tk, rk, zk, _ = self._distance(self.detectors[k], x)
            vk = tk / self.detectors[k].limit
            closer = vk < v
            v = np.where(closer, vk, v)
            rbc[closer], zc[closer], owner[closer] = (
                rk[closer] / self.detectors[k].limit,
                zk[closer],
                k,
            )
        # an empty row repeats the previous state: its input is the state itself
        stat = self._ewma_rows(v, lam, self._stat[gi], empty)
        contrib = self._ewma_rows(rbc, lam, self._contrib[gi], empty)
        zdev = self._ewma_rows(zc, lam, self._zdev[gi], empty)
        if len(x):
            self._stat[gi] = float(stat[-1])
            self._contrib[gi] = contrib[-1].copy()
            self._zdev[gi] = zdev[-1].copy()
        return stat / (stat + 1.0), contrib, zdev, owner

    @staticmethod
    def _ewma_rows(v: np.ndarray, lam: float, init: Any, hold: np.ndarray) -> np.ndarray:
        init = np.asarray(init, dtype=float)
        if not hold.any():
            zi = ((1.0 - lam) * init)[np.newaxis, ...]
            y, _ = lfilter([lam], [1.0, -(1.0 - lam)], v, axis=0, zi=zi)
            return np.asarray(y)
        y = np.empty_like(v)
        acc = init.copy()
        for i in range(len(v)):
            if not hold[i]:
                acc = (1.0 - lam) * acc + lam * v[i]
            y[i] = acc
        return y

    # ---------------------------------------------------------------- describing
    def scored_columns(self) -> list[str]:
        return [self.names[j] for g in self.groups for j in g]

    # ---------------------------------------------------------------- saving
    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` (arrays and a JSON header; no pickle)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": _FORMAT,
            "names": self.names,
            "groups": self.groups,
            "excluded": self.excluded,
            "learned_rows": self.learned_rows,
            "settings": asdict(self.settings),
            "mode_group": self.mode_group,
        }
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps(meta)),
            "stuck_limit": self.stuck_limit,
        }
        for k, det in enumerate(self.detectors):
            for key, val in det.state_dict().items():
                arrays[f"d{k}/{key}"] = val
        with p.open("wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
        return p

    @classmethod
    def load(cls, path: str | Path) -> TableModel:
        """Read a model written by :meth:`save`."""
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("format") != _FORMAT:
                    raise ModelFileError(f"{p}: not a plantmind detect model")
                dets = []
                n_det = len(meta.get("mode_group", meta["groups"]))
                for k in range(n_det):
                    prefix = f"d{k}/"
                    state = {
                        key[len(prefix) :]: z[key] for key in z.files if key.startswith(prefix)
                    }
                    det = AssetCorrelationDetector(1)
                    det.load_state_dict(state)
                    dets.append(det)
                stuck = np.asarray(z["stuck_limit"], dtype=float)
        except ModelFileError:
            raise
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{p}: cannot read the model: {exc}") from None
        return cls(
            meta["names"],
            [list(map(int, g)) for g in meta["groups"]],
            dets,
            stuck,
            dict(meta["excluded"]),
            int(meta["learned_rows"]),
            LearnSettings(**meta["settings"]),
            [int(m) for m in meta["mode_group"]] if "mode_group" in meta else None,
        )
