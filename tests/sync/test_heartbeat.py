"""Site heartbeats (sync/heartbeat.py) through a site's uplink: sent beside the outbox, never
in it; paused and resumed with the uplink; a hub without heartbeats changes nothing for the
batches, which keep their wire format."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from plantmind.central.fleet import FleetStore
from plantmind.central.inbox import Inbox
from plantmind.store.central import CentralStore
from plantmind.sync.forwarder import EmbeddedTransport
from plantmind.sync.heartbeat import HeartbeatIn, HeartbeatSender, read_models
from plantmind.sync.outbox import Outbox, queued_rows
from plantmind.sync.uplink import SiteUplink
from plantmind.sync.wire import WireError


async def _until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def test_uplink_beats_pauses_and_resumes(tmp_path):
    store = FleetStore(f"sqlite:///{tmp_path / 'hub.db'}")
    inbox = Inbox(store)
    (tmp_path / "site" / "models").mkdir(parents=True)
    (tmp_path / "site" / "models" / "current.json").write_text(
        json.dumps({"detector": {"version": 7, "digest": "x", "since": 1.0}})
    )

    async def main() -> None:
        # the embedded transport finds the inbox's heartbeat method by itself
        up = SiteUplink(tmp_path / "site", "S1", EmbeddedTransport(inbox.receive),
                        heartbeat_s=1.0, idle_s=0.02)  # fmt: skip
        try:
            up.start()
            up.outbox.put_many([("alerts", {"id": "a", "asset_id": "P"}, time.time())])
            await _until(lambda: store.heartbeats() and len(up.outbox) == 0
                         and up.outbox.counters()["accepted"] >= 2)  # fmt: skip
            beat = store.heartbeats()[0]
            (model,) = beat["models"]
            assert (model["name"], model["version"]) == ("detector", 7)
            assert store.site_seqs("S1") and queued_rows(up.outbox) == []
            # heartbeats never enter the outbox: only the alert and the model inventory
            # (category models, sync/producers.py) were queued
            assert up.outbox.counters()["accepted"] == 2
            await up.pause()
            sent = up.heartbeat.sent
            up.outbox.put_many([("alerts", {"id": "b", "asset_id": "P"}, time.time())])
            await asyncio.sleep(1.3)
            assert up.heartbeat.sent == sent and len(up.outbox) == 1  # nothing goes out
            up.start()
            await _until(lambda: len(up.outbox) == 0 and up.heartbeat.sent > sent)
            assert len(store.site_seqs("S1")) == 3
            assert up.stats()["last_forwarded"] is not None
        finally:
            await up.close()

    try:
        asyncio.run(main())
    finally:
        store.close()


def test_a_hub_without_fleet_views_still_takes_every_batch(tmp_path):
    store = CentralStore(f"sqlite:///{tmp_path / 'hub.db'}")  # as before heartbeats
    inbox = Inbox(store)
    outbox = Outbox(tmp_path / "outbox.db", "S1")
    with pytest.raises(WireError, match="keeps no heartbeats"):
        inbox.heartbeat({"site": "S1", "ts": 1.0})

    async def main() -> None:
        sender = HeartbeatSender(outbox, None, EmbeddedTransport(inbox.receive))
        assert not await sender.beat() and sender.failed == 1 and sender.supported

    asyncio.run(main())
    outbox.close()
    store.close()


def test_heartbeat_validation_names_the_field():
    ok = HeartbeatIn.model_validate({"site": "S1", "ts": 5.0, "extra": "ignored"})
    assert ok.interval_s == 30.0 and ok.outbox.queued == 0
    for bad, field in (
        ({"site": "S 1", "ts": 1.0}, "site"),
        ({"site": "S1"}, "ts"),
        ({"site": "S1", "ts": float("inf")}, "ts"),
        ({"site": "S1", "ts": 1.0, "outbox": {"queued": -1}}, "outbox.queued"),
        ({"site": "S1", "ts": 1.0, "v": 2}, "v"),
        ({"site": "S1", "ts": 1.0, "models": [{"name": "m"}] * 101}, "models"),
    ):
        inbox = Inbox(FleetStore("sqlite://"))
        with pytest.raises(WireError, match=field.replace(".", r"\.")):
            inbox.heartbeat(bad)


def test_models_read_from_the_agents_folder(tmp_path):
    assert read_models(None) == [] and read_models(tmp_path) == []
    (tmp_path / "current.json").write_text("{not json")
    assert read_models(tmp_path) == []
    (tmp_path / "current.json").write_text(json.dumps({"b": {"version": 2}, "a": {"v": 1}}))
    assert read_models(tmp_path) == [{"name": "b", "version": 2}]
    with pytest.raises(ValueError, match="interval"):
        HeartbeatSender(None, None, None, interval_s=0.5)  # type: ignore[arg-type]
