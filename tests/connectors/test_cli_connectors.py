"""The command line over real peers: ``connect browse`` prints an OPC UA server's tree, and
``edge run`` feeds the node from the connectors declared in plant.yaml (a Modbus device)."""

from __future__ import annotations

import asyncio
import os
import struct
import sys
import time

import httpx
from connector_peers import ModbusPeer, OpcUaPeer, free_port

from plantmind.core.auth import TokenStore
from plantmind.core.plant import example_plant_path

CLI = [sys.executable, "-m", "plantmind.cli"]


async def _run(
    *args: str, timeout: float = 60.0, env: dict[str, str] | None = None
) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode()


async def test_connect_browse_prints_the_tree(opcua_peer: OpcUaPeer):
    code, out = await _run("connect", "browse", opcua_peer.url, "--depth", "2")
    assert code == 0, out
    assert "2:Pump  [Object]  ns=2;s=Pump" in out
    assert "2:Flow  [Variable Double]  ns=2;s=Pump.Flow = 0.0" in out


async def test_connect_browse_names_an_unreachable_server():
    url = f"opc.tcp://127.0.0.1:{free_port()}/"
    code, out = await _run("connect", "browse", url, "--timeout", "2")
    assert code == 2 and url in out and "error" in out


async def test_edge_run_reads_the_plants_modbus_connector(tmp_path):
    peer = ModbusPeer()
    await peer.start()
    try:
        hi, lo = struct.unpack(">HH", struct.pack(">f", 187.5))
        await peer.set("holding", 10, [hi, lo])
        plant = example_plant_path().read_text(encoding="utf-8")
        plant = plant.replace(
            "    stations:\n",
            "    connectors:\n"
            "      - protocol: modbus\n"
            "        id: pump-plc\n"
            "        host: 127.0.0.1\n"
            f"        port: {peer.port}\n"
            "        unit: 1\n"
            "        poll_interval_s: 0.2\n"
            "        registers:\n"
            "          - {signal: P-101.flow, table: holding, address: 10, type: float32}\n"
            "    stations:\n",
            1,
        )
        (tmp_path / "plant.yaml").write_text(plant, encoding="utf-8")
        home = tmp_path / "home"
        token = TokenStore.in_home(home).create("viewer", label="test")
        port = free_port()
        env = {**os.environ, "PLANTMIND_HOME": str(home)}
        proc = await asyncio.create_subprocess_exec(
            *CLI, "edge", "run", "--plant", str(tmp_path / "plant.yaml"), "--port", str(port),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            value = None
            deadline = time.monotonic() + 60
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                while time.monotonic() < deadline and value is None:
                    await asyncio.sleep(0.5)
                    try:
                        r = await client.get(
                            "/api/signals",
                            params={"asset": "P-101"},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                    except httpx.HTTPError:
                        continue
                    if r.status_code == 200:
                        flow = next(s for s in r.json() if s["id"] == "P-101.flow")
                        value = flow["latest_value"]
            assert value == 187.5
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 20)
    finally:
        await peer.stop()
