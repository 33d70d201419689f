"""Site heartbeats: a small status document a site sends to the hub every ``interval_s``,
beside (not inside) the outbox, so the hub knows the site is alive and how far behind it is
even while batches are held back.

A heartbeat is one JSON object (``POST /api/heartbeat`` with the site's token)::

    {"v": 1, "site": "S1", "ts": 1767571200.0, "interval_s": 30.0,
     "outbox": {"queued": 12, "queued_bytes": 3400, "oldest_seq": 17, "oldest_ts": 1767571100.0},
     "last_forwarded": 1767571190.0, "failed_attempts": 0, "last_error": null,
     "models": [{"name": "detector", "version": 3}], "version": "0.9.0"}

It is not queued: a heartbeat is about *now*, and one that waited behind a backlog would say
nothing true when it arrived; a lost one is replaced by the next. It never carries data of the
plant, only counts and times (and the model names, which the policy's ``models`` category
governs as it does the inventory). Batches
keep their wire format (:mod:`plantmind.sync.wire`) unchanged: a hub that predates heartbeats
answers 404, the sender stops sending them and forwarding goes on as before.

``models`` is read from the site's model folder (``<home>/models/current.json``, written by
:class:`plantmind.models.agent.SiteModels`) when there is one: name and version of each model
the site runs, and only when the egress policy allows ``models``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plantmind import __version__
from plantmind.sync.forwarder import Forwarder, HeartbeatUnsupported, TransportError
from plantmind.sync.outbox import Outbox

__all__ = [
    "HEARTBEAT_VERSION",
    "HeartbeatIn",
    "HeartbeatSender",
    "HeartbeatUnsupported",
    "SupportsHeartbeat",
    "read_models",
]

log = logging.getLogger(__name__)

HEARTBEAT_VERSION = 1
_SITE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


class SupportsHeartbeat(Protocol):
    """A transport that can deliver a heartbeat (HTTP and in-process do; MQTT does not)."""

    async def send_heartbeat(self, beat: dict[str, Any]) -> None: ...


def read_models(models_home: Path | None) -> list[dict[str, Any]]:
    """Name and version of each model in ``<models_home>/current.json`` ([] without one)."""
    if models_home is None:
        return []
    try:
        doc = json.loads((Path(models_home) / "current.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(doc, dict):
        return []
    out = []
    for name, entry in sorted(doc.items()):
        if isinstance(entry, dict) and "version" in entry:
            out.append({"name": str(name), "version": entry["version"]})
    return out


class HeartbeatSender:
    """Builds and sends the heartbeats of ``outbox``'s site (see the module docstring).

    ``forwarder`` supplies the last delivery and the failures; ``clock`` the site's time
    (injectable for tests); ``models_home`` the model folder to report versions from."""

    def __init__(
        self,
        outbox: Outbox,
        forwarder: Forwarder | None,
        transport: Any,
        *,
        interval_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        models_home: Path | None = None,
    ) -> None:
        if not math.isfinite(interval_s) or not 1.0 <= interval_s <= 86_400.0:
            raise ValueError(f"heartbeat interval must be 1..86400 s, got {interval_s!r}")
        self.outbox = outbox
        self.forwarder = forwarder
        self.transport = transport
        self.interval_s = float(interval_s)
        self.clock = clock
        self.models_home = models_home
        self.sent = 0
        self.failed = 0
        self.supported = callable(getattr(transport, "send_heartbeat", None)) and bool(
            getattr(transport, "accepts_heartbeats", True)
        )

    def build(self) -> dict[str, Any]:
        """The heartbeat as of now (counts from the outbox's running totals: no table scan,
        however long the backlog)."""
        oldest = self.outbox.oldest()
        fwd = self.forwarder
        return {
            "v": HEARTBEAT_VERSION,
            "site": self.outbox.site_id,
            "ts": self.clock(),
            "interval_s": self.interval_s,
            "outbox": {
                "queued": len(self.outbox),
                "queued_bytes": self.outbox.queued_bytes,
                "oldest_seq": None if oldest is None else oldest[0],
                "oldest_ts": None if oldest is None else oldest[1],
            },
            "last_forwarded": None if fwd is None else fwd.last_delivered_at,
            "failed_attempts": 0 if fwd is None else fwd.failed_attempts,
            "last_error": None if fwd is None or fwd.last_error is None else fwd.last_error[:200],
            # which models run: only where the policy lets the inventory leave (egress: models)
            "models": read_models(self.models_home) if self.outbox.gate.allows("models") else [],
            "version": __version__,
        }

    async def beat(self) -> bool:
        """Send one heartbeat; False if it did not arrive (it is not retried: the next one
        replaces it)."""
        if not self.supported:
            return False
        beat = await asyncio.to_thread(self.build)
        try:
            await self.transport.send_heartbeat(beat)
        except HeartbeatUnsupported as exc:
            log.warning("the hub takes no heartbeats (%s); not sending them", exc)
            self.supported = False
            return False
        except TransportError as exc:
            self.failed += 1
            log.info("heartbeat to the hub failed: %s", exc)
            return False
        self.sent += 1
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Send a heartbeat now and every ``interval_s`` until ``stop`` is set."""
        while not stop.is_set() and self.supported:
            await self.beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)


class _Outbox(BaseModel):
    model_config = ConfigDict(extra="ignore")
    queued: int = Field(default=0, ge=0, le=2**63 - 1)
    queued_bytes: int = Field(default=0, ge=0, le=2**63 - 1)
    oldest_seq: int | None = Field(default=None, ge=1, le=2**63 - 1)
    oldest_ts: float | None = Field(default=None, allow_inf_nan=False)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=128)
    version: int | str

    @field_validator("version")
    @classmethod
    def _short(cls, v: int | str) -> int | str:
        if isinstance(v, str) and len(v) > 64:
            raise ValueError("a model version is at most 64 characters")
        return v


class HeartbeatIn(BaseModel):
    """A heartbeat as the hub accepts it (see the module docstring); unknown fields are
    ignored, so a newer site can add some."""

    model_config = ConfigDict(extra="ignore")
    v: int = Field(default=HEARTBEAT_VERSION, ge=1, le=HEARTBEAT_VERSION)
    site: str = Field(min_length=1, max_length=128)
    ts: float = Field(allow_inf_nan=False)
    interval_s: float = Field(default=30.0, ge=1.0, le=86_400.0)
    outbox: _Outbox = Field(default_factory=lambda: _Outbox())
    last_forwarded: float | None = Field(default=None, allow_inf_nan=False)
    failed_attempts: int = Field(default=0, ge=0, le=2**63 - 1)
    last_error: str | None = Field(default=None, max_length=400)
    models: list[_Model] = Field(default_factory=list, max_length=100)
    version: str | None = Field(default=None, max_length=64)

    @field_validator("site")
    @classmethod
    def _site_id(cls, v: str) -> str:
        if not _SITE.match(v):
            raise ValueError("a site id is 1..128 of A-Z a-z 0-9 _ . : -")
        return v
