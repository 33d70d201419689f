"""The single-writer pattern for SQLite (after Datasette's ``database.py``: "a single writer
thread protects the single write connection"): one thread owns the only write connection and
runs submitted jobs in order, each in its own transaction, reporting on a Future. The edge
store and the outbox both use it."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

__all__ = ["ReadConnections", "SqliteWriter", "StoreClosedError"]

log = logging.getLogger("plantmind.store")


class StoreClosedError(RuntimeError):
    """The store was closed (or its writer thread is gone); no more writes are accepted."""


class SqliteWriter:
    """The writer thread, its queue and the single write connection.

    Kept apart from the stores that use it so that the thread holds no reference to them: an
    abandoned store can then be garbage collected, and its finalizer drains and stops this.
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
        self._uri = Path(path).resolve().as_uri() + "?mode=ro"
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._conns: dict[int, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = sqlite3.connect(
            self._uri,
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=self._busy_timeout_s,
        )
        conn.execute("PRAGMA query_only = ON")
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
