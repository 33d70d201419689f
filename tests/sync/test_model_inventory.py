"""The site's model inventory through the outbox (category ``models``): queued on start, on a
change and on the daily heartbeat, never when the policy keeps it home; the hub's fleet row
then shows each model's version and digest."""

from __future__ import annotations

import json
from pathlib import Path

from plantmind.central.fleet import FleetStore
from plantmind.central.inbox import Inbox
from plantmind.core.plant import EgressPolicy
from plantmind.sync.outbox import Outbox
from plantmind.sync.producers import ModelInventory

T0 = 1_767_571_200.0


def _current(home: Path, doc: dict) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "current.json").write_text(json.dumps(doc))


def test_inventory_on_start_change_and_heartbeat(tmp_path: Path) -> None:
    models = tmp_path / "models"
    outbox = Outbox(tmp_path / "outbox.db", "S1")
    store = FleetStore(f"sqlite:///{tmp_path / 'hub.db'}", clock=lambda: T0 + 5)
    try:
        inv = ModelInventory(outbox, models, heartbeat_s=3600)
        assert not inv.emit(T0)  # no model agent here yet: nothing to say
        _current(models, {"detector": {"version": 4, "digest": "ab" * 32, "since": T0 - 60,
                                       "previous": 3}})  # fmt: skip
        assert inv.emit(T0)  # start
        assert not inv.emit(T0 + 60)  # unchanged
        assert inv.emit(T0 + 3601)  # the heartbeat
        _current(models, {"detector": {"version": 5, "digest": "cd" * 32, "since": T0 + 3700,
                                       "previous": 4}})  # fmt: skip
        assert inv.emit(T0 + 3701)  # a change
        batch = outbox.next_batch()
        assert batch is not None
        rows = [(r[1], json.loads(r[3])) for r in batch.rows]
        assert [c for c, _ in rows] == ["models"] * 3
        assert [d["models"][0]["version"] for _, d in rows] == [4, 4, 5]
        Inbox(store).receive(batch.body)
        (site,) = store.fleet()["sites"]
        assert site["models"] == [{"name": "detector", "version": 5, "digest": "cd" * 32,
                                   "since": T0 + 3700, "previous": 4}]  # fmt: skip
    finally:
        outbox.close()
        store.close()


def test_a_site_that_keeps_models_home_sends_no_inventory(tmp_path: Path) -> None:
    models = tmp_path / "models"
    _current(models, {"detector": {"version": 1, "digest": "00" * 32}})
    outbox = Outbox(tmp_path / "o.db", "S2", EgressPolicy(allow=["alerts"]))
    try:
        assert not ModelInventory(outbox, models).emit(T0) and len(outbox) == 0
    finally:
        outbox.close()


def test_a_heartbeat_does_not_overwrite_the_inventory_and_obeys_the_policy(tmp_path: Path) -> None:
    from plantmind.sync.heartbeat import HeartbeatSender

    models = tmp_path / "models"
    _current(models, {"detector": {"version": 4, "digest": "ab" * 32, "since": T0}})
    outbox = Outbox(tmp_path / "outbox.db", "S1")
    store = FleetStore(f"sqlite:///{tmp_path / 'hub.db'}", clock=lambda: T0 + 5)
    try:
        ModelInventory(outbox, models).emit(T0)
        batch = outbox.next_batch()
        assert batch is not None
        Inbox(store).receive(batch.body)
        beat = HeartbeatSender(outbox, None, None, models_home=models).build()  # type: ignore[arg-type]
        assert beat["models"] == [{"name": "detector", "version": 4}]
        store.record_heartbeat("S1", beat)
        (site,) = store.fleet()["sites"]
        assert site["models"][0]["digest"] == "ab" * 32  # the inventory's, kept
        assert site["models_from"] == "inventory"
    finally:
        outbox.close()
        store.close()
    home = Outbox(tmp_path / "o2.db", "S2", EgressPolicy(allow=["alerts"]))
    try:
        beat = HeartbeatSender(home, None, None, models_home=models).build()  # type: ignore[arg-type]
        assert beat["models"] == []  # the policy keeps model names home
    finally:
        home.close()
