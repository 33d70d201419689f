"""``RelationshipView``: the multivariate view of the edge pipeline. It learns, per asset, how
the asset's signals move together (one
:class:`~plantmind.detect.multivariate.AssetCorrelationDetector` per asset, no lags, fitted
with the out-of-fold calibrated limit of :class:`~plantmind.detect.learned.TableModel`) and
adds a channel ``relationship`` to the per-signal detector's scores: fused by max, so one
alarm rule (the :class:`~plantmind.detect.alerts.AlertTracker`'s) judges both views.

* **Rows from samples.** Signals arrive one by one at slightly different times. Each batch is
  cut into rows of ``row_s`` seconds (by timestamp); a row holds every signal's latest value
  (sample and hold). A signal that has never reported is missing and imputed by the model
  (the conditional mean). A sample for a row already scored only updates the held value.
* **Learning.** The first ``learn_rows`` rows (history given to ``EdgeNode.learn``, or live
  operation) are buffered; the models are fitted when the buffer is full, or at the first
  live batch when history gave at least the minimum. Until then the view is *learning*: it
  adds no score (not a score of 0) and :attr:`RelationshipView.status` says so.
* **Scoring.** :class:`~plantmind.detect.asset_bank.AssetBank` scores every asset's row at
  once. A model's score goes to the samples of the signals that carry its deviation (a
  contribution share of at least ``involved_share``, and always the largest one), so an
  alert lists the signals whose relation broke, and :meth:`RelationshipView.describe` words
  it ("P-101.flow decoupled from P-101.motor_current (62%)").
* **State.** :meth:`state_dict` holds the fitted bank as arrays with the asset and signal ids
  of every model; :meth:`load_state_dict` keeps the models whose signals all still exist.
  An unfinished learning buffer is not saved: learning starts again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from plantmind.core.types import SampleBatch
from plantmind.detect.asset_bank import AssetBank
from plantmind.detect.base import Scores
from plantmind.detect.multivariate import AssetCorrelationConfig, AssetCorrelationDetector

__all__ = ["RelationshipConfig", "RelationshipView"]

#: the channel name the view adds to the per-signal detector's
CHANNEL = "relationship"


@dataclass(frozen=True)
class RelationshipConfig:
    """How the view learns and where it alarms; lengths in rows of ``row_s`` seconds."""

    row_s: float = 1.0  # width of one row (sample and hold inside it)
    learn_rows: int = 6 * 3600  # rows learned from before scoring (6 h at 1 s)
    min_learn_rows: int = 600  # fewest rows a fit at the first live batch accepts
    max_buffer_mb: float = 256.0  # caps learn_rows for very large plants
    false_alarm_rate: float = 1e-3  # share of normal rows alarmed (the budget), out of fold
    margin: float = 1.5  # multiplies the calibrated limit
    ewma: float = 0.1  # λ of the EWMA of the distance
    ridge: float = 1e-3  # added to the covariance diagonal, times its mean variance
    principal_allowance: float = 3.0  # divides the distance along the main directions
    folds: int = 10  # contiguous blocks of the out-of-fold calibration
    adapt: float = 0.0  # forgetting rate of mean and covariance on rows judged normal
    adapt_mean: float = 1.0 / 600.0  # forgetting rate of the mean alone (slow drift followed)
    involved_share: float = 0.2  # contribution share that makes a signal part of an alert

    def __post_init__(self) -> None:
        if self.row_s <= 0 or self.learn_rows < 2 or self.min_learn_rows < 2:
            raise ValueError("invalid RelationshipConfig")
        if not 0.0 < self.false_alarm_rate < 0.5:
            raise ValueError(f"false_alarm_rate must be in (0, 0.5), got {self.false_alarm_rate}")

    def detector_config(self) -> AssetCorrelationConfig:
        return AssetCorrelationConfig(
            lags=0,
            ewma=self.ewma,
            target_far=self.false_alarm_rate,
            margin=self.margin,
            folds=self.folds,
            ridge=self.ridge,
            principal_allowance=self.principal_allowance,
            adapt=self.adapt,
            adapt_mean=self.adapt_mean,
        )


class RelationshipView:
    """Per-asset joint models of a plant's signals (see the module docstring).

    ``asset_of[s]`` is the asset of signal ``s``; ``signal_ids`` and ``asset_ids`` name
    signals and assets (explanations, saved state)."""

    def __init__(
        self,
        asset_of: np.ndarray,
        signal_ids: tuple[str, ...] | list[str],
        asset_ids: tuple[str, ...] | list[str],
        config: RelationshipConfig | None = None,
    ) -> None:
        self.config = config or RelationshipConfig()
        self.asset_of = np.asarray(asset_of, np.int64)
        self.signal_ids = list(signal_ids)
        self.asset_ids = list(asset_ids)
        self.n_signals = len(self.signal_ids)
        c = self.config
        cap = int(c.max_buffer_mb * 2**20 // (4 * max(self.n_signals, 1)))
        self.learn_rows = max(2, min(c.learn_rows, cap))
        self._buffer: np.ndarray | None = None
        self._buffered = 0
        self._seen_live = False
        self.bank: AssetBank | None = None
        self.model_asset = np.empty(0, np.int64)  # asset index of each model
        self._model_of_asset = np.full(len(self.asset_ids), -1, np.int64)
        self._held = np.full(self.n_signals, np.nan)
        self._last_row = np.iinfo(np.int64).min
        self._words: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.learned_rows = 0

    # ---------------------------------------------------------------- status
    @property
    def learned(self) -> bool:
        return self.bank is not None

    @property
    def status(self) -> dict[str, Any]:
        """What the view is doing, for status pages and summaries."""
        if self.bank is None:
            return {
                "state": "learning",
                "rows": self._buffered,
                "of": self.learn_rows,
                "text": f"learning ({self._buffered:,} of {self.learn_rows:,} rows)",
            }
        modelled = int(self.bank.n_models)
        return {
            "state": "scoring",
            "assets": modelled,
            "learned_rows": self.learned_rows,
            "text": f"scoring {modelled} asset(s), learned from {self.learned_rows:,} rows",
        }

    # ---------------------------------------------------------------- rows
    def _rows(self, batch: SampleBatch) -> tuple[np.ndarray, np.ndarray]:
        """Sample-and-hold rows of the batch's new row periods ``(R, n_signals)`` and the row
        of each sample (-1: a sample for a row already scored, which only updates the held
        value)."""
        tick = np.floor(batch.ts / self.config.row_s).astype(np.int64)
        new = tick > self._last_row
        old = ~new
        if old.any():
            self._held[batch.signal[old]] = batch.value[old]
        row_of = np.full(len(batch), -1, np.int64)
        if not new.any():
            return np.empty((0, self.n_signals)), row_of
        ticks, inv = np.unique(tick[new], return_inverse=True)
        row_of[new] = inv
        n_rows = len(ticks)
        rows = np.full((n_rows, self.n_signals), np.nan)
        rows[inv, batch.signal[new]] = batch.value[new]
        if n_rows == 1:
            gap = np.isnan(rows[0])
            rows[0, gap] = self._held[gap]
        else:
            seen = np.where(np.isnan(rows), -1, np.arange(n_rows)[:, None])
            np.maximum.accumulate(seen, axis=0, out=seen)
            filled = np.take_along_axis(rows, np.maximum(seen, 0), axis=0)
            rows = np.where(seen >= 0, filled, self._held[None, :])
        self._held = rows[-1].copy()
        self._last_row = int(ticks[-1])
        return rows, row_of

    # ---------------------------------------------------------------- learning
    def _buffer_rows(self, rows: np.ndarray) -> None:
        if self._buffer is None:
            self._buffer = np.empty((self.learn_rows, self.n_signals), np.float32)
        take = min(len(rows), self.learn_rows - self._buffered)
        self._buffer[self._buffered : self._buffered + take] = rows[:take]
        self._buffered += take

    def fit(self, rows: np.ndarray | None = None) -> None:
        """Fit every asset's model on ``rows`` ``(n, n_signals)`` (default: the rows buffered
        so far). An asset is modelled when at least two of its signals vary and report in
        at least half of the rows; its other signals are left to the per-signal view."""
        if rows is None:
            buffered = self._buffer if self._buffer is not None else np.empty((0, self.n_signals))
            x = np.asarray(buffered[: self._buffered], dtype=float)
        else:
            x = np.asarray(rows, dtype=float)
        cfg = self.config.detector_config()
        dets: list[AssetCorrelationDetector] = []
        cols: list[np.ndarray] = []
        assets: list[int] = []
        order = np.argsort(self.asset_of, kind="stable")
        bounds = np.searchsorted(self.asset_of[order], np.arange(len(self.asset_ids) + 1))
        for a in range(len(self.asset_ids)):
            sig = order[bounds[a] : bounds[a + 1]]
            kept = _usable(x[:, sig])
            if len(kept) < 2 or len(x) < max(30, 3 * len(kept)):
                continue
            det = AssetCorrelationDetector(len(kept), cfg)
            try:
                det.fit(x[:, sig[kept]])
            except (ValueError, np.linalg.LinAlgError):
                continue
            if not np.isfinite(det.limit):
                continue
            dets.append(det)
            cols.append(sig[kept])
            assets.append(a)
        self._install(AssetBank(dets, cols), np.asarray(assets, np.int64), len(x))

    def _install(self, bank: AssetBank, model_asset: np.ndarray, learned_rows: int) -> None:
        self.bank = bank
        self.model_asset = model_asset
        self._model_of_asset = np.full(len(self.asset_ids), -1, np.int64)
        self._model_of_asset[model_asset] = np.arange(len(model_asset))
        self.learned_rows = learned_rows
        self._buffer = None
        self._buffered = 0
        self._words = {}

    # ---------------------------------------------------------------- the stream
    def observe(self, batch: SampleBatch, *, live: bool) -> np.ndarray | None:
        """Take one batch (after the quality gate): learn from it or score it. Returns the
        relationship score of each sample (0 where no model speaks for its signal), or None
        while learning. ``live``: a batch of the live stream (the first one ends a learning
        period that history has filled far enough)."""
        rows, row_of = self._rows(batch)
        if self.bank is None:
            first_live = live and not self._seen_live
            self._seen_live = self._seen_live or live
            if first_live and self._buffered >= self.config.min_learn_rows:
                self.fit()  # history filled the buffer far enough: live operation scores
            else:
                self._buffer_rows(rows)
                if self._buffered >= self.learn_rows:
                    self.fit()
                return None
        return self._score(batch, rows, row_of)

    def _score(self, batch: SampleBatch, rows: np.ndarray, row_of: np.ndarray) -> np.ndarray:
        assert self.bank is not None
        out = np.zeros(len(batch))
        if not len(rows) or not self.bank.n_models:
            return out
        res = self.bank.score(rows)
        per_signal = np.zeros((len(rows), self.n_signals))
        share_min = self.config.involved_share
        for gi, g in enumerate(self.bank.groups):
            contrib = res.contrib[gi]  # (R, A, p)
            total = contrib.sum(axis=2, keepdims=True)
            share = np.divide(contrib, total, out=np.zeros_like(contrib), where=total > 0)
            top = share >= share.max(axis=2, keepdims=True)
            involved = (share >= share_min) | top
            s = res.score[:, g.models]  # (R, A)
            per_signal[:, g.cols.ravel()] = np.where(involved, s[:, :, None], 0.0).reshape(
                len(rows), -1
            )
            # the words of an alert come from the row where each asset peaked in this batch
            peak = s.max(axis=0)
            for j in np.flatnonzero(peak >= 0.5):
                t = int(np.argmax(s[:, j]))
                self._words[int(g.models[j])] = (contrib[t, j].copy(), res.zdev[gi][t, j].copy())
        has = row_of >= 0
        out[has] = per_signal[row_of[has], batch.signal[has]]
        return out

    def fuse(self, batch: SampleBatch, scores: Scores, channel: int, *, live: bool) -> Scores:
        """Observe ``batch`` and raise ``scores`` (the per-signal view's) to the relationship
        score where it is higher, with ``channel`` and the statistic in units of its limit as
        the deviation. While learning, ``scores`` is returned unchanged."""
        rel = self.observe(batch, live=live)
        if rel is None:
            return scores
        up = rel > scores.score
        if up.any():
            scores.score[up] = rel[up]
            scores.channel[up] = channel
            r = rel[up]
            scores.deviation[up] = r / np.maximum(1.0 - r, 1e-12)
        return scores

    # ---------------------------------------------------------------- words
    def describe(self, signal: int) -> str:
        """Words for a relationship alarm on ``signal``'s asset: which signals and which
        relation broke, from the asset's latest alarmed row."""
        k = int(self._model_of_asset[self.asset_of[signal]]) if self.bank is not None else -1
        if k < 0 or self.bank is None:
            return f"{self.signal_ids[signal]}: relationship to the asset's other signals broke"
        cols = self.bank.columns(k)
        names = [self.signal_ids[c] for c in cols]
        words = self._words.get(k)
        if words is None:
            return f"{self.signal_ids[signal]}: relationship to {', '.join(names)} broke"
        contrib, zdev = words
        return "relationship broke: " + self.bank.explain(k, contrib, zdev, names)

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted models as arrays with their asset and signal ids (empty while
        learning)."""
        if self.bank is None:
            return {}
        st = {f"bank.{k}": v for k, v in self.bank.state_dict().items()}
        st["model_asset_ids"] = np.asarray([self.asset_ids[a] for a in self.model_asset], str)
        cols = [self.bank.columns(k) for k in range(self.bank.n_models)]
        st["model_signal_ids"] = np.asarray([self.signal_ids[c] for cs in cols for c in cs], str)
        st["model_n_signals"] = np.asarray([len(cs) for cs in cols], np.int64)
        st["learned_rows"] = np.array(self.learned_rows)
        st["held"] = self._held.copy()
        st["held_signal_ids"] = np.asarray(self.signal_ids, str)
        st["last_row"] = np.array(self._last_row)
        return st

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`state_dict`; models whose asset or any signal is gone are
        dropped (those assets stay unmodelled until the view is fitted again)."""
        if not state:
            return
        bank = AssetBank.from_state(
            {k[len("bank.") :]: v for k, v in state.items() if k.startswith("bank.")}
        )
        sig_pos = {sid: i for i, sid in enumerate(self.signal_ids)}
        asset_pos = {aid: i for i, aid in enumerate(self.asset_ids)}
        saved_sigs = [str(s) for s in state["model_signal_ids"]]
        counts = np.asarray(state["model_n_signals"], np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)))
        # columns of the saved bank are signal positions of the saved plant: map them by id
        old_cols = np.concatenate(
            [bank.columns(k) for k in range(bank.n_models)] + [np.empty(0, np.int64)]
        )
        colmap = np.full(int(old_cols.max()) + 1 if old_cols.size else 0, -1, np.int64)
        keep, assets = [], []
        for k, aid in enumerate(str(a) for a in state["model_asset_ids"]):
            sids = saved_sigs[starts[k] : starts[k + 1]]
            new = [sig_pos.get(s, -1) for s in sids]
            a = asset_pos.get(aid, -1)
            if a < 0 or min(new) < 0 or any(self.asset_of[c] != a for c in new):
                continue
            colmap[bank.columns(k)] = new
            keep.append(k)
            assets.append(a)
        self._install(
            bank.select(np.asarray(keep, np.int64), colmap),
            np.asarray(assets, np.int64),
            int(state["learned_rows"]),
        )
        held_ids = [str(s) for s in state["held_signal_ids"]]
        for i, sid in enumerate(held_ids):
            if sid in sig_pos:
                self._held[sig_pos[sid]] = float(state["held"][i])
        self._last_row = int(state["last_row"])


def _usable(x: np.ndarray) -> np.ndarray:
    """Columns of ``x`` that report in at least half of the rows and vary."""
    if not len(x):
        return np.empty(0, np.int64)
    finite = np.isfinite(x)
    lo = np.where(finite, x, np.inf).min(axis=0)
    hi = np.where(finite, x, -np.inf).max(axis=0)
    with np.errstate(invalid="ignore"):
        spread = hi - lo
        ok = (finite.mean(axis=0) >= 0.5) & (spread > 1e-9 * (np.abs(lo) + 1.0))
    return np.flatnonzero(ok)
