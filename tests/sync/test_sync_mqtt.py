"""The MQTT path against the real Mosquitto: exactly-once delivery acknowledged by the hub
(not by the broker), and what the default egress policy lets onto the broker.

The broker is shared; every test uses its own topic prefix and inspects only that prefix."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import replace
from typing import Any

import aiomqtt
import pytest

from plantmind.central.service import CentralService, default_db_url
from plantmind.connectors.simulator import PlantSimulator, demo_fault_schedule
from plantmind.detect.robust import RobustConfig
from plantmind.edge.node import EdgeNode
from plantmind.sync.egress import EgressRefusedError
from plantmind.sync.forwarder import Forwarder, JitteredBackoff, TransportError
from plantmind.sync.outbox import Outbox
from plantmind.sync.transport_mqtt import HubMqttConfig, MqttHubListener, MqttTransport
from plantmind.sync.uplink import SiteUplink
from plantmind.sync.wire import decode_batch

pytestmark = pytest.mark.service


@pytest.fixture
def cfg(mqtt_broker) -> HubMqttConfig:
    host, port = mqtt_broker
    return HubMqttConfig(host=host, port=port, prefix=f"plantmind-test/{uuid.uuid4().hex[:8]}")


async def _listen(
    hub: CentralService, cfg: HubMqttConfig, stop: asyncio.Event
) -> asyncio.Task[None]:
    listener = MqttHubListener(cfg, hub.inbox.receive)
    task = asyncio.create_task(listener.run(stop))
    await asyncio.wait_for(listener.connected.wait(), 10)
    return task


def test_batches_are_delivered_once_and_only_the_hub_ack_removes_them(tmp_path, cfg):
    hub = CentralService(default_db_url(tmp_path / "hub"), tmp_path / "hub")
    outbox = Outbox(tmp_path / "outbox.db", "M1")
    outbox.put_many([("aggregates", {"n": i}) for i in range(20_000)])

    async def main() -> None:
        transport = MqttTransport(cfg, "M1", ack_timeout_s=1.0)
        fwd = Forwarder(outbox, transport, batch_events=2500, backoff=JitteredBackoff(0.05, 0.2))
        # no hub listening: the broker PUBACKs, the batch is dropped, nothing leaves the outbox
        with pytest.raises(TransportError, match="no ack from the hub"):
            await fwd.step()
        assert len(outbox) == 20_000
        stop = asyncio.Event()
        listening = await _listen(hub, cfg, stop)
        try:
            assert await fwd.drain(60)
        finally:
            stop.set()
            await listening
            await transport.close()

    asyncio.run(main())
    assert hub.store.site_seqs("M1") == sorted(set(hub.store.site_seqs("M1")))
    assert hub.counts()["events"] == 20_000
    assert [a.outcome for a in outbox.audit(100)][-1] == "failed"
    assert outbox.audit(1)[0].destination == cfg.destination
    outbox.close()
    hub.close()


_AGGREGATE_KEYS = {"signal", "asset", "start", "period_s", "count", "mean", "min", "max"}
_ALLOWED = {"alerts", "health", "aggregates"}
_BULK_KEYS = {"samples", "values", "value", "ts", "image", "images", "png", "jpeg", "pixels",
              "text", "content", "document", "documents", "page"}  # fmt: skip


def _raw_content(obj: Any, path: str = "") -> list[str]:
    """Where ``obj`` looks like raw samples, an image or document text."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _BULK_KEYS:
                found.append(f"{path}.{k}")
            found += _raw_content(v, f"{path}.{k}")
    elif isinstance(obj, list):
        if len(obj) > 16:
            found.append(f"{path}: list of {len(obj)}")
        for i, v in enumerate(obj):
            found += _raw_content(v, f"{path}[{i}]")
    elif isinstance(obj, str) and len(obj) > 2000:
        found.append(f"{path}: {len(obj)} characters of text")
    return found


def _check_event(cat: str, data: dict[str, Any]) -> None:
    assert cat in _ALLOWED, f"category {cat!r} left the site"
    assert _raw_content(data) == [], (cat, _raw_content(data))
    if cat == "aggregates":
        assert set(data) == _AGGREGATE_KEYS


def test_default_policy_puts_no_raw_data_on_the_broker_or_in_the_hub(tmp_path, cfg, plant):
    """An edge node on the simulated plant with faults, its uplink over MQTT, everything on
    the test's topics recorded (subscribed to ``#``) and inspected."""
    hub = CentralService(default_db_url(tmp_path / "hub"), tmp_path / "hub")
    node = EdgeNode(
        plant, tmp_path / "edge", restore=False, detector_config=RobustConfig(warmup=300)
    )
    sim_start = 1_767_571_200.0
    faults = [replace(f, start=f.start + 3600.0) for f in demo_fault_schedule(plant, 3600.0)]
    sim = PlantSimulator(plant, seed=3, start_ts=sim_start, faults=faults)
    seen: list[tuple[str, bytes]] = []

    async def main() -> None:
        stop = asyncio.Event()

        async def record() -> None:
            async with cfg.client() as client:
                await client.subscribe("#", qos=1)
                recording.set()
                async for m in client.messages:
                    if str(m.topic).startswith(cfg.prefix + "/"):
                        seen.append((str(m.topic), bytes(m.payload)))  # type: ignore[arg-type]

        recording = asyncio.Event()
        recorder = asyncio.create_task(record())
        await asyncio.wait_for(recording.wait(), 10)
        listening = await _listen(hub, cfg, stop)
        uplink = SiteUplink(
            tmp_path / "edge",
            plant.sites[0].id,
            MqttTransport(cfg, plant.sites[0].id, ack_timeout_s=5.0),
            plant.egress,
            clock=lambda: sim.now,
            aggregate_every_s=0.2,
        )
        uplink.attach(node)
        for cat, data in (("raw_samples", {"values": [1.0] * 100}), ("images", {"png": "..."}),
                          ("documents", {"text": "manual"})):  # fmt: skip
            with pytest.raises(EgressRefusedError):
                uplink.outbox.put(cat, data)
        uplink.start()
        while sim.now < sim_start + 3600.0:  # an hour of history
            node.learn(sim.step(600))
            await asyncio.sleep(0)
        while sim.now < sim_start + 2 * 3600.0 + 60:  # an hour with faults
            node.ingest(sim.step(20))
            await asyncio.sleep(0)
        rest = node.downsampler.flush()
        node.store.write_aggregates(node.index.signal_ids, rest)
        assert await uplink.finish(sim.now)
        await asyncio.sleep(0.5)  # the last ack reaches the recorder too
        stats = uplink.stats()
        await uplink.close()
        stop.set()
        await listening
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await recorder
        assert stats["refused"] == {"raw_samples": 1, "images": 1, "documents": 1}

    try:
        asyncio.run(main())
    finally:
        node.close()
    batches = [p for t, p in seen if "/batch/" in t]
    acks = [p for t, p in seen if "/ack/" in t]
    assert {t.rsplit("/", 2)[-2] for t, _ in seen} == {"batch", "ack"}
    assert batches and len(acks) >= len(batches)
    cats: dict[str, int] = {}
    sent: set[int] = set()
    for body in batches:
        _, events = decode_batch(body)
        for e in events:
            _check_event(e["cat"], e["data"])
            cats[e["cat"]] = cats.get(e["cat"], 0) + 1
            sent.add(e["seq"])
    assert cats.get("alerts", 0) > 0 and cats.get("aggregates", 0) > 0
    assert all(set(json.loads(a)) == {"upto"} for a in acks)
    stored = hub.store.list_events(limit=100_000)
    assert len(stored) == hub.counts()["events"] == len(sent)
    for e in stored:
        _check_event(e["category"], e["data"])
    hub.close()
