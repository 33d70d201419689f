"""Fixtures for the connector tests: real peers on 127.0.0.1 (see ``connector_peers``), the
shared Mosquitto broker at 127.0.0.1:1883 (tests skip with the reason when it is not there)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import pytest
from connector_peers import MOSQUITTO, Collector, ModbusPeer, OpcUaPeer, TcpProxy

from plantmind.connectors.base import Source


@pytest.fixture(scope="session")
def mosquitto() -> tuple[str, int]:
    """The shared broker; skips the test with the reason when it cannot be reached."""
    try:
        with socket.create_connection(MOSQUITTO, timeout=1.0):
            pass
    except OSError as exc:
        pytest.skip(f"Mosquitto broker not reachable at {MOSQUITTO[0]}:{MOSQUITTO[1]} ({exc})")
    return MOSQUITTO


@pytest.fixture
async def broker_proxy(mosquitto: tuple[str, int]) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(mosquitto)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def collect() -> AsyncIterator[Callable[[Source], Collector]]:
    made: list[Collector] = []

    def start(source: Source) -> Collector:
        c = Collector(source)
        made.append(c)
        return c

    yield start
    for c in made:
        await c.close()


@pytest.fixture
async def modbus_peer() -> AsyncIterator[ModbusPeer]:
    peer = ModbusPeer()
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
async def opcua_peer() -> AsyncIterator[OpcUaPeer]:
    peer = OpcUaPeer()
    await peer.start()
    yield peer
    await peer.stop()
