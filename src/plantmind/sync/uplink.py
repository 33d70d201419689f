"""A site's uplink to the hub: outbox + producers + forwarder, wired to an edge node.

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
from plantmind.sync.outbox import Outbox
from plantmind.sync.producers import AlertForwarder, HealthSummaries, PeriodicAggregates

__all__ = ["SiteUplink"]


class SiteUplink:
    """Everything a site sends, from ``<home>/outbox.db`` through ``transport``.

    ``clock`` gives plant time for the periodic aggregates (the node's latest sample time
    when it runs on replayed or simulated data).
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
        **forwarder_options: Any,
    ) -> None:
        self.outbox = Outbox(Path(home) / "outbox.db", site_id, policy)
        self.transport = transport
        self.forwarder = Forwarder(self.outbox, transport, **forwarder_options)
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
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        fwd = asyncio.create_task(self.forwarder.run(self._stop))
        try:
            while not self._stop.is_set():
                if self.aggregates is not None:
                    await asyncio.to_thread(self.aggregates.emit, self.clock())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.aggregate_every_s)
        finally:
            self._stop.set()
            await fwd

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
        return out

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self.transport.close()
        self.outbox.close()
