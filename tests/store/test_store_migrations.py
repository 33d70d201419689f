"""Versioned migrations of edge.db through PRAGMA user_version."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from plantmind.core.types import AlertState
from plantmind.store.edge import EdgeStore
from plantmind.store.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SchemaError,
    migrate,
    schema_version,
)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=10)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_fresh_database_from_version_0(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "edge.db")
    assert schema_version(conn) == 0
    assert migrate(conn) == 0
    assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS) >= 2
    assert {"alerts", "events", "state", "signals", "aggregates"} <= _tables(conn)
    conn.close()


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "edge.db")
    migrate(conn)
    conn.execute("INSERT INTO state VALUES ('k', x'01', 0)")
    assert migrate(conn) == SCHEMA_VERSION  # already there: nothing applied
    assert migrate(conn) == SCHEMA_VERSION
    assert schema_version(conn) == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM state").fetchone()[0] == 1
    conn.close()


@pytest.mark.parametrize("old_version", range(1, SCHEMA_VERSION))
def test_upgrade_old_schema_keeps_data(tmp_path: Path, old_version: int) -> None:
    path = tmp_path / "edge.db"
    conn = _connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn, MIGRATIONS[:old_version])
    assert schema_version(conn) == old_version
    assert "aggregates" not in _tables(conn)
    conn.execute(
        "INSERT INTO alerts (id, site_id, asset_id, opened_at, last_active_at, severity, "
        "signals, message, peak_score, state) VALUES "
        "('a1', 's', 'P101', 1.0, 2.0, 'critical', '[\"P101.vib\"]', 'old', 9.0, 'open')"
    )
    conn.execute("INSERT INTO events (id, ts, kind, message) VALUES ('e1', 5.0, 'k', 'old')")
    conn.close()

    with EdgeStore(path) as store:
        a = store.get_alert("a1")
        assert a is not None
        assert a.signals == ["P101.vib"] and a.details == {} and a.state is AlertState.OPEN
        assert [e.message for e in store.list_events()] == ["old"]
        store.write_aggregates(["P101.vib"], [(0, 0.0, 1, 1.0, 1.0, 1.0)]).result()
        assert store.aggregates("P101.vib").count.tolist() == [1]
    conn = _connect(path)
    assert schema_version(conn) == SCHEMA_VERSION
    conn.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    conn = _connect(path)
    migrate(conn)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer"):
        EdgeStore(path)


def test_failed_step_rolls_back_whole_step(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "edge.db")
    migrate(conn)
    broken = [*MIGRATIONS, "CREATE TABLE half (a);\nINSERT INTO nosuch VALUES (1);\n"]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, broken)
    assert schema_version(conn) == SCHEMA_VERSION
    assert "half" not in _tables(conn)
    assert not conn.in_transaction
    conn.close()


def test_statements_split_correctly(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "edge.db")
    script = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (a TEXT);\n"
        "INSERT INTO t VALUES ('x;y');\n"
        "-- trailing comment\n"
    )
    migrate(conn, [script])
    assert conn.execute("SELECT a FROM t").fetchall() == [("x;y",)]
    assert schema_version(conn) == 1
    conn.close()


def test_needs_autocommit_connection(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "edge.db")  # default isolation_level ""
    with pytest.raises(ValueError):
        migrate(conn)
    conn.close()


def test_concurrent_migrations_apply_each_step_once(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    _connect(path).execute("PRAGMA journal_mode = WAL").fetchall()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        conn = _connect(path)
        try:
            barrier.wait()
            migrate(conn)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    conn = _connect(path)
    assert schema_version(conn) == SCHEMA_VERSION
    conn.close()
