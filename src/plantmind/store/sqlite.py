"""The one way plantmind opens SQLite files: connections, the single writer thread with its
pool of read connections, and versioned schemas.

This module owns how every SQLite file under a plantmind home is opened (journal mode,
``synchronous``, busy timeout, transaction mode, read-only access) and upgraded. A module that
keeps SQLite state declares its tables as an append-only list of migration scripts under an
*owner* name and opens its file with :func:`connect` (``migrations={owner: steps}``):

* ``steps[i]`` takes the owner's tables from version ``i`` to ``i + 1``. A released script is
  never edited; a change is a new script at the end. The first script of an owner that existed
  before versioning is exactly the ``CREATE ... IF NOT EXISTS`` statements it ran on every
  start, so a file made by that code is taken to version 1 without change.
* Versions are kept per owner in a ``schema_versions`` table, because several owners can
  share one file (``outbox.db`` holds the outbox's tables and the audit log's). The edge store
  keeps its version in ``PRAGMA user_version``, as it did before this table existed
  (``user_version=True``; at most one owner per file can do that).
* :func:`migrate` applies the missing steps, each in its own ``BEGIN IMMEDIATE`` transaction
  together with the version bump, so a crash leaves the owner at a whole version, two
  processes opening one file at once apply each step once, and re-running is a no-op. A file
  whose owner is at a version newer than this code knows is refused with :class:`SchemaError`.

The single-writer pattern (after Datasette's ``database.py``: "a single writer thread protects
the single write connection") lives here too: :class:`SqliteWriter` owns the only write
connection of a file and runs submitted jobs in order, each in its own transaction, reporting
on a Future; :class:`ReadConnections` hands each thread its own read-only connection, which WAL
lets read while the writer writes. The edge store, the outbox, the model task queue and the
routed-call log use them.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Literal, cast

__all__ = [
    "SCHEMA_VERSIONS_TABLE",
    "AutoVacuum",
    "IsolationLevel",
    "ReadConnections",
    "SchemaError",
    "SqliteWriter",
    "StoreClosedError",
    "connect",
    "migrate",
    "schema_version",
]

log = logging.getLogger("plantmind.store")

SCHEMA_VERSIONS_TABLE = "schema_versions"
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
_AUTO_VACUUM = ("NONE", "FULL", "INCREMENTAL")

AutoVacuum = Literal["NONE", "FULL", "INCREMENTAL"]
# "" is the sqlite3 module's own default: a plain BEGIN (deferred) before the first write.
IsolationLevel = Literal["", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"]


class SchemaError(RuntimeError):
    """The database cannot be used by this version of plantmind."""


class StoreClosedError(RuntimeError):
    """The store was closed (or its writer thread is gone); no more writes are accepted."""


# --- connections ---------------------------------------------------------------------------


def connect(
    path: str | Path,
    *,
    readonly: bool = False,
    isolation_level: IsolationLevel | None = None,
    synchronous: str = "FULL",
    wal: bool = True,
    check_same_thread: bool = True,
    busy_timeout_s: float = 5.0,
    foreign_keys: bool = False,
    auto_vacuum: AutoVacuum | None = None,
    journal_size_limit: int | None = None,
    migrations: Mapping[str, Sequence[str]] | None = None,
) -> sqlite3.Connection:
    """Open the SQLite file ``path``.

    ``readonly``: open it with ``mode=ro`` and ``query_only`` (the file must exist; any write
    raises ``sqlite3.OperationalError: attempt to write a readonly database``); the write
    settings below are then ignored.

    ``isolation_level``: the sqlite3 module's transaction mode. ``None`` (the default) is
    autocommit: the caller (the writer thread, :func:`migrate`) issues ``BEGIN``/``COMMIT``
    itself. ``""`` is the module's own default: an implicit ``BEGIN`` before the first
    INSERT/UPDATE/DELETE, ended by ``commit()`` or ``with conn:``.

    Writable files: ``wal`` switches the file to WAL (and fails with ``RuntimeError`` if
    SQLite cannot: readers beside a writer rely on it); ``wal=False`` leaves the journal mode
    as the file has it. ``synchronous`` is SQLite's per-connection durability setting (FULL,
    SQLite's default, fsyncs every commit; NORMAL in WAL mode only risks the last commits on
    power loss, never corruption). ``foreign_keys`` enforces ``REFERENCES``. ``auto_vacuum``
    is applied to a new, empty file only (SQLite allows it only before the first table).
    ``journal_size_limit`` caps the WAL file left after a checkpoint, in bytes.
    ``migrations`` maps owner names to their migration scripts, applied in that order (see
    :func:`migrate`) before the connection is returned.

    ``busy_timeout_s``: how long a statement waits for another connection's lock.
    ``check_same_thread`` is the sqlite3 module's guard against use from another thread.
    """
    if readonly:
        if migrations:
            raise ValueError("a read-only connection cannot apply migrations")
        conn = sqlite3.connect(
            Path(path).resolve().as_uri() + "?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=check_same_thread,
            timeout=busy_timeout_s,
        )
        # mode=ro already refuses writes to the file; query_only also refuses them on this
        # connection (e.g. to an ATTACHed file), so a read path can never write by mistake.
        conn.execute("PRAGMA query_only = ON")
        _set_isolation_level(conn, isolation_level)
        return conn

    sync = synchronous.upper()
    if sync not in _SYNCHRONOUS:
        raise ValueError(
            f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}"
        )
    if auto_vacuum is not None and auto_vacuum not in _AUTO_VACUUM:
        raise ValueError(
            f"auto_vacuum must be one of {', '.join(_AUTO_VACUUM)}, got {auto_vacuum!r}"
        )
    # Opened in autocommit so that the pragmas and migrations below run outside any implicit
    # transaction (journal_mode cannot change inside one); the caller's mode is set at the end.
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=check_same_thread, timeout=busy_timeout_s
    )
    try:
        if auto_vacuum is not None:
            fresh = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
            if fresh:
                conn.execute(f"PRAGMA auto_vacuum = {auto_vacuum}")
        if wal:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(f"could not switch {path} to WAL mode (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {sync}")
        if journal_size_limit is not None:
            conn.execute(f"PRAGMA journal_size_limit = {int(journal_size_limit)}")
        if foreign_keys:
            conn.execute("PRAGMA foreign_keys = ON")
        for owner, steps in (migrations or {}).items():
            migrate(conn, steps, owner=owner)
        _set_isolation_level(conn, isolation_level)
    except BaseException:
        conn.close()
        raise
    return conn


def _set_isolation_level(conn: sqlite3.Connection, level: IsolationLevel | None) -> None:
    # typeshed leaves "" out of the attribute's type; the sqlite3 module accepts it.
    conn.isolation_level = cast("Literal['DEFERRED', 'EXCLUSIVE', 'IMMEDIATE'] | None", level)


def _db_file(conn: sqlite3.Connection) -> str:
    """The main database's file name, for messages (``:memory:`` for an in-memory one)."""
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return str(file) or ":memory:"
    return "?"


# --- versioned schemas ---------------------------------------------------------------------


def schema_version(conn: sqlite3.Connection, owner: str, *, user_version: bool = False) -> int:
    """The version ``owner``'s tables are at in this file (0 when it has none yet).
    ``user_version``: the owner keeps it in ``PRAGMA user_version`` (the edge store)."""
    if user_version:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SCHEMA_VERSIONS_TABLE,)
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute(
        f"SELECT version FROM {SCHEMA_VERSIONS_TABLE} WHERE owner = ?", (owner,)
    ).fetchone()
    return 0 if row is None else int(row[0])


def migrate(
    conn: sqlite3.Connection, steps: Sequence[str], *, owner: str, user_version: bool = False
) -> int:
    """Bring ``owner``'s tables to version ``len(steps)``; return the version they were at.

    ``conn`` must be in autocommit mode (``isolation_level=None``). An up-to-date owner is
    only read. Each missing step runs in its own ``BEGIN IMMEDIATE`` transaction with its
    version bump: the write lock is taken before the version is read again, so two processes
    migrating one file apply each step once, and a failing step leaves the owner at the
    version before it. Raises :class:`SchemaError`
    (naming the file and the owner) when the file is at a newer version than ``steps`` know.
    """
    if conn.isolation_level is not None:
        raise ValueError("migrate() needs a connection opened with isolation_level=None")
    target = len(steps)
    # Fast path, a plain read: an up-to-date file (every open but the first after an upgrade)
    # takes no write lock, so opening it never waits behind another process's writes.
    current = schema_version(conn, owner, user_version=user_version)
    if current > target:
        raise _newer(conn, owner, current, target)
    if current == target:
        return current
    start: int | None = None
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not user_version:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSIONS_TABLE} "
                    "(owner TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                )
            current = schema_version(conn, owner, user_version=user_version)
            if start is None:
                start = current
            if current > target:
                raise _newer(conn, owner, current, target)
            if current == target:
                conn.execute("COMMIT")
                return start
            # Not executescript(): it commits first, which would split the step from its
            # version bump. Statements are split by sqlite3.complete_statement instead.
            for stmt in _statements(steps[current]):
                conn.execute(stmt)
            if user_version:
                conn.execute(f"PRAGMA user_version = {current + 1}")
            else:
                conn.execute(
                    f"INSERT INTO {SCHEMA_VERSIONS_TABLE} (owner, version) VALUES (?, ?) "
                    "ON CONFLICT (owner) DO UPDATE SET version = excluded.version",
                    (owner, current + 1),
                )
            conn.execute("COMMIT")
            log.info("%s: %s schema migrated to version %d", _db_file(conn), owner, current + 1)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _newer(conn: sqlite3.Connection, owner: str, current: int, target: int) -> SchemaError:
    return SchemaError(
        f"{_db_file(conn)}: the schema of {owner!r} is at version {current}, newer than this "
        f"plantmind knows ({target}); upgrade plantmind or use a fresh home directory"
    )


def _statements(script: str) -> list[str]:
    """Split an SQL script into complete statements."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip() and not _only_comments(buf):
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:80]!r}")
    return out


def _only_comments(text: str) -> bool:
    return all(not ln.strip() or ln.strip().startswith("--") for ln in text.splitlines())


# --- the single writer and its readers -----------------------------------------------------


class SqliteWriter:
    """The writer thread, its queue and the single write connection.

    Kept apart from the stores that use it so that the thread holds no reference to them: an
    abandoned store can then be garbage collected, and its finalizer drains and stops this.
    ``conn`` must be in autocommit mode (the thread issues ``BEGIN IMMEDIATE``/``COMMIT``).
    """

    STOP = object()
    BARRIER = object()

    def __init__(self, conn: sqlite3.Connection, max_pending: int, name: str) -> None:
        self.conn = conn
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        # A cache for jobs (e.g. signal id -> row key); only the writer thread touches it.
        # Cleared whenever a job rolls back, since rows inserted by that job no longer exist.
        self.cache: dict[str, int] = {}
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def put(self, fn: Any, fut: Future[Any], transaction: bool = True) -> None:
        # The lock makes "not closed, then enqueue" atomic with close(), so no job can land
        # behind the stop marker and leave its future pending forever.
        with self.lock:
            if self.closed or not self.thread.is_alive():
                raise StoreClosedError(f"the store is closed ({self.thread.name})")
            self.queue.put((fn, fut, transaction))

    def stop(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.thread.is_alive():
                self.queue.put((self.STOP, None, False))
        if threading.current_thread() is not self.thread:
            self.thread.join()

    def _run(self) -> None:
        conn = self.conn
        try:
            while True:
                fn, fut, transaction = self.queue.get()
                if fn is self.STOP:
                    break
                if not fut.set_running_or_notify_cancel():
                    continue  # cancelled by the caller before it ran
                if fn is self.BARRIER:
                    fut.set_result(None)
                    continue
                try:
                    if transaction:
                        conn.execute("BEGIN IMMEDIATE")
                        result = fn(conn)
                        conn.execute("COMMIT")
                    else:
                        result = fn(conn)
                except BaseException as exc:
                    # A failing job must not take the writer down: roll it back, report it on
                    # its future and the log, and carry on with the next job.
                    self.cache.clear()
                    try:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        log.exception("rollback after a failed write job failed")
                    log.exception(
                        "%s: write job %s failed", self.thread.name, getattr(fn, "__name__", fn)
                    )
                    fut.set_exception(exc)
                else:
                    fut.set_result(result)
        finally:
            conn.close()


class ReadConnections:
    """One read-only connection per calling thread to a SQLite file (WAL lets them read while
    the writer writes). Connections of threads that have ended are closed when a new thread
    asks, so a churn of short-lived threads does not accumulate open file handles."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        # resolved now, as the file the store opened: a later chdir must not move it
        self._path = Path(path).resolve()
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._conns: dict[int, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        # check_same_thread=False: close() runs on another thread than the one that opened it.
        conn = connect(
            self._path, readonly=True, check_same_thread=False, busy_timeout_s=self._busy_timeout_s
        )
        ident = threading.get_ident()
        with self._lock:
            alive = {t.ident for t in threading.enumerate()}
            for tid in [tid for tid in self._conns if tid not in alive or tid == ident]:
                self._conns.pop(tid).close()
            self._conns[ident] = conn
        self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._conns.values():
                conn.close()
            self._conns.clear()
