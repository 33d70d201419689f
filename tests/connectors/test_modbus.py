"""Modbus specifics: value decoding (types, word order, scale, offset) and, against a real
pymodbus server, both register tables and a wrong register that is logged while its
neighbours keep flowing."""

from __future__ import annotations

import logging
import time

import pytest
from connector_peers import ModbusPeer

from plantmind.connectors.modbus import ModbusSource, decode_registers, encode_value
from plantmind.core.connectivity import Backoff, ModbusConfig, ModbusRegister

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("type_", "order", "registers", "value"),
    [
        ("int16", "big", [0xFFFE], -2.0),
        ("uint16", "big", [0xFFFE], 65534.0),
        ("int32", "big", [0xFFFF, 0xFFFE], -2.0),
        ("int32", "little", [0xFFFE, 0xFFFF], -2.0),
        ("uint32", "big", [0x0001, 0x0000], 65536.0),
        ("uint32", "little", [0x0000, 0x0001], 65536.0),
        ("float32", "big", [0x3F80, 0x0000], 1.0),  # IEEE 754 1.0 = 0x3F800000
        ("float32", "little", [0x0000, 0x3F80], 1.0),
        ("float32", "big", [0xC148, 0x0000], -12.5),
    ],
)
def test_decoding_types_and_word_order(type_, order, registers, value):
    reg = ModbusRegister(signal="s", address=0, type=type_, word_order=order)
    assert decode_registers(registers, reg) == value
    assert encode_value(value, reg) == registers


def test_scale_and_offset():
    reg = ModbusRegister(signal="s", address=0, type="int16", scale=0.1, offset=-40)
    assert decode_registers([650], reg) == pytest.approx(25.0)
    assert encode_value(25.0, reg) == [650]


def _source(peer: ModbusPeer, index, registers: list[ModbusRegister]) -> ModbusSource:
    cfg = ModbusConfig(
        protocol="modbus",
        id="plc-7",
        host="127.0.0.1",
        port=peer.port,
        poll_interval_s=0.05,
        registers=registers,
        reconnect=Backoff(initial_s=0.05, max_s=0.5),
    )
    return ModbusSource(cfg, index)


async def test_holding_and_input_registers_with_scaling(modbus_peer, index, collect):
    regs = [
        ModbusRegister(
            signal="P-101.flow", table="input", address=4, type="float32", word_order="little"
        ),
        ModbusRegister(
            signal="P-101.bearing_temperature", address=20, type="int16", scale=0.1, offset=-40
        ),
    ]
    await modbus_peer.set("input", 4, encode_value(187.5, regs[0]))
    await modbus_peer.set("holding", 20, [650])
    t0 = time.time()
    col = collect(_source(modbus_peer, index, regs))
    pos = index.signal_position()
    got = await col.wait_for(
        lambda got: {pos["P-101.flow"], pos["P-101.bearing_temperature"]} <= {s for s, _, _ in got}
    )
    values = {s: v for s, _, v in got}
    assert values[pos["P-101.flow"]] == 187.5
    assert values[pos["P-101.bearing_temperature"]] == pytest.approx(25.0)
    assert all(t0 <= t <= time.time() for _, t, _ in got)  # arrival time: Modbus has none


async def test_a_wrong_register_is_logged_and_its_neighbours_keep_flowing(
    modbus_peer, index, collect, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="plantmind.connectors")
    regs = [
        ModbusRegister(signal="P-101.flow", address=97, type="uint16"),
        # a float32 at the last holding register needs 99 and 100: 100 does not exist
        ModbusRegister(signal="P-101.motor_current", address=99, type="float32"),
        # an input register beyond the table
        ModbusRegister(signal="P-101.vibration_rms", table="input", address=30, type="int16"),
    ]
    await modbus_peer.set("holding", 97, [321])
    source = _source(modbus_peer, index, regs)
    col = collect(source)
    flow = index.signal_position()["P-101.flow"]
    await col.wait_for(lambda got: any(s == flow and v == 321.0 for s, _, v in got))
    await modbus_peer.set("holding", 97, [322])
    await col.wait_for(lambda got: any(s == flow and v == 322.0 for s, _, v in got))
    msgs = [r.getMessage() for r in caplog.records]
    bad = [m for m in msgs if "register holding:99" in m]
    assert (
        bad
        and "source plc-7" in bad[0]
        and "float32" in bad[0]
        and "illegal data address" in bad[0]
    )
    assert len(bad) == 1  # logged once, not on every poll
    assert any("register input:30" in m for m in msgs)
    assert source.diagnostics()["errors"] >= 2


async def test_unknown_signal_in_the_register_map_is_reported(modbus_peer, index, caplog):
    caplog.set_level(logging.WARNING, logger="plantmind.connectors")
    _source(modbus_peer, index, [ModbusRegister(signal="NOPE.x", address=0)])
    assert "signal NOPE.x" in caplog.text and "not in the plant" in caplog.text
