"""What the edge puts into the outbox: alert transitions and periodic per-signal aggregates.

Both produce summaries only. Alerts are sent when they open and resolve, and while active at
most once per ``min_interval_s`` of plant time (an active alert is updated every batch; the
hub needs its state, not every heartbeat). Aggregates are read from the edge store's
downsampled buckets and merged into one summary per signal and period (count, mean, min, max;
``EgressPolicy.aggregate_period_s``, an hour by default); raw samples are never read.

:class:`InspectionCounts` sends counts only of the inspection stations' verdicts (per station,
model and hour: total, passed, failed, uncertain) as ``aggregates`` events with ``kind:
"inspections"``, so they leave exactly when the site's policy lets aggregates leave; no image,
score, overlay or single result is read into the outbox.

Every event passes :meth:`plantmind.sync.egress.EgressGate.redact` before it is queued, so
the values of confidential signals stay on site as
:class:`~plantmind.sync.egress.ConfidentialFilter` says (the uplink binds the plant's marks).
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from plantmind.core.types import Alert
from plantmind.store.edge import EdgeStore
from plantmind.sync.outbox import Outbox

__all__ = [
    "AlertForwarder",
    "HealthSummaries",
    "InspectionCounts",
    "ModelInventory",
    "PeriodicAggregates",
]

log = logging.getLogger(__name__)

_WATERMARK = "aggregates.watermark"
_INSPECT_WATERMARK = "inspections.watermark"


class _AlertUpdate(Protocol):
    opened: list[Alert]
    updated: list[Alert]
    resolved: list[Alert]


def _redacted(outbox: Outbox, items: list[tuple[str, Any, float]]) -> list[tuple[str, Any, float]]:
    """``items`` as the egress gate lets them leave: redacted, or left out."""
    out = []
    for category, data, ts in items:
        kept = outbox.gate.redact(category, data)
        if kept is not None:
            out.append((category, kept, ts))
    return out


class AlertForwarder:
    """An edge-node listener (``node.listeners.append(forwarder)``) that queues alert changes.

    It does not wait for the disk (it runs inside the pipeline); the events are durable when
    :attr:`pending` futures are done, and the node's own store holds the alerts meanwhile.
    """

    def __init__(self, outbox: Outbox, *, min_interval_s: float = 60.0) -> None:
        self.outbox = outbox
        self.min_interval_s = min_interval_s
        self._last_sent: dict[str, tuple[float, str]] = {}
        self.pending: Future[list[int]] | None = None
        self.enabled = outbox.gate.allows("alerts")

    def __call__(self, update: _AlertUpdate) -> None:
        if not self.enabled:
            return
        items: list[tuple[str, Any, float]] = []
        for alert in update.opened:
            items.append(self._item(alert))
        for alert in update.updated:
            sent = self._last_sent.get(alert.id)
            if (
                sent is None
                or alert.last_active_at - sent[0] >= self.min_interval_s
                or sent[1] != f"{alert.severity}/{alert.state}"
            ):
                items.append(self._item(alert))
        for alert in update.resolved:
            items.append(self._item(alert))
            self._last_sent.pop(alert.id, None)
        items = _redacted(self.outbox, items)
        if items:
            self.pending = self.outbox.submit_many(items)

    def _item(self, alert: Alert) -> tuple[str, Any, float]:
        # a change of severity or state (e.g. acknowledged) is sent at once
        self._last_sent[alert.id] = (alert.last_active_at, f"{alert.severity}/{alert.state}")
        return ("alerts", alert.to_dict(), alert.last_active_at)


class PeriodicAggregates:
    """Turns the edge store's downsampled buckets into one summary per signal and period.

    ``signals`` are ``(signal_id, asset_id)`` pairs. :meth:`emit` queues every period that
    ended at least ``lag_s`` before ``now`` (buckets reach the store a bucket late) and is
    after the watermark, and moves the watermark in the same outbox transaction, so a crash
    neither loses nor repeats a period. On first use it starts at most ``backfill`` periods
    back.
    """

    def __init__(
        self,
        outbox: Outbox,
        store: EdgeStore,
        signals: Sequence[tuple[str, str]],
        *,
        period_s: float | None = None,
        lag_s: float = 150.0,
        backfill: int = 24,
    ) -> None:
        self.outbox = outbox
        self.store = store
        self.signals = list(signals)
        self.period_s = float(period_s or outbox.policy.aggregate_period_s)
        self.lag_s = lag_s
        self.backfill = backfill
        self.enabled = outbox.gate.allows("aggregates")

    def emit(self, now: float, lag_s: float | None = None) -> int:
        """Queue the finished periods up to ``now`` (plant time); returns summaries queued.
        ``lag_s=0`` when every bucket up to ``now`` is known to be stored (at shutdown)."""
        if not self.enabled:
            return 0
        p = self.period_s
        lag = self.lag_s if lag_s is None else lag_s
        end = math.floor((now - lag) / p) * p
        mark = self.outbox.get_meta(_WATERMARK)
        start = float(mark) if mark is not None else end - self.backfill * p
        if end <= start:
            return 0
        self.store.flush()  # buckets submitted before now must be readable
        items: list[tuple[str, Any, float]] = []
        for sid, aid in self.signals:
            s = self.store.aggregates(sid, since=start, until=end, limit=10_000_000)
            keep = s.count > 0
            if not keep.any():
                continue
            t0 = np.floor(s.start[keep] / p) * p  # sorted, as buckets come oldest first
            count = s.count[keep].astype(np.float64)
            mean = s.mean[keep]
            firsts = np.flatnonzero(np.r_[True, t0[1:] != t0[:-1]])
            n = np.add.reduceat(count, firsts)
            total = np.add.reduceat(mean * count, firsts)
            lo = np.minimum.reduceat(s.min[keep], firsts)
            hi = np.maximum.reduceat(s.max[keep], firsts)
            for k, i in enumerate(firsts):
                items.append(
                    (
                        "aggregates",
                        {
                            "signal": sid,
                            "asset": aid,
                            "start": float(t0[i]),
                            "period_s": p,
                            "count": int(n[k]),
                            "mean": float(total[k] / n[k]),
                            "min": float(lo[k]),
                            "max": float(hi[k]),
                        },
                        float(t0[i] + p),
                    )
                )
        items = _redacted(self.outbox, items)
        # the watermark moves even when everything was withheld: a period is decided once
        self.outbox.put_many(items, meta={_WATERMARK: repr(end)})
        return len(items)


class HealthSummaries:
    """Queues per-asset health summaries (category ``health``): called with the latest
    summaries (dicts with ``asset_id``, ``ts``, ``health``, ``rul``, ...) after each health
    update. An asset is sent when its health moved by ``min_change`` points or its method
    changed since the last send, and otherwise at most once per ``min_interval_s`` of plant
    time: the hub needs the trend, not every cycle."""

    def __init__(
        self, outbox: Outbox, *, min_interval_s: float = 600.0, min_change: float = 5.0
    ) -> None:
        self.outbox = outbox
        self.min_interval_s = min_interval_s
        self.min_change = min_change
        self._last: dict[str, tuple[float, float, str]] = {}
        self.pending: Future[list[int]] | None = None
        self.enabled = outbox.gate.allows("health")

    def __call__(self, summaries: Sequence[dict[str, Any]]) -> None:
        if not self.enabled:
            return
        items: list[tuple[str, Any, float]] = []
        for s in summaries:
            ts, health = s.get("ts"), s.get("health")
            if ts is None or health is None:
                continue
            last = self._last.get(s["asset_id"])
            if (
                last is None
                or abs(health - last[1]) >= self.min_change
                or s.get("method") != last[2]
                or ts - last[0] >= self.min_interval_s
            ):
                self._last[s["asset_id"]] = (ts, health, str(s.get("method")))
                items.append(("health", dict(s), float(ts)))
        items = _redacted(self.outbox, items)
        if items:
            self.pending = self.outbox.submit_many(items)


class InspectionCounts:
    """Count-only summaries of the inspection stations' verdicts (see the module docstring).

    Reads ``db`` (the stations' ``<home>/vision/inspections.db``) through a read-only
    connection, so it never writes to the stations' file; a site without stations (no file)
    sends nothing. :meth:`emit` queues, for every period from the watermark on, the counts of
    each station and model that changed since they were last queued; the current period is
    sent again as it grows (the hub keeps the newest seq of each period, so counts are never
    added twice). The watermark, the start of the newest period seen, moves in the same outbox
    transaction as the counts; on first use at most ``backfill`` periods are sent.
    """

    def __init__(
        self, outbox: Outbox, db: Path, *, period_s: float = 3600.0, backfill: int = 24
    ) -> None:
        if not period_s > 0:
            raise ValueError(f"period_s must be positive, got {period_s!r}")
        self.outbox = outbox
        self.db = Path(db)
        self.period_s = float(period_s)
        self.backfill = backfill
        self.enabled = outbox.gate.allows("aggregates")
        self._sent: dict[tuple[str, str, float], tuple[int, int, int, int]] = {}

    def _counts(self, since: float | None) -> list[tuple[str, str, float, int, int, int, int]]:
        from plantmind.store.sqlite import connect

        p = self.period_s
        conn = connect(self.db, readonly=True)
        try:
            if since is None:
                newest = conn.execute("SELECT max(ts) FROM inspections").fetchone()[0]
                if newest is None:
                    return []
                since = math.floor(float(newest) / p) * p - (self.backfill - 1) * p
            rows = conn.execute(
                "SELECT station, model_id, CAST(ts / ? AS INTEGER) AS k, count(*), "
                "sum(verdict = 'pass'), sum(verdict = 'fail'), sum(verdict = 'uncertain') "
                "FROM inspections WHERE ts >= ? GROUP BY station, model_id, k ORDER BY k",
                (p, since),
            ).fetchall()
        finally:
            conn.close()
        return [
            (st, m, float(k) * p, int(n), int(a), int(b), int(c)) for st, m, k, n, a, b, c in rows
        ]

    def emit(self) -> int:
        """Queue the changed counts; returns summaries queued."""
        if not self.enabled or not self.db.is_file():
            return 0
        mark = self.outbox.get_meta(_INSPECT_WATERMARK)
        try:
            counts = self._counts(float(mark) if mark is not None else None)
        except sqlite3.Error as exc:  # a station file being created, or of an older layout
            log.warning("inspection counts not read from %s: %s", self.db, exc)
            return 0
        items: list[tuple[str, Any, float]] = []
        changed: dict[tuple[str, str, float], tuple[int, int, int, int]] = {}
        for station, model, start, total, passed, failed, uncertain in counts:
            key, value = (station, model, start), (total, passed, failed, uncertain)
            if self._sent.get(key) == value:
                continue
            changed[key] = value
            items.append(
                (
                    "aggregates",
                    {
                        "kind": "inspections",
                        "station": station,
                        "model": model,
                        "start": start,
                        "period_s": self.period_s,
                        "total": total,
                        "passed": passed,
                        "failed": failed,
                        "uncertain": uncertain,
                    },
                    start + self.period_s,
                )
            )
        if not counts:
            return 0
        items = _redacted(self.outbox, items)
        newest = max(c[2] for c in counts)
        if not items and mark == repr(newest):
            return 0
        self.outbox.put_many(items, meta={_INSPECT_WATERMARK: repr(newest)})
        self._sent = {k: v for k, v in {**self._sent, **changed}.items() if k[2] >= newest}
        return len(items)


class ModelInventory:
    """Queues what the site runs (category ``models``): each model's name, version, digest,
    since when and the version before, read from the model agent's ``current.json``. Sent on
    start, on every change, and at least once per ``heartbeat_s`` (a day by default), so a hub
    that lost track learns it again; through the outbox, so an offline site's inventory
    arrives with the rest when the link is back."""

    def __init__(self, outbox: Outbox, models_home: Path, *, heartbeat_s: float = 86_400.0):
        self.outbox = outbox
        self.models_home = Path(models_home)
        self.heartbeat_s = heartbeat_s
        self._last: tuple[str, float] | None = None
        self.enabled = outbox.gate.allows("models")

    def read(self) -> list[dict[str, Any]]:
        import json

        try:
            doc = json.loads((self.models_home / "current.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        if not isinstance(doc, dict):
            return []
        keep = ("version", "digest", "since", "previous")
        return [
            {"name": str(name), **{k: e.get(k) for k in keep}}
            for name, e in sorted(doc.items())
            if isinstance(e, dict) and "version" in e
        ]

    def emit(self, now: float) -> bool:
        """Queue the inventory if it changed or the heartbeat is due; True when queued."""
        if not self.enabled:
            return False
        models = self.read()
        if not models and self._last is None:
            return False  # no model agent on this site
        key = repr(models)
        if (
            self._last is not None
            and self._last[0] == key
            and now - self._last[1] < self.heartbeat_s
        ):
            return False
        self.outbox.submit_many([("models", {"models": models, "ts": now}, float(now))]).result()
        self._last = (key, now)
        return True
