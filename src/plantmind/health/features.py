"""Degradation features of one asset's normalised signals at every point of its history:
windowed means and least-squares slopes, exponentially weighted means, drift from the asset's
own early baseline, and its age. All causal: the row at ``t`` uses rows ``≤ t`` only."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import lfilter

__all__ = ["FeatureSpec", "feature_names", "fill_gaps", "unit_features"]


@dataclass(frozen=True)
class FeatureSpec:
    """Which features; the defaults are what reached the C-MAPSS targets (see bench/cmapss)."""

    mean_windows: tuple[int, ...] = (5, 10, 20, 40)
    slope_windows: tuple[int, ...] = (10, 20, 40)
    ew_spans: tuple[int, ...] = (5, 15, 40)
    std_window: int = 20
    baseline: int = 20  # early rows that define the asset's own healthy baseline; 0: no drift
    #: the asset's age as a feature: right for fleets observed from new (C-MAPSS), wrong for a
    #: live asset whose history starts when monitoring did
    use_age: bool = True

    def to_dict(self) -> dict[str, list[int] | int]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> FeatureSpec:
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**fields)  # type: ignore[arg-type]


def feature_names(signals: list[str], spec: FeatureSpec) -> list[str]:
    out: list[str] = []
    for s in signals:
        out.append(f"{s}.last")
        out += [f"{s}.mean{w}" for w in spec.mean_windows]
        out += [f"{s}.slope{w}" for w in spec.slope_windows]
        out += [f"{s}.ew{w}" for w in spec.ew_spans]
        out.append(f"{s}.std{spec.std_window}")
        if spec.baseline > 0:
            out.append(f"{s}.drift")
    if spec.use_age:
        out.append("age")
    return out


def fill_gaps(z: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward per column; leading gaps become 0 (the regime's
    mean after normalisation). A sensor that drops out keeps its last reading rather than
    poisoning every window that covers the gap."""
    z = np.array(z, dtype=np.float64, copy=True)
    bad = ~np.isfinite(z)
    if not bad.any():
        return z
    n = len(z)
    idx = np.where(~bad, np.arange(n)[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    filled = z[idx, np.arange(z.shape[1])[None, :]]
    filled[~np.isfinite(filled)] = 0.0
    return filled


def _window_sums(c: np.ndarray, w: int, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum over the ``w`` rows up to each ``end`` (exclusive; fewer at the start) from a
    cumulative sum with a leading 0 row."""
    start = np.maximum(end - w, 0)
    return c[end] - c[start], (end - start).astype(np.float64)


def unit_features(
    z: np.ndarray, age: np.ndarray, spec: FeatureSpec, at: np.ndarray | None = None
) -> np.ndarray:
    """Features of one asset: ``z`` is (T, S) normalised signals, ``age`` (T,) the time since
    the asset's first row. Returns (len(at), F) in :func:`feature_names` order, at the rows
    ``at`` (default every row; prediction needs only the last)."""
    z = fill_gaps(z)
    t_len, s = z.shape
    rows = np.arange(t_len) if at is None else np.asarray(at, dtype=np.int64)
    end = rows + 1
    tt = np.arange(t_len, dtype=np.float64)[:, None]
    zero = np.zeros((1, s))
    c1 = np.vstack([zero, np.cumsum(z, axis=0)])
    c2 = np.vstack([zero, np.cumsum(z * z, axis=0)])
    ct = np.vstack([zero, np.cumsum(tt * z, axis=0)])
    ctt = np.concatenate([[0.0], np.cumsum(tt[:, 0])])
    ct2 = np.concatenate([[0.0], np.cumsum(tt[:, 0] ** 2)])
    per: list[np.ndarray] = [z[rows]]
    for w in spec.mean_windows:
        sz, n = _window_sums(c1, w, end)
        per.append(sz / n[:, None])
    for w in spec.slope_windows:
        sz, n = _window_sums(c1, w, end)
        stz, _ = _window_sums(ct, w, end)
        st, _ = _window_sums(ctt[:, None], w, end)
        stt, _ = _window_sums(ct2[:, None], w, end)
        den = n[:, None] * stt - st * st
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(den > 0, (n[:, None] * stz - st * sz) / den, 0.0)
        # per 10 rows, so slopes share a scale with the levels
        per.append(10.0 * slope)
    for span in spec.ew_spans:
        a = 2.0 / (span + 1.0)
        num = lfilter([a], [1.0, a - 1.0], z, axis=0)
        den = lfilter([a], [1.0, a - 1.0], np.ones(t_len))
        # bias-corrected: early rows are not pulled towards 0
        per.append(num[rows] / den[rows, None])
    sz, n = _window_sums(c1, spec.std_window, end)
    sq, _ = _window_sums(c2, spec.std_window, end)
    m = sz / n[:, None]
    per.append(np.sqrt(np.maximum(sq / n[:, None] - m * m, 0.0)))
    # drift: the slow EW mean against the asset's own first rows (unit-to-unit initial wear and
    # manufacturing variation sit in the baseline, not in the drift)
    if spec.baseline > 0:
        nb = np.minimum(end, spec.baseline)
        base = c1[nb] / nb[:, None]
        ew = per[
            1 + len(spec.mean_windows) + len(spec.slope_windows) + min(1, len(spec.ew_spans) - 1)
        ]
        per.append(ew - base)
    stacked = np.stack(per, axis=2)  # (T, S, k)
    out = stacked.reshape(len(rows), -1)
    if not spec.use_age:
        return out
    return np.hstack([out, np.asarray(age, dtype=np.float64)[rows, None]])
