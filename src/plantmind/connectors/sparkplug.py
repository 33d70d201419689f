"""Sparkplug B host-application side: decodes one edge node's (and optionally one device's)
births, data and deaths into samples, and asks for a rebirth when the message stream has a gap.

Payloads are the protobuf messages of the Sparkplug B schema (``sparkplug_b.proto``, copied
from Eclipse Tahu; ``sparkplug_b_pb2.py`` is generated from it with ``grpcio-tools`` as a dev
step and committed, see the header of the .proto). Section numbers below are those of the
Sparkplug 3.0.0 specification:

* topics are ``spBv1.0/<group>/<type>/<edge node>[/<device>]`` (§4.1);
* NBIRTH/DBIRTH declare every metric with its name, datatype and optional alias; NDATA/DDATA
  may then carry the alias only (§6.4.6 *Metric*, §7.2 aliases), so data are mapped through
  the aliases of the last birth, by name when a name is present;
* every NBIRTH, NDATA, DBIRTH, DDATA and DDEATH of an edge node carries ``seq``, 0–255 and
  wrapping, one more than the previous message of that node (§6.4.1 *Payload*, §7.3): a
  message whose ``seq`` is not the expected one means messages were lost, and the host asks
  for a rebirth by publishing NCMD ``Node Control/Rebirth = true`` (§6.4.13 *NCMD*, §7.4);
* NDEATH (often the broker delivering the node's MQTT Will) carries the ``bdSeq`` of the
  session it ends and is ignored unless it matches the ``bdSeq`` of the current NBIRTH
  (§6.4.8, §7.1); NDEATH marks every metric of the node and its devices stale, DDEATH those
  of the device (§6.4.11). Stale signals are listed in :attr:`SparkplugDecoder.stale` and get
  one NaN sample at the time of death, which the edge's quality gate records as not finite.

Limits: this host does not publish the STATE message of a *primary* host application (§7.5),
so edge nodes that wait for a primary host before publishing will not start for it alone;
Template, DataSet, String and Bytes metrics are not numeric signals and are logged and skipped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from plantmind.connectors import sparkplug_b_pb2 as pb
from plantmind.connectors.live import LiveSource, _describe
from plantmind.connectors.mqtt import client_options
from plantmind.core.connectivity import SparkplugConfig
from plantmind.core.plant import PlantIndex

__all__ = [
    "NAMESPACE",
    "REBIRTH_METRIC",
    "DataType",
    "Decoded",
    "SparkplugDecoder",
    "SparkplugSource",
    "encode_payload",
    "metric_value",
    "parse_topic",
    "rebirth_payload",
]

NAMESPACE = "spBv1.0"
REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"
# the generated protobuf module defines its classes at runtime, so mypy cannot see them
Payload = pb.Payload  # type: ignore[attr-defined]


class DataType:
    """Metric datatype codes (§6.4.16 *Data Types*)."""

    Int8, Int16, Int32, Int64 = 1, 2, 3, 4
    UInt8, UInt16, UInt32, UInt64 = 5, 6, 7, 8
    Float, Double, Boolean, String, DateTime, Text = 9, 10, 11, 12, 13, 14


_SIGNED_INT = {DataType.Int8: 8, DataType.Int16: 16, DataType.Int32: 32}


def metric_value(m: Any) -> float | None:
    """The numeric value of a metric (``Payload.Metric``), or None when it has none.

    Signed 8/16/32-bit integers travel in the unsigned ``int_value`` field and Int64 in the
    unsigned ``long_value`` (two's complement, §6.4.16), so they are sign-extended here.
    """
    if m.HasField("is_null") and m.is_null:
        return None
    which = m.WhichOneof("value")
    if which == "int_value":
        bits = _SIGNED_INT.get(m.datatype)
        v = m.int_value
        if bits is not None and v >= 1 << (bits - 1):
            v -= 1 << bits
        return float(v)
    if which == "long_value":
        v = m.long_value
        if m.datatype == DataType.Int64 and v >= 1 << 63:
            v -= 1 << 64
        return float(v)
    if which == "float_value":
        return float(m.float_value)
    if which == "double_value":
        return float(m.double_value)
    if which == "boolean_value":
        return 1.0 if m.boolean_value else 0.0
    return None


def _set_value(m: Any, value: float | bool | int, datatype: int) -> None:
    if datatype == DataType.Boolean:
        m.boolean_value = bool(value)
    elif datatype == DataType.Float:
        m.float_value = float(value)
    elif datatype == DataType.Double:
        m.double_value = float(value)
    elif datatype in (DataType.Int64, DataType.UInt64, DataType.DateTime):
        m.long_value = int(value) & 0xFFFF_FFFF_FFFF_FFFF
    else:
        bits = _SIGNED_INT.get(datatype, 32)
        m.int_value = int(value) & ((1 << bits) - 1)


@dataclass
class MetricSpec:
    """One metric to encode: name and/or alias, datatype, value, timestamp (epoch ms)."""

    name: str | None = None
    alias: int | None = None
    value: float | bool | int | None = None
    datatype: int = DataType.Double
    timestamp_ms: int | None = None


def encode_payload(
    metrics: Iterable[MetricSpec], *, seq: int | None = None, timestamp_ms: int | None = None
) -> bytes:
    """A serialized Sparkplug B payload (what an edge node publishes)."""
    p = Payload()
    p.timestamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    if seq is not None:
        p.seq = seq
    for spec in metrics:
        m = p.metrics.add()
        if spec.name is not None:
            m.name = spec.name
        if spec.alias is not None:
            m.alias = spec.alias
        m.datatype = spec.datatype
        if spec.timestamp_ms is not None:
            m.timestamp = spec.timestamp_ms
        if spec.value is None:
            m.is_null = True
        else:
            _set_value(m, spec.value, spec.datatype)
    return p.SerializeToString()


def rebirth_payload() -> bytes:
    """The NCMD payload that asks an edge node to publish its births again (§6.4.13)."""
    return encode_payload([MetricSpec(REBIRTH_METRIC, value=True, datatype=DataType.Boolean)])


def parse_topic(topic: str) -> tuple[str, str, str, str | None] | None:
    """``(group, message type, edge node, device)`` of a Sparkplug B topic, else None.

    >>> parse_topic("spBv1.0/plant/DDATA/gw1/pump")
    ('plant', 'DDATA', 'gw1', 'pump')
    """
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != NAMESPACE:
        return None
    return parts[1], parts[2], parts[3], parts[4] if len(parts) == 5 else None


@dataclass
class Decoded:
    """What one message meant: samples to queue, whether to ask for a rebirth, problems
    ``(key, message)`` to log."""

    samples: list[tuple[int, float, float]] = field(default_factory=list)
    rebirth: str | None = None  # the reason, when a rebirth should be requested
    problems: list[tuple[str, str]] = field(default_factory=list)


class SparkplugDecoder:
    """The host-side state of one edge node: aliases, sequence, bdSeq, staleness.

    ``metrics`` maps metric names to plant signal indices; ``device`` selects whose metrics
    they are (None: the node's own). Pure: no I/O, so it is tested message by message.
    """

    def __init__(self, edge_node: str, device: str | None, metrics: dict[str, int]) -> None:
        self.edge_node = edge_node
        self.device = device
        self.metrics = metrics
        self.aliases: dict[tuple[str | None, int], str] = {}
        self.expected_seq: int | None = None
        self.bd_seq: int | None = None
        self.born = False
        self.stale: set[int] = set()

    def handle(self, topic: str, data: bytes, arrival: float | None = None) -> Decoded:
        out = Decoded()
        now = time.time() if arrival is None else arrival
        parsed = parse_topic(topic)
        if parsed is None or parsed[2] != self.edge_node:
            return out
        _, mtype, _, device = parsed
        if mtype in ("NCMD", "DCMD", "STATE"):
            return out
        try:
            p = Payload.FromString(data)
        except Exception as exc:  # protobuf raises DecodeError; be broad on foreign bytes
            out.problems.append((f"topic {topic}", f"not a Sparkplug B payload ({exc})"))
            return out
        if mtype == "NDEATH":
            self._death(p, out, now)
            return out
        self._check_seq(mtype, p, out)
        if mtype in ("NBIRTH", "DBIRTH"):
            self._birth(mtype, device, p)
        if mtype == "DDEATH":
            if device == self.device and self.device is not None:
                self._mark_stale(out, self._ts(p, None, now))
            return out
        if mtype in ("NBIRTH", "NDATA", "DBIRTH", "DDATA") and device == self.device:
            if mtype in ("NBIRTH", "DBIRTH"):
                self.stale.clear()
            self._data(topic, device, p, out, now)
        return out

    # -- message kinds ----------------------------------------------------------------------
    def _check_seq(self, mtype: str, p: Any, out: Decoded) -> None:
        if not p.HasField("seq"):
            out.problems.append((f"{mtype} without seq", "payload has no sequence number"))
            return
        seq = p.seq % 256
        if mtype == "NBIRTH":
            # a birth starts a new sequence (§7.3); aliases of the old session are void
            self.expected_seq = (seq + 1) % 256
            return
        if self.expected_seq is None:
            out.rebirth = "data before any NBIRTH"
        elif seq != self.expected_seq:
            out.rebirth = f"sequence gap: expected seq {self.expected_seq}, got {seq}"
        self.expected_seq = (seq + 1) % 256

    def _birth(self, mtype: str, device: str | None, p: Any) -> None:
        if mtype == "NBIRTH":
            self.aliases = {}  # void for node and devices; the devices are reborn after it
            self.born = True
            for m in p.metrics:
                if m.name == BDSEQ_METRIC:
                    v = metric_value(m)
                    self.bd_seq = int(v) if v is not None else None
        for m in p.metrics:
            if m.HasField("alias") and m.name:
                self.aliases[(device, m.alias)] = m.name

    def _death(self, p: Any, out: Decoded, now: float) -> None:
        bd = next((metric_value(m) for m in p.metrics if m.name == BDSEQ_METRIC), None)
        if self.bd_seq is not None and bd is not None and int(bd) != self.bd_seq:
            return  # the Will of an older session, published late (§7.1)
        self.born = False
        self.expected_seq = None
        self._mark_stale(out, self._ts(p, None, now))

    def _mark_stale(self, out: Decoded, ts: float) -> None:
        for s in self.metrics.values():
            if s not in self.stale:
                self.stale.add(s)
                out.samples.append((s, ts, math.nan))

    def _data(self, topic: str, device: str | None, p: Any, out: Decoded, now: float) -> None:
        for m in p.metrics:
            name = m.name if m.name else None
            if name is None and m.HasField("alias"):
                name = self.aliases.get((device, m.alias))
                if name is None:
                    out.problems.append(
                        (
                            f"alias {m.alias} on {topic}",
                            "unknown alias (not declared in the last birth); metric skipped",
                        )
                    )
                    out.rebirth = out.rebirth or f"unknown alias {m.alias}"
                    continue
            if name is None:
                out.problems.append((f"metric without name or alias on {topic}", "skipped"))
                continue
            s = self.metrics.get(name)
            if s is None:
                continue  # a metric the plant does not map: fine
            value = metric_value(m)
            if value is None:
                if not (m.HasField("is_null") and m.is_null):
                    kind = m.WhichOneof("value") or "no value"
                    out.problems.append((f"metric {name!r} on {topic}", f"{kind} is not numeric"))
                continue
            out.samples.append((s, self._ts(p, m, now), value))
            self.stale.discard(s)

    @staticmethod
    def _ts(p: Any, m: Any | None, now: float) -> float:
        if m is not None and m.HasField("timestamp"):
            return m.timestamp / 1000.0
        if p.HasField("timestamp"):
            return p.timestamp / 1000.0
        return now


class SparkplugSource(LiveSource):
    """Host application for one edge node of ``config`` on its MQTT broker."""

    def __init__(self, config: SparkplugConfig, index: PlantIndex) -> None:
        super().__init__(config.id, index, config.reconnect)
        self.config = config
        by_name: dict[str, int] = {}
        for sid, metric in config.metrics.items():
            s = self.signal_index(sid)
            if s is None:
                self.problem(f"signal {sid}", f"metric {metric!r}: not in the plant; ignored")
                continue
            by_name[metric] = s
        self.decoder = SparkplugDecoder(config.edge_node, config.device, by_name)
        self._last_rebirth = -math.inf
        self.stats.extra.update({"messages": 0, "rebirth_requests": 0})

    @property
    def stale(self) -> set[str]:
        """Signal ids whose edge node or device is dead (until its next birth or data)."""
        return {self.index.signal_ids[s] for s in self.decoder.stale}

    @property
    def ncmd_topic(self) -> str:
        return f"{NAMESPACE}/{self.config.group_id}/NCMD/{self.config.edge_node}"

    def diagnostics(self) -> dict[str, object]:
        d = super().diagnostics()
        d["stale_signals"] = sorted(self.stale)
        return d

    async def _session(self) -> None:
        cfg = self.config
        async with aiomqtt.Client(**client_options(cfg, self.name)) as client:
            await client.subscribe(f"{NAMESPACE}/{cfg.group_id}/+/{cfg.edge_node}/#", qos=0)
            self.log.info("source %s: connected to %s:%d", self.name, cfg.host, cfg.port)
            self.mark_connected()
            if not self.decoder.born:
                await self._rebirth(client, "no birth seen yet")
            async for msg in client.messages:
                self.stats.extra["messages"] += 1
                payload = msg.payload if isinstance(msg.payload, bytes) else b""
                try:
                    res = self.decoder.handle(str(msg.topic), payload)
                except Exception as exc:
                    # one bad message (e.g. a retained birth with a NaN bdSeq) must not end the
                    # session: the broker would hand it over again on every reconnect
                    self.problem(f"topic {msg.topic}", f"{_describe(exc)}; message skipped")
                    continue
                for key, text in res.problems:
                    self.problem(key, text)
                for s, ts, v in res.samples:
                    self.push(s, ts, v)
                if res.rebirth:
                    await self._rebirth(client, res.rebirth)

    async def _rebirth(self, client: aiomqtt.Client, reason: str) -> None:
        # at most one request per hold-off: a node needs a moment to publish its births
        now = time.monotonic()
        if (
            not self.config.rebirth_on_gap
            or now - self._last_rebirth < self.config.rebirth_holdoff_s
        ):
            return
        self._last_rebirth = now
        self.stats.extra["rebirth_requests"] += 1
        self.log.info(
            "source %s: asking %s/%s for a rebirth (%s)",
            self.name,
            self.config.group_id,
            self.config.edge_node,
            reason,
        )
        await client.publish(self.ncmd_topic, rebirth_payload(), qos=0)
