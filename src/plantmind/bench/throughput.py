"""``plantmind bench throughput``: samples/s and per-batch latency of the detectors, on one
single-signal stream and on 10,000 signals, beside River's HalfSpaceTrees (and
StandardAbsoluteDeviation) on the same single-signal stream in the same run.

Every measured sample gets a decision (a score and, through the alarm point, an alarm). River
is an optional benchmark extra (``pip install plantmind[bench]``); without it its rows say
"not installed" rather than a number.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from plantmind.core.types import SampleBatch
from plantmind.detect.base import Detector
from plantmind.detect.robust import RobustSignalDetector
from plantmind.detect.streaming import StreamingRankDetector

__all__ = ["DETECTORS", "run_throughput_bench"]

DETECTORS: dict[str, Callable[[int], Detector]] = {
    "robust (default)": lambda n: RobustSignalDetector(n),
    "streaming-rank": lambda n: StreamingRankDetector(n),
}


def _signal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = 10 + np.sin(2 * np.pi * t / 288) + rng.normal(0, 0.2, n)
    x[n // 2 :: 5000] += 6  # occasional spikes, so alarm paths run too
    return x


def _measure(det: Detector, batches: list[SampleBatch], warm: int = 2) -> dict[str, float]:
    for b in batches[:warm]:  # compile and warm caches
        det.score_batch(b)
    lat = []
    n = 0
    t0 = time.perf_counter()
    for b in batches[warm:]:
        t1 = time.perf_counter()
        det.score_batch(b)
        lat.append(time.perf_counter() - t1)
        n += len(b)
    total = time.perf_counter() - t0
    ms = np.asarray(lat) * 1e3
    return {
        "samples_per_s": n / total,
        "p50_batch_ms": float(np.percentile(ms, 50)),
        "p99_batch_ms": float(np.percentile(ms, 99)),
        "batch_size": len(batches[-1]),
    }


def _river(x: np.ndarray, which: str) -> dict[str, Any]:
    try:
        from river import anomaly, preprocessing
    except ImportError:
        return {"samples_per_s": None, "note": "river not installed (pip install plantmind[bench])"}
    t0 = time.perf_counter()
    if which == "HalfSpaceTrees":
        model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=42)
        for v in x:
            d = {"value": float(v)}
            model.score_one(d)
            model.learn_one(d)
    else:  # a univariate model: the value is its "target"
        sad = anomaly.StandardAbsoluteDeviation()
        for v in x:
            sad.score_one(None, float(v))
            sad.learn_one(None, float(v))
    dt = time.perf_counter() - t0
    return {
        "samples_per_s": len(x) / dt,
        "p50_batch_ms": None,
        "p99_batch_ms": None,
        "batch_size": 1,
    }


def run_throughput_bench(
    *,
    single_samples: int = 2_000_000,
    many_signals: int = 10_000,
    many_ticks: int = 2_000,
    river_samples: int = 100_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    say = progress or (lambda s: None)
    x = _signal(single_samples, 0)
    single = [
        SampleBatch(
            np.zeros(len(x[a : a + 10_000])),
            np.arange(a, a + len(x[a : a + 10_000]), dtype=float),
            x[a : a + 10_000],
        )
        for a in range(0, len(x), 10_000)
    ]
    rng = np.random.default_rng(1)
    base = rng.normal(0, 1, many_signals) * 5 + 50
    ticks_per_batch = max(1, 100_000 // many_signals)
    many: list[SampleBatch] = []
    sig = np.tile(np.arange(many_signals, dtype=np.int32), ticks_per_batch)
    for k in range(0, many_ticks, ticks_per_batch):
        ts = np.repeat(np.arange(k, k + ticks_per_batch, dtype=float), many_signals)
        many.append(
            SampleBatch(sig, ts, np.tile(base, ticks_per_batch) + rng.normal(0, 0.5, len(sig)))
        )
    out: dict[str, Any] = {"single_signal": {}, "many_signals": {}, "bytes_per_signal": {}}
    for name, make in DETECTORS.items():
        say(f"{name}: single signal ...")
        out["single_signal"][name] = _measure(make(1), single)
        say(f"{name}: {many_signals:,} signals ...")
        det = make(many_signals)
        out["many_signals"][name] = _measure(det, many)
        out["bytes_per_signal"][name] = det.bytes_per_signal
    for which in ("HalfSpaceTrees", "StandardAbsoluteDeviation"):
        say(f"River {which}: single signal ({river_samples:,} samples) ...")
        out["single_signal"][f"river {which}"] = _river(x[:river_samples], which)
    hst = out["single_signal"]["river HalfSpaceTrees"]["samples_per_s"]
    default = out["single_signal"]["robust (default)"]["samples_per_s"]
    out["default_vs_river_hst"] = round(default / hst, 1) if hst else None
    out["signals"] = many_signals
    return out
