"""Real peers for the connector tests, each on 127.0.0.1: a pymodbus server and an asyncua server
started per test on a free port, a TCP proxy in front of the shared Mosquitto broker so that a
test can make the broker "go away and come back", and a collector that consumes a source."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Callable

from plantmind.connectors.base import Source
from plantmind.core.types import SampleBatch

MOSQUITTO = ("127.0.0.1", 1883)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; ``stop()`` drops every connection and stops
    listening (the peer went away), ``start()`` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_w))

        async def pump(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                w.close()

        for t in (
            asyncio.create_task(pump(reader, up_w)),
            asyncio.create_task(pump(up_r, writer)),
        ):
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)


class Collector:
    """Consumes a source in the background and keeps every sample, for assertions."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.batches: list[SampleBatch] = []
        self._new = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for b in self.source.batches():
            self.batches.append(b)
            self._new.set()

    def samples(self) -> list[tuple[int, float, float]]:
        return [
            (int(s), float(t), float(v))
            for b in self.batches
            for s, t, v in zip(b.signal, b.ts, b.value, strict=True)
        ]

    async def wait_for(
        self, pred: Callable[[list[tuple[int, float, float]]], bool], timeout: float = 10.0
    ) -> list[tuple[int, float, float]]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.samples()
            if pred(got):
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; samples so far: {got[-20:]}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=min(left, 0.2))

    async def close(self) -> None:
        await self.source.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, timeout=5.0)


class ModbusPeer:
    """A pymodbus TCP server (device id ``unit``) with 100 holding and 20 input registers,
    addresses 0-based; registers outside those ranges answer *illegal data address*."""

    def __init__(self, unit: int = 1) -> None:
        self.unit = unit
        self.port = free_port()
        self.holding = [0] * 100
        self.input = [0] * 20
        self._server = None

    async def start(self) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        bits = [SimData(0, count=1, values=False, datatype=DataType.BITS)]
        regs = lambda values: [SimData(0, values=list(values), datatype=DataType.REGISTERS)]  # noqa: E731
        device = SimDevice(self.unit, simdata=(bits, bits, regs(self.holding), regs(self.input)))
        self._server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def set(self, table: str, address: int, words: list[int]) -> None:
        store = self.holding if table == "holding" else self.input
        store[address : address + len(words)] = words
        if self._server is not None:
            fc = 16 if table == "holding" else 4  # function codes select the table
            await self._server.async_setValues(self.unit, fc, address, words)


OPCUA_VARIABLES = {  # browse name → initial value; node ids are ns=2;s=Pump.<name>
    "Flow": 0.0,
    "Pressure": 0.0,
    "Current": 0.0,
    "Vibration": 0.0,
}


class OpcUaPeer:
    """An asyncua server at ``opc.tcp://127.0.0.1:<port>/plantmind/`` with an object ``Pump``
    holding Double variables ``ns=2;s=Pump.<name>``. ``users`` (name → password) switches
    anonymous access off; ``certificate``/``private_key`` switch to Basic256Sha256
    SignAndEncrypt only."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        certificate: str | None = None,
        private_key: str | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/plantmind/"
        self.users = users
        self.certificate = certificate
        self.private_key = private_key
        self.values = dict(OPCUA_VARIABLES)
        self.server = None
        self.nodes: dict[str, object] = {}

    async def start(self) -> None:
        from asyncua import Server, ua
        from asyncua.crypto.permission_rules import User, UserRole

        users = self.users

        class _Users:
            def get_user(self, iserver, username=None, password=None, certificate=None):
                if users is None:
                    return User(role=UserRole.User)
                if username in users and users[username] == password:
                    return User(role=UserRole.User)
                return None

        server = Server(user_manager=_Users())
        await server.init()
        server.set_endpoint(self.url)
        if users is not None:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        if self.certificate:
            await server.load_certificate(self.certificate)
            await server.load_private_key(self.private_key)
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace("urn:plantmind:test")
        pump = await server.nodes.objects.add_object(ua.NodeId("Pump", ns), f"{ns}:Pump")
        self.nodes = {}
        for name, value in self.values.items():
            var = await pump.add_variable(
                ua.NodeId(f"Pump.{name}", ns),
                f"{ns}:{name}",
                ua.Variant(value, ua.VariantType.Double),
            )
            self.nodes[name] = var
        await server.start()
        self.server = server

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def write(self, name: str, value: float, ts: float) -> None:
        from datetime import UTC, datetime

        from asyncua import ua

        self.values[name] = value
        if self.server is None:
            return
        dv = ua.DataValue(
            ua.Variant(value, ua.VariantType.Double),
            SourceTimestamp=datetime.fromtimestamp(ts, UTC),
            ServerTimestamp=datetime.now(UTC),
        )
        await self.nodes[name].write_value(dv)

    async def delete(self, name: str) -> None:
        await self.server.delete_nodes([self.nodes[name]])


class SparkplugEdgeNode:
    """A Sparkplug B edge node publishing straight to the broker: births with aliases, data by
    alias with per-metric timestamps and a running ``seq``, deaths; it answers a rebirth
    request (NCMD ``Node Control/Rebirth``) with new births. ``metrics`` maps metric names to
    aliases; with ``device`` they are the device's metrics, else the node's."""

    def __init__(
        self,
        broker: tuple[str, int],
        group: str,
        node: str,
        metrics: dict[str, int],
        device: str | None = None,
    ) -> None:
        from plantmind.connectors.sparkplug import NAMESPACE

        self.broker = broker
        self.group = group
        self.node = node
        self.device = device
        self.metrics = metrics
        self.values: dict[str, tuple[float, float]] = {name: (0.0, time.time()) for name in metrics}
        self.seq = 0
        self.bd_seq = 0
        self.rebirth_requests = 0
        self.base = f"{NAMESPACE}/{group}"
        self._client = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def topic(self, mtype: str) -> str:
        if mtype.startswith("D"):
            return f"{self.base}/{mtype}/{self.node}/{self.device}"
        return f"{self.base}/{mtype}/{self.node}"

    def _next_seq(self) -> int:
        s = self.seq
        self.seq = (self.seq + 1) % 256
        return s

    def _death_payload(self) -> bytes:
        from plantmind.connectors.sparkplug import DataType, MetricSpec, encode_payload

        return encode_payload([MetricSpec("bdSeq", value=self.bd_seq, datatype=DataType.UInt64)])

    async def start(self) -> None:
        import aiomqtt

        self._stack = contextlib.AsyncExitStack()
        will = aiomqtt.Will(self.topic("NDEATH"), self._death_payload())
        self._client = await self._stack.enter_async_context(
            aiomqtt.Client(*self.broker, will=will, identifier=unique("edge"))
        )
        await self._client.subscribe(self.topic("NCMD"), qos=1)
        self._task = asyncio.create_task(self._listen())
        await self.birth()

    async def _listen(self) -> None:
        from plantmind.connectors.sparkplug import REBIRTH_METRIC, Payload, metric_value

        async for msg in self._client.messages:
            p = Payload.FromString(msg.payload)
            if any(m.name == REBIRTH_METRIC and metric_value(m) for m in p.metrics):
                self.rebirth_requests += 1
                await self.birth()

    async def birth(self) -> None:
        from plantmind.connectors.sparkplug import DataType, MetricSpec, encode_payload

        async with self._lock:
            self.seq = 0
            specs = [
                MetricSpec(name, alias, v, DataType.Double, round(t * 1000))
                for name, alias in self.metrics.items()
                for v, t in [self.values[name]]
            ]
            node_metrics = [MetricSpec("bdSeq", value=self.bd_seq, datatype=DataType.UInt64)]
            if self.device is None:
                node_metrics += specs
            await self._client.publish(
                self.topic("NBIRTH"), encode_payload(node_metrics, seq=self._next_seq()), qos=1
            )
            if self.device is not None:
                await self._client.publish(
                    self.topic("DBIRTH"), encode_payload(specs, seq=self._next_seq()), qos=1
                )

    async def data(
        self, values: dict[str, float], ts: float, *, alias: dict[str, int] | None = None
    ) -> None:
        from plantmind.connectors.sparkplug import DataType, MetricSpec, encode_payload

        async with self._lock:
            for name, v in values.items():
                self.values[name] = (v, ts)
            aliases = alias or self.metrics
            specs = [
                MetricSpec(None, aliases[name], v, DataType.Double, round(ts * 1000))
                for name, v in values.items()
            ]
            mtype = "NDATA" if self.device is None else "DDATA"
            await self._client.publish(
                self.topic(mtype), encode_payload(specs, seq=self._next_seq()), qos=1
            )

    async def raw(self, mtype: str, payload: bytes) -> None:
        await self._client.publish(self.topic(mtype), payload, qos=1)

    async def skip_seq(self, n: int = 3) -> None:
        """Lose ``n`` messages: the next data message shows a gap."""
        self.seq = (self.seq + n) % 256

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._stack is not None:
            # a client stuck in its disconnect (seen once under load) must not hang teardown
            with contextlib.suppress(Exception, TimeoutError):
                async with asyncio.timeout(5):
                    await self._stack.aclose()
        self._stack = None


def make_certificate(
    directory: str,
    name: str,
    *,
    uri: str | None = None,
    issuer: tuple[object, object] | None = None,
    ca: bool = False,
) -> tuple[str, str, object, object]:
    """A PEM certificate and key for ``name`` (subjectAltName: the application ``uri``,
    ``localhost`` and ``127.0.0.1``), self-signed or signed by ``issuer`` (cert, key);
    returns the two paths and the cert and key objects."""
    import datetime as dt
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName(socket.gethostname()),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    if uri:
        alt.insert(0, x509.UniformResourceIdentifier(uri))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)  # type: ignore[attr-defined]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not ca,
                key_encipherment=not ca,
                data_encipherment=not ca,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    cert_path = Path(directory) / f"{name}.pem"
    key_path = Path(directory) / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path), cert, key
