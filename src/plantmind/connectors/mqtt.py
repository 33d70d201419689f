"""MQTT with plain JSON payloads: subscribes to the configured topic filters and maps each message
to samples through a per-topic field mapping (see :class:`~plantmind.core.connectivity.MqttTopicMap`).

Also owns what the MQTT-based connectors share: topic-filter matching (MQTT 3.1.1 §4.7, ``+``
one level, ``#`` the rest) and the client options (credentials from the environment, TLS).

A message that is not JSON, nests deeper than :data:`MAX_JSON_DEPTH`, lacks a mapped field, or
carries a non-number is logged once per topic (naming the source and topic) and skipped; other
topics keep flowing. Whatever goes wrong with one message never leaves the receive loop: a
broker redelivers a retained message on every connect, so a message that ended the session
would reconnect for ever and starve the valid messages behind it.
"""

from __future__ import annotations

import json
import math
import re
import ssl
import time
import uuid
from typing import Any

import aiomqtt

from plantmind.connectors.live import LiveSource, _describe
from plantmind.connectors.replay import parse_time
from plantmind.core.connectivity import (
    MqttConfig,
    MqttTopicMap,
    SparkplugConfig,
    TlsConfig,
    read_secret,
)
from plantmind.core.plant import PlantIndex

__all__ = ["MAX_JSON_DEPTH", "MqttJsonSource", "client_options", "match_topic", "tls_context"]

MAX_JSON_DEPTH = 64  # far beyond any telemetry document; bounds the parser's recursion
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _json_depth(text: str, limit: int) -> int:
    """How deep ``text``'s arrays and objects nest, counted up to ``limit + 1`` at most."""
    if text.count("[") + text.count("{") <= limit:
        return 0  # cannot nest deeper than it has brackets: the usual message stops here
    depth = deepest = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        else:
            depth -= 1
    return deepest


def match_topic(topic_filter: str, topic: str) -> list[str] | None:
    """The levels matched by each ``+`` of ``topic_filter`` if ``topic`` matches it, else None.

    >>> match_topic("plant/+/+/telemetry", "plant/line1/P-101/telemetry")
    ['line1', 'P-101']
    >>> match_topic("plant/#", "plant/a/b") == []
    True
    >>> match_topic("plant/+", "plant/a/b") is None
    True
    """
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    captures: list[str] = []
    for i, f in enumerate(f_levels):
        if f == "#":
            return captures
        if i >= len(t_levels):
            return None
        if f == "+":
            captures.append(t_levels[i])
        elif f != t_levels[i]:
            return None
    return captures if len(f_levels) == len(t_levels) else None


def tls_context(tls: TlsConfig) -> ssl.SSLContext:
    """An SSL context from the TLS settings; the key password comes from the environment."""
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file, password=read_secret(tls.key_password_env))
    if tls.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client_options(config: MqttConfig | SparkplugConfig, suffix: str) -> dict[str, Any]:
    """Keyword arguments for :class:`aiomqtt.Client`: host, credentials (read now from the
    environment, never stored on the source), TLS, keep-alive and a client id."""
    opts: dict[str, Any] = {
        "hostname": config.host,
        "port": config.port,
        "keepalive": config.keepalive_s,
        "timeout": 10.0,
        "identifier": config.client_id or f"plantmind-{suffix}-{uuid.uuid4().hex[:10]}",
    }
    if config.auth is not None:
        opts["username"] = config.auth.username
        opts["password"] = read_secret(config.auth.password_env)
    if config.tls is not None:
        opts["tls_context"] = tls_context(config.tls)
        opts["tls_insecure"] = config.tls.insecure
    return opts


def _field(obj: Any, path: str) -> Any:
    """``obj["a"]["b"]`` for ``path == "a.b"``; KeyError naming the path when absent."""
    if not path:
        return obj
    for part in path.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            raise KeyError(f"no field {path!r}")
    return obj


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, float):
        return x
    if isinstance(x, int):
        try:
            return float(x)
        except OverflowError:  # an integer beyond float range is no reading
            raise ValueError(f"{what} is out of range: {str(x)[:20]}…") from None
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            pass
    raise ValueError(f"{what} is not a number: {x!r}")


def _timestamp(x: Any, unit: str) -> float:
    if unit == "ms":
        return _number(x, "timestamp") / 1000.0
    if unit == "s":
        return _number(x, "timestamp")
    if unit == "iso" and not isinstance(x, str):
        raise ValueError(f"timestamp is not ISO 8601 text: {x!r}")
    if isinstance(x, bool) or not isinstance(x, int | float | str):
        raise ValueError(f"not a time: {x!r}")
    return parse_time(str(x))  # epoch s, epoch ms (> 1e11) or ISO 8601


class MqttJsonSource(LiveSource):
    """Subscribes to the topics of ``config`` and maps JSON messages to samples."""

    def __init__(self, config: MqttConfig, index: PlantIndex) -> None:
        super().__init__(config.id, index, config.reconnect)
        self.config = config
        self.stats.extra["messages"] = 0
        self.stats.extra["messages_skipped"] = 0  # unreadable ones (see the module docstring)

    async def _session(self) -> None:
        async with aiomqtt.Client(**client_options(self.config, self.name)) as client:
            for t in self.config.topics:
                await client.subscribe(t.topic, qos=t.qos)
            self.log.info(
                "source %s: connected to %s:%d", self.name, self.config.host, self.config.port
            )
            self.mark_connected()
            async for msg in client.messages:
                self.stats.extra["messages"] += 1
                topic = str(msg.topic)
                try:
                    self.handle(topic, msg.payload)
                except Exception as exc:  # see the module docstring: skip, never reconnect
                    self.stats.extra["messages_skipped"] += 1
                    self.problem(f"topic {topic}", f"{_describe(exc)}; message skipped")

    def handle(self, topic: str, payload: Any) -> int:
        """Map one message to samples; returns how many were queued."""
        arrival = time.time()
        doc: Any = None
        parsed = False
        n = 0
        for i, mapping in enumerate(self.config.topics):
            captures = match_topic(mapping.topic, topic)
            if captures is None:
                continue
            if not parsed:
                try:
                    raw = payload.decode() if isinstance(payload, bytes | bytearray) else payload
                    if isinstance(raw, str) and _json_depth(raw, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
                        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
                    doc = json.loads(raw) if isinstance(raw, str) else raw
                except (ValueError, RecursionError) as exc:
                    # ValueError: JSONDecodeError, UnicodeDecodeError, an integer literal over
                    # Python's digit limit, or the depth bound above
                    self.stats.extra["messages_skipped"] += 1
                    self.problem(
                        f"topic {topic}",
                        f"payload is not JSON ({_describe(exc)}); message skipped",
                    )
                    return 0
                parsed = True
            n += self._map(i, mapping, captures, topic, doc, arrival)
        return n

    def _map(
        self,
        i: int,
        m: MqttTopicMap,
        captures: list[str],
        topic: str,
        doc: Any,
        arrival: float,
    ) -> int:
        key = f"topic {topic} (topics[{i}])"
        try:
            ts = arrival
            if m.timestamp_field and isinstance(doc, dict):
                try:
                    stamp = _field(doc, m.timestamp_field)
                except KeyError:
                    stamp = None  # no timestamp in this message: arrival time
                if stamp is not None:
                    ts = _timestamp(stamp, m.timestamp_unit)
            pairs: list[tuple[str, str]]
            if m.signal is not None:
                sid = m.signal
                for k, level in enumerate(captures, start=1):
                    sid = sid.replace(f"{{{k}}}", level)
                pairs = [(sid, m.value_field)]
            else:
                pairs = list(m.fields.items())
            n = 0
            for sid, path in pairs:
                s = self.signal_index(sid)
                if s is None:
                    self.problem(f"signal {sid}", f"from {topic}: not a signal of the plant")
                    continue
                try:
                    value = _number(_field(doc, path), f"field {path!r}")
                except (KeyError, ValueError) as exc:
                    self.problem(f"{key} field {path}", f"{exc}; value skipped")
                    continue
                if not math.isfinite(value):
                    self.problem(f"{key} field {path}", f"value {value} skipped")
                    continue
                if self.push(s, ts, value):  # False: a future timestamp, dropped and counted
                    n += 1
            return n
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            self.problem(key, f"{exc}; message skipped")
            return 0
