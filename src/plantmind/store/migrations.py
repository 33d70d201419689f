"""The edge database's schema and its versioned migrations.

This module owns the SQL schema of ``<home>/edge.db``. ``MIGRATIONS[i]`` takes the database
from version ``i`` to ``i + 1``; the version lives in ``PRAGMA user_version`` (0 for a new,
empty file), as it did before :mod:`plantmind.store.sqlite` kept per-owner versions in a
``schema_versions`` table: edge.db has one owner, and files already at a version upgrade in
place. Migrations are append-only: a released script is never edited, a change is a new
script at the end. :func:`migrate` applies the missing ones through
:func:`plantmind.store.sqlite.migrate`, each in its own transaction together with the version
bump, so a crash leaves the file at a whole version and re-running is a no-op.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from plantmind.store import sqlite as _sqlite
from plantmind.store.sqlite import SchemaError

__all__ = ["MIGRATIONS", "OWNER", "SCHEMA_VERSION", "SchemaError", "migrate", "schema_version"]

OWNER = "store.edge"

MIGRATIONS: list[str] = [
    # 1: alerts, events and detector state.
    """
    CREATE TABLE alerts (
        id              TEXT PRIMARY KEY,
        site_id         TEXT NOT NULL,
        asset_id        TEXT NOT NULL,
        opened_at       REAL NOT NULL,
        last_active_at  REAL NOT NULL,
        severity        TEXT NOT NULL,
        signals         TEXT NOT NULL,          -- JSON list of signal ids
        message         TEXT NOT NULL,
        peak_score      REAL NOT NULL,
        state           TEXT NOT NULL,
        acknowledged_at REAL,
        resolved_at     REAL,
        resolved_by     TEXT,
        false_alarm     INTEGER NOT NULL DEFAULT 0,
        details         TEXT NOT NULL DEFAULT '{}'  -- JSON object
    );
    CREATE INDEX alerts_opened ON alerts (opened_at);
    CREATE INDEX alerts_state_opened ON alerts (state, opened_at);
    CREATE INDEX alerts_asset_opened ON alerts (asset_id, opened_at);

    -- seq gives a total insertion order (ties in ts) and makes "keep the newest N" cheap.
    CREATE TABLE events (
        seq      INTEGER PRIMARY KEY,
        id       TEXT NOT NULL UNIQUE,
        ts       REAL NOT NULL,
        kind     TEXT NOT NULL,
        message  TEXT NOT NULL,
        asset_id TEXT,
        data     TEXT NOT NULL DEFAULT '{}'      -- JSON object
    );
    CREATE INDEX events_ts ON events (ts);
    CREATE INDEX events_kind_ts ON events (kind, ts);
    CREATE INDEX events_asset_ts ON events (asset_id, ts);

    CREATE TABLE state (
        key        TEXT PRIMARY KEY,
        blob       BLOB NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 2: downsampled history. Signals are named by their string id through a small dictionary
    # table: the plant's integer signal index changes when plant.yaml changes, the string id
    # does not, and an integer key keeps each of the many aggregate rows ~20 bytes smaller.
    """
    CREATE TABLE signals (
        key INTEGER PRIMARY KEY,
        id  TEXT NOT NULL UNIQUE
    );
    CREATE TABLE aggregates (
        signal_key   INTEGER NOT NULL REFERENCES signals (key),
        bucket_start REAL NOT NULL,
        count        INTEGER NOT NULL,
        mean         REAL NOT NULL,
        min          REAL NOT NULL,
        max          REAL NOT NULL,
        PRIMARY KEY (signal_key, bucket_start)
    ) WITHOUT ROWID;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The edge schema version of the file (``PRAGMA user_version``)."""
    return _sqlite.schema_version(conn, OWNER, user_version=True)


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the database to ``len(migrations)``; return the version it was at before.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Safe to call on an
    up-to-date database (it does nothing) and from two processes at once (``BEGIN IMMEDIATE``
    takes the write lock before the version is read, so each step is applied exactly once).
    Raises :class:`SchemaError` for a file at a newer version than ``migrations`` know.
    """
    return _sqlite.migrate(conn, migrations, owner=OWNER, user_version=True)
