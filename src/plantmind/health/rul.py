"""Remaining useful life from run-to-failure histories: gradient-boosted trees on windowed
degradation features, with split-conformal intervals calibrated on held-out assets and the
probability of failure within a horizon.

Method (why each step):

* per-regime standardisation (:class:`RegimeNormalizer`) so several operating conditions train
  one model; signals flat within every regime are dropped;
* features at every point of every training run (:mod:`plantmind.health.features`), target the
  piecewise-linear ``min(RUL, cap)`` (Heimes 2008: early life carries no information on the
  remaining life, so the target saturates);
* ``n_folds`` gradient-boosted tree models and as many small ReLU networks, each trained on
  the other folds' assets (GroupKFold over assets, never rows): the even blend of the two
  families' averages is the point prediction (their errors differ, so the blend beats both),
  and each fold's blended predictions on its held-out assets are the calibration set of the
  intervals;
* Mondrian split-conformal intervals (Vovk et al. 2005; Boström & Johansson 2020): residuals
  of held-out assets at sampled truncation points, binned by the predicted RUL, since the error
  of a remaining-life model grows with the prediction; asymmetric quantiles because late and
  early errors are not alike. The same residuals give ``P(RUL ≤ horizon)``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from plantmind.health.features import FeatureSpec, feature_names, unit_features
from plantmind.health.history import HistoryError, RunHistory
from plantmind.health.mlp import MlpEnsemble
from plantmind.health.regimes import RegimeNormalizer
from plantmind.health.trees import TreeEnsemble

__all__ = ["RulConfig", "RulModel", "RulPrediction"]

Progress = Callable[[str, int, int], None]


@dataclass
class RulConfig:
    """Training settings; the defaults are the ones measured on C-MAPSS (``bench cmapss``)."""

    cap: float = 125.0
    n_folds: int = 5
    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    #: every ``stride``-th truncation point of each training run (1 = all); neighbours are
    #: nearly the same sample, so a stride trades little accuracy for training time
    stride: int = 1
    #: share of the neural network in the blend (0: trees only); its errors differ from the
    #: trees', so the blend beats both (see :mod:`plantmind.health.mlp`)
    mlp_weight: float = 0.5
    mlp_hidden: tuple[int, ...] = (64, 32)
    mlp_max_iter: int = 80
    #: weight rows by 1 / run length so every training run counts the same, not every row
    balance_runs: bool = False
    alpha: float = 0.1  # intervals cover 1 - alpha
    calib_points: int = 40  # truncation points per held-out asset for calibration
    calib_bins: int = 6
    n_regimes: int | None = None
    min_rows: int = 5
    #: OpenMP threads for training. One by default: on a small, shared edge box the threads of
    #: scikit-learn's tree builder wait on each other (measured: 7 s with 1 thread, 100 s with 2
    #: on a busy 2-core machine for the same pump model)
    threads: int = 1
    features: FeatureSpec = field(default_factory=FeatureSpec)


@dataclass
class RulPrediction:
    """Per asset at its last row: point RUL, interval, and the health index it implies."""

    asset_ids: list[str]
    rul: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def __len__(self) -> int:
        return len(self.asset_ids)


class RulModel:
    """Train with :meth:`fit`, predict with :meth:`predict` (last row per asset); save and
    load with :mod:`plantmind.health.artifact`."""

    def __init__(self, config: RulConfig | None = None) -> None:
        self.config = config or RulConfig()
        self.normalizer = RegimeNormalizer(self.config.n_regimes)
        self.signal_names: list[str] = []
        self.setting_names: list[str] = []
        self.ensemble: TreeEnsemble | None = None  # the fold models' average, flattened
        self.mlp: MlpEnsemble | None = None
        self.bin_edges = np.zeros(0)
        self.residuals: list[np.ndarray] = []  # per bin, sorted y - pred of held-out assets
        self.metrics: dict[str, float] = {}
        self.trained_on: dict[str, object] = {}

    # -- features ------------------------------------------------------------------------------
    @property
    def used_signals(self) -> list[str]:
        return [n for n, k in zip(self.signal_names, self.normalizer.informative, strict=True) if k]

    @property
    def feature_names(self) -> list[str]:
        return feature_names(self.used_signals, self.config.features)

    def features(
        self, history: RunHistory, *, last_only: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows for every row of ``history`` (or each asset's last row only) and the
        asset row bounds."""
        z = self.normalizer.transform(history.settings, self._signals_of(history))
        z = z[:, self.normalizer.informative]
        b = history.bounds()
        parts = []
        for a in range(history.n_assets):
            sl = slice(b[a], b[a + 1])
            if b[a + 1] > b[a]:
                at = np.array([b[a + 1] - b[a] - 1]) if last_only else None
                age = history.time[sl] - history.time[b[a]]
                parts.append(unit_features(z[sl], age, self.config.features, at))
        x = np.vstack(parts) if parts else np.zeros((0, len(self.feature_names)))
        return x.astype(np.float32), b

    def _signals_of(self, history: RunHistory) -> np.ndarray:
        if not self.signal_names:
            return history.signals
        if history.signal_names == self.signal_names:
            return history.signals
        pos = {n: i for i, n in enumerate(history.signal_names)}
        missing = [n for n in self.used_signals if n not in pos]
        if missing:
            raise HistoryError(f"history lacks the model's signal(s): {', '.join(missing)}")
        out = np.full((len(history.time), len(self.signal_names)), np.nan)
        for j, n in enumerate(self.signal_names):
            if n in pos:
                out[:, j] = history.signals[:, pos[n]]
        return out

    # -- training ------------------------------------------------------------------------------
    def fit(self, history: RunHistory, progress: Progress | None = None) -> RulModel:
        """Train on the failed assets of ``history`` (censored ones are ignored)."""
        cfg = self.config
        history.validate(for_training=True, min_rows=cfg.min_rows)
        hist = history.subset(np.flatnonzero(history.failed))
        t0 = time.perf_counter()
        step = progress or (lambda _msg, _i, _n: None)
        self.signal_names = list(hist.signal_names)
        self.setting_names = list(hist.setting_names)
        self.normalizer = RegimeNormalizer(cfg.n_regimes).fit(hist.settings, hist.signals)
        if not self.normalizer.informative.any():
            raise HistoryError("every signal is constant within its operating regime")
        with threadpool_limits(cfg.threads):
            self._fit(hist, step)
        self.metrics["train_seconds"] = time.perf_counter() - t0
        self.trained_on = {
            "source": history.source,
            "assets_failed": int(history.failed.sum()),
            "assets_ignored_censored": int((~history.failed).sum()),
            "rows": int(self.metrics["n_rows"]),
            "signals": self.signal_names,
            "settings": self.setting_names,
        }
        return self

    def _fit(self, hist: RunHistory, step: Progress) -> None:
        cfg = self.config
        x, b = self.features(hist)
        y = np.minimum(hist.rul(), cfg.cap).astype(np.float32)
        groups = hist.assets
        rows = np.arange(len(y))
        if cfg.stride > 1:
            # keep each run's last row (RUL 0) so failure itself is always seen
            pos_in_run = rows - b[groups]
            last = rows == b[groups + 1] - 1
            rows = rows[(pos_in_run % cfg.stride == 0) | last]
        n_folds = min(cfg.n_folds, hist.n_assets)
        folds = list(GroupKFold(n_folds).split(rows, groups=groups[rows]))
        oof = np.full(len(y), np.nan)
        oof_mlp = np.full(len(y), np.nan)
        use_mlp = cfg.mlp_weight > 0
        scaler = StandardScaler().fit(x[rows]) if use_mlp else None
        models = []
        nets = []
        total = n_folds + 1
        step("features", 1, total)
        for k, (i, j) in enumerate(folds):
            model = HistGradientBoostingRegressor(
                max_iter=cfg.max_iter,
                learning_rate=cfg.learning_rate,
                max_leaf_nodes=cfg.max_leaf_nodes,
                min_samples_leaf=cfg.min_samples_leaf,
                l2_regularization=cfg.l2_regularization,
                early_stopping=False,
                random_state=k,
            )
            w = 1.0 / np.diff(b)[groups[rows[i]]] if cfg.balance_runs else None
            model.fit(x[rows[i]], y[rows[i]], sample_weight=w)
            held = np.isin(groups, np.unique(groups[rows[j]]))
            oof[held] = model.predict(x[held])
            models.append(model)
            if scaler is not None:
                net = MLPRegressor(
                    hidden_layer_sizes=cfg.mlp_hidden,
                    alpha=1e-3,
                    max_iter=cfg.mlp_max_iter,
                    early_stopping=True,
                    random_state=k,
                )
                with warnings.catch_warnings():
                    # early stopping usually ends it; when max_iter does, the net is still usable
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    net.fit(scaler.transform(x[rows[i]]), y[rows[i]])
                oof_mlp[held] = net.predict(scaler.transform(x[held]))
                nets.append(net)
            step(f"fold {k + 1}/{n_folds}", k + 2, total)
        self.ensemble = TreeEnsemble.from_sklearn(models)
        oof_trees = np.clip(oof, 0.0, cfg.cap)
        if scaler is not None:
            self.mlp = MlpEnsemble.from_sklearn(scaler, nets)
            oof_mlp = np.clip(oof_mlp, 0.0, cfg.cap)
            oof = (1 - cfg.mlp_weight) * oof_trees + cfg.mlp_weight * oof_mlp
        oof = np.clip(oof, 0.0, cfg.cap)
        # the intervals are calibrated on the blend's held-out errors, what predict() returns
        self._calibrate(oof, y, b)
        err = oof - y
        self.metrics = {
            "cv_rmse_all_points": float(np.sqrt(np.mean(err**2))),
            "cv_rmse_last_rows_sampled": self._cv_rmse_random_cut(oof, y, b),
            "cv_rmse_trees_only": self._cv_rmse_random_cut(oof_trees, y, b),
            "n_assets": float(hist.n_assets),
            "n_rows": float(len(y)),
            "n_regimes": float(self.normalizer.k),
        }

    def _calib_sample(self, b: np.ndarray) -> np.ndarray:
        # unit-balanced: the same number of truncation points from every held-out asset, so a
        # long run does not dominate the calibration (assets are the exchangeable units)
        rng = np.random.default_rng(0)
        picks = []
        for a in range(len(b) - 1):
            n = b[a + 1] - b[a]
            k = min(self.config.calib_points, n)
            picks.append(b[a] + rng.choice(n, k, replace=False))
        return np.concatenate(picks)

    def _calibrate(self, oof: np.ndarray, y: np.ndarray, b: np.ndarray) -> None:
        idx = self._calib_sample(b)
        pred, res = oof[idx], y[idx] - oof[idx]
        # bins on fixed shares of the plateau, not quantiles of the predictions: most sampled
        # points sit on the plateau, and quantile bins would lump the uncertain middle (a unit
        # between healthy and worn) with it. Bins with too few points merge into a neighbour.
        n_bins = max(self.config.calib_bins, 1)
        edges = list(self.config.cap * np.linspace(0, 1, n_bins + 1)[1:-1])
        min_points = max(30, len(idx) // (4 * n_bins))
        while edges:
            counts = np.bincount(np.searchsorted(edges, pred), minlength=len(edges) + 1)
            k = int(np.argmin(counts))
            if counts[k] >= min_points:
                break
            edges.pop(min(k, len(edges) - 1))
        self.bin_edges = np.asarray(edges, dtype=np.float64)
        which = np.searchsorted(self.bin_edges, pred)
        self.residuals = [np.sort(res[which == k]) for k in range(len(self.bin_edges) + 1)]

    def _cv_rmse_random_cut(self, oof: np.ndarray, y: np.ndarray, b: np.ndarray) -> float:
        idx = self._calib_sample(b)
        return float(np.sqrt(np.mean((oof[idx] - y[idx]) ** 2)))

    # -- prediction ----------------------------------------------------------------------------
    def predict_features(self, x: np.ndarray) -> np.ndarray:
        if self.ensemble is None:
            raise RuntimeError("model is not trained")
        if len(x) == 0:
            return np.zeros(0)
        cap = self.config.cap
        p = np.clip(self.ensemble.predict(x), 0.0, cap)
        if self.mlp is not None:
            w = self.config.mlp_weight
            p = (1 - w) * p + w * np.clip(self.mlp.predict(x), 0.0, cap)
        return p

    def interval(
        self, pred: np.ndarray, alpha: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The conformal interval around each prediction (coverage ``1 - alpha``)."""
        a = self.config.alpha if alpha is None else alpha
        cap = self.config.cap
        which = np.searchsorted(self.bin_edges, pred)
        low = np.empty_like(pred)
        high = np.empty_like(pred)
        for k, res in enumerate(self.residuals):
            sel = which == k
            if not sel.any():
                continue
            n = len(res)
            # finite-sample split-conformal ranks: ceil((n+1)(1-a/2)) (Lei et al. 2018)
            hi_rank = min(int(np.ceil((n + 1) * (1 - a / 2))), n) - 1
            lo_rank = max(int(np.floor((n + 1) * (a / 2))) - 1, 0)
            low[sel] = pred[sel] + res[lo_rank]
            high[sel] = pred[sel] + res[hi_rank]
        # the target saturates at the cap, so an interval beyond it would claim what was never learned
        return np.clip(low, 0.0, cap), np.clip(high, 0.0, cap)

    def failure_probability(self, pred: np.ndarray, horizon: float) -> np.ndarray:
        """``P(RUL ≤ horizon)`` from the held-out residuals in each prediction's bin. Beyond
        the cap the model cannot tell (the target saturates), so a horizon ≥ cap is clipped."""
        h = min(float(horizon), self.config.cap)
        which = np.searchsorted(self.bin_edges, pred)
        out = np.zeros(len(pred))
        for k, res in enumerate(self.residuals):
            sel = np.flatnonzero(which == k)
            if len(sel) == 0 or len(res) == 0:
                continue
            # pred + r ≤ h  ⇔  r ≤ h - pred
            out[sel] = np.searchsorted(res, h - pred[sel], side="right") / len(res)
        return out

    def predict(self, history: RunHistory) -> RulPrediction:
        """RUL at the last row of every asset in ``history`` (all assets in one batch)."""
        history.validate(for_training=False)
        x, b = self.features(history, last_only=True)
        present = np.flatnonzero(np.diff(b) > 0)
        rul = self.predict_features(x)
        low, high = self.interval(rul)
        return RulPrediction([history.asset_ids[a] for a in present], rul, low, high)

    def health_index(self, rul: np.ndarray) -> np.ndarray:
        """0–100: the predicted remaining life as a share of the healthy plateau (the cap)."""
        return 100.0 * np.clip(np.asarray(rul) / self.config.cap, 0.0, 1.0)
