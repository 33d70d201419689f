"""The hub's fleet views: latest health per asset, hourly inspection counts per station and
model, site heartbeats and sync lag, and the per-site summary the fleet page shows.

This module owns the ``fleet_*`` tables of the hub store and one index on the store's
``alerts`` table (``fleet_alerts_state_site``: open alerts by site and severity without a
scan of resolved ones). :class:`FleetStore` is a :class:`~plantmind.store.central.CentralStore`
whose projection step also updates these tables, **in the batch's own transaction**: a batch
the hub acknowledged is in the views too, and a batch sent again changes nothing (each row
keeps the seq it came from and only a newer seq replaces it, as for alerts). A hub store made
before these views gets them from its stored events when the tables are first created
(:meth:`FleetStore.backfill`).

* ``fleet_health``: the newest health summary (category ``health``) of every asset.
* ``fleet_inspections``: count-only inspection summaries (category ``aggregates`` with
  ``kind: "inspections"``, see :class:`plantmind.sync.producers.InspectionCounts`): per site,
  station, model and period the totals by verdict; no image, score or result leaves a site.
* ``fleet_sites``: per site the latest heartbeat (``POST /api/heartbeat``, see
  :mod:`plantmind.sync.heartbeat`): its time, interval, outbox backlog and oldest item, last
  delivery, the models it runs; and when the hub last stored a batch of it.
* ``fleet_lag``: sync lag (the hub's receive time − the event's time) of every alert, health
  and events event, as a histogram per site and minute (buckets 10 % wide), so p50/p95 over a
  window are read from a few hundred rows whatever the traffic. Aggregates are left out: their
  time is the end of a period, sent a period late by design. A percentile is reported as the
  upper edge of its bucket, capped by the largest lag seen in the window (never below the true
  value, at most 10 % above it). Rows older than :data:`LAG_KEEP_S` are pruned.

**Stale rule**: a site is stale when the hub has heard nothing of it (no heartbeat, no batch)
for more than :data:`STALE_INTERVALS` × its heartbeat interval (the interval its heartbeat
announces; :data:`DEFAULT_HEARTBEAT_S` for a site that never sent one).

``clock`` (default :func:`time.time`) is the hub's time for these views: receive times of
heartbeats and lags, "now" of the stale rule; tests inject one to skip minutes of waiting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    inspect,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import Connection

from plantmind.store.central import CentralStore, alerts, assets, inbox, sites

__all__ = [
    "DEFAULT_HEARTBEAT_S",
    "LAG_CATEGORIES",
    "LAG_WINDOW_S",
    "STALE_INTERVALS",
    "FleetStore",
    "lag_bucket",
    "lag_bucket_upper",
]

#: A site is stale after this many heartbeat intervals without a heartbeat or a batch.
STALE_INTERVALS = 3
#: The heartbeat interval assumed for a site that never announced one.
DEFAULT_HEARTBEAT_S = 30.0
#: The window sync lag percentiles are computed over (by the hub's receive time).
LAG_WINDOW_S = 3600.0
#: Lag histogram rows are kept this long.
LAG_KEEP_S = 86_400.0
#: Categories whose event time is "when it happened at the site" (lag is measured on them).
LAG_CATEGORIES = frozenset({"alerts", "health", "events"})
#: Window of the inspection pass rate.
PASS_RATE_WINDOW_S = 86_400.0

_LAG_MIN = 0.1  # bucket 0: lag below 0.1 s (or negative: a site clock ahead of the hub's)
_LAG_STEP = math.log(1.1)
_PRUNE_EVERY = 500  # batches between prunes of old lag rows
_OPEN_STATES = ("open", "acknowledged")
_SEVERITIES = ("critical", "warning", "info")

log = logging.getLogger("plantmind.central.fleet")

fleet_metadata = MetaData()

fleet_health = Table(
    "fleet_health",
    fleet_metadata,
    Column("site_id", String(128), primary_key=True),
    Column("asset_id", String(128), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("ts", Float, nullable=False),
    Column("health", Float),
    Column("rul", Float),
    Column("rul_low", Float),
    Column("rul_high", Float),
    Column("unit", String(16)),
    Column("method", String(64)),
    Column("data", Text, nullable=False),
)

fleet_inspections = Table(
    "fleet_inspections",
    fleet_metadata,
    Column("site_id", String(128), primary_key=True),
    Column("station", String(128), primary_key=True),
    Column("model", String(128), primary_key=True),
    Column("start", Float, primary_key=True),
    Column("period_s", Float, nullable=False),
    Column("total", Integer, nullable=False),
    Column("passed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("uncertain", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
)
Index("fleet_inspections_start", fleet_inspections.c.start)

fleet_sites = Table(
    "fleet_sites",
    fleet_metadata,
    Column("site_id", String(128), primary_key=True),
    Column("last_batch_at", Float),
    Column("hb_received_at", Float),
    Column("hb_ts", Float),
    Column("interval_s", Float),
    Column("queued", BigInteger),
    Column("oldest_ts", Float),
    Column("last_forwarded", Float),
    Column("failed_attempts", BigInteger),
    Column("models", Text),
    Column("beats", BigInteger, nullable=False, default=0),
    Column("hb_data", Text),
)

fleet_lag = Table(
    "fleet_lag",
    fleet_metadata,
    Column("site_id", String(128), primary_key=True),
    Column("minute", Float, primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
    Column("max_lag", Float, nullable=False),
)
Index("fleet_lag_minute", fleet_lag.c.minute)


def lag_bucket(lag_s: float) -> int:
    """The histogram bucket of a lag: 0 below 0.1 s, then buckets 10 % wide."""
    if not lag_s >= _LAG_MIN:  # also NaN
        return 0
    return int(math.log(lag_s / _LAG_MIN) / _LAG_STEP) + 1


def lag_bucket_upper(bucket: int) -> float:
    """The upper edge (seconds) of a lag bucket."""
    return _LAG_MIN * math.exp(_LAG_STEP * bucket)


def _percentile(hist: Sequence[tuple[int, int]], q: float, cap: float) -> float | None:
    """The ``q`` quantile of a ``(bucket, count)`` histogram: its bucket's upper edge, capped
    by ``cap`` (the largest lag seen)."""
    total = sum(n for _, n in hist)
    if total == 0:
        return None
    need = q * total
    acc = 0
    for b, n in sorted(hist):
        acc += n
        if acc >= need:
            return round(min(lag_bucket_upper(b), cap), 3)
    return round(cap, 3)


def _num(v: Any) -> float | None:
    """``v`` as a finite float, or None."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _count(v: Any) -> int:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0


class FleetStore(CentralStore):
    """The hub store plus the fleet views (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        create: bool = True,
        echo: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(url, create=create, echo=echo)
        self.clock = clock
        self._batches = 0
        self._count_lock = threading.Lock()
        if create:
            new = not inspect(self.engine).has_table(fleet_health.name)
            fleet_metadata.create_all(self.engine)
            with self.engine.begin() as conn:
                conn.execute(
                    text(
                        "CREATE INDEX IF NOT EXISTS fleet_alerts_state_site "
                        "ON alerts (state, site_id, severity)"
                    )
                )
            if new:
                # a hub upgraded in place: what it stored before has its views too
                n = self.backfill()
                if n:
                    log.info("fleet views built from %d stored events", n)

    # --- projection (in the batch's transaction) -----------------------------------------

    def _project(
        self, conn: Connection, site: str, events: Sequence[dict[str, Any]], now: float
    ) -> None:
        super()._project(conn, site, events, now)
        received = self.clock()
        self._project_views(conn, site, events, received, lag=True)
        stmt = self._insert(fleet_sites)
        conn.execute(
            stmt.values(site_id=site, last_batch_at=received, beats=0).on_conflict_do_update(
                index_elements=["site_id"], set_={"last_batch_at": stmt.excluded.last_batch_at}
            )
        )
        with self._count_lock:
            self._batches += 1
            prune = self._batches % _PRUNE_EVERY == 0
        if prune:
            conn.execute(fleet_lag.delete().where(fleet_lag.c.minute < received - LAG_KEEP_S))

    def _project_views(
        self,
        conn: Connection,
        site: str,
        events: Sequence[dict[str, Any]],
        received: float,
        *,
        lag: bool,
    ) -> None:
        health: dict[str, dict[str, Any]] = {}
        inspections: dict[tuple[str, str, float], dict[str, Any]] = {}
        models: list[Any] | None = None
        lags: dict[int, list[float]] = {}
        for e in events:
            cat = e["cat"]
            data = e.get("data")
            if lag and cat in LAG_CATEGORIES and e.get("ts") is not None:
                delay = received - float(e["ts"])
                slot = lags.setdefault(lag_bucket(delay), [0, 0.0])
                slot[0] += 1
                slot[1] = max(slot[1], delay)
            if not isinstance(data, dict):
                continue
            if cat == "health":
                asset = data.get("asset_id")
                if isinstance(asset, str) and asset:
                    health[asset] = {"seq": int(e["seq"]), "ts": e.get("ts"), **data}
            elif cat == "models" and isinstance(data.get("models"), list):
                models = data["models"]  # the site's inventory (sync/producers.py)
            elif cat == "aggregates" and data.get("kind") == "inspections":
                row = self._inspection_row(site, int(e["seq"]), data)
                if row is not None:
                    inspections[(row["station"], row["model"], row["start"])] = row
        if health:
            self._upsert_health(conn, site, health, received)
        if inspections:
            self._upsert_newer(
                conn,
                fleet_inspections,
                list(inspections.values()),
                ["site_id", "station", "model", "start"],
                ("period_s", "total", "passed", "failed", "uncertain", "seq"),
            )
        if lags:
            self._add_lags(conn, site, received, lags)
        if models is not None:
            stmt = self._insert(fleet_sites)
            doc = json.dumps(models, separators=(",", ":"))
            conn.execute(
                stmt.values(site_id=site, models=doc, beats=0).on_conflict_do_update(
                    index_elements=["site_id"], set_={"models": stmt.excluded.models}
                )
            )

    def backfill(self, chunk: int = 5000) -> int:
        """Build the health and inspection views from the events already stored (a hub
        upgraded from a version without them: run once, when the tables are created); returns
        events read. Lag is not rebuilt: it is about the recent window only."""
        now = self.clock()
        wanted = or_(
            inbox.c.category == "health",
            and_(
                inbox.c.category == "aggregates",
                inbox.c.data.like('%"kind":"inspections"%'),
            ),
        )
        last = n = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(inbox.c.id, inbox.c.site_id, inbox.c.seq, inbox.c.category,
                           inbox.c.ts, inbox.c.data)
                    .where(inbox.c.id > last, wanted)
                    .order_by(inbox.c.id)
                    .limit(chunk)
                ).fetchall()  # fmt: skip
            if not rows:
                break
            last = rows[-1].id
            by_site: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                by_site.setdefault(r.site_id, []).append(
                    {"seq": r.seq, "cat": r.category, "ts": r.ts, "data": json.loads(r.data)}
                )
            with self._writing() as conn:
                for site, evs in by_site.items():
                    self._project_views(conn, site, evs, now, lag=False)
            n += len(rows)
        with self._writing() as conn:
            for site, seen in conn.execute(select(sites.c.id, sites.c.last_seen)).fetchall():
                stmt = self._insert(fleet_sites)
                conn.execute(
                    stmt.values(site_id=site, last_batch_at=seen, beats=0).on_conflict_do_nothing(
                        index_elements=["site_id"]
                    )
                )
        return n

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction, serialised with the inbox's on SQLite."""
        if self._write_lock is not None:
            with self._write_lock, self.engine.begin() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @staticmethod
    def _inspection_row(site: str, seq: int, d: dict[str, Any]) -> dict[str, Any] | None:
        station, model, start = d.get("station"), d.get("model"), _num(d.get("start"))
        if not isinstance(station, str) or not station or start is None:
            return None
        passed, failed, uncertain = (_count(d.get(k)) for k in ("passed", "failed", "uncertain"))
        return {
            "site_id": site,
            "station": station[:128],
            "model": str(model or "")[:128],
            "start": start,
            "period_s": _num(d.get("period_s")) or 3600.0,
            "total": max(_count(d.get("total")), passed + failed + uncertain),
            "passed": passed,
            "failed": failed,
            "uncertain": uncertain,
            "seq": seq,
        }

    def _upsert_health(
        self, conn: Connection, site: str, health: dict[str, dict[str, Any]], now: float
    ) -> None:
        rows = []
        for asset, h in health.items():
            data = {k: v for k, v in h.items() if k != "seq"}
            unit = h.get("unit")
            method = h.get("method")
            rows.append(
                {
                    "site_id": site,
                    "asset_id": asset[:128],
                    "seq": h["seq"],
                    "ts": _num(h.get("ts")) or now,
                    "health": _num(h.get("health")),
                    "rul": _num(h.get("rul")),
                    "rul_low": _num(h.get("rul_low")),
                    "rul_high": _num(h.get("rul_high")),
                    "unit": str(unit)[:16] if unit is not None else None,
                    "method": str(method)[:64] if method is not None else None,
                    "data": json.dumps(data, separators=(",", ":"), default=str),
                }
            )
        cols = ("seq", "ts", "health", "rul", "rul_low", "rul_high", "unit", "method", "data")
        self._upsert_newer(conn, fleet_health, rows, ["site_id", "asset_id"], cols)

    def _upsert_newer(
        self,
        conn: Connection,
        table: Table,
        rows: list[dict[str, Any]],
        keys: list[str],
        cols: Sequence[str],
    ) -> None:
        stmt = self._insert(table)
        ex = stmt.excluded
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=keys,
                set_={c: ex[c] for c in cols},
                where=table.c.seq < ex.seq,
            ),
            rows,
        )

    def _add_lags(
        self, conn: Connection, site: str, received: float, lags: dict[int, list[float]]
    ) -> None:
        minute = math.floor(received / 60.0) * 60.0
        stmt = self._insert(fleet_lag)
        ex = stmt.excluded
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["site_id", "minute", "bucket"],
                set_={
                    "n": fleet_lag.c.n + ex.n,
                    "max_lag": func.max(fleet_lag.c.max_lag, ex.max_lag)
                    if self.dialect == "sqlite"
                    else func.greatest(fleet_lag.c.max_lag, ex.max_lag),
                },
            ),
            [
                {"site_id": site, "minute": minute, "bucket": b, "n": int(n), "max_lag": mx}
                for b, (n, mx) in sorted(lags.items())
            ],
        )

    # --- heartbeats ----------------------------------------------------------------------

    def record_heartbeat(self, site: str, beat: dict[str, Any]) -> dict[str, Any]:
        """Keep ``beat`` (a validated heartbeat, see :mod:`plantmind.sync.heartbeat`) as the
        site's latest; returns what was stored, with the hub's receive time."""
        received = self.clock()
        outbox = beat.get("outbox") or {}
        row = {
            "site_id": site,
            "hb_received_at": received,
            "hb_ts": _num(beat.get("ts")),
            "interval_s": _num(beat.get("interval_s")) or DEFAULT_HEARTBEAT_S,
            "queued": _count(outbox.get("queued")),
            "oldest_ts": _num(outbox.get("oldest_ts")),
            "last_forwarded": _num(beat.get("last_forwarded")),
            "failed_attempts": _count(beat.get("failed_attempts")),
            # the heartbeat's model list stays in hb_data: the `models` column is the site's
            # inventory (names, versions, digests), which a heartbeat must not overwrite
            "hb_data": json.dumps(beat, separators=(",", ":")),
            "beats": 1,
        }
        stmt = self._insert(fleet_sites)
        ex = stmt.excluded
        cols = [c for c in row if c not in ("site_id", "beats")]
        set_: dict[str, Any] = {c: ex[c] for c in cols}
        set_["beats"] = fleet_sites.c.beats + 1
        # the newest heartbeat wins: one delayed behind a later one must not roll it back
        newer = or_(
            fleet_sites.c.hb_ts.is_(None), ex.hb_ts.is_(None), fleet_sites.c.hb_ts <= ex.hb_ts
        )
        with self._writing() as conn:
            conn.execute(
                stmt.values(**row).on_conflict_do_update(
                    index_elements=["site_id"], set_=set_, where=newer
                )
            )
        return {"site": site, "received_at": received}

    def heartbeats(self) -> list[dict[str, Any]]:
        """The latest heartbeat of every site that sent one, with the stale verdict."""
        now = self.clock()
        q = (
            select(fleet_sites)
            .where(fleet_sites.c.hb_received_at.is_not(None))
            .order_by(fleet_sites.c.site_id)
        )
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return [self._heartbeat_view(r, now) for r in rows]

    @staticmethod
    def _heartbeat_view(r: dict[str, Any], now: float) -> dict[str, Any]:
        oldest = r.get("oldest_ts")
        received = r.get("hb_received_at")
        return {
            "site": r["site_id"],
            "received_at": received,
            "ts": r.get("hb_ts"),
            "interval_s": r.get("interval_s"),
            "age_s": None if received is None else round(now - received, 3),
            "queued": r.get("queued"),
            "oldest_ts": oldest,
            # the oldest queued item's age when the heartbeat left the site (the site's clock)
            "oldest_age_s": None
            if oldest is None or r.get("hb_ts") is None
            else round(max(0.0, r["hb_ts"] - oldest), 3),
            "last_forwarded": r.get("last_forwarded"),
            "failed_attempts": r.get("failed_attempts"),
            "models": _heartbeat_models(r.get("hb_data")),
            "beats": r.get("beats") or 0,
        }

    # --- views ---------------------------------------------------------------------------

    def latest_health(
        self, site: str | None = None, *, limit: int = 200, offset: int = 0
    ) -> dict[str, Any]:
        """The newest health summary per asset, worst health first (no health: last)."""
        q = select(fleet_health)
        n = select(func.count()).select_from(fleet_health)
        if site is not None:
            q = q.where(fleet_health.c.site_id == site)
            n = n.where(fleet_health.c.site_id == site)
        q = q.order_by(
            fleet_health.c.health.is_(None),
            fleet_health.c.health,
            fleet_health.c.site_id,
            fleet_health.c.asset_id,
        )
        with self.engine.connect() as conn:
            total = int(conn.execute(n).scalar_one())
            rows = conn.execute(q.limit(limit).offset(offset)).fetchall()
        return {"total": total, "items": [self._health_view(dict(r._mapping)) for r in rows]}

    @staticmethod
    def _health_view(r: dict[str, Any]) -> dict[str, Any]:
        data = json.loads(r["data"]) if r.get("data") else {}
        return {
            "site": r["site_id"],
            "asset_id": r["asset_id"],
            "ts": r["ts"],
            "health": r["health"],
            "rul": r["rul"],
            "rul_low": r["rul_low"],
            "rul_high": r["rul_high"],
            "unit": r["unit"],
            "method": r["method"],
            "kind": data.get("kind"),
            "failure_probability": data.get("failure_probability"),
        }

    def inspection_counts(
        self,
        site: str | None = None,
        *,
        since: float | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Inspection counts per site, station, model and period, newest period first."""
        q = select(fleet_inspections)
        if site is not None:
            q = q.where(fleet_inspections.c.site_id == site)
        if since is not None:
            q = q.where(fleet_inspections.c.start >= since)
        q = q.order_by(
            fleet_inspections.c.start.desc(),
            fleet_inspections.c.site_id,
            fleet_inspections.c.station,
            fleet_inspections.c.model,
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q.limit(limit).offset(offset)).fetchall()
        out = []
        for r in rows:
            d = dict(r._mapping)
            d["site"] = d.pop("site_id")
            d.pop("seq")
            out.append(d)
        return out

    def fleet(
        self,
        *,
        limit: int = 500,
        offset: int = 0,
        models: dict[str, list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """One row per site (see :meth:`_site_rows`), sites by id; ``models`` (site → its
        models from the model registry's inventory) wins over what heartbeats said."""
        now = self.clock()
        with self.engine.connect() as conn:
            ids = self._site_ids(conn)
            page = ids[offset : offset + limit]
            rows = self._site_rows(conn, page, now, models or {})
        return {
            "now": now,
            "stale_after_intervals": STALE_INTERVALS,
            "lag_window_s": LAG_WINDOW_S,
            "total": len(ids),
            "offset": offset,
            "limit": limit,
            "sites": rows,
        }

    def site_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return self._site_ids(conn)

    @staticmethod
    def _site_ids(conn: Connection) -> list[str]:
        a = {s for (s,) in conn.execute(select(sites.c.id))}
        b = {s for (s,) in conn.execute(select(fleet_sites.c.site_id))}
        return sorted(a | b)

    def _site_rows(
        self,
        conn: Connection,
        ids: list[str],
        now: float,
        models: dict[str, list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        if not ids:
            return []
        wanted = set(ids)
        few = len(ids) <= 100  # an IN list for a page; the whole fleet is grouped as one
        base = {
            r.id: dict(r._mapping)
            for r in conn.execute(
                select(sites.c.id, sites.c.last_seen, sites.c.events, sites.c.last_seq).where(
                    sites.c.id.in_(ids) if few else true()
                )
            )
        }
        fs = {
            r.site_id: dict(r._mapping)
            for r in conn.execute(
                select(fleet_sites).where(fleet_sites.c.site_id.in_(ids) if few else true())
            )
        }
        n_assets: dict[str, int] = {
            s: int(n)
            for s, n in conn.execute(
                select(assets.c.site_id, func.count())
                .where(assets.c.site_id.in_(ids) if few else true())
                .group_by(assets.c.site_id)
            )
        }
        open_alerts: dict[str, dict[str, int]] = {}
        for s, sev, n in conn.execute(
            select(alerts.c.site_id, alerts.c.severity, func.count())
            .where(alerts.c.state.in_(_OPEN_STATES))
            .group_by(alerts.c.site_id, alerts.c.severity)
        ):
            open_alerts.setdefault(s, {})[sev] = int(n)
        worst = self._worst_assets(conn, ids if few else None)
        rates: dict[str, tuple[int, int, int, int]] = {}
        for s, tot, p, f, u in conn.execute(
            select(
                fleet_inspections.c.site_id,
                func.sum(fleet_inspections.c.total),
                func.sum(fleet_inspections.c.passed),
                func.sum(fleet_inspections.c.failed),
                func.sum(fleet_inspections.c.uncertain),
            )
            .where(fleet_inspections.c.start >= now - PASS_RATE_WINDOW_S)
            .group_by(fleet_inspections.c.site_id)
        ):
            rates[s] = (int(tot or 0), int(p or 0), int(f or 0), int(u or 0))
        lag_hist: dict[str, list[tuple[int, int]]] = {}
        lag_max: dict[str, float] = {}
        for s, b, n, mx in conn.execute(
            select(
                fleet_lag.c.site_id, fleet_lag.c.bucket, func.sum(fleet_lag.c.n),
                func.max(fleet_lag.c.max_lag),
            )
            .where(fleet_lag.c.minute >= math.floor((now - LAG_WINDOW_S) / 60.0) * 60.0)
            .group_by(fleet_lag.c.site_id, fleet_lag.c.bucket)
        ):  # fmt: skip
            lag_hist.setdefault(s, []).append((int(b), int(n)))
            lag_max[s] = max(lag_max.get(s, 0.0), float(mx))
        out = []
        for sid in ids:
            if sid not in wanted:
                continue
            out.append(
                self._site_row(
                    sid, now, base.get(sid), fs.get(sid), n_assets.get(sid, 0),
                    open_alerts.get(sid, {}), worst.get(sid), rates.get(sid),
                    lag_hist.get(sid, []), lag_max.get(sid, 0.0), models.get(sid),
                )
            )  # fmt: skip
        return out

    @staticmethod
    def _worst_assets(conn: Connection, ids: list[str] | None) -> dict[str, dict[str, Any]]:
        rn = (
            func.row_number()
            .over(
                partition_by=fleet_health.c.site_id,
                order_by=(fleet_health.c.health, fleet_health.c.asset_id),
            )
            .label("rn")
        )
        inner = select(
            fleet_health.c.site_id,
            fleet_health.c.asset_id,
            fleet_health.c.health,
            fleet_health.c.rul,
            fleet_health.c.rul_low,
            fleet_health.c.rul_high,
            fleet_health.c.unit,
            rn,
        ).where(fleet_health.c.health.is_not(None))
        if ids is not None:
            inner = inner.where(fleet_health.c.site_id.in_(ids))
        sub = inner.subquery()
        q = select(sub).where(sub.c.rn == 1)
        out = {}
        for r in conn.execute(q):
            d = dict(r._mapping)
            d.pop("rn")
            out[d.pop("site_id")] = d
        return out

    @staticmethod
    def _site_row(
        sid: str,
        now: float,
        base: dict[str, Any] | None,
        fs: dict[str, Any] | None,
        n_assets: int,
        open_alerts: dict[str, int],
        worst: dict[str, Any] | None,
        rate: tuple[int, int, int, int] | None,
        hist: list[tuple[int, int]],
        lag_max: float,
        registry_models: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        fs = fs or {}
        hb_at = fs.get("hb_received_at")
        seen = [t for t in (fs.get("last_batch_at"), hb_at) if t is not None]
        last_seen = max(seen) if seen else (base or {}).get("last_seen")
        interval = fs.get("interval_s") or DEFAULT_HEARTBEAT_S
        silent = None if last_seen is None else max(0.0, now - last_seen)
        stale = silent is None or silent > STALE_INTERVALS * interval
        oldest = fs.get("oldest_ts")
        queued = fs.get("queued")
        if registry_models is not None:
            models, models_from = registry_models, "registry"
        elif fs.get("models"):  # the site's inventory (category models): versions, digests
            models, models_from = json.loads(fs["models"]), "inventory"
        elif beat_models := _heartbeat_models(fs.get("hb_data")):
            models, models_from = beat_models, "heartbeat"
        else:
            models, models_from = [], None
        by_sev = {s: open_alerts.get(s, 0) for s in _SEVERITIES}
        for s, n in open_alerts.items():
            by_sev.setdefault(s, n)
        tot = rate[0] if rate else 0
        return {
            "site": sid,
            "last_seen": last_seen,
            "silent_s": None if silent is None else round(silent, 3),
            "stale": stale,
            "heartbeat": {
                "received_at": hb_at,
                "interval_s": fs.get("interval_s"),
                "beats": fs.get("beats") or 0,
                "last_forwarded": fs.get("last_forwarded"),
                "failed_attempts": fs.get("failed_attempts"),
            },
            "lag": {
                "p50_s": _percentile(hist, 0.50, lag_max),
                "p95_s": _percentile(hist, 0.95, lag_max),
                "max_s": round(lag_max, 3) if hist else None,
                "events": sum(n for _, n in hist),
            },
            "backlog": {
                "queued": queued,
                # what is still queued at the site was already this old when the hub heard last
                "oldest_age_s": None
                if oldest is None or not queued or hb_at is None
                else round(max(0.0, (fs.get("hb_ts") or hb_at) - oldest), 3),
            },
            "events": (base or {}).get("events", 0),
            "assets": int(n_assets),
            "open_alerts": by_sev,
            "open_alerts_total": sum(by_sev.values()),
            "worst_asset": worst,
            "inspections_24h": {
                "total": tot,
                "passed": rate[1] if rate else 0,
                "failed": rate[2] if rate else 0,
                "uncertain": rate[3] if rate else 0,
                "pass_rate": round(rate[1] / tot, 4) if rate and tot else None,
            },
            "models": models,
            "models_from": models_from,
        }

    def site(
        self,
        site: str,
        *,
        limit: int = 50,
        offset: int = 0,
        alerts_limit: int = 50,
        alerts_offset: int = 0,
        models: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        """One site: its fleet row, its assets (worst health first, paged) with health/RUL
        and open alerts per asset, and its open alerts (newest first, paged). None if the
        hub has never heard of the site."""
        now = self.clock()
        with self.engine.connect() as conn:
            if site not in self._site_ids(conn):
                return None
            row = self._site_rows(conn, [site], now, {site: models} if models else {})[0]
            total = int(
                conn.execute(
                    select(func.count()).select_from(assets).where(assets.c.site_id == site)
                ).scalar_one()
            )
            q = (
                select(
                    assets.c.asset_id,
                    assets.c.last_seen,
                    fleet_health.c.health,
                    fleet_health.c.rul,
                    fleet_health.c.rul_low,
                    fleet_health.c.rul_high,
                    fleet_health.c.unit,
                    fleet_health.c.method,
                    fleet_health.c.ts.label("health_ts"),
                )
                .select_from(
                    assets.outerjoin(
                        fleet_health,
                        and_(
                            fleet_health.c.site_id == assets.c.site_id,
                            fleet_health.c.asset_id == assets.c.asset_id,
                        ),
                    )
                )
                .where(assets.c.site_id == site)
                .order_by(fleet_health.c.health.is_(None), fleet_health.c.health, assets.c.asset_id)
                .limit(limit)
                .offset(offset)
            )
            items = [dict(r._mapping) for r in conn.execute(q)]
            counts: dict[str, int] = {}
            if items:
                for a, n in conn.execute(
                    select(alerts.c.asset_id, func.count())
                    .where(
                        alerts.c.site_id == site,
                        alerts.c.state.in_(_OPEN_STATES),
                        alerts.c.asset_id.in_([i["asset_id"] for i in items]),
                    )
                    .group_by(alerts.c.asset_id)
                ):
                    counts[a] = int(n)
            for i in items:
                i["open_alerts"] = counts.get(i["asset_id"], 0)
            open_list = self._alerts(conn, site, None, True, alerts_limit, alerts_offset)
        return {
            "site": row,
            "assets": {"total": total, "offset": offset, "limit": limit, "items": items},
            "open_alerts": {
                "total": row["open_alerts_total"],
                "offset": alerts_offset,
                "limit": alerts_limit,
                "items": open_list,
            },
        }

    @staticmethod
    def _alerts(
        conn: Connection,
        site: str,
        asset: str | None,
        open_only: bool,
        limit: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        q = select(
            alerts.c.id,
            alerts.c.asset_id,
            alerts.c.state,
            alerts.c.severity,
            alerts.c.opened_at,
            alerts.c.last_active_at,
            alerts.c.message,
        ).where(alerts.c.site_id == site)
        if asset is not None:
            q = q.where(alerts.c.asset_id == asset)
        if open_only:
            q = q.where(alerts.c.state.in_(_OPEN_STATES))
        q = q.order_by(alerts.c.opened_at.desc(), alerts.c.id).limit(limit).offset(offset)
        return [dict(r._mapping) for r in conn.execute(q)]

    def asset(
        self, site: str, asset: str, *, limit: int = 50, offset: int = 0
    ) -> dict[str, Any] | None:
        """One asset of a site: its latest health summary and its alerts (newest first, open
        and closed, paged). None if the hub has never heard of it."""
        with self.engine.connect() as conn:
            known = conn.execute(
                select(assets.c.asset_id, assets.c.first_seen, assets.c.last_seen).where(
                    assets.c.site_id == site, assets.c.asset_id == asset
                )
            ).first()
            h = conn.execute(
                select(fleet_health).where(
                    fleet_health.c.site_id == site, fleet_health.c.asset_id == asset
                )
            ).first()
            if known is None and h is None:
                return None
            total = int(
                conn.execute(
                    select(func.count())
                    .select_from(alerts)
                    .where(alerts.c.site_id == site, alerts.c.asset_id == asset)
                ).scalar_one()
            )
            items = self._alerts(conn, site, asset, False, limit, offset)
        return {
            "site": site,
            "asset_id": asset,
            "first_seen": None if known is None else known.first_seen,
            "last_seen": None if known is None else known.last_seen,
            "health": None if h is None else self._health_view(dict(h._mapping)),
            "alerts": {"total": total, "offset": offset, "limit": limit, "items": items},
        }


def _heartbeat_models(hb_data: str | None) -> list[dict[str, Any]]:
    """The model list of the last heartbeat (name and version), [] without one."""
    if not hb_data:
        return []
    try:
        models = json.loads(hb_data).get("models")
    except (ValueError, AttributeError):
        return []
    return [m for m in models if isinstance(m, dict)] if isinstance(models, list) else []
