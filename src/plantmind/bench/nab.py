"""Run a streaming detector over the Numenta Anomaly Benchmark and score it.

Each NAB file is one signal of one detector (signal ids in file order), streamed in batches
in time order, so the score at a row depends only on that file's rows up to it. The results
are written in NAB's layout, ``OUT/<detector>/<category>/<detector>_<file>.csv`` with the
columns ``timestamp,value,anomaly_score,alarm`` (one row per data row, same order), and
scored twice per profile: with NAB's optimised corpus-wide threshold on ``anomaly_score``,
and at the detector's own alarm point (``alarm`` = score >= 0.5, chosen without labels).
The default detector is :data:`DEFAULT_NAB_DETECTOR` (``streaming-seasonal``); any
registered detector can be scored (``plantmind bench nab --detector NAME``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from plantmind.bench.nab_data import load_corpus
from plantmind.bench.nab_scoring import normalized_scores
from plantmind.core.types import SampleBatch
from plantmind.detect.base import Detector

__all__ = ["DEFAULT_NAB_DETECTOR", "run_nab"]

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


DEFAULT_NAB_DETECTOR = "streaming-seasonal"
"""The NAB candidate: StreamingRankDetector with the seasonal-record view (detect/seasonal.py)."""


def _default_factory(n_signals: int) -> Detector:
    from plantmind.detect.registry import make_detector

    return make_detector(DEFAULT_NAB_DETECTOR, n_signals)


def run_nab(
    nab_root: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str] | None,
    detector_factory: Callable[[int], Detector] = _default_factory,
    *,
    name: str = "plantmind",
    batch_size: int = 10_000,
    verbose: bool = True,
) -> dict[str, Any]:
    """Score ``detector_factory(n_files)`` on every NAB file; write results under ``out_dir``
    (skipped when None). Returns ``{"optimized": {profile: score}, "fixed": {...},
    "threshold": {...}, "n_files": int, "n_rows": int}``."""
    corpus = load_corpus(nab_root)
    names = sorted(corpus.series)
    det = detector_factory(len(names))
    results: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for sid, fname in enumerate(names):
        s = corpus.series[fname]
        ts = s.epoch_seconds
        sig = np.full(len(s), sid, np.int32)
        parts = []
        for a in range(0, len(s), batch_size):
            b = SampleBatch(
                sig[a : a + batch_size], ts[a : a + batch_size], s.values[a : a + batch_size]
            )
            parts.append(det.score_batch(b).score)
        score = np.clip(np.concatenate(parts), 0.0, 1.0)
        results[fname] = (score, (score >= 0.5).astype(np.int8))
    if out_dir is not None:
        _write(Path(out_dir), name, corpus, results)
    sc = normalized_scores(results, corpus.windows, corpus.timestamps, corpus.profiles)
    out: dict[str, Any] = {
        "optimized": {p: sc[p].optimized for p in PROFILES if p in sc},
        "fixed": {p: sc[p].fixed for p in PROFILES if p in sc},
        "threshold": {p: sc[p].threshold for p in PROFILES if p in sc},
        "n_files": len(names),
        "n_rows": corpus.n_rows,
    }
    if verbose:
        for key in ("optimized", "fixed"):
            vals = " / ".join(f"{out[key][p]:.1f}" for p in PROFILES if p in out[key])
            print(f"NAB {key:9s} standard / low-FP / low-FN: {vals}")
    return out


def _write(
    root: Path, name: str, corpus: Any, results: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    for fname, (score, alarm) in results.items():
        s = corpus.series[fname]
        cat, base = fname.split("/", 1)
        folder = root / name / cat
        folder.mkdir(parents=True, exist_ok=True)
        stamps = np.datetime_as_string(s.timestamps, unit="s")
        with (folder / f"{name}_{base}").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["timestamp", "value", "anomaly_score", "alarm"])
            for t, v, a, al in zip(stamps, s.values, score, alarm, strict=True):
                w.writerow([str(t).replace("T", " "), repr(float(v)), f"{a:.6f}", int(al)])
