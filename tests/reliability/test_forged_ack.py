"""A forged acknowledgement cannot make a site forget events: with no hub listening, acks
published to ``<prefix>/ack/<site>`` (far above every seq, for seqs not in flight, malformed,
retained) are ignored with a warning, the outbox keeps every event, nothing is audited as
delivered, and once a hub comes up everything is delivered exactly once, in order. Against
the real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from pathlib import Path

import pytest

from plantmind.central.service import CentralService, default_db_url
from plantmind.sync.forwarder import Forwarder, JitteredBackoff
from plantmind.sync.outbox import Outbox, queued_rows
from plantmind.sync.transport_mqtt import (
    HubMqttConfig,
    MqttHubListener,
    MqttTransport,
    _parse_ack,
)

SITE = "forged-site"
N = 5000
BATCH = 1000


def test_ack_payloads_that_are_not_a_seq_are_refused():
    assert _parse_ack(b'{"upto": 42}') == 42
    for bad in (b'{"upto": 9e18}', b'{"upto": 1e400}', b'{"upto": "42"}', b'{"upto": true}',
                b'{"upto": 0}', b'{"upto": -1}', b'{"upto": 9223372036854775808}',
                b'{"upto": null}', b"{}", b"[42]", b"not json", b"[" * 100_000,
                b'{"upto": NaN}', b'{"upto": 1}' + b" " * 300):  # fmt: skip
        assert _parse_ack(bad) is None, bad


def test_an_ack_counts_only_inside_a_batch_in_flight(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger="plantmind.sync.transport_mqtt")
    t = MqttTransport(HubMqttConfig(), SITE)
    t._take_ack(100)  # nothing in flight
    assert t._acked == -1
    t._unacked = [(10, 20)]
    for forged in (21, 9 * 10**18, 9):  # above the batch, far above, below
        t._take_ack(forged)
    assert t._acked == -1
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4 and all(SITE in m for m in messages)
    assert "claiming seq 9000000000000000000" in messages[2] and "end at 20" in messages[2]
    t._take_ack(20)
    assert t._acked == 20 and t._unacked == []
    t._take_ack(20)  # a duplicate of the hub's ack (QoS 1) is harmless and not warned about
    assert len(caplog.records) == 4


@pytest.mark.service
@pytest.mark.slow
def test_forged_acks_while_the_hub_is_down_lose_nothing(
    tmp_path: Path, mqtt_broker: tuple[str, int], caplog: pytest.LogCaptureFixture
):
    host, port = mqtt_broker
    cfg = HubMqttConfig(host=host, port=port, prefix=f"plantmind-test/{uuid.uuid4().hex[:8]}")
    caplog.set_level(logging.WARNING, logger="plantmind.sync.transport_mqtt")
    outbox = Outbox(tmp_path / "outbox.db", SITE)
    outbox.put_many([("alerts", {"id": f"a{i}", "asset_id": "P-1"}) for i in range(N)])
    seqs = [s for s, _ in queued_rows(outbox)]
    hub = CentralService(default_db_url(tmp_path / "hub"), tmp_path / "hub")
    # far above everything, the last seq queued and one of the second batch (both queued but
    # never in flight while the first batch waits), below everything, and malformed ones
    forged = [
        b'{"upto": 9e18}',
        b'{"upto": 9000000000000000000}',
        json.dumps({"upto": 2**63 - 1}).encode(),
        json.dumps({"upto": seqs[-1]}).encode(),
        json.dumps({"upto": seqs[BATCH + 1]}).encode(),
        json.dumps({"upto": seqs[0] - 1}).encode(),
        json.dumps({"upto": 2**80}).encode(),
        b'{"upto": "9e18"}',
        b"[" * 10_000,
    ]

    async def main() -> None:
        transport = MqttTransport(cfg, SITE, ack_timeout_s=0.4)
        fwd = Forwarder(outbox, transport, batch_events=BATCH,
                        backoff=JitteredBackoff(0.05, 0.2))  # fmt: skip
        stop = asyncio.Event()
        async with cfg.client() as forger:
            # retained: delivered to the site the moment it subscribes, before any send
            await forger.publish(cfg.ack_topic(SITE), b'{"upto": 9e18}', qos=1, retain=True)
            forwarding = asyncio.create_task(fwd.run(stop))
            try:
                for _ in range(30):  # ~3 s: several sends time out meanwhile
                    for payload in forged:
                        await forger.publish(cfg.ack_topic(SITE), payload, qos=1)
                    await asyncio.sleep(0.1)
                assert fwd.failed_attempts >= 3
                assert len(outbox) == N, "a forged ack removed events"
                assert outbox.counters().get("delivered", 0) == 0
                assert {a.outcome for a in outbox.audit(1000)} == {"failed"}

                listener = MqttHubListener(cfg, hub.inbox.receive)
                listening = asyncio.create_task(listener.run(stop))
                async with asyncio.timeout(40):
                    while len(outbox):
                        await asyncio.sleep(0.05)
            finally:
                stop.set()
                await forwarding
                with contextlib.suppress(NameError):
                    await listening
                await forger.publish(cfg.ack_topic(SITE), b"", qos=1, retain=True)  # unretain
                await transport.close()

    try:
        asyncio.run(main())
        assert hub.store.site_seqs(SITE) == seqs  # every event, once, in order
        assert hub.counts()["events"] == N
        assert outbox.counters()["delivered"] == N
        delivered = [a for a in outbox.audit(1000) if a.outcome == "delivered"]
        assert sum(a.events for a in delivered) == N
    finally:
        outbox.close()
        hub.close()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"site {SITE} claiming seq 9000000000000000000" in m for m in warned)
    assert any(f"claiming seq {seqs[-1]}" in m for m in warned)
    assert any("malformed ack" in m and SITE in m for m in warned)
