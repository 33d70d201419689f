"""The demo's inspection station: trains the plant's first station (QS-1 in the example plant)
on generated good parts in a background thread, then inspects a generated part (every third
one with an injected defect) every few simulated minutes, so the API shows verdicts and heatmaps.
The results are stamped by the stations' clock: the edge service's (the simulator's time in
``plantmind demo``), else ``clock``, else wall time.

Imports nothing heavy at module level: without the vision extras (torch, onnxruntime, Pillow)
the demo runs without inspection and says so in its summary.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plantmind.edge.service import EdgeService

__all__ = ["DemoInspection"]

# good parts the demo station trains on: enough for a bank of good patch maps at every
# position (48 left the threshold noisy: pits and scratches passed)
N_GOOD = 160

log = logging.getLogger(__name__)


class _Stopped(Exception):
    """The demo ended while the station was still training."""


class DemoInspection:
    """Background training and periodic inspection of generated parts for ``plantmind demo``."""

    def __init__(
        self,
        home: Path,
        plant: Any,
        period_s: float = 300.0,
        seed: int = 0,
        train_seconds: float = 20.0,
        open_stations: Callable[[], Any] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.period_s = period_s
        self.seed = seed
        self.train_seconds = train_seconds
        self.counts: dict[str, int] = {}
        #: the first and the last result's time (the stations' clock: plant time in the demo)
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.problem: str | None = None
        self._next: float | None = None
        self._k = 0
        self._ready = threading.Event()
        self._busy = threading.Lock()
        self._stop = False
        self._owns_vision = False
        self.vision: Any = None
        self.station_id: str | None = None
        self._thread: threading.Thread | None = None
        stations = [st for site in plant.sites for st in site.stations]
        if not stations:
            self.problem = "the plant has no inspection station"
            return
        from plantmind.core.extras import extra_installed

        # the demo trains its station on the spot: torch as well as the runtime
        if not extra_installed("vision-train"):
            self.problem = "visual inspection is off: pip install 'plantmind[vision-train]'"
            return
        # the edge service's stations when given (the API then shows the same ones), else
        # stations of our own under ``home``, closed with us
        self._owns_vision = open_stations is None
        if open_stations is None:
            from plantmind.vision.station import VisionStations

            self.vision = VisionStations(home, stations, clock=clock)
        else:
            self.vision = open_stations()
        self.station_id = stations[0].id
        self._thread = threading.Thread(target=self._train, name="demo-vision", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, edge: EdgeService, seed: int = 0) -> DemoInspection:
        """Train and inspect on ``edge``'s own stations."""
        return cls(edge.home, edge.plant, seed=seed, open_stations=lambda: edge.stations)

    def _train(self) -> None:
        import torch

        from plantmind.demo.parts import write_parts
        from plantmind.vision.train import TrainConfig

        try:
            torch.set_num_threads(1)  # leave the other cores to the plant and the API
            folder = self.vision.root / "demo-good-parts"
            paths = write_parts(folder, N_GOOD, seed=self.seed + 1, size=(128, 128))
            cfg = TrainConfig(
                size=64,
                widths=(8, 16, 32),
                steps=120,
                batch_size=8,
                lr=1e-2,
                holdout=0.3,
                flips=False,
                seed=self.seed,
                max_seconds=self.train_seconds,
                val_draws=1,  # the demo shows inspections within its first minutes
            )
            self.vision.train(self.station_id, paths, cfg, self._progress)
            self._ready.set()
        except _Stopped:
            self.problem = "the demo ended before the station finished training"
        except Exception as exc:  # the demo goes on without inspection
            self.problem = f"training the demo station failed: {exc}"
            log.warning(self.problem)

    def _progress(self, phase: str, done: int, total: int) -> None:
        if self._stop:
            raise _Stopped

    def tick(self, sim_now: float) -> None:
        """Call from the demo loop; inspects a part when one is due (in a worker thread)."""
        if not self._ready.is_set() or self._stop:
            return
        if self._next is None:
            self._next = sim_now
        if sim_now < self._next or self._busy.locked():
            return
        self._next = sim_now + self.period_s
        self._k += 1
        threading.Thread(target=self._inspect, args=(self._k,), daemon=True).start()

    def _inspect(self, k: int) -> None:
        from plantmind.demo.parts import PART_DEFECTS, make_part, png_bytes

        with self._busy:
            defect = PART_DEFECTS[(k // 3) % len(PART_DEFECTS)] if k % 3 == 0 else None
            # seeds far from the training parts' (write_parts: seed × 100,003 + i): new parts
            img, _ = make_part(self.seed * 7919 + 10_000_000 + k, defect, (128, 128))
            try:
                rec, _ = self.vision.inspect(
                    self.station_id, png_bytes(img), f"demo-part-{k:05d}-{defect or 'good'}.png"
                )
                self.counts[rec.verdict] = self.counts.get(rec.verdict, 0) + 1
                if self.first_ts is None:
                    self.first_ts = rec.ts
                self.last_ts = rec.ts
            except Exception as exc:
                log.warning("demo inspection failed: %s", exc)

    def summary(self) -> dict[str, Any]:
        if self.problem:
            return {"station": self.station_id, "skipped": self.problem}
        return {
            "station": self.station_id,
            "trained": self._ready.is_set(),
            **self.counts,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
        }

    def close(self) -> None:
        self._stop = True
        if self._thread is not None:
            # a torch thread still running at interpreter exit aborts the process
            self._thread.join(timeout=60)
        with self._busy:  # let an inspection in flight finish before the store closes
            if self.vision is not None and self._owns_vision:
                self.vision.close()
