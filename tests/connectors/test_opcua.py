"""OPC UA specifics against a real asyncua server on 127.0.0.1: browsing, user name and password,
certificates with Basic256Sha256 SignAndEncrypt, a node deleted while subscribed."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from connector_peers import OpcUaPeer, make_certificate

from plantmind.connectors.opcua import OpcUaSource, browse, browse_tree
from plantmind.core.connectivity import Backoff, OpcUaConfig, OpcUaSecurity, PasswordAuth
from plantmind.core.plant import PlantIndex

pytestmark = pytest.mark.timeout(60)
FAST = Backoff(initial_s=0.05, max_s=0.5)


def _config(url: str, **kw) -> OpcUaConfig:
    return OpcUaConfig(
        protocol="opcua",
        id="ua",
        url=url,
        nodes={
            "P-101.flow": "ns=2;s=Pump.Flow",
            "P-101.discharge_pressure": "ns=2;s=Pump.Pressure",
        },
        publishing_interval_ms=50,
        node_check_interval_s=0.3,
        reconnect=FAST,
        **kw,
    )


async def _expect(col, index: PlantIndex, sid: str, value: float, ts: float) -> None:
    s = index.signal_position()[sid]
    await col.wait_for(
        lambda got: any(g == s and v == value and abs(t - ts) < 1e-5 for g, t, v in got),
        timeout=10,
    )


async def test_browse_tree_lists_objects_variables_and_node_ids(opcua_peer: OpcUaPeer):
    lines = await browse_tree(opcua_peer.url, depth=2)
    text = "\n".join(lines)
    assert lines[0].startswith("0:Objects  [Object]  i=85")
    assert "  2:Pump  [Object]  ns=2;s=Pump" in text
    assert "    2:Flow  [Variable Double]  ns=2;s=Pump.Flow = 0.0" in text
    assert "Server" not in text  # the standard Server object is left out by default
    shallow = await browse(opcua_peer.url, depth=0)
    assert shallow.children == [] and shallow.truncated


async def test_source_timestamps_are_kept(opcua_peer, index, collect):
    col = collect(OpcUaSource(_config(opcua_peer.url), index))
    await col.source.connected.wait()
    await asyncio.sleep(0.2)
    ts = 1_700_000_000.125
    await opcua_peer.write("Flow", 42.0, ts)
    await _expect(col, index, "P-101.flow", 42.0, ts)


async def test_username_and_password_from_the_environment(
    index, collect, monkeypatch, caplog: pytest.LogCaptureFixture
):
    peer = OpcUaPeer(users={"operator": "s3cret-pw"})
    await peer.start()
    try:
        monkeypatch.setenv("PM_TEST_UA_PW", "s3cret-pw")
        cfg = _config(
            peer.url, auth=PasswordAuth(username="operator", password_env="PM_TEST_UA_PW")
        )
        assert "s3cret-pw" not in repr(cfg)
        col = collect(OpcUaSource(cfg, index))
        await asyncio.wait_for(col.source.connected.wait(), 10)
        await asyncio.sleep(0.2)
        ts = time.time() - 1
        await peer.write("Flow", 7.0, ts)
        await _expect(col, index, "P-101.flow", 7.0, ts)

        # a wrong password: the source keeps retrying, and never logs the password
        monkeypatch.setenv("PM_TEST_UA_PW2", "wrong-pw")
        bad = OpcUaSource(
            _config(
                peer.url, auth=PasswordAuth(username="operator", password_env="PM_TEST_UA_PW2")
            ),
            index,
        )
        caplog.set_level(logging.DEBUG, logger="plantmind")
        await bad.start()
        await asyncio.sleep(1.0)
        assert not bad.connected.is_set()
        assert bad.diagnostics()["connect_failures"] >= 1
        await bad.close()
        ours = [r.getMessage() for r in caplog.records if r.name.startswith("plantmind")]
        assert ours and not any("wrong-pw" in m or "s3cret-pw" in m for m in ours)
    finally:
        await peer.stop()


async def test_certificates_with_basic256sha256_sign_and_encrypt(index, collect, tmp_path):
    server_cert, server_key, _, _ = make_certificate(
        str(tmp_path), "server", uri="urn:freeopcua:python:server"
    )
    client_cert, client_key, _, _ = make_certificate(
        str(tmp_path), "client", uri="urn:plantmind:test:client"
    )
    peer = OpcUaPeer(certificate=server_cert, private_key=server_key)
    await peer.start()
    try:
        security = OpcUaSecurity(
            policy="Basic256Sha256",
            mode="SignAndEncrypt",
            certificate=client_cert,
            private_key=client_key,
        )
        col = collect(OpcUaSource(_config(peer.url, security=security), index))
        await asyncio.wait_for(col.source.connected.wait(), 15)
        await asyncio.sleep(0.2)
        ts = time.time() - 2
        await peer.write("Pressure", 3.25, ts)
        await _expect(col, index, "P-101.discharge_pressure", 3.25, ts)
        lines = await browse_tree(peer.url, depth=2, security=security)
        assert any("ns=2;s=Pump.Flow" in line for line in lines)
    finally:
        await peer.stop()


async def test_server_refuses_a_channel_without_security(tmp_path):
    server_cert, server_key, _, _ = make_certificate(str(tmp_path), "server")
    peer = OpcUaPeer(certificate=server_cert, private_key=server_key)
    await peer.start()
    try:
        with pytest.raises(Exception):  # noqa: B017 - asyncua raises various errors here
            await browse(peer.url, depth=1, timeout_s=3)
    finally:
        await peer.stop()


async def test_a_node_deleted_while_subscribed_is_logged_and_others_flow(
    opcua_peer: OpcUaPeer, index, collect, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="plantmind.connectors")
    col = collect(OpcUaSource(_config(opcua_peer.url), index))
    await col.source.connected.wait()
    await asyncio.sleep(0.2)
    await opcua_peer.delete("Pressure")
    deadline = time.monotonic() + 5
    while "ns=2;s=Pump.Pressure" not in caplog.text and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    msg = next(r.getMessage() for r in caplog.records if "Pump.Pressure" in r.getMessage())
    assert "source ua" in msg and "P-101.discharge_pressure" in msg and "disappeared" in msg
    ts = time.time() - 1
    await opcua_peer.write("Flow", 9.5, ts)
    await _expect(col, index, "P-101.flow", 9.5, ts)


def test_security_settings_are_validated():
    with pytest.raises(ValueError, match="needs 'certificate'"):
        OpcUaSecurity(policy="Basic256Sha256", mode="SignAndEncrypt")
    with pytest.raises(ValueError, match="both"):
        OpcUaSecurity(policy="Basic256Sha256", mode="None", certificate="c", private_key="k")
