"""Operating-condition normalisation: find the operating regimes from the setting columns and
standardise every signal within its regime, so that data from several regimes (C-MAPSS FD002
and FD004: six flight conditions) trains one model."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans

__all__ = ["RegimeNormalizer"]


class RegimeNormalizer:
    """Cluster the settings into regimes, then z-score each signal per regime.

    The number of regimes is the smallest ``k`` whose clusters explain at least
    ``explained`` of the settings' variance (standardised): C-MAPSS's six conditions are tight
    points, so ``k = 6`` explains ~100 % and fewer clusters far less, while the sensor noise of
    a single-condition set never reaches the bar (``k = 1``). ``n_regimes`` fixes ``k``.

    Signals that carry no information after normalisation (constant within every regime) are
    flagged in ``informative`` so the feature step can drop them.
    """

    def __init__(
        self, n_regimes: int | None = None, *, max_regimes: int = 10, explained: float = 0.995
    ) -> None:
        self.n_regimes = n_regimes
        self.max_regimes = max_regimes
        self.explained = explained
        self.centers = np.zeros((1, 0))
        self.setting_scale = np.ones(0)
        self.setting_mean = np.zeros(0)
        self.mean = np.zeros((1, 0))
        self.std = np.ones((1, 0))
        self.informative = np.zeros(0, dtype=bool)

    def _scaled(self, settings: np.ndarray) -> np.ndarray:
        return (settings - self.setting_mean) / self.setting_scale

    def fit(self, settings: np.ndarray, signals: np.ndarray) -> RegimeNormalizer:
        settings = np.asarray(settings, dtype=np.float64).reshape(len(signals), -1)
        if settings.shape[1]:
            self.setting_mean = np.nanmean(settings, axis=0)
            sd = np.nanstd(settings, axis=0)
            self.setting_scale = np.where(sd > 0, sd, 1.0)
            z = np.nan_to_num(self._scaled(settings))
            self.centers = self._choose(z)
        else:
            self.centers = np.zeros((1, 0))
        reg = self.assign(settings)
        k = len(self.centers)
        s = signals.shape[1]
        self.mean = np.zeros((k, s))
        self.std = np.ones((k, s))
        for r in range(k):
            x = signals[reg == r]
            if len(x) == 0:
                continue
            self.mean[r] = np.nanmean(x, axis=0)
            sd = np.nanstd(x, axis=0)
            # a flat signal (sd 0) would divide by zero; scale 1 leaves it flat
            self.std[r] = np.where(sd > 1e-9 * (1 + np.abs(self.mean[r])), sd, 1.0)
        z = self.transform(settings, signals)
        # informative: varies in at least a few distinct values after normalisation; C-MAPSS's
        # constant sensors (s1, s5, s10, s16, s18, s19 at sea level) are dropped here
        n_unique = np.array([len(np.unique(np.round(c[np.isfinite(c)], 6))) for c in z.T])
        self.informative = (np.nanstd(z, axis=0) > 1e-6) & (n_unique > 2)
        return self

    def _choose(self, z: np.ndarray) -> np.ndarray:
        # cluster on a sample: the regimes are few and tight, 20k rows find them as well as all
        rng = np.random.default_rng(0)
        sample = z if len(z) <= 20_000 else z[rng.choice(len(z), 20_000, replace=False)]
        total = float(((sample - sample.mean(axis=0)) ** 2).sum())
        if self.n_regimes is not None:
            ks = [self.n_regimes]
        elif total <= 0:
            return z.mean(axis=0, keepdims=True)
        else:
            ks = list(range(2, self.max_regimes + 1))
        for k in ks:
            if k <= 1 or len(np.unique(sample, axis=0)) < k:
                break
            km = KMeans(n_clusters=k, n_init=4, random_state=0).fit(sample)
            if self.n_regimes is not None or 1.0 - km.inertia_ / total >= self.explained:
                return km.cluster_centers_
        return z.mean(axis=0, keepdims=True)

    @property
    def k(self) -> int:
        return len(self.centers)

    def assign(self, settings: np.ndarray) -> np.ndarray:
        """The regime of each row (nearest centre in standardised setting space)."""
        n = len(settings)
        if self.centers.shape[1] == 0 or len(self.centers) == 1:
            return np.zeros(n, dtype=np.int64)
        z = np.nan_to_num(self._scaled(np.asarray(settings, dtype=np.float64).reshape(n, -1)))
        d = ((z[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
        return d.argmin(axis=1)

    def transform(self, settings: np.ndarray, signals: np.ndarray) -> np.ndarray:
        reg = self.assign(np.asarray(settings).reshape(len(signals), -1))
        return (signals - self.mean[reg]) / self.std[reg]

    # -- persistence ---------------------------------------------------------------------------
    def arrays(self, prefix: str = "regime_") -> dict[str, np.ndarray]:
        return {
            f"{prefix}centers": self.centers,
            f"{prefix}setting_mean": np.atleast_1d(self.setting_mean),
            f"{prefix}setting_scale": np.atleast_1d(self.setting_scale),
            f"{prefix}mean": self.mean,
            f"{prefix}std": self.std,
            f"{prefix}informative": self.informative,
        }

    @classmethod
    def from_arrays(cls, data: Any, prefix: str = "regime_") -> RegimeNormalizer:
        self = cls()
        self.centers = np.asarray(data[f"{prefix}centers"])
        self.setting_mean = np.asarray(data[f"{prefix}setting_mean"])
        self.setting_scale = np.asarray(data[f"{prefix}setting_scale"])
        self.mean = np.asarray(data[f"{prefix}mean"])
        self.std = np.asarray(data[f"{prefix}std"])
        self.informative = np.asarray(data[f"{prefix}informative"], dtype=bool)
        self.n_regimes = len(self.centers)
        return self
