"""The hub's idempotent inbox: one batch body in, stored exactly once, the seq to
acknowledge out. Every transport (HTTP, MQTT, in-process) goes through :meth:`Inbox.receive`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from plantmind.store.central import CentralStore
from plantmind.sync.wire import WireError, decode_batch

__all__ = ["Inbox", "InboxCounters"]


@dataclass
class InboxCounters:
    batches: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0


class Inbox:
    """Decodes batches and stores them in ``store``; counts what happened."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store
        self.counters = InboxCounters()
        self._lock = threading.Lock()

    def receive(self, body: bytes, transport: str = "http", site: str | None = None) -> int:
        """Store one batch; returns the seq to acknowledge (the batch's last, now durable).
        ``site``, when the transport knows who sent it (an MQTT topic), must match the
        batch's. Raises :class:`~plantmind.sync.wire.WireError` for a malformed batch."""
        try:
            batch_site, events = decode_batch(body)
            if site is not None and batch_site != site:
                raise WireError(f"batch of site {batch_site!r} arrived on the topic of {site!r}")
        except WireError:
            with self._lock:
                self.counters.rejected += 1
            raise
        result = self.store.store_batch(batch_site, events, transport)
        with self._lock:
            self.counters.batches += 1
            self.counters.events += result.inserted
            self.counters.duplicates += result.duplicates
        return result.acked_upto
