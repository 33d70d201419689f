"""HTTP transport: POST each batch to the hub's ``/api/ingest`` with a bearer token.

The hub answers 200 with ``{"acked_upto": seq, ...}`` after the batch is committed; any other
answer, a timeout or a broken connection is a failed send, retried by the forwarder (the hub
deduplicates, so a batch whose reply was lost is harmless to send again). An ``acked_upto``
that is not an integer seq is a failed send too; the forwarder removes only the batch's own
range whatever the hub acknowledged.
"""

from __future__ import annotations

from typing import Any

import httpx

from plantmind.sync.forwarder import HeartbeatUnsupported, TransportError
from plantmind.sync.wire import MAX_SEQ, Batch, excerpt

__all__ = ["HttpTransport"]


class HttpTransport:
    """Sends batches to the hub at ``base_url`` (e.g. ``http://hub:8090``) with ``token``
    (role operator or higher). ``verify`` is httpx's TLS verification (a CA bundle path or
    False for a test hub)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        verify: bool | str = True,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/ingest"
        self.heartbeat_url = base_url.rstrip("/") + "/api/heartbeat"
        self.destination = self.url  # no credentials: the token travels in a header
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._client = httpx.AsyncClient(timeout=timeout_s, verify=verify)

    async def send(self, batch: Batch) -> int:
        try:
            r = await self._client.post(self.url, content=batch.body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        if r.status_code != 200:
            raise TransportError(f"hub answered {r.status_code}: {r.text[:200]}")
        try:
            upto = r.json()["acked_upto"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TransportError(f"hub reply without acked_upto: {exc}") from None
        # a seq is an integer (not a float such as 9e18, not a bool) the hub's BIGINT holds
        if type(upto) is not int or not 1 <= upto <= MAX_SEQ:
            raise TransportError(f"hub reply with an invalid acked_upto: {excerpt(upto)}")
        return upto

    async def send_heartbeat(self, beat: dict[str, Any]) -> None:
        """POST a heartbeat (:mod:`plantmind.sync.heartbeat`) to ``/api/heartbeat``; a hub
        that answers 404 or 405 predates heartbeats (:class:`HeartbeatUnsupported`)."""
        try:
            r = await self._client.post(self.heartbeat_url, json=beat, headers=self._headers)
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        if r.status_code in (404, 405):
            raise HeartbeatUnsupported(f"hub answered {r.status_code} to a heartbeat")
        if r.status_code != 200:
            raise TransportError(f"hub answered {r.status_code}: {r.text[:200]}")

    async def close(self) -> None:
        await self._client.aclose()
