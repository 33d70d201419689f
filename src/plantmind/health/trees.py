"""Fitted gradient-boosted trees as flat arrays with a numba predictor.

Why: scikit-learn's predictor starts an OpenMP team per call, which costs milliseconds for the
one row a live asset needs (tens of milliseconds on a busy two-core edge box); the flat form
predicts one row in microseconds, and it saves as plain arrays in ``.npz`` (no pickle to trust).
Only numeric splits are supported (the health features are all numeric).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

__all__ = ["TreeEnsemble"]


@numba.njit(cache=True, nogil=True)
def _predict(
    x: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    value: np.ndarray,
    leaf: np.ndarray,
    missing_left: np.ndarray,
    roots: np.ndarray,
    base: float,
) -> np.ndarray:
    out = np.full(x.shape[0], base)
    for i in range(x.shape[0]):
        acc = 0.0
        for r in roots:
            n = r
            while not leaf[n]:
                v = x[i, feature[n]]
                go_left = missing_left[n] if np.isnan(v) else v <= threshold[n]
                n = left[n] if go_left else right[n]
            acc += value[n]
        out[i] += acc
    return out


class TreeEnsemble:
    """The average of several fitted :class:`HistGradientBoostingRegressor` models."""

    FIELDS = ("feature", "threshold", "left", "right", "value", "leaf", "missing_left", "roots")

    def __init__(self, arrays: dict[str, np.ndarray], base: float) -> None:
        self.a = arrays
        self.base = float(base)

    @classmethod
    def from_sklearn(cls, models: Sequence[HistGradientBoostingRegressor]) -> TreeEnsemble:
        parts: dict[str, list[np.ndarray]] = {k: [] for k in cls.FIELDS}
        offset = 0
        k = len(models)
        for m in models:
            for (pred,) in m._predictors:
                nodes = pred.nodes
                if np.any(nodes["is_categorical"]):
                    raise ValueError("categorical splits are not supported")
                parts["feature"].append(nodes["feature_idx"].astype(np.int32))
                parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
                parts["left"].append(nodes["left"].astype(np.int32) + offset)
                parts["right"].append(nodes["right"].astype(np.int32) + offset)
                # each model's share of the average
                parts["value"].append(nodes["value"].astype(np.float64) / k)
                parts["leaf"].append(nodes["is_leaf"].astype(np.bool_))
                parts["missing_left"].append(nodes["missing_go_to_left"].astype(np.bool_))
                parts["roots"].append(np.array([offset], dtype=np.int32))
                offset += len(nodes)
        base = float(np.mean([np.ravel(m._baseline_prediction)[0] for m in models]))
        return cls({f: np.concatenate(v) for f, v in parts.items()}, base)

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        a = self.a
        return _predict(
            x, a["feature"], a["threshold"], a["left"], a["right"], a["value"], a["leaf"],
            a["missing_left"], a["roots"], self.base,
        )  # fmt: skip

    @property
    def n_trees(self) -> int:
        return len(self.a["roots"])

    def arrays(self, prefix: str = "trees_") -> dict[str, np.ndarray]:
        out = {f"{prefix}{k}": v for k, v in self.a.items()}
        out[f"{prefix}base"] = np.array([self.base])
        return out

    @classmethod
    def from_arrays(cls, data: Any, prefix: str = "trees_") -> TreeEnsemble:
        arrays = {k: np.asarray(data[f"{prefix}{k}"]) for k in cls.FIELDS}
        return cls(arrays, float(np.asarray(data[f"{prefix}base"])[0]))
