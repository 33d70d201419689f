"""The durable queue of model tasks waiting for a tier to come back (``<home>/llm_queue.db``,
SQLite in WAL mode, one writer thread: :class:`plantmind.store.sqlite.SqliteWriter`).

A task moves ``pending → inflight → done`` (or ``failed`` after too many attempts). Each
step is a committed transaction with ``synchronous=FULL``, so:

* :meth:`TaskQueue.put` returns only when the task would survive a SIGKILL or a power cut;
* a task is marked ``inflight`` (and its attempt counted) *before* it is sent, so after a
  crash the task is sent again with the same idempotency key (its id) and a server that
  honours ``Idempotency-Key`` runs it once;
* ``done`` is terminal and set at most once (``UPDATE ... WHERE state != 'done'``): a result
  is recorded, and the completion reported, exactly once.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from plantmind.store.sqlite import ReadConnections, SqliteWriter, StoreClosedError, connect

__all__ = ["MIGRATIONS", "QueueFullError", "QueuedTask", "StoreClosedError", "TaskQueue"]

T = TypeVar("T")

# The task queue's migrations (plantmind.store.sqlite, owner "llm.queue"): append-only. 1 is
# exactly what the queue created on every start before versioning, so its files upgrade in
# place.
MIGRATIONS: list[str] = [
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
]


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(owner: str | None, me: str) -> bool:
    if not owner:
        return True
    if owner == me:
        return False  # in flight in this very process
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return False  # another machine: only its lease can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


class QueueFullError(RuntimeError):
    """The queue holds ``max_tasks`` tasks that have not run yet."""


@dataclass(frozen=True, slots=True)
class QueuedTask:
    id: str
    kind: str
    tier: str
    task: dict[str, Any]
    state: str
    attempts: int
    created_at: float
    updated_at: float
    result: dict[str, Any] | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "tier": self.tier,
            "state": self.state,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "result": self.result,
            "error": self.error,
        }


def _row(r: tuple[Any, ...]) -> QueuedTask:
    return QueuedTask(
        id=r[0],
        kind=r[1],
        tier=r[2],
        task=json.loads(r[3]),
        state=r[4],
        attempts=int(r[5]),
        created_at=float(r[6]),
        updated_at=float(r[7]),
        result=json.loads(r[8]) if r[8] else None,
        error=r[9],
    )


_COLS = "id, kind, tier, task, state, attempts, created_at, updated_at, result, error"


class TaskQueue:
    """The durable task queue in ``path`` (see the module docstring)."""

    def __init__(
        self, path: str | Path, *, max_tasks: int = 10_000, synchronous: str = "FULL"
    ) -> None:
        self.path = Path(path)
        self.max_tasks = max_tasks
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit: the writer thread runs each step in its own transaction; FULL by
        # default, since a put must survive a power cut (see the module docstring).
        conn = connect(
            self.path,
            check_same_thread=False,
            busy_timeout_s=30,
            synchronous=synchronous,
            migrations={"llm.queue": MIGRATIONS},
        )
        try:
            self._waiting = int(
                conn.execute(
                    "SELECT count(*) FROM tasks WHERE state IN ('pending', 'inflight')"
                ).fetchone()[0]
            )
        except BaseException:
            conn.close()
            raise
        self._reads = ReadConnections(self.path)
        self._writer = SqliteWriter(conn, 10_000, name=f"llm-queue:{self.path.name}")
        self._finalizer = weakref.finalize(self, SqliteWriter.stop, self._writer)

    # -- plumbing ----------------------------------------------------------------------------
    def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        fut: Future[T] = Future()
        self._writer.put(fn, fut, True)
        return fut

    def _reader(self) -> sqlite3.Connection:
        return self._reads.get()

    def close(self) -> None:
        """Finish submitted writes and close. Idempotent."""
        self._finalizer()
        self._reads.close()

    # -- writing -----------------------------------------------------------------------------
    @property
    def waiting(self) -> int:
        """Pending and in-flight tasks, as the writer last counted them (no disk read)."""
        return self._waiting

    def put(self, task_id: str, kind: str, tier: str, task: dict[str, Any]) -> None:
        """Queue a task; returns once it is durable. Re-putting a known id is a no-op."""
        data = json.dumps(task, separators=(",", ":"))

        def put(conn: sqlite3.Connection) -> bool:
            if conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone():
                return True
            if self._waiting >= self.max_tasks:
                return False  # raised by the caller: a full queue is no writer failure
            now = time.time()
            conn.execute(
                "INSERT INTO tasks (id, kind, tier, task, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (task_id, kind, tier, data, now, now),
            )
            self._waiting += 1
            return True

        if not self._submit(put).result():
            raise QueueFullError(f"{self._waiting} model tasks already wait (llm.queue_max_tasks)")

    def claim(self, tier: str, *, lease_s: float = 300.0) -> QueuedTask | None:
        """The oldest waiting task for ``tier``, marked in flight by this process with its
        attempt counted (durably, before anyone sends it); None when nothing waits.

        A task in flight elsewhere is taken over only when its process is gone (same host,
        pid no longer alive: the SIGKILL case) or its lease of ``lease_s`` expired, so two
        processes sharing a home never run one task at the same time."""
        me = _me()

        def claim(conn: sqlite3.Connection) -> QueuedTask | None:
            now = time.time()
            for row in conn.execute(
                f"SELECT {_COLS}, owner FROM tasks WHERE tier = ? "
                "AND state IN ('pending', 'inflight') ORDER BY seq LIMIT 100",
                (tier,),
            ).fetchall():
                if row[4] == "inflight" and not (
                    now - float(row[7]) > lease_s or _owner_gone(row[10], me)
                ):
                    continue
                conn.execute(
                    "UPDATE tasks SET state = 'inflight', attempts = attempts + 1, "
                    "updated_at = ?, owner = ? WHERE id = ?",
                    (now, me, row[0]),
                )
                return _row((*row[:4], "inflight", int(row[5]) + 1, *row[6:10]))
            return None

        return self._submit(claim).result()

    def complete(self, task_id: str, result: dict[str, Any]) -> bool:
        """Record the result; True only for the call that made the task done."""
        data = json.dumps(result, separators=(",", ":"))

        def complete(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE tasks SET state = 'done', result = ?, error = NULL, updated_at = ? "
                "WHERE id = ? AND state NOT IN ('done', 'failed')",
                (data, time.time(), task_id),
            )
            self._waiting -= cur.rowcount
            return cur.rowcount == 1

        return self._submit(complete).result()

    def release(self, task_id: str, error: str, *, final: bool, refund: bool = False) -> None:
        """The attempt failed: back to pending, or ``failed`` for good when ``final``.
        ``refund`` uncounts the attempt (the server was never reached)."""

        def release(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE tasks SET state = ?, error = ?, updated_at = ?, owner = NULL, "
                "attempts = attempts - ? WHERE id = ? AND state = 'inflight'",
                ("failed" if final else "pending", error[:500], time.time(), int(refund), task_id),
            )
            if final:
                self._waiting -= cur.rowcount

        self._submit(release).result()

    def purge(self, older_than_s: float) -> int:
        """Forget done and failed tasks older than ``older_than_s``."""

        def purge(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM tasks WHERE state IN ('done', 'failed') AND updated_at < ?",
                (time.time() - older_than_s,),
            )
            return cur.rowcount

        return self._submit(purge).result()

    # -- reading -----------------------------------------------------------------------------
    def get(self, task_id: str) -> QueuedTask | None:
        row = (
            self._reader().execute(f"SELECT {_COLS} FROM tasks WHERE id = ?", (task_id,)).fetchone()
        )
        return None if row is None else _row(row)

    def counts(self) -> dict[str, int]:
        """Tasks per state (as committed on disk)."""
        return {
            s: int(n)
            for s, n in self._reader().execute("SELECT state, count(*) FROM tasks GROUP BY state")
        }
