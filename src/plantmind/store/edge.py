"""The edge node's durable store: one SQLite file, ``<home>/edge.db``.

This module owns everything the edge node keeps across restarts: alerts, events, downsampled
signal history (aggregates) and opaque state blobs (detector state). Raw samples are never
written here; they live only in :class:`plantmind.store.ring.SampleRing`.

Concurrency model (after Datasette's ``database.py``: "a single writer thread protects the
single write connection"): one dedicated writer thread owns the only write connection and runs
submitted write jobs from a bounded queue, strictly in submission order, each job in its own
transaction. Callers get a :class:`concurrent.futures.Future` back and never wait on the disk
unless they want to (``future.result()`` or :meth:`EdgeStore.flush`). Reads use one read-only
connection per calling thread; WAL mode lets them run while the writer writes. A read issued
after a write is submitted sees it only once that write's future is done.

Retention (bounded disk), applied by :meth:`EdgeStore.prune`, which the edge service is
expected to call periodically (e.g. hourly):

* aggregates: rows whose bucket starts before ``aggregates_older_than`` are deleted. At 60 s
  buckets one signal adds 1,440 rows a day at about 30 bytes each on disk (measured), so
  10,000 signals need roughly 0.45 GB per day of retention;
* events: only the newest ``events_keep`` (by ``ts``) are kept;
* alerts: kept, unless ``alerts_resolved_older_than`` is given, which deletes resolved alerts
  whose last activity is older than that;
* state: one row per key, overwritten in place.

Freed pages are handed back to the file system by ``PRAGMA incremental_vacuum`` (new files are
created with ``auto_vacuum=INCREMENTAL``); the WAL file is truncated to ``journal_size_limit``
after checkpoints, so it does not stay at its high-water mark either.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from plantmind.core.jsonutil import compact_json
from plantmind.core.types import Alert, AlertState, Event, Severity
from plantmind.store.downsample import Buckets
from plantmind.store.migrations import MIGRATIONS, migrate
from plantmind.store.sqlite import ReadConnections, SqliteWriter, StoreClosedError, connect

__all__ = ["AggregateSeries", "EdgeStore", "PruneResult", "StoreClosedError"]

log = logging.getLogger(__name__)

T = TypeVar("T")

WriteJob = Callable[[sqlite3.Connection], Any]

_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


@dataclass(slots=True)
class AggregateSeries:
    """Stored buckets of one signal, oldest first, as parallel arrays."""

    signal_id: str
    start: np.ndarray  # float64, bucket start (epoch seconds)
    count: np.ndarray  # int64
    mean: np.ndarray  # float64
    min: np.ndarray  # float64
    max: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.start)


@dataclass(frozen=True, slots=True)
class PruneResult:
    """Rows deleted by one :meth:`EdgeStore.prune`."""

    aggregates: int
    events: int
    alerts: int


def _dumps(obj: Any) -> str:
    return compact_json(obj, allow_nan=True)


def _finalize_writer(writer: SqliteWriter) -> None:
    writer.stop()


class EdgeStore:
    """SQLite store of one edge node; see the module docstring for the model.

    ``path`` is the database file (conventionally ``<home>/edge.db``); its folder is created.
    ``max_pending`` bounds the write queue: when that many jobs wait, :meth:`submit` blocks
    (back-pressure instead of unbounded memory).
    """

    def __init__(
        self, path: str | Path, *, max_pending: int = 10_000, busy_timeout_s: float = 30.0
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        conn = connect(
            self.path,
            check_same_thread=False,
            busy_timeout_s=busy_timeout_s,
            # Only possible on a new file (before the first table); lets prune() give pages
            # back.
            auto_vacuum="INCREMENTAL",
            # In WAL mode NORMAL only risks the last transactions on power loss, never
            # corruption, and saves an fsync per commit.
            synchronous="NORMAL",
            journal_size_limit=_JOURNAL_SIZE_LIMIT,
        )
        try:
            # edge.db keeps its version in PRAGMA user_version (see store.migrations).
            migrate(conn, MIGRATIONS)
        except BaseException:
            conn.close()
            raise
        self._reads = ReadConnections(self.path, busy_timeout_s=self._busy_timeout_s)
        self._writer = SqliteWriter(conn, max_pending, name=f"edge-store-writer:{self.path.name}")
        self._finalizer = weakref.finalize(self, _finalize_writer, self._writer)

    # --- plumbing ------------------------------------------------------------------------

    def submit(
        self, fn: Callable[[sqlite3.Connection], T], *, transaction: bool = True
    ) -> Future[T]:
        """Run ``fn(write_connection)`` on the writer thread, inside a transaction that is
        committed if it returns and rolled back if it raises. Jobs run in submission order.
        The future carries the return value or the exception. ``fn`` must not begin, commit
        or roll back transactions itself. ``transaction=False`` runs it in autocommit mode,
        for the few statements SQLite refuses inside a transaction (checkpoint, VACUUM).
        Blocks while ``max_pending`` jobs are already queued."""
        fut: Future[T] = Future()
        self._writer.put(fn, fut, transaction)
        return fut

    def checkpoint(self) -> Future[tuple[int, int, int]]:
        """Copy the WAL into the database file and truncate the WAL (``PRAGMA
        wal_checkpoint(TRUNCATE)``); gives SQLite's (busy, wal pages, checkpointed pages).
        SQLite checkpoints by itself every ~1,000 pages; this is for after a big prune."""

        def checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
            row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return int(row[0]), int(row[1]), int(row[2])

        return self.submit(checkpoint, transaction=False)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every write submitted before this call is done (committed or failed).
        Raises TimeoutError after ``timeout`` seconds."""
        if threading.current_thread() is self._writer.thread:
            raise RuntimeError("flush() called from inside a write job would wait on itself")
        if self._writer.closed:
            return
        fut: Future[None] = Future()
        try:
            self._writer.put(SqliteWriter.BARRIER, fut)
        except StoreClosedError:
            return
        fut.result(timeout)

    def close(self) -> None:
        """Finish all submitted writes, stop the writer thread and close all connections.
        Idempotent."""
        self._finalizer()  # runs SqliteWriter.stop once: drains the queue, joins the thread
        self._reads.close()

    @property
    def closed(self) -> bool:
        return self._writer.closed

    @property
    def pending(self) -> int:
        """Write jobs waiting in the queue (approximate)."""
        return self._writer.queue.qsize()

    def __enter__(self) -> EdgeStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _reader(self) -> sqlite3.Connection:
        if self._writer.closed:
            raise StoreClosedError("the edge store is closed")
        return self._reads.get()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._reader().execute(sql, params).fetchall()

    def disk_bytes(self) -> int:
        """Size of the database file plus its WAL and shared-memory files."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    # --- alerts --------------------------------------------------------------------------

    _ALERT_COLUMNS = (
        "id, site_id, asset_id, opened_at, last_active_at, severity, signals, message, "
        "peak_score, state, acknowledged_at, resolved_at, resolved_by, false_alarm, details"
    )

    def upsert_alert(self, alert: Alert) -> Future[None]:
        """Insert the alert, or replace every field of the stored alert with the same id."""
        # Serialise now, on the caller's thread: the detector keeps mutating its Alert objects,
        # and a JSON error belongs to the caller, not to the writer's log.
        row = (
            alert.id,
            alert.site_id,
            alert.asset_id,
            float(alert.opened_at),
            float(alert.last_active_at),
            str(alert.severity),
            _dumps(list(alert.signals)),
            alert.message,
            float(alert.peak_score),
            str(alert.state),
            alert.acknowledged_at,
            alert.resolved_at,
            alert.resolved_by,
            int(bool(alert.false_alarm)),
            _dumps(alert.details),
        )
        sql = (
            f"INSERT INTO alerts ({self._ALERT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, "
            "asset_id = excluded.asset_id, opened_at = excluded.opened_at, "
            "last_active_at = excluded.last_active_at, severity = excluded.severity, "
            "signals = excluded.signals, message = excluded.message, "
            "peak_score = excluded.peak_score, state = excluded.state, "
            "acknowledged_at = excluded.acknowledged_at, resolved_at = excluded.resolved_at, "
            "resolved_by = excluded.resolved_by, false_alarm = excluded.false_alarm, "
            "details = excluded.details"
        )

        def upsert_alert(conn: sqlite3.Connection) -> None:
            conn.execute(sql, row)

        return self.submit(upsert_alert)

    @staticmethod
    def _alert_from_row(r: tuple[Any, ...]) -> Alert:
        return Alert(
            id=r[0],
            site_id=r[1],
            asset_id=r[2],
            opened_at=r[3],
            last_active_at=r[4],
            severity=Severity(r[5]),
            signals=json.loads(r[6]),
            message=r[7],
            peak_score=r[8],
            state=AlertState(r[9]),
            acknowledged_at=r[10],
            resolved_at=r[11],
            resolved_by=r[12],
            false_alarm=bool(r[13]),
            details=json.loads(r[14]),
        )

    def get_alert(self, alert_id: str) -> Alert | None:
        rows = self._query(f"SELECT {self._ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        return self._alert_from_row(rows[0]) if rows else None

    def get_alerts(self, alert_ids: Sequence[str]) -> dict[str, Alert]:
        """The stored alerts among ``alert_ids``, by id (unknown ids are left out)."""
        ids = list(dict.fromkeys(alert_ids))
        out: dict[str, Alert] = {}
        for k in range(0, len(ids), 500):  # well under SQLite's bound on host parameters
            part = ids[k : k + 500]
            marks = ", ".join("?" * len(part))
            sql = f"SELECT {self._ALERT_COLUMNS} FROM alerts WHERE id IN ({marks})"
            for r in self._query(sql, part):
                out[r[0]] = self._alert_from_row(r)
        return out

    @staticmethod
    def _alert_filter(
        state: str | None,
        asset_id: str | None,
        since: float | None,
        severity: str | None,
        active: bool | None,
    ) -> tuple[str, list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if state is not None:
            where.append("state = ?")
            params.append(str(AlertState(state)))
        if active is not None:
            where.append("state != ?" if active else "state = ?")
            params.append(str(AlertState.RESOLVED))
        if severity is not None:
            where.append("severity = ?")
            params.append(str(Severity(severity)))
        if asset_id is not None:
            where.append("asset_id = ?")
            params.append(asset_id)
        if since is not None:
            where.append("last_active_at >= ?")
            params.append(float(since))
        return (" WHERE " + " AND ".join(where) if where else ""), params

    def list_alerts(
        self,
        *,
        state: str | None = None,
        asset_id: str | None = None,
        since: float | None = None,
        limit: int = 200,
        severity: str | None = None,
        active: bool | None = None,
        offset: int = 0,
    ) -> list[Alert]:
        """Alerts, newest opened first. ``state`` filters on the alert state ("open",
        "acknowledged", "resolved"); ``active`` True keeps the unresolved ones (open or
        acknowledged), False the resolved ones; ``severity`` ("warning", "critical") on the
        severity; ``since`` keeps alerts active at or after that time (``last_active_at >=
        since``). ``offset`` skips that many of the newest (paging). ValueError for an
        unknown state or severity."""
        where, params = self._alert_filter(state, asset_id, since, severity, active)
        sql = f"SELECT {self._ALERT_COLUMNS} FROM alerts{where}"
        sql += " ORDER BY opened_at DESC, id DESC LIMIT ? OFFSET ?"
        params += [int(limit), max(int(offset), 0)]
        return [self._alert_from_row(r) for r in self._query(sql, params)]

    def count_alerts(
        self,
        *,
        state: str | None = None,
        asset_id: str | None = None,
        since: float | None = None,
        severity: str | None = None,
        active: bool | None = None,
    ) -> int:
        """How many alerts :meth:`list_alerts` with the same filters would page through."""
        where, params = self._alert_filter(state, asset_id, since, severity, active)
        return int(self._query(f"SELECT count(*) FROM alerts{where}", params)[0][0])

    # --- events --------------------------------------------------------------------------

    def add_events(self, events: Sequence[Event]) -> Future[int]:
        """Append events; an event whose id is already stored is ignored (so retries are
        safe). The future gives the number of events actually inserted."""
        rows = [(e.id, float(e.ts), e.kind, e.message, e.asset_id, _dumps(e.data)) for e in events]

        def add_events(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO events (id, ts, kind, message, asset_id, data) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                rows,
            )
            return conn.total_changes - before

        return self.submit(add_events)

    def list_events(
        self,
        *,
        since: float | None = None,
        kind: str | None = None,
        asset_id: str | None = None,
        limit: int = 200,
    ) -> list[Event]:
        """Events newest first (by ``ts``, then insertion order); ``since`` is inclusive."""
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append("ts >= ?")
            params.append(float(since))
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if asset_id is not None:
            where.append("asset_id = ?")
            params.append(asset_id)
        sql = "SELECT id, ts, kind, message, asset_id, data FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts DESC, seq DESC LIMIT ?"
        params.append(int(limit))
        return [
            Event(id=r[0], ts=r[1], kind=r[2], message=r[3], asset_id=r[4], data=json.loads(r[5]))
            for r in self._query(sql, params)
        ]

    # --- aggregates ----------------------------------------------------------------------

    def write_aggregates(
        self,
        signal_ids: Sequence[str] | np.ndarray,
        rows: Buckets | Sequence[tuple[int, float, int, float, float, float]],
    ) -> Future[int]:
        """Store finished buckets. ``rows`` name signals by index into ``signal_ids``
        (normally ``PlantIndex.signal_ids``); they are stored under the string id, which
        survives plant changes. A bucket that is already stored is merged (counts add, the
        mean is count-weighted, min/max combine), so a bucket split by a restart or a
        ``Downsampler.flush(before=...)`` ends up whole. The future gives the row count."""
        if isinstance(rows, Buckets):
            sig = np.asarray(rows.signal, dtype=np.int64)
            cols = [rows.start, rows.count, rows.mean, rows.min, rows.max]
        else:
            table = list(rows)
            sig = np.asarray([r[0] for r in table], dtype=np.int64)
            cols = [np.asarray([r[k] for r in table]) for k in range(1, 6)]
        if len(sig) == 0:
            done: Future[int] = Future()
            done.set_result(0)
            return done
        names = np.asarray(signal_ids, dtype=object)
        if sig.min() < 0 or sig.max() >= len(names):
            raise IndexError(f"signal index out of range for {len(names)} signal ids")
        # Snapshot on the caller's thread (cheap array copies); the per-row Python conversion
        # happens on the writer thread, off the pipeline's hot path.
        row_names = names[sig]
        start = np.array(cols[0], dtype=np.float64)
        count = np.array(cols[1], dtype=np.int64)
        mean = np.array(cols[2], dtype=np.float64)
        lo = np.array(cols[3], dtype=np.float64)
        hi = np.array(cols[4], dtype=np.float64)
        cache = self._writer.cache

        def write_aggregates(conn: sqlite3.Connection) -> int:
            unique = set(row_names.tolist())
            missing = [n for n in unique if n not in cache]
            if missing:
                conn.executemany(
                    "INSERT INTO signals (id) VALUES (?) ON CONFLICT (id) DO NOTHING",
                    [(n,) for n in missing],
                )
                for key, sid in conn.execute("SELECT key, id FROM signals"):
                    cache[sid] = key
            keys = [cache[n] for n in row_names.tolist()]
            conn.executemany(
                'INSERT INTO aggregates (signal_key, bucket_start, count, mean, "min", "max") '
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (signal_key, bucket_start) DO UPDATE SET "
                "mean = (mean * count + excluded.mean * excluded.count) "
                "/ (count + excluded.count), "
                "count = count + excluded.count, "
                '"min" = min("min", excluded."min"), '
                '"max" = max("max", excluded."max")',
                zip(
                    keys,
                    start.tolist(),
                    count.tolist(),
                    mean.tolist(),
                    lo.tolist(),
                    hi.tolist(),
                    strict=True,
                ),
            )
            return len(keys)

        return self.submit(write_aggregates)

    def aggregates(
        self,
        signal_id: str,
        *,
        since: float | None = None,
        until: float | None = None,
        limit: int = 10_000,
    ) -> AggregateSeries:
        """Stored buckets of one signal with ``since <= bucket_start < until``, oldest first;
        if more than ``limit`` match, the newest ``limit`` of them."""
        where = ["signal_key = (SELECT key FROM signals WHERE id = ?)"]
        params: list[Any] = [signal_id]
        if since is not None:
            where.append("bucket_start >= ?")
            params.append(float(since))
        if until is not None:
            where.append("bucket_start < ?")
            params.append(float(until))
        params.append(int(limit))
        rows = self._query(
            'SELECT bucket_start, count, mean, "min", "max" FROM aggregates WHERE '
            + " AND ".join(where)
            + " ORDER BY bucket_start DESC LIMIT ?",
            params,
        )
        rows.reverse()
        if rows:
            start, count, mean, lo, hi = zip(*rows, strict=True)
        else:
            start = count = mean = lo = hi = ()
        return AggregateSeries(
            signal_id,
            np.asarray(start, dtype=np.float64),
            np.asarray(count, dtype=np.int64),
            np.asarray(mean, dtype=np.float64),
            np.asarray(lo, dtype=np.float64),
            np.asarray(hi, dtype=np.float64),
        )

    # --- state blobs ---------------------------------------------------------------------

    def put_state(self, key: str, blob: bytes) -> Future[None]:
        """Store (replace) an opaque blob under ``key``, e.g. a detector's saved state."""
        data = bytes(blob)  # copy now: a bytearray/memoryview could change before the write
        ts = time.time()

        def put_state(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO state (key, blob, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET blob = excluded.blob, "
                "updated_at = excluded.updated_at",
                (key, data, ts),
            )

        return self.submit(put_state)

    def get_state(self, key: str) -> bytes | None:
        rows = self._query("SELECT blob FROM state WHERE key = ?", (key,))
        return bytes(rows[0][0]) if rows else None

    # --- retention -----------------------------------------------------------------------

    def prune(
        self,
        *,
        aggregates_older_than: float,
        events_keep: int = 1_000_000,
        alerts_resolved_older_than: float | None = None,
    ) -> Future[PruneResult]:
        """Apply the retention policy (see the module docstring); the future gives the
        number of rows deleted per table."""
        if events_keep < 0:
            raise ValueError(f"events_keep must be >= 0, got {events_keep}")
        cutoff = float(aggregates_older_than)

        def prune(conn: sqlite3.Connection) -> PruneResult:
            # Runs outside the writer's automatic transaction: the deletes are one transaction
            # of their own, and incremental_vacuum must follow their commit (see below).
            conn.execute("BEGIN IMMEDIATE")
            n0 = conn.total_changes
            # Per signal, so each DELETE is a range scan of the primary key instead of a
            # full-table scan (there is deliberately no index on bucket_start alone).
            keys = [(k, cutoff) for (k,) in conn.execute("SELECT key FROM signals")]
            conn.executemany(
                "DELETE FROM aggregates WHERE signal_key = ? AND bucket_start < ?", keys
            )
            n1 = conn.total_changes
            edge = conn.execute(
                "SELECT ts, seq FROM events ORDER BY ts DESC, seq DESC LIMIT 1 OFFSET ?",
                (events_keep,),
            ).fetchone()
            if edge is not None:
                conn.execute(
                    "DELETE FROM events WHERE ts < ? OR (ts = ? AND seq <= ?)",
                    (edge[0], edge[0], edge[1]),
                )
            n2 = conn.total_changes
            if alerts_resolved_older_than is not None:
                conn.execute(
                    "DELETE FROM alerts WHERE state = ? "
                    "AND coalesce(resolved_at, last_active_at) < ?",
                    (str(AlertState.RESOLVED), float(alerts_resolved_older_than)),
                )
            n3 = conn.total_changes
            conn.execute("COMMIT")
            # Give free pages back to the file system (a no-op unless the file was created
            # with auto_vacuum=INCREMENTAL). Through executescript because the sqlite3 module
            # steps a pragma statement only once, and each step frees a single page.
            conn.executescript("PRAGMA incremental_vacuum;")
            return PruneResult(aggregates=n1 - n0, events=n2 - n1, alerts=n3 - n2)

        return self.submit(prune, transaction=False)
