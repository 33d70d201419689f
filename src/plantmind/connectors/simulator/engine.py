"""The simulator proper: lays the plant's signals onto the kind models, computes fixed blocks of
ticks, adds measurement noise and faults, and serves the samples that are due as SampleBatches.

Blocks have a fixed length for a given plant, so the random draws, and hence every sample,
depend only on the seed, never on how callers chunk their ``step`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import zoneinfo
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import datetime

import numpy as np

from plantmind.connectors.base import Source
from plantmind.connectors.simulator._base import KindModel, TickBlock
from plantmind.connectors.simulator._dynamics import Environment, is_due, samples_per_tick
from plantmind.connectors.simulator._injector import FaultInjector
from plantmind.connectors.simulator.compressor import CompressorModel
from plantmind.connectors.simulator.conveyor import ConveyorModel
from plantmind.connectors.simulator.faults import Fault, FaultWindow, resolve_faults
from plantmind.connectors.simulator.generic import GenericSignals
from plantmind.connectors.simulator.pump import PumpModel
from plantmind.connectors.simulator.spindle import SpindleModel
from plantmind.core.plant import Plant, PlantIndex
from plantmind.core.types import SampleBatch

__all__ = ["MODELS", "PlantSimulator", "SimulatorSource"]

#: asset kinds with physics; the position fixes each kind's random stream
MODELS: tuple[type[KindModel], ...] = (PumpModel, CompressorModel, SpindleModel, ConveyorModel)
_BY_KIND = {m.kind: (i, m) for i, m in enumerate(MODELS)}

#: independent random streams, so e.g. a new fault never shifts the measurement noise
_STREAM_NOISE, _STREAM_PARAMS, _STREAM_GENERIC, _STREAM_KIND = 0, 1, 2, 10
_PARAMS_KIND = 20
#: samples computed per block: about a million per block, between 32 and 1024 ticks
_BLOCK_SAMPLES = 1 << 20


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))


def _utc_offset_s(tz: str, at: float) -> float:
    try:
        offset = datetime.fromtimestamp(at, zoneinfo.ZoneInfo(tz)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return 0.0
    return offset.total_seconds() if offset is not None else 0.0


class _Layout:
    """Where each signal's value comes from: (kind model, role, asset) or the generic model."""

    def __init__(self, plant: Plant) -> None:
        site_ids: dict[str, int] = {}
        line_ids: dict[tuple[str, str], int] = {}
        self.sites: list[str] = []
        self.timezones: list[str] = []
        self.assets: dict[str, tuple[list[int], list[int]]] = {}  # kind -> (site, line) per asset
        self.slots: dict[str, tuple[str, int]] = {}
        self.columns: dict[str, dict[str, tuple[list[int], list[int]]]] = {}
        self.generic: list[int] = []
        self.scale: list[float] = []
        self.noise: list[tuple[float, float]] = []
        self.nonneg: list[bool] = []
        pos = 0
        for site, line, asset in plant.iter_assets():
            if site.id not in site_ids:
                site_ids[site.id] = len(self.sites)
                self.sites.append(site.id)
                self.timezones.append(site.timezone)
            line_ix = line_ids.setdefault((site.id, line.id), len(line_ids))
            entry = _BY_KIND.get(asset.kind)
            model = entry[1] if entry else None
            local = -1
            if model is not None:
                sites, lines = self.assets.setdefault(model.kind, ([], []))
                local = len(sites)
                sites.append(site_ids[site.id])
                lines.append(line_ix)
                self.slots[asset.id] = (model.kind, local)
            for sig in asset.signals:
                low, high = sig.expected_range
                if model is not None and sig.role in model.roles:
                    cols, locs = self.columns.setdefault(model.kind, {}).setdefault(
                        sig.role, ([], [])
                    )
                    cols.append(pos)
                    locs.append(local)
                    ref = model.reference_high.get(sig.role)
                    self.scale.append(high / ref if ref and high > 0 else 1.0)
                    rel, frac = model.noise[sig.role]
                    self.noise.append((rel, frac * (high - low)))
                    self.nonneg.append(sig.role in model.nonneg and low >= 0)
                else:
                    self.generic.append(pos)
                    self.scale.append(1.0)
                    self.noise.append((0.0, GenericSignals.NOISE_SPAN * (high - low)))
                    self.nonneg.append(False)
                pos += 1


class PlantSimulator:
    """A simulated plant: coupled physics per asset kind, normal operating-mode changes,
    measurement noise and injected faults, as a deterministic stream of sample batches.

    Parameters
    ----------
    plant
        The plant model; assets of kinds ``centrifugal_pump``, ``air_compressor``,
        ``cnc_spindle`` and ``belt_conveyor`` get physics for their signals' roles, any other
        signal a bounded random walk inside its expected range.
    seed
        Same seed, same plant, same ``tick_s`` → identical samples.
    start_ts
        Unix time of the first tick.
    tick_s
        Simulation step; each signal is sampled at its ``sample_rate_hz`` but at most once per
        tick.
    faults
        Faults to inject; validated here (ValueError names the fault and the problem).

    Attributes
    ----------
    index
        The plant's signal table; ``SampleBatch.signal`` indexes ``index.signal_ids``.
    ground_truth
        One :class:`FaultWindow` per fault, in the order given.
    """

    def __init__(
        self,
        plant: Plant,
        *,
        seed: int = 0,
        start_ts: float = 1_767_600_000.0,
        tick_s: float = 1.0,
        faults: Sequence[Fault] = (),
    ) -> None:
        if not (math.isfinite(tick_s) and tick_s > 0):
            raise ValueError(f"tick_s must be a positive number of seconds, got {tick_s!r}")
        if not math.isfinite(start_ts):
            raise ValueError(f"start_ts must be a finite Unix time, got {start_ts!r}")
        self.plant = plant
        self.index = PlantIndex.build(plant)
        self.seed = int(seed)
        self.start_ts = float(start_ts)
        self.tick_s = float(tick_s)
        self.faults: tuple[Fault, ...] = tuple(faults)
        resolved = resolve_faults(plant, self.faults, self.start_ts)
        self.ground_truth: list[FaultWindow] = [r.window for r in resolved]

        layout = _Layout(plant)
        n = self.index.n_signals
        params = _rng(self.seed, _STREAM_PARAMS)
        offsets = [_utc_offset_s(tz, self.start_ts) for tz in layout.timezones]
        self._env = Environment(np.asarray(offsets), params.uniform(-1.0, 1.0, len(offsets)))
        first = self._block_conditions(np.array([self.start_ts]))

        self._models: list[tuple[KindModel, list[tuple[np.ndarray, np.ndarray, str]]]] = []
        for kind, (sites, lines) in layout.assets.items():
            stream, cls = _BY_KIND[kind]
            model = cls(
                np.asarray(sites),
                np.asarray(lines),
                _rng(self.seed, _STREAM_KIND + stream),
                _rng(self.seed, _PARAMS_KIND + stream),
                self.tick_s,
                first,
            )
            maps = [
                (np.asarray(cols, dtype=np.intp), np.asarray(locs, dtype=np.intp), role)
                for role, (cols, locs) in layout.columns.get(kind, {}).items()
            ]
            self._models.append((model, maps))
        self._generic_cols = np.asarray(layout.generic, dtype=np.intp)
        self._generic = GenericSignals(
            self.index.low[self._generic_cols],
            self.index.high[self._generic_cols],
            _rng(self.seed, _STREAM_GENERIC),
            self.tick_s,
        )
        self._scale = np.asarray(layout.scale) if n else np.ones(0)
        self._unscaled = bool(np.all(self._scale == 1.0))
        noise = np.asarray(layout.noise).reshape(n, 2)
        self._noise_rel, self._noise_abs = noise[:, 0], noise[:, 1]
        self._nonneg = np.asarray(layout.nonneg, dtype=bool)
        self._noise_rng = _rng(self.seed, _STREAM_NOISE)

        self._per_tick = samples_per_tick(self.index.rate_hz, self.tick_s)
        self._slow = np.flatnonzero(self._per_tick < 1.0 - 1e-6)
        self._block_ticks = int(np.clip(_BLOCK_SAMPLES // max(n, 1), 32, 1024))
        self._injector = FaultInjector(
            resolved,
            seed=self.seed,
            slots=layout.slots,
            signal_pos=self.index.signal_position(),
            low=self.index.low,
            high=self.index.high,
            per_tick=self._per_tick,
            start_ts=self.start_ts,
            dt=self.tick_s,
        )
        self._tick = 0
        self._block_no = -1
        self._readings: np.ndarray = np.empty((0, n))
        self._due: np.ndarray | None = None
        self._times: np.ndarray = np.empty(0)
        self._signal_ids = np.arange(n, dtype=np.int32)

    # --- time ---------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Simulated Unix time of the next tick ``step`` will return."""
        return self.start_ts + self._tick * self.tick_s

    @property
    def ticks_done(self) -> int:
        """Ticks returned so far."""
        return self._tick

    # --- computing blocks ---------------------------------------------------------------------

    def _block_conditions(self, t: np.ndarray) -> TickBlock:
        return TickBlock(t, self.tick_s, self._env.ambient(t), self._env.demand(t))

    def _compute_block(self, number: int) -> None:
        ticks = self._block_ticks
        k0 = number * ticks
        k = np.arange(k0, k0 + ticks)
        t = self.start_ts + k * self.tick_s
        block = self._block_conditions(t)
        n = self.index.n_signals
        truth = np.empty((ticks, n))
        for model, maps in self._models:
            fx = self._injector.effects(model.kind, model.n, t)
            out = model.advance(block, fx)
            for cols, locs, role in maps:
                truth[:, cols] = out[role][:, locs]
        if self._generic_cols.size:
            truth[:, self._generic_cols] = self._generic.advance(t)
        if not self._unscaled:
            truth *= self._scale

        # In place: a block is megabytes, and fresh temporaries cost more than the arithmetic.
        sigma = np.abs(truth)
        sigma *= self._noise_rel
        sigma += self._noise_abs
        readings = self._noise_rng.standard_normal((ticks, n))
        readings *= sigma
        readings += truth
        # Gauges of non-negative quantities never read below zero; folding rather than clipping
        # keeps a stopped machine's readings noisy instead of a run of exact zeros.
        np.abs(readings, out=readings, where=self._nonneg[None, :])
        self._injector.apply(readings, t, k0)

        self._due = None
        if self._slow.size:
            due = np.ones((ticks, n), dtype=bool)
            due[:, self._slow] = is_due(k, self._per_tick[self._slow])
            self._due = due
        self._readings, self._times, self._block_no = readings, t, number

    def _emit(self, r0: int, r1: int) -> SampleBatch:
        values = self._readings[r0:r1]
        if self._due is None:
            n = values.shape[1]
            return SampleBatch(
                np.tile(self._signal_ids, r1 - r0),
                np.repeat(self._times[r0:r1], n),
                values.reshape(-1).copy(),  # no view that pins the whole block
            )
        rows, cols = np.nonzero(self._due[r0:r1])
        return SampleBatch(cols.astype(np.int32), self._times[r0 + rows], values[rows, cols])

    # --- public API ---------------------------------------------------------------------------

    def step(self, n_ticks: int = 1) -> SampleBatch:
        """The next ``n_ticks`` ticks, in time order (within a tick, in signal-index order).

        Each signal appears at the ticks where it is due by its sample rate: every tick when
        the rate is at least ``1 / tick_s``, otherwise every ``1 / (rate · tick_s)`` ticks on
        average, starting at tick 0.
        """
        if n_ticks < 0:
            raise ValueError(f"n_ticks must be >= 0, got {n_ticks}")
        pieces: list[SampleBatch] = []
        remaining = int(n_ticks)
        while remaining > 0:
            number, r0 = divmod(self._tick, self._block_ticks)
            if number != self._block_no:
                self._compute_block(number)
            r1 = min(self._block_ticks, r0 + remaining)
            pieces.append(self._emit(r0, r1))
            self._tick += r1 - r0
            remaining -= r1 - r0
        if len(pieces) == 1:
            return pieces[0]
        return SampleBatch.concat(pieces)

    async def stream(
        self,
        *,
        speed: float | None = None,
        batch_ticks: int = 1,
        duration_s: float | None = None,
    ) -> AsyncGenerator[SampleBatch, None]:
        """Yield batches of ``batch_ticks`` ticks.

        Parameters
        ----------
        speed
            ``None``: as fast as the consumer takes them (still yielding to the event loop after
            each batch). Otherwise simulated seconds per wall-clock second: a batch is released
            when the wall clock reaches the simulated time at its end (``now`` after the
            batch), paced against a monotonic clock from the start of the stream so that
            sleep errors do not accumulate; a consumer that falls behind gets the overdue
            ticks at once, folded into one batch of whole ``batch_ticks`` multiples (at most
            :data:`CATCH_UP_BATCHES` of them).
        batch_ticks
            Ticks per batch.
        duration_s
            Stop after the ticks falling within this many simulated seconds; ``None`` runs on.
        """
        if batch_ticks < 1:
            raise ValueError(f"batch_ticks must be >= 1, got {batch_ticks}")
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number or None, got {speed!r}")
        if duration_s is not None and not duration_s >= 0:
            raise ValueError(f"duration_s must be >= 0 or None, got {duration_s!r}")
        left = math.inf
        if duration_s is not None:
            left = max(0, math.ceil(duration_s / self.tick_s - 1e-9))
        wall0 = time.monotonic()
        sim0 = self.now
        while left > 0:
            n = batch_ticks
            if speed is not None:
                # behind the wall clock: the overdue ticks in one batch (whole batches, at most
                # CATCH_UP_BATCHES), so a busy consumer is not handed many small batches, each
                # costing a turn of the event loop
                behind = (time.monotonic() - wall0) * speed - (self.now - sim0)
                n *= min(CATCH_UP_BATCHES, max(1, int(behind / (self.tick_s * batch_ticks))))
            n = int(min(n, left))
            batch = self.step(n)
            left -= n
            if speed is None:
                await asyncio.sleep(0)
            else:
                delay = wall0 + (self.now - sim0) / speed - time.monotonic()
                await asyncio.sleep(max(delay, 0.0))
            yield batch


#: the most ``batch_ticks`` batches a behind-schedule stream folds into one
CATCH_UP_BATCHES = 64


class SimulatorSource(Source):
    """A :class:`~plantmind.connectors.base.Source` that streams a :class:`PlantSimulator`.

    Parameters
    ----------
    simulator
        The simulated plant to stream.
    speed, batch_ticks, duration_s
        Passed to :meth:`PlantSimulator.stream`.
    """

    name = "simulator"

    def __init__(
        self,
        simulator: PlantSimulator,
        *,
        speed: float | None = None,
        batch_ticks: int = 1,
        duration_s: float | None = None,
    ) -> None:
        super().__init__()
        self.simulator = simulator
        self.speed = speed
        self.batch_ticks = batch_ticks
        self.duration_s = duration_s
        self._closed = False

    async def batches(self) -> AsyncIterator[SampleBatch]:
        stream = self.simulator.stream(
            speed=self.speed, batch_ticks=self.batch_ticks, duration_s=self.duration_s
        )
        async with contextlib.aclosing(stream):
            async for batch in stream:
                if self._closed:
                    return
                self.stats.batches += 1
                self.stats.samples += len(batch)
                yield batch

    async def close(self) -> None:
        """Stop streaming after the batch in flight."""
        self._closed = True
