"""The broker ACL of ``plantmind central broker-acl``, enforced by a real Mosquitto of its own
(``allow_anonymous false``, a password per user): a site delivers its own batches and gets the
hub's ack; it cannot publish as another site, read another site's acks, or forge an ack for
itself; anonymous clients cannot connect. And the same over TLS with a private CA, as the hub
(``--mqtt-ca``) and an edge (``mqtts://`` with ``$SSL_CERT_FILE``) configure it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import yaml
from typer.testing import CliRunner

from plantmind.central.service import CentralService, default_db_url
from plantmind.sync.broker_acl import BrokerAclError, broker_acl
from plantmind.sync.forwarder import TransportError
from plantmind.sync.transport_mqtt import HubMqttConfig, MqttHubListener, MqttTransport
from plantmind.sync.wire import Batch

pytestmark = pytest.mark.service

A, B, HUB = "site-a", "site-b", "hub"
PASSWORDS = {HUB: "hub-secret", A: "a-secret", B: "b-secret"}


def _batch(site: str, first: int, n: int = 3) -> Batch:
    rows = [(first + i, "alerts", 1_767_571_200.0 + i, json.dumps({"id": f"{site}-{first + i}"}))
            for i in range(n)]  # fmt: skip
    return Batch(site, rows)


def _cfg(broker: Any, user: str | None, **kw: Any) -> HubMqttConfig:
    password = PASSWORDS.get(user) if user else None
    args: dict[str, Any] = {"host": broker.host, "port": broker.port, "username": user,
                            "password": password, **kw}  # fmt: skip
    return HubMqttConfig(**args)


@pytest.fixture
def broker(acl_broker: Any) -> Any:
    return acl_broker(broker_acl([A, B], hub_user=HUB), PASSWORDS)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[CentralService]:
    service = CentralService(default_db_url(tmp_path / "hub"), tmp_path / "hub")
    yield service
    service.close()


@contextlib.asynccontextmanager
async def _hub_listening(hub: CentralService, cfg: HubMqttConfig) -> AsyncIterator[MqttHubListener]:
    stop = asyncio.Event()
    listener = MqttHubListener(cfg, hub.inbox.receive)
    task = asyncio.create_task(listener.run(stop))
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        yield listener
    finally:
        stop.set()
        await task


def test_the_acl_grants_each_site_its_own_topics_only():
    text = broker_acl([A, B], hub_user=HUB, prefix="plantmind")
    grants = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert grants == [
        "user hub", "topic read plantmind/v1/batch/+", "topic write plantmind/v1/ack/+",
        f"user {A}", f"topic write plantmind/v1/batch/{A}", f"topic read plantmind/v1/ack/{A}",
        f"user {B}", f"topic write plantmind/v1/batch/{B}", f"topic read plantmind/v1/ack/{B}",
    ]  # fmt: skip
    # lines before the first `user` apply to anonymous clients: there are none
    assert all(ln.startswith("#") or not ln for ln in text.split("user hub")[0].splitlines())
    for bad in (([], HUB, "plantmind"), ([A, A], HUB, "plantmind"), ([A, HUB], HUB, "plantmind"),
                (["a+b"], HUB, "plantmind"), (["a b"], HUB, "plantmind"), (["%u"], HUB, "p"),
                ([A], "h#", "plantmind"), ([A], HUB, "plant/#"), ([A], HUB, "/plantmind"),
                ([A], HUB, "")):  # fmt: skip
        with pytest.raises(BrokerAclError):
            broker_acl(*bad)


def test_the_command_writes_the_acl_for_the_plants_sites(tmp_path: Path):
    from plantmind.cli import app
    from plantmind.core.plant import example_plant_path

    doc = yaml.safe_load(example_plant_path().read_text())
    doc["sites"].append({"id": "hillside", "name": "Hillside Plant"})
    plant = tmp_path / "plant.yaml"
    plant.write_text(yaml.safe_dump(doc))
    runner = CliRunner()
    out = tmp_path / "acl.conf"
    res = runner.invoke(app, ["central", "broker-acl", "--plant", str(plant), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text() == broker_acl(["riverside", "hillside"], "hub", "plantmind")
    for line in ("allow_anonymous false", "password_file", f"acl_file {out.resolve()}",
                 "mosquitto_passwd -c"):  # fmt: skip
        assert line in res.stderr
    res = runner.invoke(app, ["central", "broker-acl", "--plant", str(plant), "--site",
                              "hillside", "--hub-user", "central", "--prefix", "acme"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.stdout == broker_acl(["hillside"], "central", "acme")
    res = runner.invoke(app, ["central", "broker-acl", "--plant", str(plant), "--site", "nope"])
    assert res.exit_code == 2 and "not in the plant" in res.stderr


def test_a_site_delivers_its_batch_and_gets_the_hubs_ack(broker: Any, hub: CentralService):
    async def main() -> None:
        async with _hub_listening(hub, _cfg(broker, HUB)) as listener:
            transport = MqttTransport(_cfg(broker, A), A, ack_timeout_s=10)
            try:
                assert await transport.send(_batch(A, 1)) == 3
            finally:
                await transport.close()
            assert listener.batches == 1

    asyncio.run(main())
    assert hub.store.site_seqs(A) == [1, 2, 3]


def test_a_site_cannot_publish_as_another_site(broker: Any, hub: CentralService):
    """Site A publishes a well-formed batch of site B (which the hub would store: the body
    names the topic's site) on B's batch topic: the broker drops it. The same bytes from B's
    user arrive, so it is the ACL that stopped A's."""
    forged = _batch(B, 100)

    async def main() -> None:
        async with _hub_listening(hub, _cfg(broker, HUB)) as listener:
            async with _cfg(broker, A).client() as a:
                await a.publish(f"plantmind/v1/batch/{B}", forged.body, qos=1)
            await asyncio.sleep(1.0)
            assert listener.batches == 0 and listener.rejected == 0
            async with _cfg(broker, B).client() as b:
                await b.publish(f"plantmind/v1/batch/{B}", forged.body, qos=1)
            async with asyncio.timeout(10):
                while listener.batches == 0:
                    await asyncio.sleep(0.05)

    asyncio.run(main())
    assert hub.store.site_seqs(B) == [100, 101, 102]
    assert hub.store.site_seqs(A) == []


def test_a_site_cannot_read_another_sites_acks(broker: Any, hub: CentralService):
    seen: list[str] = []

    async def main() -> None:
        async with _hub_listening(hub, _cfg(broker, HUB)), _cfg(broker, A).client() as a:
            for topic in (f"plantmind/v1/ack/{B}", "plantmind/v1/ack/+", "#"):
                # Mosquitto refuses these in the SUBACK or simply delivers nothing
                with contextlib.suppress(aiomqtt.MqttError):
                    await a.subscribe(topic, qos=1)

            async def spy() -> None:
                async for m in a.messages:
                    seen.append(str(m.topic))

            spying = asyncio.create_task(spy())
            transport = MqttTransport(_cfg(broker, B), B, ack_timeout_s=10)
            try:
                assert await transport.send(_batch(B, 1)) == 3  # B got its ack
            finally:
                await transport.close()
            await asyncio.sleep(1.0)
            spying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await spying

    asyncio.run(main())
    assert seen == []


def test_anonymous_and_wrong_password_clients_cannot_connect(broker: Any):
    async def main() -> None:
        for cfg in (_cfg(broker, None), HubMqttConfig(host=broker.host, port=broker.port,
                                                      username=A, password="wrong")):  # fmt: skip
            with pytest.raises(aiomqtt.MqttError, match=r"[Nn]ot authori[sz]ed|[Bb]ad user"):
                async with cfg.client() as c:
                    await c.publish(f"plantmind/v1/batch/{A}", _batch(A, 1).body, qos=1)
        transport = MqttTransport(_cfg(broker, None), A, ack_timeout_s=2)
        with pytest.raises(TransportError, match="cannot connect"):
            await transport.send(_batch(A, 1))
        await transport.close()

    asyncio.run(main())


def test_a_site_cannot_forge_the_hubs_ack(broker: Any):
    """No hub listens. Site A's user publishes ``{"upto": 3}`` on A's own ack topic while its
    batch 1..3 waits: exactly the seqs in flight, which the transport alone would believe.
    The broker drops it (sites may not write acks) and the send times out. The same ack from
    the hub's user is believed, so it is the ACL that stopped the forgery."""
    ack = json.dumps({"upto": 3}).encode()

    async def send_while(user: str) -> int:
        transport = MqttTransport(_cfg(broker, A), A, ack_timeout_s=2.0)
        sending = asyncio.create_task(transport.send(_batch(A, 1)))
        try:
            async with _cfg(broker, user).client() as acker:
                while not sending.done():
                    await acker.publish(f"plantmind/v1/ack/{A}", ack, qos=1)
                    await asyncio.sleep(0.1)
            return await sending
        finally:
            await transport.close()

    async def main() -> None:
        with pytest.raises(TransportError, match="no ack from the hub"):
            await send_while(A)
        assert await send_while(HUB) == 3

    asyncio.run(main())


def test_tls_with_a_private_ca_on_both_sides(
    acl_broker: Any, hub: CentralService, monkeypatch: pytest.MonkeyPatch
):
    """The hub with ``--mqtt-tls --mqtt-ca`` (here: the CA alone, which now implies TLS), the
    edge with ``mqtts://`` and the system trust store pointed at the CA by $SSL_CERT_FILE;
    without the CA the certificate is refused."""
    broker = acl_broker(broker_acl([A, B], hub_user=HUB), PASSWORDS, tls=True)
    hub_cfg = _cfg(broker, HUB, port=broker.tls_port, ca_file=str(broker.ca))
    assert hub_cfg.uses_tls and hub_cfg.destination.startswith("mqtts://")
    edge_cfg = _cfg(broker, A, port=broker.tls_port, tls=True)

    async def main() -> None:
        untrusted = MqttTransport(edge_cfg, A, ack_timeout_s=2)
        with pytest.raises(TransportError, match="cannot connect"):
            await untrusted.send(_batch(A, 1))
        await untrusted.close()
        monkeypatch.setenv("SSL_CERT_FILE", str(broker.ca))
        async with _hub_listening(hub, hub_cfg):
            transport = MqttTransport(edge_cfg, A, ack_timeout_s=10)
            try:
                assert await transport.send(_batch(A, 1)) == 3
            finally:
                await transport.close()

    asyncio.run(main())
    assert hub.store.site_seqs(A) == [1, 2, 3]
