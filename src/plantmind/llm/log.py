"""The routed-call log (``<home>/llm_calls.db``): one row per routed model call with its
placement, the rule that chose it, latency, the router's own overhead, tokens and outcome;
prompts and answers only when the site enables ``llm.log_content``.

Rows are written by a single writer thread without waiting (a call never blocks on the
disk) and with ``synchronous=NORMAL``: a power cut may lose the last rows of a log, which is
acceptable for statistics and not for the task queue (:mod:`plantmind.llm.queue`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantmind.store.sqlite import ReadConnections, SqliteWriter, StoreClosedError, connect

__all__ = ["MIGRATIONS", "CallLog", "CallRecord"]

# The call log's migrations (plantmind.store.sqlite, owner "llm.log"): append-only. 1 is
# exactly what the log created on every start before versioning, so its files upgrade in place.
MIGRATIONS: list[str] = [
    """
CREATE TABLE IF NOT EXISTS calls (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    ts                REAL NOT NULL,
    task_id           TEXT NOT NULL,
    kind              TEXT NOT NULL,
    sensitivity       TEXT NOT NULL,
    requester         TEXT NOT NULL,
    rule              TEXT NOT NULL,
    placement         TEXT NOT NULL,   -- edge | central | fallback | queue | refused
    model             TEXT,
    outcome           TEXT NOT NULL,   -- ok | fallback | queued | refused | timeout | error
    reason            TEXT NOT NULL,
    latency_ms        REAL NOT NULL,
    overhead_ms       REAL NOT NULL,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    redacted          INTEGER NOT NULL DEFAULT 0,
    content           TEXT             -- JSON, only with llm.log_content
);
CREATE INDEX IF NOT EXISTS calls_ts ON calls (ts);
""",
    # 2: the registry version (JSON {"name", "version", "digest"}) of the model that answered
    "ALTER TABLE calls ADD COLUMN model_ref TEXT;",
]

_COLS = (
    "ts", "task_id", "kind", "sensitivity", "requester", "rule", "placement", "model", "outcome",
    "reason", "latency_ms", "overhead_ms", "prompt_tokens", "completion_tokens", "redacted",
    "content", "model_ref",
)  # fmt: skip


_MAX_BUFFERED = 100_000


@dataclass(slots=True)
class CallRecord:
    ts: float
    task_id: str
    kind: str
    sensitivity: str
    requester: str
    rule: str
    placement: str
    model: str | None
    outcome: str
    reason: str
    latency_ms: float
    overhead_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    redacted: int = 0
    content: str | None = None
    model_ref: str | None = None  # JSON {"name", "version", "digest"}, registry models only


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    i = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return round(values[i], 3)


class CallLog:
    """The routed-call log in ``path`` (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit: the writer thread runs each batch in its own transaction.
        conn = connect(
            self.path,
            check_same_thread=False,
            busy_timeout_s=30,
            synchronous="NORMAL",
            migrations={"llm.log": MIGRATIONS},
        )
        self._reads = ReadConnections(self.path)
        self._writer = SqliteWriter(conn, 100_000, name=f"llm-log:{self.path.name}")
        self._finalizer = weakref.finalize(self, SqliteWriter.stop, self._writer)
        self.dropped = 0
        self._buf: list[tuple[Any, ...]] = []
        self._buf_lock = threading.Lock()
        self._scheduled = False

    def record(self, rec: CallRecord) -> None:
        """Buffer the row for writing; never blocks. Rows are written in batches, one
        transaction per batch, by the writer thread: per-row commits would cost the writer
        (and, through the GIL, the callers) far more than routing itself."""
        row = tuple(getattr(rec, c) for c in _COLS)
        with self._buf_lock:
            if len(self._buf) >= _MAX_BUFFERED:
                self.dropped += 1  # the disk cannot keep up: drop rather than slow the call
                return
            self._buf.append(row)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._writer.put(self._write_batch, Future(), True)
        except StoreClosedError:
            with self._buf_lock:
                self.dropped += len(self._buf)
                self._buf.clear()
                self._scheduled = False

    def _write_batch(self, conn: sqlite3.Connection) -> None:
        with self._buf_lock:
            rows, self._buf = self._buf, []
            self._scheduled = False
        conn.executemany(
            f"INSERT INTO calls ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})", rows
        )

    def flush(self) -> None:
        """Wait until every queued row is written."""
        fut: Future[None] = Future()
        self._writer.put(SqliteWriter.BARRIER, fut, False)
        fut.result()

    def close(self) -> None:
        self._finalizer()
        self._reads.close()

    def _reader(self) -> sqlite3.Connection:
        return self._reads.get()

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        cur = self._reader().execute(
            f"SELECT {', '.join(_COLS)} FROM calls ORDER BY id DESC LIMIT ?", (int(limit),)
        )
        rows = [dict(zip(_COLS, r, strict=True)) for r in cur]
        for row in rows:
            if row["model_ref"] is not None:
                row["model_ref"] = json.loads(row["model_ref"])
        return rows

    def stats(self, since: float | None = None) -> dict[str, Any]:
        """Counts by placement, outcome and kind; latency and overhead percentiles; tokens."""
        rows = (
            self._reader()
            .execute(
                "SELECT kind, placement, outcome, latency_ms, overhead_ms, "
                "coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0) FROM calls WHERE ts >= ?",
                (since or 0.0,),
            )
            .fetchall()
        )
        by: dict[str, dict[str, int]] = {"placement": {}, "outcome": {}, "kind": {}}
        lat: dict[str, list[float]] = {}
        overhead: list[float] = []
        tokens = {"prompt": 0, "completion": 0}
        for kind, placement, outcome, latency, ovh, pt, ct in rows:
            for key, val in (("placement", placement), ("outcome", outcome), ("kind", kind)):
                by[key][val] = by[key].get(val, 0) + 1
            lat.setdefault(placement, []).append(float(latency))
            overhead.append(float(ovh))
            tokens["prompt"] += int(pt)
            tokens["completion"] += int(ct)
        return {
            "calls": len(rows),
            "by_placement": by["placement"],
            "by_outcome": by["outcome"],
            "by_kind": by["kind"],
            "latency_ms": {
                p: {"p50": _pct(v, 0.5), "p95": _pct(v, 0.95), "max": round(max(v), 3)}
                for p, v in sorted(lat.items())
            },
            "overhead_ms": {"p50": _pct(overhead, 0.5), "p99": _pct(overhead, 0.99)},
            "tokens": tokens,
        }

    @staticmethod
    def content_json(messages: Any, answer: str | None) -> str:
        return json.dumps({"messages": messages, "answer": answer}, ensure_ascii=False)
