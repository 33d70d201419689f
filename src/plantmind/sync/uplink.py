"""A site's uplink to the hub: outbox + producers + forwarder + heartbeats, wired to an edge
node.

The node is used through its public attributes only (``listeners``, ``store``, ``index``), so
this capability does not import the edge app.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plantmind.core.plant import EgressPolicy
from plantmind.sync.forwarder import Forwarder, Transport
from plantmind.sync.heartbeat import HeartbeatSender
from plantmind.sync.outbox import Outbox
from plantmind.sync.producers import (
    AlertForwarder,
    HealthSummaries,
    InspectionCounts,
    ModelInventory,
    PeriodicAggregates,
)

__all__ = ["SiteUplink"]


class SiteUplink:
    """Everything a site sends, from ``<home>/outbox.db`` through ``transport``.

    ``clock`` gives plant time for the periodic aggregates (the node's latest sample time
    when it runs on replayed or simulated data). ``heartbeat_s`` is the heartbeat interval
    (:mod:`plantmind.sync.heartbeat`; sent by transports that can, with the site's wall
    time from ``wall_clock``); ``inspect_every_s`` how often the inspection counts are
    summarised (:class:`~plantmind.sync.producers.InspectionCounts`, from
    ``<home>/vision/inspections.db`` when the site has stations).
    """

    def __init__(
        self,
        home: Path,
        site_id: str,
        transport: Transport,
        policy: EgressPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
        aggregate_every_s: float = 5.0,
        heartbeat_s: float = 30.0,
        inspect_every_s: float = 60.0,
        wall_clock: Callable[[], float] = time.time,
        **forwarder_options: Any,
    ) -> None:
        home = Path(home)
        self.outbox = Outbox(home / "outbox.db", site_id, policy)
        self.transport = transport
        forwarder_options.setdefault("clock", wall_clock)
        self.forwarder = Forwarder(self.outbox, transport, **forwarder_options)
        self.heartbeat = HeartbeatSender(
            self.outbox,
            self.forwarder,
            transport,
            interval_s=heartbeat_s,
            clock=wall_clock,
            models_home=home / "models",
        )
        self.inspections = InspectionCounts(self.outbox, home / "vision" / "inspections.db")
        #: what the site runs, from the model agent's folder (sync/producers.py)
        self.models = ModelInventory(self.outbox, home / "models")
        self.inspect_every_s = inspect_every_s
        self.alerts = AlertForwarder(self.outbox)
        #: add to a health service's listeners to send its summaries (health/service.py)
        self.health = HealthSummaries(self.outbox)
        self.aggregates: PeriodicAggregates | None = None
        self.clock = clock
        self.aggregate_every_s = aggregate_every_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def attach(self, node: Any) -> None:
        """Listen to ``node``'s alerts and summarise its stored aggregates; from now on the
        plant's sensitivity marks decide what of each event leaves (sync/egress.py)."""
        index = node.index
        # bound before the first listener can fire, so no event escapes unfiltered
        self.outbox.gate.bind(index)
        node.listeners.append(self.alerts)
        signals = [
            (sid, index.asset_ids[index.asset_of[i]]) for i, sid in enumerate(index.signal_ids)
        ]
        self.aggregates = PeriodicAggregates(self.outbox, node.store, signals)

    def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def pause(self) -> None:
        """Stop forwarding and heartbeats (a maintenance window, a test of the hub's stale
        rule); the outbox keeps taking events. :meth:`start` resumes."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        stop = self._stop
        fwd = asyncio.create_task(self.forwarder.run(stop))
        beats = asyncio.create_task(self.heartbeat.run(stop))
        next_inspect = 0.0
        try:
            while not stop.is_set():
                if self.aggregates is not None:
                    await asyncio.to_thread(self.aggregates.emit, self.clock())
                await asyncio.to_thread(self.models.emit, time.time())
                if time.monotonic() >= next_inspect:
                    await asyncio.to_thread(self.inspections.emit)
                    next_inspect = time.monotonic() + self.inspect_every_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.aggregate_every_s)
        finally:
            stop.set()
            await fwd
            await beats

    async def finish(self, now: float | None = None, timeout: float = 30.0) -> bool:
        """Stop the background loop, queue the last finished periods and send everything
        queued; True if the outbox is empty afterwards."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.alerts.pending is not None:
            await asyncio.wrap_future(self.alerts.pending)
        if self.health.pending is not None:
            await asyncio.wrap_future(self.health.pending)
        if self.aggregates is not None:
            final = self.clock() if now is None else now
            await asyncio.to_thread(self.aggregates.emit, final, 0.0)
        return await self.forwarder.drain(timeout)

    def stats(self) -> dict[str, Any]:
        out = self.outbox.stats().to_dict()
        out["destination"] = self.transport.destination
        out["failed_attempts"] = self.forwarder.failed_attempts
        out["last_forwarded"] = self.forwarder.last_delivered_at
        out["heartbeats_sent"] = self.heartbeat.sent
        return out

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self.transport.close()
        self.outbox.close()
