"""``AssetCorrelationDetector``: one streaming detector per asset that learns how the asset's
signals move *together* (and how they follow each other over the last few samples), and
alarms when the joint behaviour leaves that pattern, even when every signal stays inside its
own normal range.

Method (dynamic Mahalanobis / full-rank dynamic PCA T² with EWMA accumulation):

1. **Standardise** each signal with the mean and standard deviation of the normal history.
2. **Lag-stack** the standardised row with the ``lags`` previous rows,
   ``v_t = [z_t, z_{t-1}, …, z_{t-L}]`` (dynamic PCA, Ku, Storer & Georgakis 1995; used on
   Tennessee Eastman by Russell, Chiang & Braatz 2000). The stacked vector carries both the
   static correlation between signals and their short-term dynamics (who leads whom).
3. **Mahalanobis distance** ``T²_t = (v_t − m)ᵀ Σ⁻¹ (v_t − m)`` with the covariance of the
   stacked vectors (a very small ridge keeps it invertible). This is Hotelling's T² over *all*
   principal components of the dynamic PCA, i.e. T² and SPE in one statistic with every
   direction weighted by its own normal variance: a correlation break is a move along a
   low-variance direction and therefore weighs heavily, which a retained-components T² misses
   and an unweighted SPE dilutes.
4. **Accumulation**: the alarm statistic is an EWMA of T²,
   ``S_t = (1 − λ) S_{t−1} + λ T²_t`` (the "EWMA of the squared distance" chart, in the
   family of Lowry, Woodall, Champ & Rigdon 1992 MEWMA and MacGregor & Kourti 1995), which
   collects evidence from small persistent deviations and from increased variability (e.g. an
   oscillation, whose mean-EWMA cancels) while a large deviation still alarms at once.
5. **Threshold without fault data**: the normal history is split into ``folds`` contiguous
   blocks; each block is scored by a model fitted without it (windows that overlap the block
   are left out), the out-of-fold T² series is run through the same EWMA, and the alarm limit
   is its ``1 − target_far`` quantile times ``margin``. Out-of-fold scoring reproduces the
   estimation error of the covariance that in-sample limits hide (in-sample limits of a
   52+-dimensional T² from a few hundred rows are far too low).

Output per row: ``score = S / (S + limit)`` in [0, 1) (0.5 at the alarm point), ``alarm =
S > limit``, and per-signal **contributions**: the reconstruction-based contribution
(Alcalá & Qin 2009) ``(Σ⁻¹(v − m))_k² / (Σ⁻¹)_kk`` summed over the signal's lag copies and
accumulated with the same EWMA; they sum to roughly the statistic's size and rank the signals
whose values, *given all the others*, are least consistent with the learned pattern.
:meth:`AssetCorrelationDetector.explain` words them: a signal far from its own learned level
is "k σ above/below", one inside its range but with a large contribution is "decoupled from"
the signals it normally moves with (named from the learned correlation).

Missing values: a NaN is **imputed from the model**: the conditional mean of the missing
entries of the stacked window given the observed ones (Gaussian model, via the precision
matrix). The resulting T² equals the Mahalanobis distance of the observed part alone, and the
missing signal gets zero contribution. A row that is entirely NaN is skipped (state unchanged,
the previous score is repeated) and is remembered as missing in the lag buffer. At the start
of a stream the lag slots are missing too and are handled the same way. With fewer observed
dimensions T² is smaller, so missing data make the detector more conservative, never noisier.

Online learning: ``fit(history)`` on a normal history matrix, or feed rows to ``update`` and the
detector buffers the first ``warmup`` rows, fits itself on them and scores from then on. With
``adapt > 0`` the mean and covariance keep following rows judged clearly normal (score below
``adapt_below``, never while alarming) with exponential forgetting ``adapt`` per row (rank-one
Sherman–Morrison update of the precision matrix, O(d²) per row); off by default. With
``adapt_mean > 0`` only the mean follows such rows (the covariance, and with it the calibrated
limit, stays as learned): slow legitimate drift, e.g. a temperature following the time of day,
is followed without re-estimating the relations; off by default.

Cost: one (d × d) matrix–vector product per row with d = n_signals·(lags + 1): ~156 for 52
signals and ``lags=2``, a few tens of microseconds per row in NumPy. Memory is O(d²), bounded
and independent of the stream length.

Known limits:

* Faults that leave no trace in the measured signals' joint distribution are invisible (on
  Tennessee Eastman, faults 3, 9 and 15, as for every data-driven method in the literature).
* The model is linear-Gaussian around one operating point. A plant that runs in several
  modes (load levels, products) needs one model per mode, or a history covering all modes,
  otherwise a mode change alarms; slow legitimate drift beyond the history alarms unless
  ``adapt`` is on (which in turn can learn a very slow fault as normal).
* The normal history needs clearly more rows than d = n_signals·(lags+1) (rule of thumb ≥ 3d);
  with fewer, use ``lags=0`` or fewer signals. The ridge prevents a crash, not over-fitting.
* The alarm limit comes from the history's own variability: a history shorter than the
  process's slow variations gives too low a limit (false alarms later); the out-of-fold
  calibration reduces but cannot remove this.
* Contributions point at the signals whose relation to the others broke; in a closed loop the
  root cause can be upstream of the largest contributor (smearing, a controller moving a
  manipulated variable to compensate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from plantmind.detect.base import AssetDetector

__all__ = ["AssetCorrelationConfig", "AssetCorrelationDetector"]


@dataclass(frozen=True)
class AssetCorrelationConfig:
    """One configuration for every asset. Lengths are in rows (samples) of the asset."""

    lags: int = 2  # previous rows stacked with the current one (dynamic PCA)
    ewma: float = 0.2  # λ of the EWMA of T² (1.0 = no accumulation)
    target_far: float = 0.01  # alarm rate on out-of-fold normal data that sets the limit
    margin: float = 1.0  # multiplies the calibrated limit
    folds: int = 10  # contiguous blocks for the out-of-fold calibration
    ridge: float = 1e-6  # added to the covariance diagonal, times its mean variance
    warmup: int = 500  # rows buffered before self-fitting when ``fit`` was not called
    adapt: float = 0.0  # forgetting rate of mean/covariance on rows judged normal (0 = frozen)
    adapt_below: float = 0.3  # a row is "judged normal" when its score is below this
    adapt_mean: float = 0.0  # forgetting rate of the mean alone on rows judged normal
    # divides the distance along the covariance's principal directions (eigenvalues above the
    # mean): normal operation moves along them, further than a short history shows
    principal_allowance: float = 1.0


_STATE_FIELDS = (
    "mu",
    "sd",
    "m",
    "prec",
    "limit",
    "lag_buf",
    "stat",
    "contrib",
    "zdev",
    "last_score",
    "alarm",
    "n_seen",
    "warm_buf",
    "n_warm",
    "corr",
)


class AssetCorrelationDetector(AssetDetector):
    """Streaming detector of broken relationships between one asset's signals.

    A pump's current follows its load; a row where it no longer does raises an alarm even
    though both values are inside their usual ranges:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> load = 50 + 10 * np.sin(np.arange(2000) / 40) + rng.normal(0, 0.5, 2000)
    >>> history = np.column_stack([load, 0.8 * load + rng.normal(0, 0.3, 2000)])
    >>> det = AssetCorrelationDetector(n_signals=2).fit(history)  # or let ``update`` warm up
    >>> bool(det.update(np.array([50.0, 40.0]))[1])  # a row may also hold NaN
    False
    >>> score, alarm, contrib = det.update(np.array([60.0, 40.0]))
    >>> bool(alarm), det.explain(contrib, ["load", "current"]).split(";")[0]
    (True, 'load decoupled from current (56%)')
    """

    def __init__(self, n_signals: int, config: AssetCorrelationConfig | None = None) -> None:
        self._alloc(n_signals, config or AssetCorrelationConfig())

    def _alloc(self, n_signals: int, config: AssetCorrelationConfig) -> None:
        if n_signals < 1:
            raise ValueError("n_signals must be >= 1")
        self.config = config
        c = self.config
        if c.lags < 0 or not 0.0 < c.ewma <= 1.0 or not 0.0 < c.target_far < 1.0:
            raise ValueError("invalid AssetCorrelationConfig")
        self._p = int(n_signals)
        self._d = self._p * (c.lags + 1)
        p, d = self._p, self._d
        self.fitted = False
        self.mu = np.zeros(p)
        self.sd = np.ones(p)
        self.m = np.zeros(d)
        self.prec = np.eye(d)
        self.limit = np.inf
        self.corr = np.eye(p)  # learned correlation of the standardised signals (explanations)
        self.lag_buf = np.full((c.lags, p), np.nan)  # row 0 = previous row, standardised
        self.stat = float(d)
        self.contrib = np.zeros(p)
        self.zdev = np.zeros(p)  # EWMA of the standardised deviation, for explanations
        self.last_score = 0.0
        self.alarm = False
        self.n_seen = 0
        self.warm_buf = np.full((c.warmup, p), np.nan)
        self.n_warm = 0

    # ------------------------------------------------------------------ fitting
    @property
    def n_signals(self) -> int:
        return self._p

    def _stack(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows ``[z_t, z_{t-1}, …]`` for every t >= lags, and their times t."""
        L = self.config.lags
        n = len(z)
        if n <= L:
            return np.empty((0, self._d)), np.empty(0, dtype=np.int64)
        v = np.hstack([z[L - k : n - k] for k in range(L + 1)])
        return v, np.arange(L, n)

    def _fit_gauss(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = v.mean(axis=0)
        cov = np.cov(v, rowvar=False).reshape(self._d, self._d)
        cov = cov + np.eye(self._d) * (
            self.config.ridge * max(float(np.trace(cov)) / self._d, 1e-12)
        )
        if self.config.principal_allowance == 1.0:
            prec = np.linalg.inv(cov)
            return m, 0.5 * (prec + prec.T)
        lam, vec = np.linalg.eigh(cov)
        lam = np.maximum(lam, 1e-300)
        w = np.where(lam >= float(np.mean(lam)), 1.0 / self.config.principal_allowance, 1.0)
        prec = (vec * (w / lam)) @ vec.T
        return m, 0.5 * (prec + prec.T)

    def fit(self, history: np.ndarray) -> AssetCorrelationDetector:
        """Learn the normal pattern and calibrate the alarm limit from a normal history
        ``(n_samples, n_signals)``. Rows with NaN are left out of the covariance (windows that
        contain one are dropped). Resets the streaming state."""
        c = self.config
        x = np.asarray(history, dtype=float)
        if x.ndim != 2 or x.shape[1] != self._p:
            raise ValueError(f"history must be (n_samples, {self._p})")
        mu = np.nanmean(x, axis=0)
        sd = np.nanstd(x, axis=0, ddof=1)
        sd = np.where(
            np.isfinite(sd) & (sd > 1e-9 * (np.abs(mu) + 1.0)), sd, 1e-9 * (np.abs(mu) + 1.0)
        )
        mu = np.where(np.isfinite(mu), mu, 0.0)
        z = (x - mu) / sd
        v, t = self._stack(z)
        ok = ~np.isnan(v).any(axis=1)
        v, t = v[ok], t[ok]
        if len(v) < max(2 * c.folds, self._d // 4 + 2):
            raise ValueError(
                f"history too short: {len(v)} complete windows for dimension {self._d}"
            )
        # out-of-fold T² → EWMA → limit
        blocks = np.array_split(np.arange(len(v)), c.folds)
        t2 = np.empty(len(v))
        for b in blocks:
            lo, hi = t[b[0]] - c.lags, t[b[-1]] + c.lags
            train = (t < lo) | (t - c.lags > hi)
            m_k, p_k = self._fit_gauss(v[train])
            dv = v[b] - m_k
            t2[b] = np.einsum("ij,jk,ik->i", dv, p_k, dv)
        s = np.empty_like(t2)
        acc = float(self._d)
        for i, val in enumerate(t2):
            acc = (1.0 - c.ewma) * acc + c.ewma * val
            s[i] = acc
        burn = min(len(s) // 10, int(np.ceil(3.0 / c.ewma)))
        self.limit = float(np.quantile(s[burn:], 1.0 - c.target_far) * c.margin)
        self.mu, self.sd = mu, sd
        self.m, self.prec = self._fit_gauss(v)
        zc = z[~np.isnan(z).any(axis=1)]
        self.corr = np.eye(self._p)
        if len(zc) > 2:
            cz = np.cov(zc, rowvar=False).reshape(self._p, self._p)
            s = np.sqrt(np.diagonal(cz))
            inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
            self.corr = cz * np.outer(inv, inv)
        self.fitted = True
        self.reset_stream()
        self.n_warm = 0
        self.warm_buf = np.empty((0, self._p))  # not needed once fitted (bounded state)
        return self

    def reset_stream(self) -> None:
        """Forget the recent past (lag buffer, accumulated statistic); keep the learned model.
        Use between separate runs of the asset."""
        self.lag_buf[:] = np.nan
        self.stat = float(self._d)
        self.contrib[:] = 0.0
        self.zdev[:] = 0.0
        self.last_score = 0.0
        self.alarm = False

    # ---------------------------------------------------------------- streaming
    def update(
        self, x: np.ndarray
    ) -> tuple[float, bool, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score one row ``(n_signals,)`` or a block ``(n_rows, n_signals)`` in order, causally.

        Returns ``(score, alarm, contributions)``: for a row a float, a bool and an
        ``(n_signals,)`` array; for a block arrays of shape ``(n,)``, ``(n,)``,
        ``(n, n_signals)``. While warming up (not fitted) the score is 0 and nothing alarms."""
        a = np.asarray(x, dtype=float)
        if a.ndim == 1:
            if a.shape[0] != self._p:
                raise ValueError(f"row must have {self._p} values")
            return self._update_row(a)
        if a.ndim != 2 or a.shape[1] != self._p:
            raise ValueError(f"block must be (n_rows, {self._p})")
        n = a.shape[0]
        scores = np.empty(n)
        alarms = np.empty(n, dtype=bool)
        contribs = np.empty((n, self._p))
        for i in range(n):
            scores[i], alarms[i], contribs[i] = self._update_row(a[i])
        return scores, alarms, contribs

    def _update_row(self, x: np.ndarray) -> tuple[float, bool, np.ndarray]:
        c = self.config
        if not self.fitted:
            if not np.isnan(x).all():
                self.warm_buf[self.n_warm] = x
                self.n_warm += 1
                if self.n_warm >= c.warmup:
                    self.fit(self.warm_buf[: self.n_warm])
            return 0.0, False, np.zeros(self._p)
        z = (x - self.mu) / self.sd
        missing_row = np.isnan(z)
        if missing_row.all():
            self._push(z)
            return self.last_score, self.alarm, self.contrib.copy()
        v = np.concatenate((z, self.lag_buf.ravel())) if c.lags else z
        dv = v - self.m
        miss = np.isnan(dv)
        if miss.any():
            # conditional mean of the missing entries given the observed ones
            mi = np.flatnonzero(miss)
            oi = np.flatnonzero(~miss)
            dv[mi] = -np.linalg.solve(self.prec[np.ix_(mi, mi)], self.prec[np.ix_(mi, oi)] @ dv[oi])
        g = self.prec @ dv
        t2 = float(dv @ g)
        rbc = (g * g / np.diagonal(self.prec)).reshape(c.lags + 1, self._p).sum(axis=0)
        lam = c.ewma
        self.stat = (1.0 - lam) * self.stat + lam * t2
        self.contrib = (1.0 - lam) * self.contrib + lam * rbc
        zc = np.where(missing_row, 0.0, z)
        self.zdev = (1.0 - lam) * self.zdev + lam * zc
        self.alarm = bool(self.stat > self.limit)
        self.last_score = float(self.stat / (self.stat + self.limit))
        adapting = c.adapt > 0.0 or c.adapt_mean > 0.0
        if adapting and not self.alarm and self.last_score < c.adapt_below and not miss.any():
            self._adapt(dv)
        self._push(z)
        self.n_seen += 1
        return self.last_score, self.alarm, self.contrib.copy()

    def _push(self, z: np.ndarray) -> None:
        if self.config.lags:
            self.lag_buf[1:] = self.lag_buf[:-1]
            self.lag_buf[0] = z

    def _adapt(self, dv: np.ndarray) -> None:
        """Exponential forgetting: m ← m + a·dv; Σ ← (1−a)(Σ + a·dv·dvᵀ) (Sherman–Morrison);
        then the mean alone: m ← m + a_mean·dv."""
        a = self.config.adapt
        if a > 0.0:
            self.m = self.m + a * dv
            g = self.prec @ dv
            self.prec = (self.prec - np.outer(g, g) * (a / (1.0 + a * float(dv @ g)))) / (1.0 - a)
        if self.config.adapt_mean > 0.0:
            self.m = self.m + self.config.adapt_mean * dv

    # -------------------------------------------------------------- explaining
    def explain(
        self,
        contributions: np.ndarray,
        signal_names: list[str] | None = None,
        top: int = 3,
        deviations: np.ndarray | None = None,
    ) -> str:
        """Word the ``top`` contributors, e.g. ``"x(17) 4.2σ above its learned level (41 %);
        x(9) decoupled from x(21) (18 %)"``. ``deviations`` are the signals' standardised
        deviations from their learned level (default: the detector's recent, EWMA-smoothed
        ones)."""
        cvec = np.asarray(contributions, dtype=float)
        names = signal_names or [f"x({i + 1})" for i in range(self._p)]
        dev = self.zdev if deviations is None else np.asarray(deviations, dtype=float)
        total = float(np.sum(np.maximum(cvec, 0.0)))
        if total <= 0.0 or not np.isfinite(total):
            return "no signal stands out"
        parts = []
        for i in np.argsort(-cvec)[:top]:
            share = cvec[i] / total
            if share < 0.05:
                break
            z = float(dev[i])
            if abs(z) >= 3.0:
                what = f"{names[i]} {abs(z):.1f}σ {'above' if z > 0 else 'below'} its learned level"
            else:
                r = self.corr[i].copy()
                r[i] = 0.0
                partners = [names[j] for j in np.argsort(-np.abs(r))[:2] if abs(r[j]) >= 0.3]
                if partners:
                    what = f"{names[i]} decoupled from {' and '.join(partners)}"
                else:
                    what = f"{names[i]} unusual given the other signals ({z:+.1f}σ)"
            parts.append(f"{what} ({share:.0%})")
        return "; ".join(parts) if parts else "no signal stands out"

    # --------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume exactly, as NumPy arrays (config included)."""
        st: dict[str, np.ndarray] = {}
        for k in _STATE_FIELDS:
            st[k] = np.array(getattr(self, k), copy=True)
        st["fitted"] = np.array(self.fitted)
        st["n_signals"] = np.array(self._p)
        for f in fields(self.config):
            st[f"config.{f.name}"] = np.array(getattr(self.config, f.name))
        return st

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        cfg: dict[str, Any] = {}
        for f in fields(AssetCorrelationConfig):
            key = f"config.{f.name}"
            if key in state:
                cfg[f.name] = type(asdict(self.config)[f.name])(state[key].item())
        self._alloc(int(state["n_signals"]), AssetCorrelationConfig(**cfg))
        for k in _STATE_FIELDS:
            arr = np.array(state[k], copy=True)
            val: np.ndarray | bool | int | float
            if arr.ndim == 0:
                scalar = arr.item()
                if k == "alarm":
                    val = bool(scalar)
                elif k in ("n_seen", "n_warm"):
                    val = int(scalar)
                else:
                    val = float(scalar)
            else:
                val = arr
            setattr(self, k, val)
        self.fitted = bool(state["fitted"])

    @property
    def nbytes(self) -> int:
        return int(sum(v.nbytes for v in self.state_dict().values()))
