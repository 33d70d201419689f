"""EdgeStore on real SQLite files: alerts, events, aggregates, state, the single writer,
retention and reopening."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from plantmind.core.types import Alert, AlertState, Event, SampleBatch, Severity
from plantmind.store.downsample import Downsampler
from plantmind.store.edge import EdgeStore, StoreClosedError


@pytest.fixture
def store(tmp_path: Path):
    s = EdgeStore(tmp_path / "home" / "edge.db")
    yield s
    s.close()


def _alert(i: int, **kw) -> Alert:
    base = dict(
        id=f"al{i:03d}",
        site_id="site1",
        asset_id=f"P{100 + i % 3}",
        opened_at=1000.0 + i,
        last_active_at=1000.0 + i + 5,
        severity=Severity.WARNING,
        signals=[f"P{100 + i % 3}.vib", f"P{100 + i % 3}.temp"],
        message=f"alert {i}",
        peak_score=float(i),
        details={"score": np.float64(i) / 2, "top": np.array([1, 2]), "nested": {"a": [1, None]}},
    )
    base.update(kw)
    return Alert(**base)


# --- alerts ---------------------------------------------------------------------------------


def test_alert_round_trip_and_upsert_updates(store: EdgeStore) -> None:
    a = _alert(1)
    store.upsert_alert(a).result()
    got = store.get_alert("al001")
    assert got is not None
    assert got.to_dict() == {
        **a.to_dict(),
        "details": {"score": 0.5, "top": [1, 2], "nested": {"a": [1, None]}},
    }
    assert got.severity is Severity.WARNING and got.state is AlertState.OPEN

    a.state = AlertState.ACKNOWLEDGED
    a.acknowledged_at = 2000.0
    a.last_active_at = 2001.0
    a.severity = Severity.CRITICAL
    a.false_alarm = True
    store.upsert_alert(a).result()
    got = store.get_alert("al001")
    assert got is not None
    assert got.state is AlertState.ACKNOWLEDGED
    assert got.acknowledged_at == 2000.0
    assert got.last_active_at == 2001.0
    assert got.severity is Severity.CRITICAL
    assert got.false_alarm is True
    assert len(store.list_alerts()) == 1
    assert store.get_alert("nope") is None


def test_upsert_snapshots_alert_at_call_time(store: EdgeStore) -> None:
    a = _alert(1)
    gate = threading.Event()
    store.submit(lambda conn: gate.wait(5))  # hold the writer so the upsert is still queued
    fut = store.upsert_alert(a)
    a.message = "changed after submit"
    a.signals.append("x")
    gate.set()
    fut.result()
    got = store.get_alert(a.id)
    assert got is not None and got.message == "alert 1" and "x" not in got.signals


def test_list_alerts_filters_and_order(store: EdgeStore) -> None:
    for i in range(10):
        state = AlertState.RESOLVED if i % 2 else AlertState.OPEN
        store.upsert_alert(_alert(i, state=state))
    store.flush()
    assert [a.id for a in store.list_alerts()] == [f"al{i:03d}" for i in range(9, -1, -1)]
    assert [a.id for a in store.list_alerts(state="open")] == [
        "al008",
        "al006",
        "al004",
        "al002",
        "al000",
    ]
    assert [a.id for a in store.list_alerts(state=AlertState.RESOLVED, limit=2)] == [
        "al009",
        "al007",
    ]
    assert [a.id for a in store.list_alerts(asset_id="P101")] == ["al007", "al004", "al001"]
    # since: active at or after -> last_active_at = 1005 + i >= 1012 -> i >= 7
    assert [a.id for a in store.list_alerts(since=1012.0)] == ["al009", "al008", "al007"]
    assert store.list_alerts(asset_id="P101", state="open", since=1009.0)[0].id == "al004"
    with pytest.raises(ValueError):
        store.list_alerts(state="bogus")


# --- events ---------------------------------------------------------------------------------


def test_events_filtering_and_ordering(store: EdgeStore) -> None:
    evs = [
        Event("e1", 10.0, "alert.opened", "one", "P101", {"k": 1}),
        Event("e2", 30.0, "quality", "two", "P102"),
        Event("e3", 20.0, "alert.opened", "three", "P102"),
        Event("e4", 30.0, "connector", "four", None, {"up": False}),  # same ts as e2, later
    ]
    assert store.add_events(evs).result() == 4
    assert [e.id for e in store.list_events()] == ["e4", "e2", "e3", "e1"]
    assert [e.id for e in store.list_events(kind="alert.opened")] == ["e3", "e1"]
    assert [e.id for e in store.list_events(asset_id="P102")] == ["e2", "e3"]
    assert [e.id for e in store.list_events(since=20.0)] == ["e4", "e2", "e3"]
    assert [e.id for e in store.list_events(since=15.0, kind="alert.opened")] == ["e3"]
    assert [e.id for e in store.list_events(limit=2)] == ["e4", "e2"]
    got = {e.id: e for e in store.list_events()}
    assert got["e1"] == evs[0] and got["e4"] == evs[3]
    assert got["e4"].asset_id is None


def test_duplicate_event_ids_ignored(store: EdgeStore) -> None:
    store.add_events([Event("e1", 1.0, "k", "first")]).result()
    n = store.add_events([Event("e1", 2.0, "k", "retry"), Event("e2", 3.0, "k", "new")]).result()
    assert n == 1
    assert [(e.id, e.message) for e in store.list_events()] == [("e2", "new"), ("e1", "first")]


# --- aggregates -----------------------------------------------------------------------------


def test_aggregates_from_downsampler(store: EdgeStore) -> None:
    ids = ("P101.vib", "P101.temp", "P102.vib")
    ds = Downsampler(3, bucket_s=60.0)
    sig = np.tile(np.arange(3), 300)
    ts = np.repeat(np.arange(300, dtype=float), 3)  # 0..299 s -> buckets 0,60,...,240
    val = sig * 10.0 + ts
    out = ds.update(SampleBatch(sig, ts, val))
    rest = ds.flush()
    assert store.write_aggregates(ids, out).result() == 12
    assert store.write_aggregates(list(ids), rest).result() == 3
    series = store.aggregates("P101.temp")
    assert series.signal_id == "P101.temp"
    assert series.start.tolist() == [0.0, 60.0, 120.0, 180.0, 240.0]
    assert series.count.tolist() == [60] * 5
    assert series.min.tolist() == [10.0, 70.0, 130.0, 190.0, 250.0]
    assert series.max.tolist() == [69.0, 129.0, 189.0, 249.0, 309.0]
    np.testing.assert_allclose(series.mean, [39.5, 99.5, 159.5, 219.5, 279.5])
    assert store.aggregates("P101.temp", since=60.0, until=180.0).start.tolist() == [60.0, 120.0]
    assert store.aggregates("P101.temp", limit=2).start.tolist() == [180.0, 240.0]
    assert len(store.aggregates("unknown")) == 0


def test_aggregates_tuple_rows_and_numpy_ids_and_merge(store: EdgeStore) -> None:
    ids = np.array(["a", "b"], dtype=object)
    store.write_aggregates(ids, [(0, 0.0, 2, 1.0, 0.0, 2.0), (1, 0.0, 1, 5.0, 5.0, 5.0)])
    # The same bucket again (e.g. split by a restart): merged, not replaced.
    store.write_aggregates(ids, [(0, 0.0, 6, 3.0, -1.0, 2.5)]).result()
    a = store.aggregates("a")
    assert a.count.tolist() == [8]
    assert a.mean.tolist() == [pytest.approx((2 * 1.0 + 6 * 3.0) / 8)]
    assert a.min.tolist() == [-1.0] and a.max.tolist() == [2.5]
    assert store.aggregates("b").mean.tolist() == [5.0]
    with pytest.raises(IndexError):
        store.write_aggregates(ids, [(2, 0.0, 1, 1.0, 1.0, 1.0)])
    assert store.write_aggregates(ids, []).result() == 0


def test_signal_ids_survive_a_plant_change(store: EdgeStore) -> None:
    store.write_aggregates(["x", "y"], [(1, 0.0, 1, 1.0, 1.0, 1.0)]).result()
    # After a plant change "y" has index 0: rows are keyed by the string id, not the index.
    store.write_aggregates(["y", "z"], [(0, 60.0, 1, 2.0, 2.0, 2.0)]).result()
    assert store.aggregates("y").start.tolist() == [0.0, 60.0]
    assert len(store.aggregates("x")) == 0


# --- state blobs ----------------------------------------------------------------------------


def test_state_blobs(store: EdgeStore) -> None:
    blob = bytes(range(256)) * 10
    store.put_state("detector/P101", bytearray(blob))
    store.put_state("other", b"")
    store.flush()
    assert store.get_state("detector/P101") == blob
    assert store.get_state("other") == b""
    assert store.get_state("missing") is None
    store.put_state("detector/P101", b"v2").result()
    assert store.get_state("detector/P101") == b"v2"


# --- the writer -----------------------------------------------------------------------------


def test_wal_mode_and_synchronous_normal(store: EdgeStore) -> None:
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    # synchronous is per connection: ask the writer's own connection.
    assert store.submit(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]).result() == 1


def test_writes_from_many_threads_all_applied_in_order(store: EdgeStore) -> None:
    n_threads, per = 8, 150
    writer_threads: set[int] = set()
    applied: list[tuple[int, int]] = []

    def job(t: int, i: int):
        def run(conn: sqlite3.Connection) -> None:
            writer_threads.add(threading.get_ident())
            applied.append((t, i))
            conn.execute(
                "INSERT INTO events (id, ts, kind, message) VALUES (?, ?, 'k', '')",
                (f"t{t}-{i}", float(i)),
            )

        return run

    def worker(t: int) -> None:
        for i in range(per):
            store.submit(job(t, i))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    store.flush()
    assert len(applied) == n_threads * per
    for t in range(n_threads):  # each thread's jobs ran in its submission order
        assert [i for tt, i in applied if tt == t] == list(range(per))
    assert len(writer_threads) == 1
    assert threading.get_ident() not in writer_threads
    # ... and were committed in that order (seq is the insertion order).
    rows = store._query("SELECT id FROM events ORDER BY seq")
    assert [r[0] for r in rows] == [f"t{t}-{i}" for t, i in applied]


def test_failing_job_surfaces_on_future_and_writer_survives(
    store: EdgeStore, caplog: pytest.LogCaptureFixture
) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO state (key, blob, updated_at) VALUES ('half', x'00', 0)")
        raise KeyError("boom")

    with caplog.at_level(logging.ERROR, logger="plantmind.store.edge"):
        bad = store.submit(half_then_fail)
        sql_bad = store.submit(lambda c: c.execute("INSERT INTO nosuch VALUES (1)"))
        good = store.put_state("after", b"ok")
        assert good.result(timeout=5) is None
    assert isinstance(bad.exception(), KeyError)
    assert isinstance(sql_bad.exception(), sqlite3.OperationalError)
    assert store.get_state("half") is None  # the failed job was rolled back
    assert store.get_state("after") == b"ok"
    assert "half_then_fail" in caplog.text


def test_failed_aggregate_job_does_not_leave_stale_signal_keys(store: EdgeStore) -> None:
    gate = threading.Event()
    store.submit(lambda conn: gate.wait(5))
    store.write_aggregates(["new"], [(0, 0.0, 1, 1.0, 1.0, 1.0)])
    # This job inserts the new signal id "late", then fails on its aggregate row (a NaN mean
    # is stored as NULL) and rolls back, taking the signal row with it. The writer's id->key
    # cache must forget that key, or the next write of "late" would point at a missing row.
    f1 = store.write_aggregates(["late"], [(0, 0.0, 1, np.nan, 1.0, 1.0)])  # NaN mean: NOT NULL
    gate.set()
    assert isinstance(f1.exception(timeout=5), sqlite3.IntegrityError)
    store.write_aggregates(["late"], [(0, 0.0, 1, 2.0, 2.0, 2.0)]).result()
    assert store.aggregates("late").mean.tolist() == [2.0]
    assert store.aggregates("new").mean.tolist() == [1.0]


def test_flush_waits_for_pending_writes(store: EdgeStore) -> None:
    def slow(conn: sqlite3.Connection) -> None:
        time.sleep(0.3)
        conn.execute("INSERT INTO state VALUES ('slow', x'01', 0)")

    fut = store.submit(slow)
    store.flush(timeout=10)
    assert fut.done()
    assert store.get_state("slow") == b"\x01"


def test_flush_timeout(store: EdgeStore) -> None:
    gate = threading.Event()
    store.submit(lambda conn: gate.wait(5))
    with pytest.raises(TimeoutError):
        store.flush(timeout=0.05)
    gate.set()
    store.flush(timeout=5)


def test_flush_inside_job_is_refused(store: EdgeStore) -> None:
    fut = store.submit(lambda conn: store.flush())
    assert isinstance(fut.exception(timeout=5), RuntimeError)


def test_bounded_queue_applies_back_pressure(tmp_path: Path) -> None:
    with EdgeStore(tmp_path / "edge.db", max_pending=2) as s:
        gate = threading.Event()
        s.submit(lambda conn: gate.wait(5))
        time.sleep(0.05)  # let the writer pick it up, so the queue is empty again
        s.put_state("a", b"1")
        s.put_state("b", b"2")
        blocked = threading.Thread(target=lambda: s.put_state("c", b"3"))
        blocked.start()
        blocked.join(0.2)
        assert blocked.is_alive()  # third job waits for room in the queue
        gate.set()
        blocked.join(5)
        assert not blocked.is_alive()
        s.flush()
        assert s.get_state("c") == b"3"


def test_reads_from_other_threads_use_read_only_connections(store: EdgeStore) -> None:
    store.put_state("k", b"v").result()
    results: list[object] = []

    def reader() -> None:
        results.append(store.get_state("k"))
        try:
            store._reader().execute("INSERT INTO state VALUES ('x', x'00', 0)")
        except sqlite3.OperationalError as exc:
            results.append(type(exc))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count(b"v") == 4
    assert results.count(sqlite3.OperationalError) == 4


def test_close_is_idempotent_and_rejects_writes(tmp_path: Path) -> None:
    s = EdgeStore(tmp_path / "edge.db")
    fut = s.put_state("k", b"v")
    s.close()
    assert fut.done() and fut.exception() is None  # close drained the queue
    s.close()
    s.flush()
    assert s.closed
    with pytest.raises(StoreClosedError):
        s.put_state("k2", b"v")
    with pytest.raises(StoreClosedError):
        s.get_state("k")


# --- retention and reopening ----------------------------------------------------------------


def test_prune_bounds_rows(store: EdgeStore) -> None:
    ids = [f"s{i}" for i in range(20)]
    rows = [(s, b * 60.0, 1, 1.0, 1.0, 1.0) for s in range(20) for b in range(100)]
    store.write_aggregates(ids, rows)
    store.add_events([Event(f"e{i}", float(i % 50), "k", "") for i in range(500)])
    store.upsert_alert(_alert(1, state=AlertState.RESOLVED, resolved_at=1500.0))
    store.upsert_alert(_alert(2, state=AlertState.RESOLVED, resolved_at=2500.0))
    store.upsert_alert(_alert(3, state=AlertState.OPEN, last_active_at=10.0))
    store.flush()

    res = store.prune(aggregates_older_than=60.0 * 70, events_keep=120).result()
    assert res.aggregates == 20 * 70
    assert res.events == 500 - 120
    assert res.alerts == 0  # alerts are kept unless asked
    assert store.aggregates("s7").start.tolist() == [b * 60.0 for b in range(70, 100)]
    kept = store.list_events(limit=1000)
    assert len(kept) == 120
    # The newest 120 by ts: ts 49..38 have 10 events each -> exactly ts >= 38 survive.
    assert min(e.ts for e in kept) == 38.0

    res = store.prune(
        aggregates_older_than=0.0, events_keep=10**6, alerts_resolved_older_than=2000.0
    ).result()
    assert res == type(res)(aggregates=0, events=0, alerts=1)
    assert sorted(a.id for a in store.list_alerts()) == ["al002", "al003"]


def test_prune_shrinks_file(tmp_path: Path) -> None:
    with EdgeStore(tmp_path / "edge.db") as s:
        ids = [f"signal.{i:05d}" for i in range(1000)]
        rows = [(sg, b * 60.0, 1, 1.0, 1.0, 1.0) for sg in range(1000) for b in range(60)]
        s.write_aggregates(ids, rows).result()
        assert s.checkpoint().result()[0] == 0
        full = s.path.stat().st_size
        s.prune(aggregates_older_than=1e12, events_keep=0).result()
        s.checkpoint().result()
        assert s.path.stat().st_size < full / 4
        assert s.disk_bytes() < full / 4  # the WAL was truncated too


def test_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    with EdgeStore(path) as s:
        s.upsert_alert(_alert(1))
        s.add_events([Event("e1", 1.0, "k", "m", "P101", {"a": 1})])
        s.write_aggregates(["a"], [(0, 60.0, 3, 2.0, 1.0, 3.0)])
        s.put_state("k", b"blob")
        # no flush: close() must finish the queued writes
    with EdgeStore(path) as s:
        a = s.get_alert("al001")
        assert a is not None and a.message == "alert 1"
        assert [e.id for e in s.list_events()] == ["e1"]
        agg = s.aggregates("a")
        assert agg.count.tolist() == [3] and agg.mean.tolist() == [2.0]
        assert s.get_state("k") == b"blob"
        # The signal dictionary survived too: writing again merges into the same row.
        s.write_aggregates(["a"], [(0, 60.0, 1, 6.0, 6.0, 6.0)]).result()
        assert s.aggregates("a").count.tolist() == [4]
        assert s.aggregates("a").max.tolist() == [6.0]


def test_abandoned_store_is_finalized(tmp_path: Path) -> None:
    import gc

    s = EdgeStore(tmp_path / "edge.db")
    fut = s.put_state("k", b"v")
    thread = s._writer.thread
    del s
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()
    assert fut.done()
    with EdgeStore(tmp_path / "edge.db") as s2:
        assert s2.get_state("k") == b"v"
