"""The outbox: durable before put returns, order, idempotent re-send, back-off, the bounded
disk drop policy and its counters, and egress refusal."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import textwrap

import pytest

from plantmind.core.plant import EgressPolicy
from plantmind.store.central import CentralStore
from plantmind.sync.egress import EgressRefusedError
from plantmind.sync.forwarder import EmbeddedTransport, Forwarder, JitteredBackoff, TransportError
from plantmind.sync.outbox import Outbox, queued_rows
from plantmind.sync.wire import Batch, decode_batch


@pytest.fixture
def outbox(tmp_path):
    ob = Outbox(tmp_path / "outbox.db", "S1")
    yield ob
    ob.close()


def test_events_survive_reopen_and_seq_keeps_growing(tmp_path):
    with Outbox(tmp_path / "outbox.db", "S1") as ob:
        seqs = ob.put_many([("alerts", {"n": i}) for i in range(5)])
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    with Outbox(tmp_path / "outbox.db", "S1") as ob:
        batch = ob.next_batch()
        assert [r[0] for r in batch.rows] == seqs
        assert ob.put("health", {"n": 5}) == seqs[-1] + 1  # never reused, even after acks
        ob.ack(seqs[-1]).result()
        assert ob.put("health", {"n": 6}) == seqs[-1] + 2


def test_put_is_durable_when_it_returns_even_if_the_process_dies(tmp_path):
    # The child puts, then dies without closing anything (no atexit, no flush).
    code = textwrap.dedent(f"""
        import os
        from plantmind.sync.outbox import Outbox
        ob = Outbox({str(tmp_path / "outbox.db")!r}, "S1")
        ob.put_many([("alerts", {{"n": i}}) for i in range(100)])
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    with Outbox(tmp_path / "outbox.db", "S1") as ob:
        assert len(ob) == 100
        assert ob.stats().counters["accepted"] == 100


def test_one_outbox_per_site(tmp_path):
    Outbox(tmp_path / "outbox.db", "S1").close()
    with pytest.raises(ValueError, match="outbox of site 'S1'"):
        Outbox(tmp_path / "outbox.db", "S2")


def test_batches_come_in_seq_order_within_their_limits(outbox):
    outbox.put_many([("aggregates", {"n": i, "pad": "x" * 100}) for i in range(50)])
    b = outbox.next_batch(max_events=20)
    assert len(b) == 20 and [r[0] for r in b.rows] == sorted(r[0] for r in b.rows)
    small = outbox.next_batch(max_events=100, max_bytes=600)
    assert 1 <= len(small) < 10
    site, events = decode_batch(b.body)
    assert site == "S1" and [e["data"]["n"] for e in events] == list(range(20))
    outbox.ack(b.last).result()
    assert outbox.next_batch(max_events=1).first == b.last + 1


def test_sending_a_batch_again_stores_it_once(tmp_path, outbox):
    store = CentralStore(f"sqlite:///{tmp_path / 'hub.db'}")
    from plantmind.central.inbox import Inbox

    inbox = Inbox(store)
    outbox.put_many([("alerts", {"id": f"a{i}", "asset_id": "P-1"}) for i in range(10)])
    batch = outbox.next_batch()
    assert inbox.receive(batch.body) == batch.last
    assert inbox.receive(batch.body) == batch.last  # the ack was lost; the site sends again
    # and an overlapping batch after a restart of the site (different boundaries)
    outbox.put_many([("alerts", {"id": "b", "asset_id": "P-1"})])
    inbox.receive(outbox.next_batch().body)
    assert store.counts()["events"] == 11
    assert inbox.counters.duplicates == 20
    store.close()


def test_backoff_grows_with_jitter_up_to_the_cap_and_resets():
    b = JitteredBackoff(base=0.1, cap=1.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(8)]
    for n, d in enumerate(delays):
        top = min(1.0, 0.1 * 2**n)
        assert top / 2 <= d <= top
    assert max(delays) <= 1.0 and delays[0] < 0.1 < delays[3]
    b.reset()
    assert b.next_delay() <= 0.1


class _Flaky:
    """A transport that fails ``fails`` times, then delegates."""

    destination = "flaky"

    def __init__(self, inner, fails: int) -> None:
        self.inner, self.fails, self.calls = inner, fails, 0

    async def send(self, batch: Batch) -> int:
        self.calls += 1
        if self.calls <= self.fails:
            raise TransportError("hub down")
        return await self.inner.send(batch)

    async def close(self) -> None:
        pass


def test_forwarder_retries_with_backoff_and_audits_every_attempt(tmp_path, outbox):
    store = CentralStore(f"sqlite:///{tmp_path / 'hub.db'}")
    from plantmind.central.inbox import Inbox

    transport = _Flaky(EmbeddedTransport(Inbox(store).receive), fails=3)
    fwd = Forwarder(outbox, transport, backoff=JitteredBackoff(base=0.01, cap=0.05), idle_s=0.01)
    outbox.put_many([("alerts", {"n": i}) for i in range(30)])

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(fwd.run(stop))
        while len(outbox):
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(asyncio.wait_for(run(), 10))
    assert store.counts()["events"] == 30 and fwd.failed_attempts == 3
    audit = outbox.audit()
    assert [a.outcome for a in audit] == ["delivered", "failed", "failed", "failed"]
    assert audit[0].categories == {"alerts": 30} and audit[0].acked_upto == audit[0].last_seq
    assert audit[1].error == "hub down" and audit[1].bytes == audit[0].bytes
    store.close()


def test_over_budget_the_lowest_priority_category_loses_its_oldest_first(tmp_path):
    with Outbox(tmp_path / "outbox.db", "S1", max_events=10) as ob:
        a = ob.put_many([("alerts", {"n": i}) for i in range(4)])
        h = ob.put_many([("health", {"n": i}) for i in range(3)])
        g = ob.put_many([("aggregates", {"n": i}) for i in range(3)])
        ob.put_many([("health", {"n": 9}), ("alerts", {"n": 9})])  # 12 > 10: two must go
        left = [s for s, _ in queued_rows(ob)]
        assert g[0] not in left and g[1] not in left and g[2] in left
        ob.put_many([("alerts", {"n": i}) for i in range(10, 13)])  # aggregates, then health
        left = [s for s, _ in queued_rows(ob)]
        assert not set(g) & set(left) and h[0] not in left and h[1] not in left
        assert set(a) <= set(left) and len(left) == 10
        stats = ob.stats().to_dict()
        assert stats["dropped"] == {"aggregates": 3, "health": 2}
        assert stats["queued"] == 10


def test_byte_budget_is_kept(tmp_path):
    with Outbox(tmp_path / "outbox.db", "S1", max_bytes=10_000) as ob:
        for _ in range(20):
            ob.put_many([("aggregates", {"pad": "x" * 90}) for _ in range(10)])
        assert ob.stats().queued_bytes <= 10_000
        assert ob.stats().to_dict()["dropped"]["aggregates"] > 0


def test_disallowed_categories_are_refused_counted_and_never_queued(outbox):
    for cat in ("raw_samples", "images", "documents"):
        with pytest.raises(EgressRefusedError, match="stay on site"):
            outbox.put(cat, {"values": [1.0, 2.0]})
    with pytest.raises(EgressRefusedError, match="unknown category"):
        outbox.put("secrets", {})
    with pytest.raises(EgressRefusedError):  # a mixed call queues nothing
        outbox.put_many([("alerts", {"n": 1}), ("raw_samples", {"v": 1})])
    outbox.flush()
    assert len(outbox) == 0
    assert outbox.stats().to_dict()["refused"] == {
        "raw_samples": 2, "images": 1, "documents": 1, "secrets": 1,
    }  # fmt: skip


def test_a_site_can_allow_more(tmp_path):
    policy = EgressPolicy(allow=["alerts", "raw_samples"])
    with Outbox(tmp_path / "outbox.db", "S1", policy) as ob:
        ob.put("raw_samples", {"values": [1.0]})
        with pytest.raises(EgressRefusedError, match="not listed"):
            ob.put("aggregates", {})
