"""``AssetBank``: many assets' fitted joint models (one
:class:`~plantmind.detect.multivariate.AssetCorrelationDetector` each, no lags), stacked and
scored together, so that thousands of assets cost a few array operations per row instead of a
Python loop per asset.

Assets with the same number of modelled signals form one *group*: their means, standard
deviations, precision matrices and limits are stacked into ``(assets, p)`` and
``(assets, p, p)`` arrays, and one ``einsum`` gives every asset's Mahalanobis distance for a
row. The EWMA state (statistic, contributions, deviations) is per asset, as in the detector;
the arithmetic is the detector's own ``update`` (to rounding), including the conditional-mean
imputation of a missing value, the all-missing row that repeats the previous state, and the
optional adaptation of the mean and precision on rows judged normal.

A bank is saved as plain arrays (:meth:`AssetBank.state_dict`; no pickle) and rebuilt from
them (:meth:`AssetBank.from_state`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from plantmind.detect.multivariate import AssetCorrelationConfig, AssetCorrelationDetector

__all__ = ["AssetBank", "BankScores"]

#: per-group arrays saved by :meth:`AssetBank.state_dict`
_GROUP_FIELDS = (
    "models",
    "cols",
    "mu",
    "sd",
    "m",
    "prec",
    "limit",
    "corr",
    "stat",
    "contrib",
    "zdev",
)


@dataclass
class _Group:
    """The stacked models of every asset with ``p`` modelled signals."""

    models: np.ndarray  # (A,) the models' positions in the bank
    cols: np.ndarray  # (A, p) the columns of each model in the rows the bank is given
    mu: np.ndarray  # (A, p)
    sd: np.ndarray  # (A, p)
    m: np.ndarray  # (A, p) mean of the standardised rows
    prec: np.ndarray  # (A, p, p)
    limit: np.ndarray  # (A,)
    corr: np.ndarray  # (A, p, p) learned correlation of the signals (for explanations)
    stat: np.ndarray  # (A,) EWMA of T²
    contrib: np.ndarray  # (A, p) EWMA of the per-signal contributions
    zdev: np.ndarray  # (A, p) EWMA of the standardised deviations

    @property
    def p(self) -> int:
        return int(self.cols.shape[1])


@dataclass
class BankScores:
    """One batch of rows scored by a bank: ``score`` ``(rows, models)`` in [0, 1) (0.5 at
    each model's alarm point) and, per group, the contributions and deviations
    ``(rows, assets, p)``, in the group order of :attr:`AssetBank.groups`."""

    score: np.ndarray
    contrib: list[np.ndarray]
    zdev: list[np.ndarray]
    bank: AssetBank

    def contributions(self, model: int) -> np.ndarray:
        """``(rows, p)`` contributions of one model, in its columns' order."""
        g, j = self.bank.where[model]
        return self.contrib[g][:, j]

    def deviations(self, model: int) -> np.ndarray:
        """``(rows, p)`` EWMA-smoothed standardised deviations of one model."""
        g, j = self.bank.where[model]
        return self.zdev[g][:, j]


class AssetBank:
    """Fitted joint models of many assets, scored together (see the module docstring).

    ``columns[k]`` are the columns of model ``k`` in the rows given to :meth:`score`;
    ``detectors[k]`` must be fitted, without lags, and share one configuration."""

    def __init__(
        self,
        detectors: Sequence[AssetCorrelationDetector],
        columns: Sequence[np.ndarray],
    ) -> None:
        if len(detectors) != len(columns):
            raise ValueError(f"{len(detectors)} detectors but {len(columns)} column lists")
        config = detectors[0].config if detectors else AssetCorrelationConfig(lags=0)
        for det, cols in zip(detectors, columns, strict=True):
            if not det.fitted or det.config.lags != 0:
                raise ValueError("an AssetBank takes fitted detectors without lags")
            if det.config != config:
                raise ValueError("every detector of an AssetBank must share one configuration")
            if len(cols) != det.n_signals:
                raise ValueError(f"{len(cols)} columns for a detector of {det.n_signals} signals")
        self.config = config
        by_p: dict[int, list[int]] = {}
        for k, det in enumerate(detectors):
            by_p.setdefault(det.n_signals, []).append(k)
        groups = []
        for _p, ks in sorted(by_p.items()):
            ds = [detectors[k] for k in ks]
            groups.append(
                _Group(
                    models=np.asarray(ks, np.int64),
                    cols=np.asarray([np.asarray(columns[k], np.int64) for k in ks]),
                    mu=np.stack([d.mu for d in ds]).astype(float),
                    sd=np.stack([d.sd for d in ds]).astype(float),
                    m=np.stack([d.m for d in ds]).astype(float),
                    prec=np.stack([d.prec for d in ds]).astype(float),
                    limit=np.asarray([d.limit for d in ds], float),
                    corr=np.stack([d.corr for d in ds]).astype(float),
                    stat=np.asarray([d.stat for d in ds], float),
                    contrib=np.stack([d.contrib for d in ds]).astype(float),
                    zdev=np.stack([d.zdev for d in ds]).astype(float),
                )
            )
        self._set_groups(groups, len(detectors))

    def _set_groups(self, groups: list[_Group], n_models: int) -> None:
        self.groups = groups
        self.n_models = n_models
        #: model → (group, position in the group)
        self.where: list[tuple[int, int]] = [(0, 0)] * n_models
        for gi, g in enumerate(groups):
            for j, k in enumerate(g.models):
                self.where[int(k)] = (gi, j)
        self.last_score = np.zeros(n_models)

    # ---------------------------------------------------------------- scoring
    def score(self, rows: np.ndarray) -> BankScores:
        """Score ``rows`` ``(n_rows, n_columns)`` in order, causally, for every model; NaN
        where a value is missing."""
        x = np.asarray(rows, dtype=float)
        if x.ndim != 2:
            raise ValueError("rows must be (n_rows, n_columns)")
        n = len(x)
        score = np.empty((n, self.n_models))
        contribs, zdevs = [], []
        for g in self.groups:
            s, c, z = self._score_group(g, x[:, g.cols])
            score[:, g.models] = s
            contribs.append(c)
            zdevs.append(z)
        if n:
            self.last_score = score[-1].copy()
        return BankScores(score, contribs, zdevs, self)

    def _score_group(self, g: _Group, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One group's rows ``(n, A, p)`` → scores ``(n, A)``, contributions and deviations
        ``(n, A, p)``: the detector's ``_update_row`` for every asset at once."""
        c = self.config
        lam = c.ewma
        n, n_a, p = x.shape
        z = (x - g.mu) / g.sd
        miss = np.isnan(z)
        empty = miss.all(axis=2)  # (n, A): the row is skipped for that asset
        zc = np.where(miss, 0.0, z)
        adapt = c.adapt > 0.0 or c.adapt_mean > 0.0
        # without adaptation the model is fixed: the distances of the whole block at once
        dv = None if adapt else self._centred(g, z, miss, empty)
        gvs = None if dv is None else np.einsum("ajk,tak->taj", g.prec, dv)
        out_s = np.empty((n, n_a))
        out_c = np.empty((n, n_a, p))
        out_z = np.empty((n, n_a, p))
        for t in range(n):
            if dv is None or gvs is None:
                d = self._centred(g, z[t : t + 1], miss[t : t + 1], empty[t : t + 1])[0]
                gv = np.einsum("ajk,ak->aj", g.prec, d)
            else:
                d, gv = dv[t], gvs[t]
            t2 = np.einsum("aj,aj->a", d, gv)
            rbc = gv * gv / np.diagonal(g.prec, axis1=1, axis2=2)
            keep = ~empty[t]
            stat = (1.0 - lam) * g.stat + lam * t2
            contrib = (1.0 - lam) * g.contrib + lam * rbc
            zdev = (1.0 - lam) * g.zdev + lam * zc[t]
            g.stat = np.where(keep, stat, g.stat)
            g.contrib = np.where(keep[:, None], contrib, g.contrib)
            g.zdev = np.where(keep[:, None], zdev, g.zdev)
            out_s[t] = g.stat / (g.stat + g.limit)
            out_c[t] = g.contrib
            out_z[t] = g.zdev
            if adapt:
                ok = keep & (g.stat <= g.limit) & (out_s[t] < c.adapt_below) & ~miss[t].any(axis=1)
                if ok.any():
                    self._adapt(g, np.flatnonzero(ok), d)
        return out_s, out_c, out_z

    @classmethod
    def _centred(cls, g: _Group, z: np.ndarray, miss: np.ndarray, empty: np.ndarray) -> np.ndarray:
        """``z − m`` for a block ``(n, A, p)``, missing entries imputed, empty rows zero."""
        dv = z - g.m
        if miss.any():
            cls._impute(g, dv, miss, empty)
        dv[empty] = 0.0
        return dv

    @staticmethod
    def _impute(g: _Group, dv: np.ndarray, miss: np.ndarray, empty: np.ndarray) -> None:
        """Conditional mean of the missing entries given the observed ones (rare: a signal
        that has not reported yet), one (row, asset) at a time."""
        rows, assets = np.nonzero(miss.any(axis=2) & ~empty)
        for t, a in zip(rows, assets, strict=True):
            mi = np.flatnonzero(miss[t, a])
            oi = np.flatnonzero(~miss[t, a])
            prec = g.prec[a]
            dv[t, a, mi] = -np.linalg.solve(
                prec[np.ix_(mi, mi)], prec[np.ix_(mi, oi)] @ dv[t, a, oi]
            )

    def _adapt(self, g: _Group, idx: np.ndarray, dv: np.ndarray) -> None:
        """The detector's forgetting update (mean, and precision by Sherman–Morrison) for the
        assets ``idx``."""
        a = self.config.adapt
        d = dv[idx]
        if a > 0.0:
            g.m[idx] = g.m[idx] + a * d
            prec = g.prec[idx]
            gv = np.einsum("ajk,ak->aj", prec, d)
            k = a / (1.0 + a * np.einsum("aj,aj->a", d, gv))
            g.prec[idx] = (prec - np.einsum("aj,ak->ajk", gv, gv) * k[:, None, None]) / (1.0 - a)
        if self.config.adapt_mean > 0.0:
            g.m[idx] = g.m[idx] + self.config.adapt_mean * d

    def explain(
        self,
        model: int,
        contributions: np.ndarray,
        deviations: np.ndarray,
        signal_names: list[str],
        top: int = 3,
    ) -> str:
        """Words for one model's contributions (the detector's
        :meth:`~plantmind.detect.multivariate.AssetCorrelationDetector.explain`)."""
        gi, j = self.where[model]
        g = self.groups[gi]
        shell = AssetCorrelationDetector(g.p, self.config)
        shell.corr = g.corr[j]
        return shell.explain(contributions, signal_names, top=top, deviations=deviations)

    def columns(self, model: int) -> np.ndarray:
        """The columns of one model."""
        gi, j = self.where[model]
        return self.groups[gi].cols[j]

    def limit(self, model: int) -> float:
        gi, j = self.where[model]
        return float(self.groups[gi].limit[j])

    def reset_stream(self) -> None:
        """Forget the recent past of every model; keep what was learned."""
        for g in self.groups:
            g.stat = np.full(len(g.models), float(g.p))
            g.contrib = np.zeros_like(g.contrib)
            g.zdev = np.zeros_like(g.zdev)
        self.last_score = np.zeros(self.n_models)

    # ---------------------------------------------------------------- saving
    def state_dict(self) -> dict[str, np.ndarray]:
        """The whole bank as NumPy arrays (models, stream state and configuration)."""
        st: dict[str, np.ndarray] = {
            "n_models": np.array(self.n_models),
            "n_groups": np.array(len(self.groups)),
        }
        for f in fields(self.config):
            st[f"config.{f.name}"] = np.array(getattr(self.config, f.name))
        for gi, g in enumerate(self.groups):
            for name in _GROUP_FIELDS:
                st[f"g{gi}.{name}"] = np.array(getattr(g, name), copy=True)
        return st

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> AssetBank:
        """A bank rebuilt from :meth:`state_dict`."""
        bank = cls([], [])
        defaults = asdict(AssetCorrelationConfig())
        cfg = {
            name: type(default)(state[f"config.{name}"].item())
            for name, default in defaults.items()
            if f"config.{name}" in state
        }
        bank.config = AssetCorrelationConfig(**cfg)
        groups = []
        for gi in range(int(state["n_groups"])):
            kw = {name: np.array(state[f"g{gi}.{name}"], copy=True) for name in _GROUP_FIELDS}
            groups.append(_Group(**kw))
        bank._set_groups(groups, int(state["n_models"]))
        return bank

    def select(self, keep: np.ndarray, columns: np.ndarray) -> AssetBank:
        """A bank of the models ``keep`` (renumbered 0..), with their columns mapped through
        ``columns`` (old column → new column; each kept model's columns must map to >= 0)."""
        new_pos = np.full(self.n_models, -1, np.int64)
        new_pos[keep] = np.arange(len(keep))
        groups = []
        for g in self.groups:
            sel = new_pos[g.models] >= 0
            if not sel.any():
                continue
            kw = {name: np.array(getattr(g, name)[sel], copy=True) for name in _GROUP_FIELDS}
            kw["models"] = new_pos[g.models[sel]]
            kw["cols"] = columns[g.cols[sel]]
            groups.append(_Group(**kw))
        bank = AssetBank([], [])
        bank.config = self.config
        bank._set_groups(groups, len(keep))
        return bank
