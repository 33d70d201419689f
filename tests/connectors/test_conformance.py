"""The connector conformance suite: one test body per behaviour, run against every connector
with its real peer on 127.0.0.1 (asyncua server, Mosquitto with plain JSON or Sparkplug B, a
pymodbus server).

Every connector must: deliver values written at the peer as SampleBatch with the right signal
indices, values and timestamps; recover by itself when the peer goes away and comes back; log
a bad item (naming source and item) and keep the rest flowing; end ``batches()`` promptly on
``close()``.

Each harness builds its source through the connector registry (``build_source``), and
``test_every_registered_connector_has_a_conformance_harness`` fails for a registered protocol
without a harness here: a new connector comes with its harness.
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import ClassVar

import aiomqtt
import pytest
from connector_peers import Collector, ModbusPeer, OpcUaPeer, SparkplugEdgeNode, TcpProxy, unique

from plantmind.connectors.base import Source
from plantmind.connectors.factory import build_source, connector_for, registered_connectors
from plantmind.connectors.modbus import ModbusSource, encode_value
from plantmind.connectors.mqtt import MqttJsonSource
from plantmind.connectors.opcua import OpcUaSource
from plantmind.connectors.sparkplug import SparkplugSource
from plantmind.core.connectivity import (
    Backoff,
    ModbusConfig,
    ModbusRegister,
    MqttConfig,
    MqttTopicMap,
    OpcUaConfig,
    SparkplugConfig,
)
from plantmind.core.plant import PlantIndex

pytestmark = pytest.mark.timeout(60)

SIGNALS = ("P-101.flow", "P-101.discharge_pressure", "C-201.motor_current")
FAST = Backoff(initial_s=0.05, max_s=0.5)


class Harness(abc.ABC):
    """A connector with its peer, as the conformance tests drive it."""

    name: str
    protocol: ClassVar[str]  # the registered connector protocol it drives
    source_type: ClassVar[type[Source]]  # what the registry builds for that protocol
    peer_timestamps: bool  # the peer sends the time of each value (else: arrival time)
    bad_item: str  # what the log line about the bad item must name

    @classmethod
    @abc.abstractmethod
    def from_request(cls, request: pytest.FixtureRequest) -> Harness:
        """The harness with its peer (requested from the peer fixtures) started."""

    @abc.abstractmethod
    async def make_source(self, index: PlantIndex) -> Source: ...

    @abc.abstractmethod
    async def write(self, values: dict[str, float], ts: float) -> None: ...

    @abc.abstractmethod
    async def peer_down(self) -> None: ...

    @abc.abstractmethod
    async def peer_up(self) -> None: ...

    async def trigger_bad(self) -> None:  # noqa: B027 - most bad items are in the config
        """Make the peer produce the bad item (when it is not already in the config)."""

    async def teardown(self) -> None:  # noqa: B027
        """Stop what the harness started itself."""


# --- Modbus ------------------------------------------------------------------------------------


class ModbusHarness(Harness):
    name = "modbus"
    protocol = "modbus"
    source_type = ModbusSource
    peer_timestamps = False
    bad_item = "register holding:500"

    def __init__(self, peer: ModbusPeer) -> None:
        self.peer = peer
        self.regs = {
            "P-101.flow": ModbusRegister(signal="P-101.flow", address=0, type="float32"),
            "P-101.discharge_pressure": ModbusRegister(
                signal="P-101.discharge_pressure", address=10, type="int16", scale=0.01
            ),
            "C-201.motor_current": ModbusRegister(
                signal="C-201.motor_current",
                table="input",
                address=2,
                type="uint32",
                word_order="little",
                scale=0.1,
            ),
        }

    @classmethod
    def from_request(cls, request: pytest.FixtureRequest) -> Harness:
        return cls(request.getfixturevalue("modbus_peer"))

    async def make_source(self, index: PlantIndex) -> Source:
        bad = ModbusRegister(signal="C-201.vibration_rms", address=500, type="float32")
        cfg = ModbusConfig(
            protocol="modbus",
            id="modbus-test",
            host="127.0.0.1",
            port=self.peer.port,
            poll_interval_s=0.05,
            timeout_s=1.0,
            registers=[*self.regs.values(), bad],
            reconnect=FAST,
        )
        return build_source(cfg, index)

    async def write(self, values: dict[str, float], ts: float) -> None:
        for sid, v in values.items():
            reg = self.regs[sid]
            await self.peer.set(reg.table, reg.address, encode_value(v, reg))

    async def peer_down(self) -> None:
        await self.peer.stop()

    async def peer_up(self) -> None:
        await self.peer.start()


# --- MQTT JSON ---------------------------------------------------------------------------------


class MqttJsonHarness(Harness):
    name = "mqtt-json"
    protocol = "mqtt"
    source_type = MqttJsonSource
    peer_timestamps = True

    def __init__(self, proxy: TcpProxy, broker: tuple[str, int]) -> None:
        self.proxy = proxy
        self.broker = broker
        self.prefix = unique("plantmind-test")
        self.bad_item = f"topic {self.prefix}/sig/P-101.flow"

    @classmethod
    def from_request(cls, request: pytest.FixtureRequest) -> Harness:
        return cls(request.getfixturevalue("broker_proxy"), request.getfixturevalue("mosquitto"))

    async def make_source(self, index: PlantIndex) -> Source:
        cfg = MqttConfig(
            protocol="mqtt",
            id="mqtt-test",
            host="127.0.0.1",
            port=self.proxy.port,
            topics=[
                # one signal per message, its id taken from the topic; epoch ms timestamps
                MqttTopicMap(
                    topic=f"{self.prefix}/sig/+",
                    signal="{1}",
                    value_field="v",
                    timestamp_field="t",
                    timestamp_unit="ms",
                ),
                # several signals in one message, ISO 8601 timestamps
                MqttTopicMap(
                    topic=f"{self.prefix}/compressor",
                    fields={"C-201.motor_current": "data.current"},
                    timestamp_field="time",
                ),
            ],
            reconnect=FAST,
        )
        return build_source(cfg, index)

    async def _publish(self, topic: str, payload: str | bytes) -> None:
        async with aiomqtt.Client(*self.broker) as client:
            await client.publish(topic, payload, qos=1)

    async def write(self, values: dict[str, float], ts: float) -> None:
        async with aiomqtt.Client(*self.broker) as client:
            for sid, v in values.items():
                if sid == "C-201.motor_current":
                    iso = datetime.fromtimestamp(ts, UTC).isoformat()
                    doc = {"time": iso, "data": {"current": v}}
                    await client.publish(f"{self.prefix}/compressor", json.dumps(doc), qos=1)
                else:
                    doc = {"t": round(ts * 1000), "v": v}
                    await client.publish(f"{self.prefix}/sig/{sid}", json.dumps(doc), qos=1)

    async def trigger_bad(self) -> None:
        await self._publish(f"{self.prefix}/sig/P-101.flow", b"{not json")

    async def peer_down(self) -> None:
        await self.proxy.stop()

    async def peer_up(self) -> None:
        await self.proxy.start()


# --- OPC UA ------------------------------------------------------------------------------------


class OpcUaHarness(Harness):
    name = "opcua"
    protocol = "opcua"
    source_type = OpcUaSource
    peer_timestamps = True
    bad_item = "node ns=2;s=Pump.DoesNotExist"
    names: ClassVar[dict[str, str]] = {
        "P-101.flow": "Flow",
        "P-101.discharge_pressure": "Pressure",
        "C-201.motor_current": "Current",
    }

    def __init__(self, peer: OpcUaPeer) -> None:
        self.peer = peer

    @classmethod
    def from_request(cls, request: pytest.FixtureRequest) -> Harness:
        return cls(request.getfixturevalue("opcua_peer"))

    async def make_source(self, index: PlantIndex) -> Source:
        nodes = {sid: f"ns=2;s=Pump.{name}" for sid, name in self.names.items()}
        nodes["C-201.vibration_rms"] = "ns=2;s=Pump.DoesNotExist"
        cfg = OpcUaConfig(
            protocol="opcua",
            id="opcua-test",
            url=self.peer.url,
            nodes=nodes,
            publishing_interval_ms=50,
            node_check_interval_s=0.5,
            reconnect=FAST,
        )
        return build_source(cfg, index)

    async def write(self, values: dict[str, float], ts: float) -> None:
        for sid, v in values.items():
            await self.peer.write(self.names[sid], v, ts)

    async def peer_down(self) -> None:
        await self.peer.stop()

    async def peer_up(self) -> None:
        await self.peer.start()


# --- Sparkplug B -------------------------------------------------------------------------------


class SparkplugHarness(Harness):
    name = "sparkplug"
    protocol = "sparkplug"
    source_type = SparkplugSource
    peer_timestamps = True
    bad_item = "alias 999"
    metric_names: ClassVar[dict[str, str]] = {
        "P-101.flow": "Pump/Flow",
        "P-101.discharge_pressure": "Pump/Pressure",
        "C-201.motor_current": "Compressor/Current",
    }

    def __init__(self, proxy: TcpProxy, broker: tuple[str, int]) -> None:
        self.proxy = proxy
        self.group = unique("pmtest")
        aliases = {name: i + 1 for i, name in enumerate(self.metric_names.values())}
        self.edge = SparkplugEdgeNode(broker, self.group, "gw1", aliases, device="plc1")

    @classmethod
    def from_request(cls, request: pytest.FixtureRequest) -> Harness:
        return cls(request.getfixturevalue("broker_proxy"), request.getfixturevalue("mosquitto"))

    async def make_source(self, index: PlantIndex) -> Source:
        if self.edge._stack is None:
            await self.edge.start()
        cfg = SparkplugConfig(
            protocol="sparkplug",
            id="sparkplug-test",
            host="127.0.0.1",
            port=self.proxy.port,
            group_id=self.group,
            edge_node="gw1",
            device="plc1",
            metrics=self.metric_names,
            rebirth_holdoff_s=0.2,
            reconnect=FAST,
        )
        return build_source(cfg, index)

    async def write(self, values: dict[str, float], ts: float) -> None:
        await self.edge.data({self.metric_names[s]: v for s, v in values.items()}, ts)

    async def trigger_bad(self) -> None:
        await self.edge.data({"Pump/Flow": 0.5}, time.time(), alias={"Pump/Flow": 999})

    async def peer_down(self) -> None:
        await self.proxy.stop()

    async def peer_up(self) -> None:
        await self.proxy.start()

    async def teardown(self) -> None:
        await self.edge.stop()


# --- the suite ---------------------------------------------------------------------------------


# harness name → harness; one per registered connector protocol (checked below).
HARNESSES: dict[str, type[Harness]] = {
    h.name: h for h in (OpcUaHarness, MqttJsonHarness, SparkplugHarness, ModbusHarness)
}
CONNECTORS = list(HARNESSES)


def test_every_registered_connector_has_a_conformance_harness() -> None:
    covered = {h.protocol for h in HARNESSES.values()}
    missing = [c.protocol for c in registered_connectors() if c.protocol not in covered]
    assert not missing, f"registered connectors without a conformance harness: {missing}"
    registered = {c.protocol for c in registered_connectors()}
    stale = sorted(covered - registered)
    assert not stale, f"harnesses for protocols no longer registered: {stale}"


@pytest.fixture
def built(request: pytest.FixtureRequest) -> Harness:
    """The harness of the parametrised connector; only its peer is started. (A sync fixture:
    it requests the async peer fixtures lazily, which an async fixture cannot.)"""
    return HARNESSES[request.node.callspec.params["harness"]].from_request(request)


@pytest.fixture(params=CONNECTORS)
async def harness(built: Harness) -> AsyncIterator[Harness]:
    yield built
    await built.teardown()


def _arrived(
    samples: list[tuple[int, float, float]],
    expect: dict[int, float],
    stamps: set[float] | None,
    since: float,
) -> bool:
    for s, v in expect.items():
        ok = False
        for sig, ts, val in samples:
            if sig != s or not math.isclose(val, v, rel_tol=1e-6, abs_tol=1e-6):
                continue
            ok = (
                any(abs(ts - t) < 1e-3 for t in stamps)
                if stamps is not None
                else since - 0.01 <= ts <= time.time() + 0.01
            )
            if ok:
                break
        if not ok:
            return False
    return True


async def write_until_seen(
    h: Harness,
    col: Collector,
    index: PlantIndex,
    values: dict[str, float],
    timeout: float = 15.0,
) -> None:
    """Write ``values`` at the peer (again every 0.3 s: a push peer may publish before the
    subscription is in place) until all arrive with the right index, value and timestamp."""
    pos = index.signal_position()
    expect = {pos[sid]: v for sid, v in values.items()}
    stamps: set[float] = set()
    since = time.time()
    deadline = time.monotonic() + timeout
    while True:
        ts = round(time.time() - 5.0, 3)  # a peer timestamp distinct from the arrival time
        stamps.add(ts)
        await h.write(values, ts)
        try:
            await col.wait_for(
                lambda got: _arrived(got, expect, stamps if h.peer_timestamps else None, since),
                timeout=0.3,
            )
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


async def test_values_arrive_with_indices_values_and_timestamps(
    harness: Harness, index: PlantIndex, collect
):
    source = await harness.make_source(index)
    # built by the connector registered for the harness's protocol
    assert type(source) is harness.source_type
    assert connector_for(source.config).protocol == harness.protocol
    col = collect(source)
    await write_until_seen(
        harness,
        col,
        index,
        {"P-101.flow": 123.5, "P-101.discharge_pressure": 4.56, "C-201.motor_current": 71.3},
    )
    await write_until_seen(
        harness,
        col,
        index,
        {"P-101.flow": 130.25, "P-101.discharge_pressure": -1.5, "C-201.motor_current": 0.0},
    )
    got = col.samples()
    assert {s for s, _, _ in got} <= {index.signal_position()[s] for s in SIGNALS}
    assert all(isinstance(b.signal[0].item(), int) for b in col.batches if len(b))
    diag = source.diagnostics()
    assert diag["name"] == source.name and diag["samples"] >= 6 and diag["connected"] == 1


async def test_recovers_when_the_peer_goes_away_and_comes_back(
    harness: Harness, index: PlantIndex, collect
):
    source = await harness.make_source(index)
    col = collect(source)
    await write_until_seen(harness, col, index, {"P-101.flow": 10.5})
    await harness.peer_down()
    await asyncio.sleep(0.5)
    await harness.peer_up()
    await write_until_seen(harness, col, index, {"P-101.flow": 20.5}, timeout=20.0)
    assert source.diagnostics()["disconnects"] >= 1


async def test_a_bad_item_is_logged_and_the_rest_flows(
    harness: Harness, index: PlantIndex, collect, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="plantmind.connectors")
    source = await harness.make_source(index)
    col = collect(source)
    await write_until_seen(harness, col, index, {"P-101.flow": 1.5})
    await harness.trigger_bad()
    await write_until_seen(harness, col, index, {"P-101.flow": 2.5, "C-201.motor_current": 3.5})

    def logged() -> bool:
        return any(
            source.name in r.getMessage() and harness.bad_item in r.getMessage()
            for r in caplog.records
        )

    deadline = time.monotonic() + 5
    while not logged() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert logged(), [r.getMessage() for r in caplog.records]
    assert source.diagnostics()["errors"] >= 1


async def test_close_ends_batches_promptly(harness: Harness, index: PlantIndex, collect):
    source = await harness.make_source(index)
    col = collect(source)
    await write_until_seen(harness, col, index, {"P-101.flow": 5.5})
    t0 = time.monotonic()
    await source.close()
    await asyncio.wait_for(col.task, timeout=2.0)
    assert time.monotonic() - t0 < 2.0
    assert source.diagnostics()["connected"] == 0


async def test_close_before_the_peer_is_reachable(harness: Harness, index: PlantIndex):
    await harness.peer_down()
    source = await harness.make_source(index)
    task = asyncio.create_task(anext(source.batches(), None))
    await asyncio.sleep(0.3)
    await source.close()
    assert await asyncio.wait_for(task, timeout=2.0) is None
    await harness.peer_up()
