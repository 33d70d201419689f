"""The audit log of everything that left (or tried to leave) the site.

One row per send attempt of a batch: when, to which destination, how many events of each
category, how many bytes, which idempotency range (``site``, ``first``..``last`` seq), and the
outcome (``delivered`` with the hub's acknowledged seq, or ``failed`` with the reason). It
lives in the outbox's own SQLite file, and a delivered batch's audit row is written in the same
transaction that removes the batch from the outbox, so the log never misses a delivery. Rows
hold counts and ranges only, never payloads or credentials. ``plantmind audit`` prints it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plantmind.store.sqlite import connect

__all__ = [
    "AUDIT_MIGRATIONS",
    "AUDIT_OWNER",
    "AuditRecord",
    "insert_audit",
    "read_audit",
    "trim_audit",
]

# The audit log's tables are its own (owner "sync.audit" in plantmind.store.sqlite), versioned
# apart from the outbox's although both live in outbox.db: each module changes its tables
# without renumbering the other's. Append-only; 1 is exactly what the outbox created on every
# start before versioning, so its files upgrade in place. The outbox applies these when it
# opens its file.
AUDIT_OWNER = "sync.audit"
AUDIT_MIGRATIONS: list[str] = [
    """
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
]


@dataclass(slots=True)
class AuditRecord:
    """One send attempt of one batch (see the module docstring)."""

    ts: float
    destination: str
    site: str
    first_seq: int
    last_seq: int
    events: int
    categories: dict[str, int]
    bytes: int
    outcome: str
    duration_ms: float
    acked_upto: int | None = None
    error: str | None = None
    id: int | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = (
    "ts, destination, site, first_seq, last_seq, events, categories, bytes, outcome, "
    "acked_upto, duration_ms, error"
)


def insert_audit(conn: sqlite3.Connection, rec: AuditRecord) -> None:
    """Append ``rec``; runs inside the caller's transaction (the outbox writer's)."""
    conn.execute(
        f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rec.ts,
            rec.destination,
            rec.site,
            rec.first_seq,
            rec.last_seq,
            rec.events,
            json.dumps(rec.categories, sort_keys=True),
            rec.bytes,
            rec.outcome,
            rec.acked_upto,
            rec.duration_ms,
            # error texts come from transports, which never put credentials in them; cap the
            # length so a chatty exception cannot bloat the log
            rec.error[:500] if rec.error else None,
        ),
    )


def trim_audit(conn: sqlite3.Connection, keep: int) -> None:
    """Keep the newest ``keep`` rows (bounded disk)."""
    conn.execute("DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?", (keep,))


def read_audit(
    source: sqlite3.Connection | str | Path,
    *,
    limit: int = 50,
    outcome: str | None = None,
) -> list[AuditRecord]:
    """The newest ``limit`` audit rows, newest first; ``source`` is a connection or the
    outbox file (opened read-only)."""
    own = not isinstance(source, sqlite3.Connection)
    conn = source if isinstance(source, sqlite3.Connection) else connect(source, readonly=True)
    try:
        sql = f"SELECT id, {_COLUMNS} FROM audit"
        params: list[Any] = []
        if outcome is not None:
            sql += " WHERE outcome = ?"
            params.append(outcome)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(int(limit))
        rows = conn.execute(sql, params).fetchall()
    finally:
        if own:
            conn.close()
    return [
        AuditRecord(
            id=r[0],
            ts=r[1],
            destination=r[2],
            site=r[3],
            first_seq=r[4],
            last_seq=r[5],
            events=r[6],
            categories=json.loads(r[7]),
            bytes=r[8],
            outcome=r[9],
            acked_upto=r[10],
            duration_ms=r[11],
            error=r[12],
        )
        for r in rows
    ]
