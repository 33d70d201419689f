"""The hub's idempotent inbox: one batch body in, stored exactly once, the seq to
acknowledge out. Every transport (HTTP, MQTT, in-process) goes through :meth:`Inbox.receive`;
site heartbeats (:mod:`plantmind.sync.heartbeat`) through :meth:`Inbox.heartbeat`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from plantmind.store.central import CentralStore
from plantmind.sync.heartbeat import HeartbeatIn
from plantmind.sync.wire import WireError, decode_batch, excerpt

__all__ = ["BatchRefusedError", "Inbox", "InboxCounters"]


class BatchRefusedError(WireError):
    """A well-formed batch its sender may not store: another site's, or one holding a category
    the site's egress policy keeps home. HTTP answers 403. A :class:`WireError`, so transports
    that only know that (MQTT) reject it without acknowledging, as before."""


#: ``admit(site, events)`` raises :class:`BatchRefusedError` if the batch may not be stored.
Admit = Callable[[str, list[dict[str, Any]]], None]


@dataclass
class InboxCounters:
    batches: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0


class Inbox:
    """Decodes batches and stores them in ``store``; counts what happened."""

    def __init__(self, store: CentralStore, admit: Admit | None = None) -> None:
        self.store = store
        self.admit = admit
        self.counters = InboxCounters()
        self._lock = threading.Lock()

    def heartbeat(
        self, beat: dict[str, Any] | HeartbeatIn, site: str | None = None
    ) -> dict[str, Any]:
        """Keep a site's heartbeat (validated here: :class:`WireError` naming the problem);
        ``site``, when the transport knows the sender, must be the heartbeat's. Needs a store
        with the fleet views (:class:`plantmind.central.fleet.FleetStore`)."""
        from plantmind.central.fleet import FleetStore

        try:
            hb = beat if isinstance(beat, HeartbeatIn) else HeartbeatIn.model_validate(beat)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(x) for x in first["loc"]) or "heartbeat"
            raise WireError(f"bad heartbeat: {where}: {first['msg']}") from None
        if site is not None and hb.site != site:
            raise BatchRefusedError(
                f"heartbeat of site {excerpt(hb.site)} sent with a token of site {excerpt(site)}"
            )
        if not isinstance(self.store, FleetStore):
            raise WireError("this hub's store keeps no heartbeats (not a FleetStore)")
        return self.store.record_heartbeat(hb.site, hb.model_dump(mode="json"))

    def receive(self, body: bytes, transport: str = "http", site: str | None = None) -> int:
        """Store one batch; returns the seq to acknowledge (the batch's last, now durable).
        ``site``, when the transport knows who sent it (an MQTT topic, the token's site),
        must match the batch's; ``admit`` (if given) checks the rest before anything is
        stored. Raises :class:`~plantmind.sync.wire.WireError` for a malformed batch,
        :class:`BatchRefusedError` for a refused one."""
        try:
            batch_site, events = decode_batch(body)
            if site is not None and batch_site != site:
                via = "arrived on the topic of" if transport == "mqtt" else "sent with a token of"
                # excerpts: both come from the sender, and the message goes back to it
                raise BatchRefusedError(
                    f"batch of site {excerpt(batch_site)} {via} site {excerpt(site)}"
                )
            if self.admit is not None:
                self.admit(batch_site, events)
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
