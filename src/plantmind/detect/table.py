"""Scoring a whole table of signals (rows = times, columns = signals) with streaming
detectors, row by row in time order: per row the anomaly score, the alarm decision, the
signal that contributed most and why. Used by ``plantmind detect``.

Each column gets the univariate detector; each group of columns that belongs to one asset
(all columns by default) with at least two signals also gets the per-asset multivariate
detector (:class:`~plantmind.detect.multivariate.AssetCorrelationDetector`, learning its
normal pattern from the group's first rows). A row's score is the larger of the two, so a
relationship that breaks while every signal stays in range still scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from plantmind.core.types import SampleBatch
from plantmind.detect.base import Detector
from plantmind.detect.multivariate import AssetCorrelationConfig, AssetCorrelationDetector

__all__ = ["TableScores", "score_table"]


@dataclass
class TableScores:
    score: np.ndarray  # per row, in [0, 1]
    alarm: np.ndarray  # per row, 0/1
    top: np.ndarray  # per row, column index of the top contributor (-1: none)
    reason: list[str]  # per row, why (empty when nothing stands out)


def score_table(
    times: np.ndarray,
    values: np.ndarray,
    make_detector: Callable[[int], Detector],
    *,
    groups: Sequence[Sequence[int]] | None = None,
    multivariate: bool = True,
    mv_config: AssetCorrelationConfig | None = None,
    names: Sequence[str] | None = None,
    chunk_rows: int = 20_000,
) -> TableScores:
    """Score ``values`` (rows × signals) row by row (see the module docstring); ``groups``
    lists the column indices of each asset (default: one asset with every column)."""
    n_rows, n_cols = values.shape
    names = list(names or [f"x{j}" for j in range(n_cols)])
    det = make_detector(n_cols)
    channels = det.CHANNELS
    score = np.zeros(n_rows)
    top = np.full(n_rows, -1, np.int32)
    chan = np.zeros(n_rows, np.int16)
    cols = np.arange(n_cols, dtype=np.int32)
    for a in range(0, n_rows, chunk_rows):
        v = values[a : a + chunk_rows]
        r = len(v)
        batch = SampleBatch(np.tile(cols, r), np.repeat(times[a : a + r], n_cols), v.ravel())
        out = det.score_batch(batch)
        s = out.score.reshape(r, n_cols)
        best = np.argmax(s, axis=1)
        rows = np.arange(r)
        score[a : a + r] = s[rows, best]
        top[a : a + r] = np.where(s[rows, best] > 0, best, -1)
        chan[a : a + r] = out.channel.reshape(r, n_cols)[rows, best]
    reason = [
        channels[c] if t >= 0 and c < len(channels) else "" for t, c in zip(top, chan, strict=True)
    ]
    if multivariate:
        for group in groups if groups is not None else [list(range(n_cols))]:
            g = list(group)
            if len(g) < 2:
                continue
            mv = AssetCorrelationDetector(len(g), mv_config)
            # values[:, g] is a 2-D block, so update() returns the array form of its result
            mv_score, _, contrib = cast(
                "tuple[np.ndarray, np.ndarray, np.ndarray]", mv.update(values[:, g])
            )
            wins = np.flatnonzero(mv_score > score)
            for i in wins:
                score[i] = mv_score[i]
                top[i] = g[int(np.argmax(contrib[i]))]
                if mv_score[i] >= 0.5:
                    reason[i] = "relationship: " + mv.explain(contrib[i], [names[j] for j in g])
                else:
                    reason[i] = "relationship"
    return TableScores(score, (score >= 0.5).astype(np.int8), top, reason)
