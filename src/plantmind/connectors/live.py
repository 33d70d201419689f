"""What every live industrial connector shares: one background session task that connects,
runs until the peer is lost and reconnects with exponential back-off; a buffer that turns
pushed or polled values into :class:`SampleBatch` es; problem logging that names the source and
the item, once per item; and a ``close()`` that ends ``batches()`` promptly.

A protocol module implements only :meth:`LiveSource._session` (one connection's lifetime) and
calls :meth:`LiveSource.push` for each value and :meth:`LiveSource.problem` for each bad item.

A live sample stamped further ahead of the wall clock than ``max_future_s`` is dropped and
counted (``future_timestamps``; reason "future timestamp"): the edge's quality gate keeps each
signal's last timestamp, so one sample from the far future (a device clock gone wrong, a unit
mix-up) would otherwise make every later, valid sample of that signal "out of order". Only live
sources check this; a replay of history carries past timestamps by design.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator

import numpy as np

from plantmind.connectors.base import Source
from plantmind.core.connectivity import Backoff
from plantmind.core.plant import PlantIndex
from plantmind.core.types import SampleBatch

__all__ = ["DEFAULT_MAX_FUTURE_S", "FUTURE_TIMESTAMP", "LiveSource", "PeerLost"]

log = logging.getLogger("plantmind.connectors")

DEFAULT_MAX_FUTURE_S = 300.0  # clock skew tolerated between a device and this host
FUTURE_TIMESTAMP = "future timestamp"


class PeerLost(ConnectionError):
    """The session with the peer ended; the supervisor reconnects after a back-off."""


class LiveSource(Source):
    """Base of the OPC UA, MQTT, Sparkplug B and Modbus sources (see the module docstring).

    Values for signal ids the plant does not have are refused with a logged problem.
    ``diagnostics()`` adds ``connected`` (0/1), ``disconnects`` (sessions lost after they were
    up), ``connect_failures`` (failed attempts), ``problems`` (distinct bad items) and
    ``future_timestamps`` (samples dropped for a time more than ``max_future_s`` ahead of the
    wall clock; ``None`` turns the check off).
    """

    def __init__(
        self,
        name: str,
        index: PlantIndex,
        backoff: Backoff | None = None,
        *,
        max_future_s: float | None = DEFAULT_MAX_FUTURE_S,
    ) -> None:
        super().__init__()
        self.name = name
        self.max_future_s = max_future_s
        self.index = index
        self.positions = index.signal_position()
        self.backoff = backoff or Backoff()
        self.log = logging.getLogger(type(self).__module__)
        self._sig: list[int] = []
        self._ts: list[float] = []
        self._val: list[float] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._close_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reported: set[str] = set()
        self._attempt = 0
        self.connected = asyncio.Event()
        self.stats.extra.update(
            {
                "connected": 0,
                "disconnects": 0,
                "connect_failures": 0,
                "problems": 0,
                "future_timestamps": 0,
            }
        )

    # -- what protocol modules implement and call -------------------------------------------
    @abc.abstractmethod
    async def _session(self) -> None:
        """Connect, subscribe or poll, and run until the peer is lost (raise or return).
        Call :meth:`mark_connected` once the peer is usable."""

    def mark_connected(self) -> None:
        """The session is up: reset the back-off and tell waiters."""
        self._attempt = 0
        self.stats.extra["connected"] = 1
        self.connected.set()

    def push(self, signal: int, ts: float, value: float) -> bool:
        """Queue one sample for the next batch; False (and counted, logged once per signal)
        when its time is too far in the future to be trusted (see the module docstring)."""
        if self.max_future_s is not None and ts > time.time() + self.max_future_s:
            self.stats.extra["future_timestamps"] += 1
            sid = self.index.signal_ids[signal] if 0 <= signal < self.index.n_signals else signal
            ahead = ts - time.time()
            self.problem(
                f"signal {sid} {FUTURE_TIMESTAMP}",
                f"{FUTURE_TIMESTAMP}: {ts!r} is "
                + (f"{ahead:,.0f} s" if math.isfinite(ahead) else "far")
                + f" ahead of the clock (more than {self.max_future_s:g} s); sample dropped",
            )
            return False
        self._sig.append(signal)
        self._ts.append(ts)
        self._val.append(value)
        self._wake.set()
        return True

    def problem(self, key: str, message: str, *, once: bool = True) -> None:
        """Log a bad item (``key`` names it, e.g. ``register holding:40``) with the source's
        name; with ``once`` each key is logged the first time only, so a broken item cannot
        flood the log. Counted in ``stats.errors``."""
        self.stats.errors += 1
        self.stats.last_error = f"{key}: {message}"
        if once and key in self._reported:
            return
        self._reported.add(key)
        self.stats.extra["problems"] = len(self._reported)
        self.log.warning("source %s: %s: %s", self.name, key, message)

    def forget_problem(self, key: str) -> None:
        """``key`` works again: log the next problem with it afresh."""
        self._reported.discard(key)

    def signal_index(self, signal_id: str) -> int | None:
        return self.positions.get(signal_id)

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when woken early because the source was closed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._close_event.wait(), timeout=seconds)
        return self._closed

    @property
    def closed(self) -> bool:
        return self._closed

    # -- Source -----------------------------------------------------------------------------
    def _start(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(
                self._supervise(), name=f"plantmind-source-{self.name}"
            )

    async def start(self) -> None:
        """Start connecting now (``batches()`` starts it otherwise)."""
        self._start()

    async def _supervise(self) -> None:
        self._attempt = 0
        while not self._closed:
            try:
                await self._session()
                reason = "session ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of one session → reconnect
                reason = _describe(exc)
            if self._closed:
                return
            was_connected = self.connected.is_set()
            self.connected.clear()
            self.stats.extra["connected"] = 0
            self.stats.extra["disconnects" if was_connected else "connect_failures"] += 1
            delay = min(self.backoff.initial_s * 2**self._attempt, self.backoff.max_s)
            self._attempt += 1
            level = logging.WARNING if was_connected or self._attempt == 1 else logging.DEBUG
            self.log.log(
                level, "source %s: peer lost (%s); reconnecting in %.1fs", self.name, reason, delay
            )
            self.stats.last_error = f"peer lost: {reason}"
            if await self.sleep(delay):
                return

    def _take(self) -> SampleBatch:
        batch = SampleBatch(
            np.asarray(self._sig, dtype=np.int32),
            np.asarray(self._ts, dtype=np.float64),
            np.asarray(self._val, dtype=np.float64),
        )
        self._sig, self._ts, self._val = [], [], []
        self._wake.clear()
        self.stats.batches += 1
        self.stats.samples += len(batch)
        return batch

    async def batches(self) -> AsyncIterator[SampleBatch]:
        self._start()
        try:
            while not self._closed:
                if not self._sig:
                    await self._wake.wait()
                    continue
                yield self._take()
        finally:
            if not self._closed:
                await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_event.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=5.0)
        self.connected.clear()
        self.stats.extra["connected"] = 0


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:300] + "…"
