"""Fitted multilayer perceptrons (scikit-learn ``MLPRegressor``, ReLU) as plain weight arrays
with a numpy forward pass: saved in ``.npz`` like the trees, predicted without scikit-learn's
per-call checks. A second learner family beside the trees, because their errors differ
(measured on C-MAPSS FD001: trees 11.03, network 11.13, the even blend 10.61 RMSE)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

__all__ = ["MlpEnsemble"]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _dense(h: np.ndarray, w: np.ndarray, b: np.ndarray, relu: bool) -> np.ndarray:
    # plain loops, not BLAS: a BLAS call for a few rows starts a thread team, which costs
    # tens of milliseconds on a busy two-core box (measured), far more than the arithmetic
    n, k = h.shape
    m = w.shape[1]
    out = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            out[i, j] = b[j]
        for t in range(k):
            v = h[i, t]
            if v != 0.0:
                for j in range(m):
                    out[i, j] += v * w[t, j]
        if relu:
            for j in range(m):
                if out[i, j] < 0.0:
                    out[i, j] = 0.0
    return out


class MlpEnsemble:
    """The average of several ReLU networks over standardised inputs."""

    def __init__(
        self, mean: np.ndarray, scale: np.ndarray, nets: list[list[tuple[np.ndarray, np.ndarray]]]
    ) -> None:
        self.mean = mean
        self.scale = scale
        self.nets = nets

    @classmethod
    def from_sklearn(cls, scaler: StandardScaler, models: Sequence[MLPRegressor]) -> MlpEnsemble:
        for m in models:
            if m.activation != "relu":
                raise ValueError("only ReLU networks are supported")
        nets = [
            [
                (np.ascontiguousarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
                for w, b in zip(m.coefs_, m.intercepts_, strict=True)
            ]
            for m in models
        ]
        return cls(np.asarray(scaler.mean_), np.asarray(scaler.scale_), nets)

    def predict(self, x: np.ndarray) -> np.ndarray:
        h0 = np.ascontiguousarray((np.asarray(x, dtype=np.float64) - self.mean) / self.scale)
        out = np.zeros(len(h0))
        for layers in self.nets:
            h = h0
            for i, (w, b) in enumerate(layers):
                h = _dense(h, w, b, i < len(layers) - 1)
            out += h[:, 0]
        return out / len(self.nets)

    def arrays(self, prefix: str = "mlp_") -> dict[str, np.ndarray]:
        out = {f"{prefix}mean": self.mean, f"{prefix}scale": self.scale}
        out[f"{prefix}shape"] = np.array([len(self.nets), len(self.nets[0]) if self.nets else 0])
        for k, layers in enumerate(self.nets):
            for i, (w, b) in enumerate(layers):
                out[f"{prefix}{k}_{i}_w"] = w
                out[f"{prefix}{k}_{i}_b"] = b
        return out

    @classmethod
    def from_arrays(cls, data: Any, prefix: str = "mlp_") -> MlpEnsemble:
        n_nets, n_layers = (int(v) for v in np.asarray(data[f"{prefix}shape"]))
        nets = [
            [
                (
                    np.ascontiguousarray(data[f"{prefix}{k}_{i}_w"], dtype=np.float64),
                    np.asarray(data[f"{prefix}{k}_{i}_b"], dtype=np.float64),
                )
                for i in range(n_layers)
            ]
            for k in range(n_nets)
        ]
        return cls(np.asarray(data[f"{prefix}mean"]), np.asarray(data[f"{prefix}scale"]), nets)
