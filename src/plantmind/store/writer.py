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
from typing import Any

__all__ = ["SqliteWriter", "StoreClosedError"]

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
