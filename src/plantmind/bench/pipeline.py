"""``plantmind bench pipeline``: end-to-end throughput of the edge node (quality gate →
detector → alert tracker → sample ring → downsampling → store writes) on a simulated plant of
N signals, on one core, with peak memory.

The simulator's batches are generated before timing (a fixed block, replayed with shifted
timestamps), so the figure is the node's own cost, not the simulator's. The detector is
warmed up first, so the timed part runs the full per-sample logic. With ``multivariate`` the
node also runs the relationship view (every asset's joint model), learned from the warm-up
and fitted before timing (the fit's seconds are reported apart).
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from plantmind.connectors.simulator import PlantSimulator, scaled_plant
from plantmind.core.types import SampleBatch
from plantmind.edge.node import EdgeNode

__all__ = ["run_pipeline_bench"]


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_pipeline_bench(
    *,
    n_signals: int = 10_000,
    seconds: float = 20.0,
    batch_ticks: int = 10,
    block_ticks: int = 300,
    seed: int = 0,
    home: Path | None = None,
    progress: Callable[[str], None] | None = None,
    multivariate: bool = False,
) -> dict[str, Any]:
    """Run the benchmark (see the module docstring) and return its figures."""
    say = progress or (lambda s: None)
    rss0 = _peak_rss_mb()
    plant = scaled_plant(n_signals)
    sim = PlantSimulator(plant, seed=seed)
    t_gen = time.perf_counter()
    block = [sim.step(batch_ticks) for _ in range(block_ticks // batch_ticks)]
    gen_s = time.perf_counter() - t_gen
    n_block = sum(len(b) for b in block)
    period = block_ticks * sim.tick_s
    say(f"simulated {sim.index.n_signals:,} signals: {n_block:,} samples in {gen_s:.2f} s")

    def shifted(k: int) -> list[SampleBatch]:
        off = k * period
        return [SampleBatch(b.signal, b.ts + off, b.value) for b in block]

    with tempfile.TemporaryDirectory() as tmp:
        node = EdgeNode(plant, Path(home or tmp), restore=False, multivariate=multivariate)
        warm_blocks = int(np.ceil(node.detector.warmup / block_ticks)) + 1
        say(f"warming up the detector ({warm_blocks * block_ticks} ticks) ...")
        k = 0
        for _ in range(warm_blocks):
            for b in shifted(k):
                node.learn(b)
            k += 1
        t_fit = time.perf_counter()
        node.ingest(shifted(k)[0])  # compile every kernel (and fit the joint models) first
        fit_s = time.perf_counter() - t_fit
        k += 1
        view = node.relationship
        if view is not None:
            say(f"relationship view: {view.status['text']} ({fit_s:.1f} s)")
        say(f"measuring for {seconds:.0f} s ...")
        samples = 0
        batch_times: list[float] = []
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for b in shifted(k):
                t1 = time.perf_counter()
                node.ingest(b)
                batch_times.append(time.perf_counter() - t1)
                samples += len(b)
            k += 1
        elapsed = time.perf_counter() - t0
        t_flush = time.perf_counter()
        node.store.flush()
        flush_s = time.perf_counter() - t_flush
        state_bytes = {
            "detector": sum(v.nbytes for v in node.detector.state_dict().values()),
            "ring": node.ring.nbytes,
            "relationship": sum(v.nbytes for v in view.state_dict().values()) if view else 0,
        }
        alerts = node.stats.alerts_opened
        node.close()
    lat = np.asarray(batch_times) * 1000.0
    total = elapsed + flush_s
    return {
        "signals": sim.index.n_signals,
        "batch_samples": int(n_block // len(block)),
        "samples": samples,
        "seconds": round(total, 3),
        "samples_per_s": int(samples / total),
        "batch_latency_p50_ms": round(float(np.percentile(lat, 50)), 3),
        "batch_latency_p99_ms": round(float(np.percentile(lat, 99)), 3),
        "alerts_opened": alerts,
        "multivariate": view.status["text"] if view is not None else "off",
        "first_batch_s": round(fit_s, 2),
        "detector_bytes_per_signal": state_bytes["detector"] // max(sim.index.n_signals, 1),
        "ring_bytes_per_signal": state_bytes["ring"] // max(sim.index.n_signals, 1),
        "relationship_bytes_per_signal": state_bytes["relationship"] // max(sim.index.n_signals, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_before_mb": round(rss0, 1),
        "simulator_samples_per_s": int(n_block / gen_s) if gen_s > 0 else None,
    }
