"""The ``connectors:`` section of plant.yaml: parsing, errors with paths, signal checks, the
factory that builds sources from it, and merging several sources for the edge node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from connector_peers import ModbusPeer
from pydantic import BaseModel

from plantmind.connectors import factory
from plantmind.connectors.base import Source
from plantmind.connectors.factory import (
    MergedSource,
    build_source,
    build_sources,
    connector_for,
    merge_sources,
    register_connector,
    registered_connectors,
)
from plantmind.connectors.modbus import ModbusSource, encode_value
from plantmind.connectors.mqtt import MqttJsonSource
from plantmind.connectors.opcua import OpcUaSource
from plantmind.connectors.sparkplug import SparkplugSource
from plantmind.core.connectivity import (
    ModbusConfig,
    ModbusRegister,
    MqttConfig,
    OpcUaConfig,
    SparkplugConfig,
    validate_connector_signals,
)
from plantmind.core.plant import PlantConfigError, PlantIndex, example_plant_path, parse_plant
from plantmind.core.types import SampleBatch

pytestmark = pytest.mark.timeout(60)

EXAMPLE = example_plant_path().read_text(encoding="utf-8")
CONNECTORS = """
    connectors:
      - protocol: opcua
        id: line1-opcua
        url: opc.tcp://10.0.0.5:4840/
        security: {policy: Basic256Sha256, mode: SignAndEncrypt, certificate: pki/client.der, private_key: pki/client.pem}
        auth: {username: plantmind, password_env: PLANT_OPCUA_PASSWORD}
        nodes: {P-101.flow: "ns=2;s=Pump101.Flow", P-101.motor_current: "ns=2;i=1002"}
        publishing_interval_ms: 250
      - protocol: mqtt
        id: utilities-mqtt
        host: broker.local
        port: 8883
        tls: {ca_file: pki/ca.pem}
        auth: {username: edge, password_env: PLANT_MQTT_PASSWORD}
        topics:
          - {topic: "plant/+/telemetry/+", signal: "{1}.{2}", value_field: v, timestamp_field: ts}
          - topic: plant/C-201/state
            fields: {C-201.discharge_pressure: p, C-201.motor_current: i}
      - protocol: sparkplug
        id: gw1
        host: broker.local
        group_id: Riverside
        edge_node: GW1
        device: PLC1
        metrics: {P-102.flow: Pump2/Flow, P-102.motor_current: Pump2/Current}
      - protocol: modbus
        id: compressor-plc
        host: 10.0.0.9
        unit: 3
        poll_interval_s: 0.5
        registers:
          - {signal: C-201.discharge_temperature, table: input, address: 10, type: int16, scale: 0.1}
          - {signal: C-201.vibration_rms, address: 0, type: float32, word_order: little}
"""


def _with_connectors(text: str) -> str:
    marker = "    timezone: Europe/Berlin\n"
    assert marker in EXAMPLE
    return EXAMPLE.replace(marker, marker + text.lstrip("\n"), 1)


def test_the_example_section_parses_and_builds_one_source_per_entry():
    plant = parse_plant(_with_connectors(CONNECTORS))
    site = plant.sites[0]
    assert [c.protocol for c in site.connectors] == ["opcua", "mqtt", "sparkplug", "modbus"]
    assert validate_connector_signals(plant) == []
    sources = build_sources(site, PlantIndex.build(plant))
    assert [type(s) for s in sources] == [
        OpcUaSource,
        MqttJsonSource,
        SparkplugSource,
        ModbusSource,
    ]
    assert [s.name for s in sources] == ["line1-opcua", "utilities-mqtt", "gw1", "compressor-plc"]
    assert "PLANT_OPCUA_PASSWORD" in repr(site.connectors[0])  # the variable's name only


def test_errors_name_the_path_inside_the_connectors():
    bad = CONNECTORS.replace("type: float32, word_order: little", "type: float64")
    with pytest.raises(PlantConfigError) as info:
        parse_plant(_with_connectors(bad), "plant.yaml")
    assert "sites[0].connectors[3].modbus.registers[1].type" in str(info.value)
    with pytest.raises(PlantConfigError, match=r"sites\[0\].connectors\[0\]: .*'protocol'"):
        parse_plant(_with_connectors("    connectors:\n      - {id: x}\n"), "plant.yaml")
    with pytest.raises(PlantConfigError, match="password_env"):
        parse_plant(
            _with_connectors(
                CONNECTORS.replace("password_env: PLANT_MQTT_PASSWORD", "password: hunter2")
            ),
            "plant.yaml",
        )


def test_unknown_signals_and_duplicate_ids_are_reported_with_paths():
    text = (
        CONNECTORS.replace("P-101.motor_current:", "P-999.motor_current:")
        .replace("signal: C-201.vibration_rms", "signal: C-201.nope")
        .replace("id: gw1", "id: line1-opcua")
    )
    problems = validate_connector_signals(parse_plant(_with_connectors(text)))
    assert problems == [
        "sites[0].connectors[0].nodes.P-999.motor_current: unknown signal id 'P-999.motor_current' (not a signal of site 'riverside')",
        "sites[0].connectors[2].id: duplicate connector id 'line1-opcua'",
        "sites[0].connectors[3].registers[1].signal: unknown signal id 'C-201.nope' (not a signal of site 'riverside')",
    ]


async def test_merged_sources_deliver_from_all_and_close_together(index):
    peers = [ModbusPeer(), ModbusPeer()]
    sources = []
    for i, peer in enumerate(peers):
        reg = ModbusRegister(signal=["P-101.flow", "P-102.flow"][i], address=0, type="uint16")
        await peer.start()
        await peer.set("holding", 0, encode_value(10 + i, reg))
        cfg = ModbusConfig(
            protocol="modbus",
            id=f"plc{i}",
            host="127.0.0.1",
            port=peer.port,
            poll_interval_s=0.05,
            registers=[reg],
        )
        sources.append(ModbusSource(cfg, index))
    merged = merge_sources(sources)
    assert isinstance(merged, MergedSource) and merged.name == "plc0+plc1"
    seen: set[int] = set()
    want = {index.signal_position()["P-101.flow"], index.signal_position()["P-102.flow"]}

    async def consume() -> None:
        async for b in merged.batches():
            seen.update(b.signal.tolist())
            if want <= seen:
                await merged.close()

    await asyncio.wait_for(consume(), 10)
    assert all(s.closed for s in sources)
    for peer in peers:
        await peer.stop()


# --- the connector registry --------------------------------------------------------------------


class FakeConfig(BaseModel):
    protocol: Literal["fake"]
    id: str


class FakeSource(Source):
    def __init__(self, config: FakeConfig, index: PlantIndex) -> None:
        super().__init__()
        self.name = config.id

    async def batches(self) -> AsyncIterator[SampleBatch]:  # never iterated
        return
        yield


def _never(config: BaseModel, index: PlantIndex) -> Source:
    raise AssertionError("not built")


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the connector registry for the test to change; restored after."""
    monkeypatch.setattr(factory, "_REGISTRY", dict(factory._REGISTRY))


def test_the_registry_holds_the_four_protocols_in_order():
    assert [(s.protocol, s.config_type) for s in registered_connectors()] == [
        ("opcua", OpcUaConfig),
        ("mqtt", MqttConfig),
        ("sparkplug", SparkplugConfig),
        ("modbus", ModbusConfig),
    ]


def test_a_registered_connector_is_built_by_build_source(scratch_registry, index):
    spec = register_connector("fake", FakeConfig, FakeSource)
    cfg = FakeConfig(protocol="fake", id="fake-1")
    assert connector_for(cfg) is spec
    source = build_source(cfg, index)  # type: ignore[arg-type]
    assert isinstance(source, FakeSource) and source.name == "fake-1"


def test_registering_twice_or_under_the_wrong_protocol_is_refused(scratch_registry):
    with pytest.raises(ValueError, match="'opcua' is already registered"):
        register_connector("opcua", OpcUaConfig, _never)
    with pytest.raises(ValueError, match=r"MqttConfig\.protocol is 'mqtt', not 'mqtt2'"):
        register_connector("mqtt2", MqttConfig, _never)

    class Untagged(BaseModel):  # no protocol field: only the type can clash
        id: str

    register_connector("untagged", Untagged, _never)
    with pytest.raises(ValueError, match="Untagged is already the configuration of 'untagged'"):
        register_connector("untagged2", Untagged, _never)
    spec = register_connector("opcua", OpcUaConfig, _never, replace=True)
    cfg = OpcUaConfig(protocol="opcua", id="x", url="opc.tcp://h:4840/", nodes={"a.b": "i=1"})
    assert connector_for(cfg) is spec
    assert registered_connectors()[0].protocol == "opcua"  # kept its place


def test_an_unknown_configuration_is_a_type_error(index):
    with pytest.raises(TypeError, match="unknown connector configuration FakeConfig"):
        build_source(FakeConfig(protocol="fake", id="f"), index)  # type: ignore[arg-type]
