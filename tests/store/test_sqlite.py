"""plantmind.store.sqlite: how files are opened, per-owner schema versions, and every owner's
file made by the code before versioning upgrading in place.

The "old file" fixtures below copy the CREATE statements (and pragmas) the modules ran on
every start before they declared migrations, literally: they stand for files already on
sites' disks, so they must never be edited to follow a new migration.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from plantmind.store.sqlite import (
    SCHEMA_VERSIONS_TABLE,
    ReadConnections,
    SchemaError,
    connect,
    migrate,
    schema_version,
)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _old_file(path: Path, script: str, *, wal: bool = True) -> sqlite3.Connection:
    """A file as the code before versioning left it: its schema script run as-is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(script)
    return conn


def _version(path: Path, owner: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return schema_version(conn, owner)
    finally:
        conn.close()


# --- connect -------------------------------------------------------------------------------


def test_connect_writable_is_wal_with_the_asked_pragmas(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", synchronous="NORMAL", foreign_keys=True, busy_timeout_s=7)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 7000
    assert conn.isolation_level is None  # autocommit unless asked otherwise
    conn.close()
    conn = connect(tmp_path / "b.db")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, SQLite's default
    conn.close()


def test_connect_isolation_level_keeps_the_modules_implicit_transactions(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", isolation_level="", migrations={"t": ["CREATE TABLE t (a);"]})
    assert conn.isolation_level == ""
    conn.execute("INSERT INTO t VALUES (1)")
    assert conn.in_transaction  # the sqlite3 module began one; `with conn:` would commit it
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    conn.close()


def test_connect_without_wal_keeps_the_rollback_journal(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", wal=False)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_auto_vacuum_only_on_a_new_file(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", auto_vacuum="INCREMENTAL")
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    conn.close()
    old = _old_file(tmp_path / "b.db", "CREATE TABLE t (a);")
    old.close()
    conn = connect(tmp_path / "b.db", auto_vacuum="INCREMENTAL")
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0  # tables existed: unchanged
    conn.close()


def test_connect_refuses_unknown_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        connect(tmp_path / "a.db", synchronous="FAST; DROP TABLE x")
    with pytest.raises(ValueError, match="migrations"):
        connect(tmp_path / "a.db", readonly=True, migrations={"t": ["CREATE TABLE t (a);"]})


def test_readonly_refuses_writes_with_a_clear_error(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", migrations={"t": ["CREATE TABLE t (a);"]})
    conn.execute("INSERT INTO t VALUES (1)")
    ro = connect(tmp_path / "a.db", readonly=True)
    assert ro.execute("SELECT a FROM t").fetchall() == [(1,)]
    with pytest.raises(sqlite3.OperationalError, match="readonly database"):
        ro.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(sqlite3.OperationalError, match="readonly database"):
        ro.execute("CREATE TABLE u (a)")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    ro.close()
    conn.close()


def test_readonly_needs_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError):
        connect(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()


def test_read_connections_are_per_thread_and_read_only(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", migrations={"t": ["CREATE TABLE t (a);"]})
    conn.execute("INSERT INTO t VALUES (1)")
    reads = ReadConnections(tmp_path / "a.db")
    mine = reads.get()
    assert reads.get() is mine
    other: list[sqlite3.Connection] = []
    th = threading.Thread(target=lambda: other.append(reads.get()))
    th.start()
    th.join()
    assert other[0] is not mine
    assert mine.execute("SELECT a FROM t").fetchall() == [(1,)]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        mine.execute("DELETE FROM t")
    reads.close()
    conn.close()


# --- migrate -------------------------------------------------------------------------------

STEPS = [
    "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n",
    "ALTER TABLE a ADD COLUMN y TEXT;\n",
]


def test_migrate_applies_missing_steps_once(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db")
    assert schema_version(conn, "mod") == 0
    assert migrate(conn, STEPS[:1], owner="mod") == 0
    assert schema_version(conn, "mod") == 1
    assert migrate(conn, STEPS, owner="mod") == 1  # only step 2 runs
    assert schema_version(conn, "mod") == 2
    assert migrate(conn, STEPS, owner="mod") == 2  # up to date: a no-op
    assert conn.execute("SELECT x, y FROM a").fetchall() == [(1, None)]  # step 1 ran once
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0  # not the edge's counter
    conn.close()


def test_newer_version_than_known_names_file_and_owner(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    conn = connect(path, migrations={"mod": STEPS})
    conn.close()
    with pytest.raises(SchemaError, match=r"a\.db.*'mod'.*version 2.*newer.*\(1\)"):
        connect(path, migrations={"mod": STEPS[:1]})


def test_two_owners_in_one_file_keep_separate_versions(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    conn = connect(path, migrations={"one": STEPS, "two": ["CREATE TABLE b (z);"]})
    assert schema_version(conn, "one") == 2
    assert schema_version(conn, "two") == 1
    rows = conn.execute(f"SELECT owner, version FROM {SCHEMA_VERSIONS_TABLE} ORDER BY owner")
    assert rows.fetchall() == [("one", 2), ("two", 1)]
    # "two" gains a step; "one" is untouched
    assert migrate(conn, ["CREATE TABLE b (z);", "CREATE TABLE c (w);"], owner="two") == 1
    assert schema_version(conn, "one") == 2 and schema_version(conn, "two") == 2
    conn.close()


def test_failed_step_rolls_back_step_and_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", migrations={"mod": STEPS[:1]})
    with pytest.raises(sqlite3.OperationalError):
        migrate(
            conn,
            [*STEPS[:1], "CREATE TABLE half (a);\nINSERT INTO nosuch VALUES (1);\n"],
            owner="mod",
        )
    assert schema_version(conn, "mod") == 1
    assert "half" not in _tables(conn)
    assert not conn.in_transaction
    conn.close()


def test_migrate_needs_autocommit(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", isolation_level="")
    with pytest.raises(ValueError, match="isolation_level=None"):
        migrate(conn, STEPS, owner="mod")
    conn.close()


def test_concurrent_openers_apply_each_step_once(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    connect(path).close()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        try:
            barrier.wait()
            connect(path, busy_timeout_s=10, migrations={"mod": STEPS}).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    conn = connect(path, readonly=True)
    assert schema_version(conn, "mod") == 2
    assert conn.execute("SELECT count(*) FROM a").fetchone()[0] == 1
    conn.close()


# --- every owner's file from before versioning upgrades in place ---------------------------


def test_upgrade_central_jobs(tmp_path: Path) -> None:
    from plantmind.central.jobs import MIGRATIONS, JobStore

    old = _old_file(
        tmp_path / "jobs.db",
        """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL,
    submitted_by TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL,
    done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '', result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created);
""",
    )
    old.execute(
        "INSERT INTO jobs (id, kind, status, params, submitted_by, created) "
        "VALUES ('j1', 'comply.check', 'queued', '{\"a\": 1}', 'me', 1.0)"
    )
    old.close()
    store = JobStore(tmp_path)
    try:
        job = store.get("j1")
        assert job is not None and job["params"] == {"a": 1} and job["status"] == "queued"
        claimed = store.claim()  # and the store still writes
        assert claimed is not None and claimed["id"] == "j1"
    finally:
        store.close()
    assert _version(tmp_path / "jobs.db", "central.jobs") == len(MIGRATIONS)


def test_upgrade_llm_log(tmp_path: Path) -> None:
    from plantmind.llm.log import MIGRATIONS, CallLog

    path = tmp_path / "llm_calls.db"
    old = _old_file(
        path,
        """
CREATE TABLE IF NOT EXISTS calls (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    ts                REAL NOT NULL,
    task_id           TEXT NOT NULL,
    kind              TEXT NOT NULL,
    sensitivity       TEXT NOT NULL,
    requester         TEXT NOT NULL,
    rule              TEXT NOT NULL,
    placement         TEXT NOT NULL,   -- edge | central | fallback | queue | refused
    model             TEXT,
    outcome           TEXT NOT NULL,   -- ok | fallback | queued | refused | timeout | error
    reason            TEXT NOT NULL,
    latency_ms        REAL NOT NULL,
    overhead_ms       REAL NOT NULL,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    redacted          INTEGER NOT NULL DEFAULT 0,
    content           TEXT             -- JSON, only with llm.log_content
);
CREATE INDEX IF NOT EXISTS calls_ts ON calls (ts);
""",
    )
    old.execute(
        "INSERT INTO calls (ts, task_id, kind, sensitivity, requester, rule, placement, model, "
        "outcome, reason, latency_ms, overhead_ms) VALUES "
        "(1.0, 't1', 'assist.answer', 'internal', 'me', 'r', 'edge', 'm', 'ok', 'fine', 5, 0.1)"
    )
    old.close()
    log = CallLog(path)
    try:
        rows = log.recent()
        assert [(r["task_id"], r["placement"], r["outcome"]) for r in rows] == [
            ("t1", "edge", "ok")
        ]
        # the log's durability is unchanged: its writer commits with synchronous=NORMAL
        fut: Future[int] = Future()
        log._writer.put(lambda c: c.execute("PRAGMA synchronous").fetchone()[0], fut, False)
        assert fut.result() == 1
    finally:
        log.close()
    assert _version(path, "llm.log") == len(MIGRATIONS)


def test_upgrade_llm_queue(tmp_path: Path) -> None:
    from plantmind.llm.queue import MIGRATIONS, TaskQueue

    path = tmp_path / "llm_queue.db"
    old = _old_file(
        path,
        """
CREATE TABLE IF NOT EXISTS tasks (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,   -- order of arrival
    id         TEXT NOT NULL UNIQUE,                -- the task id, also the idempotency key
    kind       TEXT NOT NULL,
    tier       TEXT NOT NULL,                       -- where it waits to run
    task       TEXT NOT NULL,                       -- JSON
    state      TEXT NOT NULL DEFAULT 'pending',     -- pending | inflight | done | failed
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    result     TEXT,                                -- JSON, when done
    error      TEXT,
    owner      TEXT                                 -- host:pid of the process running it
);
CREATE INDEX IF NOT EXISTS tasks_waiting ON tasks (tier, state, seq);
""",
    )
    old.execute(
        "INSERT INTO tasks (id, kind, tier, task, created_at, updated_at) "
        "VALUES ('t1', 'assist.answer', 'central', '{\"q\": 1}', 1.0, 1.0)"
    )
    old.close()
    q = TaskQueue(path)
    try:
        t = q.get("t1")
        assert t is not None and t.task == {"q": 1} and t.state == "pending"
        assert q.waiting == 1
        # the queue's durability is unchanged: its writer commits with synchronous=FULL
        assert q._submit(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]).result() == 2
    finally:
        q.close()
    assert _version(path, "llm.queue") == len(MIGRATIONS)


def test_upgrade_comply_judge_cache(tmp_path: Path) -> None:
    from plantmind.comply.judge import CACHE_MIGRATIONS, JudgeCache

    path = tmp_path / "work" / "judge_cache.sqlite"
    old = _old_file(
        path,
        "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
        "created REAL NOT NULL)",
        wal=False,
    )
    old.execute("INSERT INTO verdicts VALUES ('k1', '{\"status\": \"covered\"}', 1.0)")
    old.close()
    cache = JudgeCache(path)
    try:
        assert cache.get("k1") == {"status": "covered"}
        cache.put_many([("k2", {"status": "missing"})])
        assert cache.get("k2") == {"status": "missing"}
    finally:
        cache.close()
    assert _version(path, "comply.judge") == len(CACHE_MIGRATIONS)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # as before
    conn.close()


def test_upgrade_vision_station(tmp_path: Path) -> None:
    from plantmind.vision.station import MIGRATIONS, VisionStations

    path = tmp_path / "vision" / "inspections.db"
    old = _old_file(
        path,
        """
CREATE TABLE IF NOT EXISTS inspections (
    id TEXT PRIMARY KEY,
    station TEXT NOT NULL,
    model_id TEXT NOT NULL,
    ts REAL NOT NULL,
    source TEXT NOT NULL,
    score REAL NOT NULL,
    verdict TEXT NOT NULL,
    review TEXT NOT NULL DEFAULT 'none',   -- none | pending | done
    label TEXT,                            -- good | defect, after review
    reviewed_by TEXT,
    reviewed_at REAL
);
CREATE INDEX IF NOT EXISTS inspections_station_ts ON inspections (station, ts);
CREATE INDEX IF NOT EXISTS inspections_review ON inspections (review, ts);
""",
    )
    old.execute(
        "INSERT INTO inspections (id, station, model_id, ts, source, score, verdict, review) "
        "VALUES ('i1', 'st1', 'm1', 1.0, 'a.png', 0.7, 'uncertain', 'pending')"
    )
    old.close()
    stations = VisionStations(tmp_path)
    try:
        rec = stations.get("i1")
        assert rec is not None and rec.verdict == "uncertain" and rec.review == "pending"
        assert [r.id for r in stations.results(pending_only=True)] == ["i1"]
    finally:
        stations.close()
    assert _version(path, "vision.station") == len(MIGRATIONS)


def test_upgrade_sync_outbox_and_audit(tmp_path: Path) -> None:
    from plantmind.sync.audit import AUDIT_MIGRATIONS, AuditRecord, read_audit
    from plantmind.sync.outbox import MIGRATIONS, Outbox, read_stats

    path = tmp_path / "outbox.db"
    old = _old_file(
        path,
        """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY,     -- the idempotency key within the site
    category TEXT NOT NULL,
    ts       REAL NOT NULL,
    data     TEXT NOT NULL,           -- JSON
    size     INTEGER NOT NULL         -- bytes of data, for the disk budget
);
-- the drop policy deletes the oldest events of one category
CREATE INDEX IF NOT EXISTS outbox_category_seq ON outbox (category, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS audit (
    id          INTEGER PRIMARY KEY,
    ts          REAL NOT NULL,
    destination TEXT NOT NULL,
    site        TEXT NOT NULL,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    categories  TEXT NOT NULL,   -- JSON object: category -> count
    bytes       INTEGER NOT NULL,
    outcome     TEXT NOT NULL,   -- delivered | failed
    acked_upto  INTEGER,
    duration_ms REAL NOT NULL,
    error       TEXT
);
""",
    )
    old.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("site", "s1"), ("next_seq", "1001"), ("created_at", "1.0")],
    )
    old.execute(
        "INSERT INTO outbox (seq, category, ts, data, size) VALUES (1000, 'alerts', 1.0, ?, 9)",
        ('{"a": 1}',),
    )
    old.execute("INSERT INTO counters (name, value) VALUES ('accepted', 1)")
    old.execute(
        "INSERT INTO audit (ts, destination, site, first_seq, last_seq, events, categories, "
        "bytes, outcome, duration_ms, error) VALUES "
        "(1.0, 'hub', 's1', 990, 999, 10, '{\"events\": 10}', 100, 'failed', 3.0, 'down')"
    )
    old.close()
    with Outbox(path, "s1") as box:
        batch = box.next_batch()
        assert batch is not None and [(r[0], r[1]) for r in batch.rows] == [(1000, "alerts")]
        assert [r.error for r in box.audit()] == ["down"]
        assert box.stats().next_seq == 1001 and box.counters() == {"accepted": 1}
        assert box.put("alerts", {"b": 2}) == 1001  # the sequence carries on
        # the outbox's durability is unchanged: its writer commits with synchronous=FULL
        assert box._submit(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]).result() == 2
        box.ack(
            1000,
            AuditRecord(
                time.time(), "hub", "s1", 1000, 1000, 1, {"alerts": 1}, 9, "delivered", 1.0, 1000
            ),
        ).result()
    assert _version(path, "sync.outbox") == len(MIGRATIONS)
    assert _version(path, "sync.audit") == len(AUDIT_MIGRATIONS)
    assert [r.outcome for r in read_audit(path)] == ["delivered", "failed"]
    stats = read_stats(path)
    assert stats.site == "s1" and stats.queued_by_category == {"alerts": 1}
    assert stats.counters == {"accepted": 2, "delivered": 1}


def test_upgrade_knowledge_index(tmp_path: Path) -> None:
    from plantmind.knowledge.index import DB_NAME, MIGRATIONS, KnowledgeIndex

    path = tmp_path / "knowledge" / DB_NAME
    old = _old_file(
        path,
        """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
    sha256 TEXT NOT NULL, pages INTEGER NOT NULL, chunks INTEGER NOT NULL,
    added_at REAL NOT NULL, problems TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL, source TEXT NOT NULL, page INTEGER, section TEXT, kind TEXT NOT NULL,
    asset TEXT, date TEXT, text TEXT NOT NULL, embedding BLOB
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, ord);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""",
    )
    old.execute("PRAGMA foreign_keys=ON")
    old.execute(
        "INSERT INTO documents VALUES ('d1', 'pump.md', 'pump.md', 'md', 'abc', 1, 1, 1.0, '[]')"
    )
    old.execute(
        "INSERT INTO chunks (id, doc_id, ord, source, kind, text) VALUES "
        "('c1', 'd1', 0, 'pump.md', 'text', 'Grease the pump bearing every 500 hours.')"
    )
    old.close()
    with KnowledgeIndex(tmp_path / "knowledge", embedder=None) as index:
        assert [(d.id, d.problems) for d in index.documents()] == [("d1", [])]
        assert index.size == 1
        hits = index.search("bearing grease").hits
        assert [h.chunk.id for h in hits] == ["c1"]
    assert _version(path, "knowledge.index") == len(MIGRATIONS)


def test_edge_store_keeps_its_user_version(tmp_path: Path) -> None:
    """edge.db stays on PRAGMA user_version (store.migrations): no schema_versions row."""
    from plantmind.store.edge import EdgeStore
    from plantmind.store.migrations import SCHEMA_VERSION

    path = tmp_path / "edge.db"
    with EdgeStore(path) as store:
        store.put_state("k", b"\x01").result()
    with EdgeStore(path) as store:
        assert store.get_state("k") == b"\x01"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert SCHEMA_VERSIONS_TABLE not in _tables(conn)
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL, as before
    conn.close()


def test_cli_audit_reads_counters_read_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from plantmind.cli import app
    from plantmind.sync.outbox import Outbox

    with Outbox(tmp_path / "outbox.db", "s1") as box:
        box.put("alerts", {"a": 1})
    res = CliRunner().invoke(app, ["audit", "--home", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["queued"] == {"alerts": 1} and doc["counters"] == {"accepted": 1}
