"""Modbus TCP polling: reads holding and input registers from a register map and turns them into
samples of plant signals.

Protocol facts used here (Modbus Application Protocol Specification v1.1b3):

* function 0x03 *Read Holding Registers* and 0x04 *Read Input Registers* (§6.3, §6.4) read at
  most 125 registers per request, so adjacent map entries are read together in blocks of at
  most that size;
* registers are 16-bit big-endian (§4.2); how 32-bit values span two registers is not in the
  standard, so each map entry says its ``word_order``;
* an exception response carries code 01 *Illegal Function* or 02 *Illegal Data Address*
  (§7): the block is then split and its entries read one by one, so that one wrong entry is
  logged (naming the source and the register) while the others keep flowing.

Timestamps are the wall-clock time the response arrived; Modbus carries none.
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from plantmind.connectors.live import LiveSource, PeerLost
from plantmind.core.connectivity import ModbusConfig, ModbusRegister
from plantmind.core.plant import PlantIndex

__all__ = ["ModbusSource", "decode_registers", "encode_value"]

MAX_READ = 125  # registers per read request, §6.3
_FMT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}
_EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


def decode_registers(registers: list[int], reg: ModbusRegister) -> float:
    """The engineering value of ``reg`` from its raw 16-bit ``registers``.

    >>> from plantmind.core.connectivity import ModbusRegister
    >>> r = ModbusRegister(signal="s", address=0, type="int16", scale=0.1, offset=-5)
    >>> round(decode_registers([0xFFF6], r), 3)  # -10 * 0.1 - 5
    -6.0
    """
    words = list(registers[: reg.count])
    if reg.word_order == "little":
        words.reverse()
    raw = struct.unpack(_FMT[reg.type], struct.pack(f">{len(words)}H", *words))[0]
    return float(raw) * reg.scale + reg.offset


def encode_value(value: float, reg: ModbusRegister) -> list[int]:
    """The registers a device would hold for engineering ``value`` (inverse of
    :func:`decode_registers`; used by tests and simulators)."""
    raw: float = (value - reg.offset) / reg.scale
    packed = struct.pack(_FMT[reg.type], raw if reg.type == "float32" else round(raw))
    words = list(struct.unpack(f">{reg.count}H", packed))
    if reg.word_order == "little":
        words.reverse()
    return words


@dataclass
class _Item:
    reg: ModbusRegister
    signal: int
    key: str


@dataclass
class _Block:
    table: str
    start: int
    count: int
    items: list[_Item]


def _plan(items: list[_Item]) -> list[_Block]:
    """Group entries of the same table into contiguous reads of at most ``MAX_READ``."""
    blocks: list[_Block] = []
    for table in ("holding", "input"):
        cur: _Block | None = None
        for it in sorted((i for i in items if i.reg.table == table), key=lambda i: i.reg.address):
            end = it.reg.address + it.reg.count
            if (
                cur is not None
                and it.reg.address <= cur.start + cur.count
                and (max(end, cur.start + cur.count) - cur.start <= MAX_READ)
            ):
                cur.count = max(end, cur.start + cur.count) - cur.start
                cur.items.append(it)
            else:
                cur = _Block(table, it.reg.address, it.reg.count, [it])
                blocks.append(cur)
    return blocks


class ModbusSource(LiveSource):
    """Polls the device described by ``config`` (see the module docstring)."""

    def __init__(self, config: ModbusConfig, index: PlantIndex) -> None:
        super().__init__(config.id, index, config.reconnect)
        self.config = config
        items = []
        for reg in config.registers:
            key = f"register {reg.table}:{reg.address} ({reg.type}, signal {reg.signal})"
            s = self.signal_index(reg.signal)
            if s is None:
                self.problem(key, "signal is not in the plant; register ignored")
                continue
            items.append(_Item(reg, s, key))
        self._blocks = _plan(items)
        self.stats.extra["polls"] = 0

    async def _session(self) -> None:
        cfg = self.config
        client = AsyncModbusTcpClient(
            cfg.host, port=cfg.port, timeout=cfg.timeout_s, retries=0, reconnect_delay=0
        )
        try:
            if not await client.connect():
                raise PeerLost(f"cannot connect to {cfg.host}:{cfg.port}")
            self.log.info("source %s: connected to %s:%d", self.name, cfg.host, cfg.port)
            self.mark_connected()
            loop = asyncio.get_running_loop()
            next_poll = loop.time()
            while not self.closed:
                await self._poll(client)
                self.stats.extra["polls"] += 1
                # fixed-rate polling: a slow poll does not shift the later ones
                next_poll = max(next_poll + cfg.poll_interval_s, loop.time())
                if await self.sleep(next_poll - loop.time()):
                    return
        finally:
            client.close()

    async def _read(
        self, client: AsyncModbusTcpClient, table: str, start: int, count: int
    ) -> list[int] | int:
        """The registers, or the Modbus exception code of an exception response."""
        read = client.read_holding_registers if table == "holding" else client.read_input_registers
        try:
            resp = await read(start, count=count, device_id=self.config.unit)
        except ModbusException as exc:  # timeouts, a closed socket: the session is over
            raise PeerLost(f"{table} registers {start}..{start + count - 1}: {exc}") from exc
        if resp.isError():
            return int(getattr(resp, "exception_code", 0) or 0)
        return list(resp.registers)

    async def _poll(self, client: AsyncModbusTcpClient) -> None:
        new_blocks: list[_Block] = []
        for block in self._blocks:
            res = await self._read(client, block.table, block.start, block.count)
            t = time.time()
            if isinstance(res, int):
                if len(block.items) > 1:
                    # one bad entry must not take its neighbours down: read them singly from now on
                    new_blocks.extend(
                        _Block(it.reg.table, it.reg.address, it.reg.count, [it])
                        for it in block.items
                    )
                    for it in block.items:
                        await self._read_single(client, it)
                else:
                    new_blocks.append(block)
                    self._exception(block.items[0], res)
                continue
            new_blocks.append(block)
            for it in block.items:
                off = it.reg.address - block.start
                self._emit(it, res[off : off + it.reg.count], t)
        self._blocks = new_blocks

    async def _read_single(self, client: AsyncModbusTcpClient, it: _Item) -> None:
        res = await self._read(client, it.reg.table, it.reg.address, it.reg.count)
        if isinstance(res, int):
            self._exception(it, res)
        else:
            self._emit(it, res, time.time())

    def _exception(self, it: _Item, code: int) -> None:
        what = _EXCEPTION_NAMES.get(code, "exception")
        self.problem(
            it.key,
            f"device answered exception {code:02d} ({what}); check the table, address and type "
            f"({it.reg.type} spans {it.reg.count} register(s)); other registers keep flowing",
        )

    def _emit(self, it: _Item, registers: list[int], t: float) -> None:
        if len(registers) < it.reg.count:
            self.problem(it.key, f"short response: {len(registers)} of {it.reg.count} registers")
            return
        value = decode_registers(registers, it.reg)
        if not math.isfinite(value):
            self.problem(it.key, f"registers {registers} decode to {value} as {it.reg.type}")
            return
        self.forget_problem(it.key)
        self.push(it.signal, t, value)
