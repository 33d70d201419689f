"""Moving the outbox to the hub: the transport interface, back-off, and the forwarding loop.

The protocol is stop-and-wait per batch: the forwarder reads the oldest events, sends them as
one batch, and waits for the hub's acknowledgement (the highest seq it has durably stored)
before it removes them and sends the next batch. Because batch N+1 never leaves before batch N
is stored, the hub receives each site's events in seq order; because an unacknowledged batch
is sent again (after a crash, a timeout or a lost reply), delivery is at-least-once; the hub's
unique ``(site, seq)`` turns that into exactly-once storage. Failures back off exponentially
with jitter so that many sites coming back after a hub outage do not return in lockstep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from plantmind.sync.audit import AuditRecord
from plantmind.sync.outbox import Outbox
from plantmind.sync.wire import Batch

__all__ = [
    "EmbeddedTransport",
    "Forwarder",
    "HeartbeatUnsupported",
    "JitteredBackoff",
    "Transport",
    "TransportError",
]

log = logging.getLogger(__name__)


class TransportError(RuntimeError):
    """A batch was not acknowledged (hub unreachable, refused, timed out); send it again."""


class HeartbeatUnsupported(TransportError):
    """The hub does not take heartbeats (it predates them): stop sending them
    (:mod:`plantmind.sync.heartbeat`)."""


class Transport(Protocol):
    """Delivers one batch to the hub and returns the seq the hub acknowledged."""

    #: Where batches go, for the audit log (no credentials in it).
    destination: str

    async def send(self, batch: Batch) -> int:
        """Send ``batch``; return the hub's acknowledged seq (at least ``batch.last``) once
        the hub has stored it durably. Raise :class:`TransportError` otherwise."""
        ...

    async def close(self) -> None: ...


@dataclass
class JitteredBackoff:
    """Exponential back-off with "equal jitter": the n-th consecutive failure waits a uniform
    time in ``[d/2, d]`` with ``d = min(cap, base * factor**n)`` (AWS Architecture Blog,
    "Exponential Backoff and Jitter", 2015); half the delay is guaranteed, half is spread."""

    base: float = 0.2
    cap: float = 30.0
    factor: float = 2.0
    rng: random.Random | None = None
    failures: int = 0

    def next_delay(self) -> float:
        d = min(self.cap, self.base * self.factor ** min(self.failures, 64))
        self.failures += 1
        r = self.rng or random
        return d / 2 + r.uniform(0, d / 2)

    def reset(self) -> None:
        self.failures = 0


class EmbeddedTransport:
    """Hands batches to a hub in the same process (``plantmind demo``, benchmarks): the same
    wire bytes and acknowledgement as over the network, without a socket. ``receive`` is the
    hub inbox's ``receive(body, transport) -> acked seq``; it runs in a worker thread because
    it writes to the hub's database."""

    def __init__(
        self,
        receive: Callable[[bytes, str], int],
        destination: str = "embedded",
        heartbeat: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self._receive = receive
        self.destination = destination
        # ``heartbeat(doc)`` hands a heartbeat to the hub (plantmind.sync.heartbeat); by default
        # the inbox's own (``receive`` is usually ``Inbox.receive``), else none
        if heartbeat is None:
            heartbeat = getattr(getattr(receive, "__self__", None), "heartbeat", None)
        self._heartbeat = heartbeat if callable(heartbeat) else None
        self.accepts_heartbeats = self._heartbeat is not None

    async def send(self, batch: Batch) -> int:
        try:
            return await asyncio.to_thread(self._receive, batch.body, "embedded")
        except Exception as exc:  # the in-process hub failing is a failed send, like a 5xx
            raise TransportError(f"embedded hub refused the batch: {exc}") from exc

    async def send_heartbeat(self, beat: dict[str, Any]) -> None:
        """Hand a heartbeat to the in-process hub (a no-op without a ``heartbeat`` hook)."""
        if self._heartbeat is None:
            return
        try:
            await asyncio.to_thread(self._heartbeat, beat)
        except Exception as exc:
            raise TransportError(f"embedded hub refused the heartbeat: {exc}") from exc

    async def close(self) -> None:
        return None


class Forwarder:
    """Forwards ``outbox`` to the hub through ``transport`` (see the module docstring).

    ``batch_events``/``batch_bytes`` bound one batch; ``idle_s`` is how often an empty outbox
    is polled; ``backoff`` paces retries; ``clock`` stamps :attr:`last_delivered_at`.
    """

    def __init__(
        self,
        outbox: Outbox,
        transport: Transport,
        *,
        batch_events: int = 2000,
        batch_bytes: int = 1 << 20,
        idle_s: float = 0.05,
        backoff: JitteredBackoff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.transport = transport
        self.batch_events = batch_events
        self.batch_bytes = batch_bytes
        self.idle_s = idle_s
        self.backoff = backoff or JitteredBackoff()
        self.sent_batches = 0
        self.failed_attempts = 0
        self.last_error: str | None = None
        #: when the hub last acknowledged a batch (``clock``'s time; the heartbeat reports it)
        self.last_delivered_at: float | None = None
        self.clock = clock

    async def step(self) -> int:
        """Send the oldest batch once; returns events delivered (0: nothing queued).
        Raises :class:`TransportError` if the hub did not acknowledge it."""
        batch = await asyncio.to_thread(self.outbox.next_batch, self.batch_events, self.batch_bytes)
        if batch is None:
            return 0
        t0 = time.monotonic()
        record = AuditRecord(
            ts=time.time(),
            destination=self.transport.destination,
            site=batch.site,
            first_seq=batch.first,
            last_seq=batch.last,
            events=len(batch),
            categories=batch.category_counts(),
            bytes=len(batch.body),
            outcome="delivered",
            duration_ms=0.0,
        )
        try:
            upto = await self.transport.send(batch)
            if upto < batch.last:
                raise TransportError(
                    f"hub acknowledged {upto}, below the batch's last {batch.last}"
                )
        except TransportError as exc:
            record.outcome = "failed"
            record.error = str(exc)
            record.duration_ms = round((time.monotonic() - t0) * 1000, 2)
            await asyncio.wrap_future(self.outbox.record_attempt(record))
            raise
        record.acked_upto = upto
        record.duration_ms = round((time.monotonic() - t0) * 1000, 2)
        # Only the batch's own range leaves: an ack above it (a hub that already has later
        # events from an earlier run) must not delete events this forwarder has not sent.
        removed = await asyncio.wrap_future(self.outbox.ack(batch.last, record))
        self.sent_batches += 1
        self.last_delivered_at = self.clock()
        return removed

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Forward until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                n = await self.step()
            except TransportError as exc:
                self.failed_attempts += 1
                self.last_error = str(exc)
                delay = self.backoff.next_delay()
                log.warning("sending to %s failed (%s); retrying in %.2f s",
                            self.transport.destination, exc, delay)  # fmt: skip
                await _wait(stop, delay)
                continue
            self.backoff.reset()
            if n == 0:
                await _wait(stop, self.idle_s)

    async def drain(self, timeout: float = 60.0) -> bool:
        """Forward until the outbox is empty (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if await self.step() == 0:
                    return True
                self.backoff.reset()
            except TransportError as exc:
                self.last_error = str(exc)
                await asyncio.sleep(
                    min(self.backoff.next_delay(), max(deadline - time.monotonic(), 0))
                )
        return False


async def _wait(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)
