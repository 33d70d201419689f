"""The site's outbox: events waiting to go to the central hub, durable on disk.

This module owns ``<home>/outbox.db`` (SQLite, WAL): the queued events, the per-site sequence
counter, the drop/refusal counters and the audit log (:mod:`plantmind.sync.audit`).

Guarantees:

* **Durable before acknowledged.** :meth:`Outbox.put_many` returns only after the transaction
  holding the events has committed with ``synchronous=FULL`` (the WAL is fsynced), so a crash
  or power cut after it returns loses nothing. :meth:`Outbox.submit_many` is the non-blocking
  form: the events are durable when its future is done.
* **Idempotency keys.** Every event gets ``seq``, strictly increasing per site and never
  reused, assigned in the same transaction that stores it. ``(site, seq)`` is the key the hub
  deduplicates on. A new outbox file starts its sequence at ``1000 × <epoch milliseconds>``,
  so an outbox lost with its disk and created again continues above every seq the old one
  can have used (unless the site's clock went back), and the hub does not mistake new events
  for duplicates.
* **Order.** Batches are read in ``seq`` order and an event leaves the outbox only when the hub
  has acknowledged a seq at or above it (:meth:`Outbox.ack`), so delivery is at-least-once,
  in order; the hub's unique ``(site, seq)`` makes it exactly-once in the fleet store.
* **Bounded disk.** ``EgressPolicy.outbox_max_mb`` (payload bytes) and
  ``outbox_max_events`` bound the queue. Over budget, the oldest events of the category with
  the lowest :data:`plantmind.sync.egress.DROP_RANK` are deleted first (aggregates before
  events before health before alerts; bulk categories, if a site allows them, before all), and
  each drop is counted per category in ``dropped.<category>``. A newly put event can itself be
  the one dropped if it is of the lowest category present.
* **Egress.** Categories the site's policy does not allow are refused at the door with
  :class:`~plantmind.sync.egress.EgressRefusedError` and counted in ``refused.<category>``.

All writes run on one writer thread that owns the only write connection (the pattern of
:class:`plantmind.store.edge.EdgeStore`); reads use per-thread read-only connections.
"""

from __future__ import annotations

import sqlite3
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from plantmind.core.jsonutil import compact_json
from plantmind.core.plant import EgressPolicy
from plantmind.store.sqlite import ReadConnections, SqliteWriter, StoreClosedError, connect
from plantmind.sync.audit import (
    AUDIT_MIGRATIONS,
    AUDIT_OWNER,
    AuditRecord,
    insert_audit,
    read_audit,
    trim_audit,
)
from plantmind.sync.egress import DROP_RANK, EgressGate, EgressRefusedError
from plantmind.sync.wire import Batch

__all__ = ["MIGRATIONS", "Outbox", "OutboxStats", "StoreClosedError", "read_stats"]

T = TypeVar("T")

# The outbox's migrations (owner "sync.outbox" in plantmind.store.sqlite): append-only. 1 is
# exactly what the outbox created on every start before versioning, so its files upgrade in
# place. The audit log's table, in the same file, is versioned by its own module.
MIGRATIONS: list[str] = [
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
""",
]
OWNER = "sync.outbox"

_AUDIT_KEEP = 200_000  # audit rows kept; ~100 bytes each


def _dumps(obj: Any) -> str:
    # no NaN: it would fail at the hub; fail here, at the producer, where the bug is
    return compact_json(obj, allow_nan=False)


@dataclass(slots=True)
class OutboxStats:
    """A snapshot of the outbox: what waits, what was dropped, refused and delivered."""

    site: str
    queued: int
    queued_bytes: int
    queued_by_category: dict[str, int]
    next_seq: int
    counters: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "queued": self.queued,
            "queued_bytes": self.queued_bytes,
            "queued_by_category": dict(self.queued_by_category),
            "next_seq": self.next_seq,
            "dropped": {
                k.split(".", 1)[1]: v for k, v in self.counters.items() if k.startswith("dropped.")
            },
            "refused": {
                k.split(".", 1)[1]: v for k, v in self.counters.items() if k.startswith("refused.")
            },
            "accepted": self.counters.get("accepted", 0),
            "delivered": self.counters.get("delivered", 0),
        }


class _Queue:
    """What the writer thread knows about the queue, so that the disk budget is checked
    without a table scan per put. Only writer jobs mutate it."""

    def __init__(self) -> None:
        self.next_seq = 0
        self.rows: dict[str, int] = {}
        self.bytes: dict[str, int] = {}

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())

    def reload(self, conn: sqlite3.Connection) -> None:
        self.rows.clear()
        self.bytes.clear()
        for cat, n, b in conn.execute(
            "SELECT category, count(*), coalesce(sum(size), 0) FROM outbox GROUP BY category"
        ):
            self.rows[cat] = int(n)
            self.bytes[cat] = int(b)
        row = conn.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
        self.next_seq = int(row[0])


def _bump(conn: sqlite3.Connection, counts: Mapping[str, int]) -> None:
    conn.executemany(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
        [(k, int(v)) for k, v in counts.items() if v],
    )


class Outbox:
    """The durable outbox of site ``site_id`` (see the module docstring).

    ``path`` is the SQLite file (conventionally ``<home>/outbox.db``). ``policy`` supplies the
    allowed categories and the disk budget; ``max_bytes``/``max_events`` override the budget.
    ``synchronous`` is SQLite's setting for commits; keep ``"FULL"`` unless losing the last
    puts on a power cut is acceptable.
    """

    def __init__(
        self,
        path: str | Path,
        site_id: str,
        policy: EgressPolicy | None = None,
        *,
        max_bytes: int | None = None,
        max_events: int | None = None,
        synchronous: str = "FULL",
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.site_id = site_id
        self.policy = policy or EgressPolicy()
        self.gate = EgressGate(self.policy)
        self.max_bytes = int(
            max_bytes if max_bytes is not None else self.policy.outbox_max_mb * 2**20
        )
        self.max_events = int(
            max_events if max_events is not None else self.policy.outbox_max_events
        )
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, EXTRA or NORMAL, got {synchronous!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        # autocommit: the writer thread runs each job in its own transaction.
        conn = connect(
            self.path,
            check_same_thread=False,
            busy_timeout_s=busy_timeout_s,
            synchronous=synchronous,
            migrations={OWNER: MIGRATIONS, AUDIT_OWNER: AUDIT_MIGRATIONS},
        )
        self._q = _Queue()
        try:
            self._init_meta(conn)
            self._q.reload(conn)
        except BaseException:
            conn.close()
            raise
        self._reads = ReadConnections(self.path, busy_timeout_s=self._busy_timeout_s)
        self._writer = SqliteWriter(conn, 10_000, name=f"outbox-writer:{self.path.name}")
        self._finalizer = weakref.finalize(self, SqliteWriter.stop, self._writer)

    def _init_meta(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'site'").fetchone()
            if row is None:
                seed = int(time.time() * 1000) * 1000
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("site", self.site_id),
                        ("next_seq", str(seed)),
                        ("created_at", str(time.time())),
                    ],
                )
            elif row[0] != self.site_id:
                raise ValueError(
                    f"{self.path} is the outbox of site {row[0]!r}, not {self.site_id!r}: one "
                    "outbox per site keeps the sequence numbers unique"
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # --- plumbing ------------------------------------------------------------------------

    def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        fut: Future[T] = Future()
        self._writer.put(fn, fut, True)
        return fut

    def _reader(self) -> sqlite3.Connection:
        if self._writer.closed:
            raise StoreClosedError("the outbox is closed")
        return self._reads.get()

    def close(self) -> None:
        """Finish submitted writes and close. Idempotent."""
        self._finalizer()
        self._reads.close()

    @property
    def closed(self) -> bool:
        return self._writer.closed

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- putting -------------------------------------------------------------------------

    def submit_many(
        self,
        items: Iterable[tuple[str, Any] | tuple[str, Any, float]],
        *,
        meta: Mapping[str, str] | None = None,
    ) -> Future[list[int]]:
        """Queue events without waiting for the disk; the future gives their seqs once they
        are durable. ``items`` are ``(category, data)`` or ``(category, data, ts)`` with
        ``data`` JSON-serialisable. ``meta`` key/values are stored in the same transaction
        (a producer's watermark, so that producing and recording progress are atomic).

        Raises :class:`EgressRefusedError` (nothing is queued) if any category is not allowed.
        """
        now = time.time()
        rows: list[tuple[str, float, str]] = []
        refused: dict[str, int] = {}
        first_refusal: EgressRefusedError | None = None
        for item in items:
            cat = item[0]
            try:
                self.gate.check(cat)
            except EgressRefusedError as exc:
                refused[f"refused.{cat}"] = refused.get(f"refused.{cat}", 0) + 1
                first_refusal = first_refusal or exc
                continue
            ts = float(item[2]) if len(item) > 2 else now
            rows.append((cat, ts, _dumps(item[1])))
        if first_refusal is not None:

            def count_refused(conn: sqlite3.Connection) -> None:
                _bump(conn, refused)

            self._submit(count_refused)
            raise first_refusal
        meta_rows = [(str(k), str(v)) for k, v in (meta or {}).items()]
        return self._submit(self._insert_job(rows, meta_rows))

    def put_many(
        self,
        items: Iterable[tuple[str, Any] | tuple[str, Any, float]],
        *,
        meta: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> list[int]:
        """Queue events and return their seqs once they are durable (see
        :meth:`submit_many`)."""
        return self.submit_many(items, meta=meta).result(timeout)

    def put(self, category: str, data: Any, ts: float | None = None) -> int:
        """Queue one event; returns its seq once it is durable."""
        item = (category, data) if ts is None else (category, data, ts)
        return self.put_many([item])[0]

    def _insert_job(
        self, rows: list[tuple[str, float, str]], meta_rows: list[tuple[str, str]]
    ) -> Callable[[sqlite3.Connection], list[int]]:
        q = self._q

        def put_events(conn: sqlite3.Connection) -> list[int]:
            first = q.next_seq
            seqs = list(range(first, first + len(rows)))
            sizes = [len(d) for _, _, d in rows]
            conn.executemany(
                "INSERT INTO outbox (seq, category, ts, data, size) VALUES (?, ?, ?, ?, ?)",
                [(s, c, t, d, n) for s, (c, t, d), n in zip(seqs, rows, sizes, strict=True)],
            )
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'next_seq'", (str(first + len(rows)),)
            )
            if meta_rows:
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    meta_rows,
                )
            added_rows: dict[str, int] = {}
            added_bytes: dict[str, int] = {}
            for (c, _, _), n in zip(rows, sizes, strict=True):
                added_rows[c] = added_rows.get(c, 0) + 1
                added_bytes[c] = added_bytes.get(c, 0) + n
            _bump(conn, {"accepted": len(rows)})
            for c, n in added_rows.items():
                q.rows[c] = q.rows.get(c, 0) + n
                q.bytes[c] = q.bytes.get(c, 0) + added_bytes[c]
            q.next_seq = first + len(rows)
            try:
                self._enforce_budget(conn)
            except BaseException:
                q.reload(conn)  # the transaction rolls back; so must the in-memory view
                raise
            return seqs

        return put_events

    def _enforce_budget(self, conn: sqlite3.Connection) -> None:
        q = self._q
        dropped: dict[str, int] = {}
        while q.total_bytes > self.max_bytes or q.total_rows > self.max_events:
            cat = min((c for c, n in q.rows.items() if n > 0), key=DROP_RANK.__getitem__)
            excess_rows = max(q.total_rows - self.max_events, 0)
            excess_bytes = max(q.total_bytes - self.max_bytes, 0)
            # Walk the category's oldest events until enough rows and bytes are covered;
            # chunked so a large excess does not pull the whole table into memory.
            cut = None
            n = b = 0
            for seq, size in conn.execute(
                "SELECT seq, size FROM outbox WHERE category = ? ORDER BY seq LIMIT 10000",
                (cat,),
            ):
                cut, n, b = seq, n + 1, b + size
                if n >= excess_rows and b >= excess_bytes:
                    break
            if cut is None:  # the in-memory view was stale; re-read and try again
                q.reload(conn)
                continue
            conn.execute("DELETE FROM outbox WHERE category = ? AND seq <= ?", (cat, cut))
            q.rows[cat] -= n
            q.bytes[cat] -= b
            dropped[f"dropped.{cat}"] = dropped.get(f"dropped.{cat}", 0) + n
        if dropped:
            _bump(conn, dropped)

    # --- sending -------------------------------------------------------------------------

    def next_batch(self, max_events: int = 2000, max_bytes: int = 1 << 20) -> Batch | None:
        """The oldest queued events, in seq order: at most ``max_events`` and, beyond the
        first event, at most ``max_bytes`` of data. None if the outbox is empty."""
        cur = self._reader().execute(
            "SELECT seq, category, ts, data FROM outbox ORDER BY seq LIMIT ?", (int(max_events),)
        )
        rows: list[tuple[int, str, float, str]] = []
        total = 0
        for row in cur:
            total += len(row[3]) + 48
            if rows and total > max_bytes:
                break
            rows.append(row)
        cur.close()
        return Batch(self.site_id, rows) if rows else None

    def ack(self, upto: int, record: AuditRecord | None = None) -> Future[int]:
        """The hub has durably stored every event with ``seq <= upto``: remove them, count
        them as delivered, and append ``record`` to the audit log, all in one transaction.
        The future gives the number of events removed."""
        q = self._q

        def ack(conn: sqlite3.Connection) -> int:
            gone = conn.execute(
                "SELECT category, count(*), coalesce(sum(size), 0) FROM outbox "
                "WHERE seq <= ? GROUP BY category",
                (int(upto),),
            ).fetchall()
            conn.execute("DELETE FROM outbox WHERE seq <= ?", (int(upto),))
            n = sum(int(r[1]) for r in gone)
            _bump(conn, {"delivered": n})
            if record is not None:
                insert_audit(conn, record)
                self._maybe_trim(conn)
            for cat, rows, size in gone:
                q.rows[cat] = q.rows.get(cat, 0) - int(rows)
                q.bytes[cat] = q.bytes.get(cat, 0) - int(size)
            return n

        return self._submit(ack)

    def record_attempt(self, record: AuditRecord) -> Future[None]:
        """Append a send attempt that did not deliver (``outcome='failed'``) to the audit log."""

        def record_attempt(conn: sqlite3.Connection) -> None:
            insert_audit(conn, record)
            self._maybe_trim(conn)

        return self._submit(record_attempt)

    def _maybe_trim(self, conn: sqlite3.Connection) -> None:
        # Cheap test first: trimming scans nothing unless the log passed its bound.
        last = conn.execute("SELECT max(id) FROM audit").fetchone()[0] or 0
        if last % 1000 == 0:
            trim_audit(conn, _AUDIT_KEEP)

    # --- reading -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def counters(self) -> dict[str, int]:
        return _counters(self._reader())

    def oldest(self) -> tuple[int, float] | None:
        """``(seq, ts)`` of the oldest queued event, None if nothing waits (a heartbeat's
        backlog age)."""
        row = self._reader().execute("SELECT seq, ts FROM outbox ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def stats(self) -> OutboxStats:
        """Counts as of the last committed write (read from disk, so any process can ask)."""
        return _stats(self._reader(), self.site_id)

    def audit(self, limit: int = 50, outcome: str | None = None) -> list[AuditRecord]:
        """The newest audit rows, newest first."""
        return read_audit(self._reader(), limit=limit, outcome=outcome)

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every write submitted before this call."""
        fut: Future[None] = Future()
        try:
            self._writer.put(SqliteWriter.BARRIER, fut, True)
        except StoreClosedError:
            return
        fut.result(timeout)

    def __len__(self) -> int:
        return self._q.total_rows

    @property
    def queued_bytes(self) -> int:
        """Bytes of data queued, from the writer's running count (no table scan)."""
        return self._q.total_bytes


def _counters(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: int(v) for name, v in conn.execute("SELECT name, value FROM counters")}


def _stats(conn: sqlite3.Connection, site: str) -> OutboxStats:
    by_cat = {
        c: int(n)
        for c, n in conn.execute("SELECT category, count(*) FROM outbox GROUP BY category")
    }
    size = conn.execute("SELECT coalesce(sum(size), 0) FROM outbox").fetchone()[0]
    row = conn.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
    return OutboxStats(
        site=site,
        queued=sum(by_cat.values()),
        queued_bytes=int(size),
        queued_by_category=by_cat,
        next_seq=0 if row is None else int(row[0]),
        counters=_counters(conn),
    )


def read_stats(path: str | Path) -> OutboxStats:
    """The stats of the outbox file ``path``, read through a read-only connection: no writer
    thread, no migration, so it is safe beside the process that owns the outbox (``plantmind
    audit``). The file must exist."""
    conn = connect(path, readonly=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'site'").fetchone()
        return _stats(conn, "" if row is None else str(row[0]))
    finally:
        conn.close()


def queued_rows(outbox: Outbox) -> Sequence[tuple[int, str]]:
    """``(seq, category)`` of every queued event, oldest first; for tests and diagnostics."""
    return outbox._reader().execute("SELECT seq, category FROM outbox ORDER BY seq").fetchall()
