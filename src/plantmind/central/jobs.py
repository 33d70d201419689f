"""Long-running analysis jobs on the hub (compliance checks, message checks): a durable job
table in SQLite under the hub's home, worker threads that run them, progress while they run
and results kept on disk.

A job is accepted only after its inputs are written under ``<home>/jobs/<id>/inputs`` and its
row is committed, so an accepted job is never lost: a hub that stops while a job runs puts it
back in the queue when it starts again (jobs work only from their stored inputs, so running one
again gives the same result). A job that fails keeps its error message; the hub keeps serving.
"""

from __future__ import annotations

import builtins
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plantmind.core.ids import new_id
from plantmind.store.sqlite import connect

__all__ = ["MIGRATIONS", "JobContext", "JobError", "JobRunner", "JobStore", "UnknownJobKind"]

log = logging.getLogger("plantmind.central.jobs")

# The job table's migrations (plantmind.store.sqlite, owner "central.jobs"): append-only.
# 1 is exactly what the hub created on every start before versioning, so its files upgrade
# in place.
MIGRATIONS: list[str] = [
    """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL,
    submitted_by TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL,
    done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '', result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created);
""",
]
STATUSES = ("queued", "running", "done", "failed")


class JobError(ValueError):
    """A job's inputs are unusable; the message says which and why (shown to the submitter)."""


class UnknownJobKind(JobError):
    """No job of that kind is registered."""


@dataclass(slots=True)
class JobContext:
    """What a job function gets: its parameters, its folder (``inputs/`` holds the uploaded
    files, results go in ``out/``) and a progress callback ``progress(done, total, message)``."""

    id: str
    kind: str
    params: dict[str, Any]
    folder: Path
    progress: Callable[[int, int, str], None]
    services: Mapping[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> Path:
        return self.folder / "inputs"

    @property
    def out(self) -> Path:
        p = self.folder / "out"
        p.mkdir(parents=True, exist_ok=True)
        return p


JobFn = Callable[[JobContext], dict[str, Any]]


class JobStore:
    """The job table (``<home>/jobs.db``) and the job folders (``<home>/jobs/<id>``)."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # isolation_level="": the methods below commit through `with self._db:`;
        # check_same_thread=False: worker threads and the API share it, behind self._lock.
        self._db = connect(
            Path(home) / "jobs.db",
            isolation_level="",
            check_same_thread=False,
            busy_timeout_s=30,
            migrations={"central.jobs": MIGRATIONS},
        )

    def create(
        self, kind: str, params: dict[str, Any], files: Mapping[str, bytes], submitted_by: str
    ) -> str:
        """Write the inputs, then commit the row: the job exists only once both are durable."""
        job_id = new_id()
        folder = self.root / job_id
        inputs = folder / "inputs"
        inputs.mkdir(parents=True)
        try:
            for name, data in files.items():
                target = inputs / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            with self._lock, self._db:
                self._db.execute(
                    "INSERT INTO jobs (id, kind, status, params, submitted_by, created) "
                    "VALUES (?, ?, 'queued', ?, ?, ?)",
                    (job_id, kind, json.dumps(params), submitted_by, time.time()),
                )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return job_id

    def claim(self) -> dict[str, Any] | None:
        """The oldest queued job, now marked running (None when the queue is empty)."""
        with self._lock, self._db:
            row = self._db.execute(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY created LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self._db.execute(
                "UPDATE jobs SET status = 'running', started = ?, attempts = attempts + 1, "
                "done = 0, total = 0, message = 'started' WHERE id = ?",
                (time.time(), row[0]),
            )
        return self.get(row[0])

    def progress(self, job_id: str, done: int, total: int, message: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE jobs SET done = ?, total = ?, message = ? WHERE id = ?",
                (int(done), int(total), message[:500], job_id),
            )

    def finish(self, job_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        status = "failed" if error is not None else "done"
        with self._lock, self._db:
            self._db.execute(
                "UPDATE jobs SET status = ?, finished = ?, result = ?, error = ?, "
                "message = ? WHERE id = ?",
                (
                    status,
                    time.time(),
                    None if result is None else json.dumps(result, default=str),
                    error,
                    "finished" if error is None else "failed",
                    job_id,
                ),
            )

    def requeue_interrupted(self, max_attempts: int = 3) -> int:
        """Jobs left running by a hub that stopped go back to the queue; one that was already
        interrupted ``max_attempts`` times (it may be what stops the hub) fails instead."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE jobs SET status = 'failed', finished = ?, message = 'failed', error = ? "
                "WHERE status = 'running' AND attempts >= ?",
                (time.time(), f"interrupted {max_attempts} times; not started again", max_attempts),
            )
            cur = self._db.execute(
                "UPDATE jobs SET status = 'queued', message = 'requeued after a restart' "
                "WHERE status = 'running'"
            )
        return cur.rowcount

    _KEYS = (
        "id", "kind", "status", "params", "submitted_by", "created", "started", "finished",
        "done", "total", "message", "result", "error", "attempts",
    )  # fmt: skip
    _COLS = ", ".join(_KEYS)

    def _row(self, r: tuple[Any, ...], with_result: bool) -> dict[str, Any]:
        d = dict(zip(self._KEYS, r, strict=True))
        d["params"] = json.loads(d["params"])
        result = d.pop("result")
        if with_result:
            d["result"] = None if result is None else json.loads(result)
        d["files"] = self.files(d["id"])
        return d

    def get(self, job_id: str, *, with_result: bool = True) -> dict[str, Any] | None:
        with self._lock:
            r = self._db.execute(
                f"SELECT {self._COLS} FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return None if r is None else self._row(r, with_result)

    def list(
        self, *, kind: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        q = f"SELECT {self._COLS} FROM jobs WHERE 1=1"
        args: list[Any] = []
        if kind:
            q += " AND kind = ?"
            args.append(kind)
        if status:
            q += " AND status = ?"
            args.append(status)
        q += " ORDER BY created DESC LIMIT ?"
        args.append(int(limit))
        with self._lock:
            rows = self._db.execute(q, args).fetchall()
        return [self._row(r, with_result=False) for r in rows]

    def files(self, job_id: str) -> builtins.list[str]:
        """Result files of a job (relative to its ``out/`` folder); a job's scratch files in
        ``out/work/`` (indexes, caches) are not results and are not listed."""
        out = self.root / job_id / "out"
        if not out.is_dir():
            return []
        rel = (p.relative_to(out) for p in out.rglob("*") if p.is_file())
        return sorted(str(r) for r in rel if r.parts[0] != "work")

    def file_path(self, job_id: str, name: str) -> Path | None:
        """A result file's path, or None (also for names that would leave the folder)."""
        out = (self.root / job_id / "out").resolve()
        p = (out / name).resolve()
        if not p.is_file() or out not in p.parents or p.relative_to(out).parts[0] == "work":
            return None
        return p

    def close(self) -> None:
        with self._lock:
            self._db.close()


class JobRunner:
    """Worker threads that run queued jobs with the registered job functions.

    ``kinds`` maps a job kind (``comply.check``) to its function; a function raises
    :class:`JobError` for unusable inputs (the job fails with that message). ``services``
    (e.g. the model router) are handed to every job.
    """

    def __init__(
        self,
        store: JobStore,
        kinds: Mapping[str, JobFn],
        *,
        workers: int = 1,
        services: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.kinds = dict(kinds)
        self.services = dict(services or {})
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers = max(1, workers)

    def submit(
        self,
        kind: str,
        params: dict[str, Any],
        files: Mapping[str, bytes] | None = None,
        *,
        submitted_by: str = "local",
    ) -> str:
        if kind not in self.kinds:
            raise UnknownJobKind(f"unknown job kind {kind!r} (known: {', '.join(self.kinds)})")
        job_id = self.store.create(kind, params, files or {}, submitted_by)
        self._wake.set()
        return job_id

    def start(self) -> None:
        """Queue again what a previous stop interrupted, then start the workers (once: a
        second call, e.g. a hub served again, changes nothing)."""
        if self._threads:
            return
        n = self.store.requeue_interrupted()
        if n:
            log.warning("%d job(s) interrupted by the last stop are queued again", n)
        for i in range(self._workers):
            t = threading.Thread(target=self._loop, name=f"hub-job-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def run_pending(self) -> int:
        """Run queued jobs in this thread until none is left (tests, the CLI); returns how
        many ran."""
        n = 0
        while (job := self.store.claim()) is not None:
            self._run(job)
            n += 1
        return n

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self.store.claim()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: dict[str, Any]) -> None:
        job_id, kind = job["id"], job["kind"]
        last = [0.0]

        def progress(done: int, total: int, message: str) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.2 or done >= total:
                last[0] = now
                self.store.progress(job_id, done, total, message)

        ctx = JobContext(
            job_id, kind, job["params"], self.store.root / job_id, progress, self.services
        )
        try:
            fn = self.kinds[kind]
            result = fn(ctx)
        except JobError as exc:
            self.store.finish(job_id, None, str(exc))
        except Exception as exc:  # a failing job must not stop the hub
            log.exception("job %s (%s) failed", job_id, kind)
            self.store.finish(job_id, None, f"{type(exc).__name__}: {exc}")
        else:
            self.store.finish(job_id, result, None)

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)
