"""MQTT transport (aiomqtt, QoS 1): batches to the hub through a broker, acknowledged by the
hub end to end.

Topics (``prefix`` defaults to ``plantmind/v1``):

* ``<prefix>/batch/<site>``: a site publishes one batch per message (QoS 1);
* ``<prefix>/ack/<site>``: the hub publishes ``{"upto": seq}`` (QoS 1) after the batch is
  committed to its store.

Why an application ack rather than the broker's PUBACK: a PUBACK only says the broker has the
message; if no hub is subscribed at that moment (hub down, restarting) the broker drops it,
and a site that took PUBACK as delivery would lose the batch. With the hub's ack a batch is
removed from the outbox only once it is in the fleet store; a batch lost anywhere on the way
is sent again after ``ack_timeout_s`` and deduplicated by ``(site, seq)``. So: nothing lost,
nothing stored twice.

The ack topic is not authenticated, so the site believes an ack only where it can be true: a
well-formed ``upto`` (an integer in ``1..2**63-1``) that falls inside a batch this transport
has published and not yet seen acknowledged. Anything else (above every seq in flight, for no
batch in flight, a float, a string, a huge number) is ignored with a warning naming the site
and the claimed seq, so a forged ``{"upto": 9e18}`` cannot empty the outbox. Limits: an ack
forged for exactly the seqs in flight is still believed, so the ack topic must be protected
by broker ACLs, and sites should only be allowed to publish to their own batch topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import aiomqtt

from plantmind.sync.forwarder import JitteredBackoff, TransportError
from plantmind.sync.wire import MAX_SEQ, Batch, WireError, excerpt

__all__ = ["HubMqttConfig", "MqttHubListener", "MqttTransport"]

log = logging.getLogger(__name__)

# An ack is {"upto": <seq>}: a few dozen bytes. Anything much longer is not one, and is not
# parsed (a deeply nested payload would exhaust the JSON parser's recursion).
_MAX_ACK_BYTES = 256
# Batches published and not yet acknowledged that an ack may still answer: the one in flight
# and a few earlier tries of it whose ack may arrive late.
_MAX_UNACKED = 16


@dataclass(frozen=True)
class HubMqttConfig:
    """Broker connection: address, credentials, TLS. ``password`` is never logged or shown
    in the audit log (it is excluded from the repr)."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    tls_insecure: bool = False
    prefix: str = "plantmind/v1"
    keepalive_s: int = 30

    @property
    def uses_tls(self) -> bool:
        """TLS is on when asked for, and also when a CA or client certificate is given: such
        a setting without ``tls`` would otherwise be ignored and the password sent in clear
        text (``central run --mqtt-ca ca.pem`` without ``--mqtt-tls``)."""
        return self.tls or self.ca_file is not None or self.cert_file is not None

    @property
    def destination(self) -> str:
        scheme = "mqtts" if self.uses_tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}/{self.prefix}"

    def client(self, identifier: str | None = None) -> aiomqtt.Client:
        ctx = None
        if self.uses_tls:
            # with no ca_file the system's CAs are used; OpenSSL's $SSL_CERT_FILE picks another
            # bundle (how `edge run --hub mqtts://` trusts a private CA)
            ctx = ssl.create_default_context(cafile=self.ca_file)
            if self.cert_file:
                ctx.load_cert_chain(self.cert_file, self.key_file)
            if self.tls_insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            tls_context=ctx,
            tls_insecure=self.tls_insecure if ctx is not None else None,
            keepalive=self.keepalive_s,
            timeout=10,
        )

    def batch_topic(self, site: str) -> str:
        return f"{self.prefix}/batch/{site}"

    def ack_topic(self, site: str) -> str:
        return f"{self.prefix}/ack/{site}"


class MqttTransport:
    """A site's side: publish batches, wait for the hub's ack (see the module docstring)."""

    def __init__(self, config: HubMqttConfig, site: str, *, ack_timeout_s: float = 10.0) -> None:
        self.config = config
        self.site = site
        self.ack_timeout_s = ack_timeout_s
        self.destination = config.destination
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._acked = -1  # the highest seq the hub has acknowledged to this transport
        # (first, last) of the batches published and not yet acknowledged, oldest first
        self._unacked: list[tuple[int, int]] = []
        self._ack_event = asyncio.Event()

    async def _connect(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        client = self.config.client()
        try:
            await client.__aenter__()
            # Subscribe before the first publish, or the ack could come before we listen.
            await client.subscribe(self.config.ack_topic(self.site), qos=1)
        except aiomqtt.MqttError as exc:
            raise TransportError(
                f"cannot connect to the broker {self.destination}: {exc}"
            ) from None
        self._client = client
        self._reader = asyncio.create_task(self._read_acks(client))
        return client

    async def _read_acks(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                upto = _parse_ack(message.payload)
                if upto is None:
                    log.warning("malformed ack for site %s on %s ignored: %s",
                                self.site, message.topic, excerpt(message.payload))  # fmt: skip
                    continue
                self._take_ack(upto)
        except aiomqtt.MqttError:
            pass  # the next send notices and reconnects

    def _take_ack(self, upto: int) -> None:
        """Believe ``upto`` only if it can be true: inside a batch published and not yet
        acknowledged (see the module docstring)."""
        if upto == self._acked:
            # QoS 1 may deliver the hub's ack twice, and a re-sent batch is acked again
            log.debug("duplicate ack for site %s up to seq %d", self.site, upto)
            return
        if upto < self._acked or not any(f <= upto <= last for f, last in self._unacked):
            highest = max((last for _, last in self._unacked), default=None)
            if highest is None:
                why = "no batch is in flight"
            elif upto > highest:
                why = f"the seqs in flight end at {highest}"
            else:
                why = "no batch in flight holds that seq (already acknowledged?)"
            log.warning("ignored an ack for site %s claiming seq %d: %s", self.site, upto, why)
            return
        self._acked = upto
        self._unacked = [(f, last) for f, last in self._unacked if last > upto]
        self._ack_event.set()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    async def send(self, batch: Batch) -> int:
        client = await self._connect()
        # Recorded before publishing: the hub's ack can arrive before publish() returns.
        sent = (batch.first, batch.last)
        if sent not in self._unacked:
            self._unacked = [*self._unacked, sent][-_MAX_UNACKED:]
        try:
            await client.publish(
                self.config.batch_topic(self.site), batch.body, qos=1, timeout=self.ack_timeout_s
            )
        except aiomqtt.MqttError as exc:
            await self._drop()
            raise TransportError(f"publish to {self.destination} failed: {exc}") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ack_timeout_s
        while self._acked < batch.last:
            if self._reader is None or self._reader.done():
                await self._drop()
                raise TransportError("lost the broker connection while waiting for the hub's ack")
            self._ack_event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TransportError(
                    f"no ack from the hub within {self.ack_timeout_s:.0f} s (hub down?)"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ack_event.wait(), min(remaining, 1.0))
        return self._acked

    async def close(self) -> None:
        await self._drop()


def _parse_ack(payload: object) -> int | None:
    """The ``upto`` of an ack payload, or None unless it is ``{"upto": <integer in
    1..2**63-1>}`` (a float such as ``9e18`` is not a seq)."""
    if not isinstance(payload, (bytes, bytearray)) or len(payload) > _MAX_ACK_BYTES:
        return None
    try:
        doc = json.loads(bytes(payload))
    except (ValueError, RecursionError):
        return None
    upto = doc.get("upto") if isinstance(doc, dict) else None
    # bool is an int to Python, not a seq
    if type(upto) is not int or not 1 <= upto <= MAX_SEQ:
        return None
    return upto


class MqttHubListener:
    """The hub's side: take batches from ``<prefix>/batch/+``, store them through
    ``receive(body, "mqtt", site) -> acked seq`` (run in a worker thread; it must refuse a
    body whose site is not the topic's, so one site cannot write as another), publish the ack.
    Reconnects with back-off when the broker goes away."""

    def __init__(
        self,
        config: HubMqttConfig,
        receive: Callable[[bytes, str, str | None], int],
        *,
        client_id: str | None = None,
    ) -> None:
        self.config = config
        self.receive = receive
        self.client_id = client_id
        self.batches = 0
        self.rejected = 0
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        backoff = JitteredBackoff(base=0.5, cap=15.0)
        while not stop.is_set():
            try:
                async with self.config.client(self.client_id) as client:
                    await client.subscribe(f"{self.config.prefix}/batch/+", qos=1)
                    self.connected.set()
                    backoff.reset()
                    consume = asyncio.create_task(self._consume(client))
                    stopper = asyncio.create_task(stop.wait())
                    done, _ = await asyncio.wait(
                        {consume, stopper}, return_when=asyncio.FIRST_COMPLETED
                    )
                    for t in (consume, stopper):
                        t.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await t
                    if consume in done and consume.exception() is not None:
                        raise consume.exception()  # type: ignore[misc]
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                delay = backoff.next_delay()
                log.warning("hub MQTT connection to %s lost (%s); reconnecting in %.1f s",
                            self.config.destination, exc, delay)  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        self.connected.clear()

    async def _consume(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            site = str(message.topic).rsplit("/", 1)[-1]
            try:
                body = bytes(message.payload)
                upto = await asyncio.to_thread(self.receive, body, "mqtt", site)
            except WireError as exc:
                # A malformed batch is not acknowledged; it is logged and counted. The site
                # keeps retrying it, which shows up in its audit log as failed sends.
                self.rejected += 1
                log.error("rejected a malformed batch from %s: %s", site, exc)
                continue
            except Exception:
                self.rejected += 1
                log.exception("storing a batch from %s failed; not acknowledged", site)
                continue
            self.batches += 1
            await client.publish(
                self.config.ack_topic(site), json.dumps({"upto": upto}).encode(), qos=1
            )
