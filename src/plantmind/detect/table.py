"""Scoring a whole table of one asset's signals (rows = times, columns = signals) with a
streaming detector, row by row in time order: per row the anomaly score, the alarm decision
and the signal that contributed most. Used by ``plantmind detect``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from plantmind.core.types import SampleBatch
from plantmind.detect.base import Detector

__all__ = ["TableScores", "score_table"]


@dataclass
class TableScores:
    score: np.ndarray  # per row, in [0, 1]
    alarm: np.ndarray  # per row, 0/1
    top: np.ndarray  # per row, column index of the top contributor (-1: none)
    channel: np.ndarray  # per row, the top contributor's detector channel


def score_table(
    times: np.ndarray,
    values: np.ndarray,
    make_detector: Callable[[int], Detector],
    *,
    chunk_rows: int = 20_000,
) -> TableScores:
    """Score ``values`` (rows × signals) row by row; a row's score is the largest of its
    signals' scores, its alarm is that score reaching the detector's alarm point (0.5)."""
    n_rows, n_cols = values.shape
    det = make_detector(n_cols)
    score = np.zeros(n_rows)
    top = np.full(n_rows, -1, np.int32)
    chan = np.zeros(n_rows, np.int8)
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
    return TableScores(score, (score >= 0.5).astype(np.int8), top, chan)
