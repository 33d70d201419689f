"""The hub's fleet store: every event every site sent, once, plus the views the hub serves
(sites, assets, alerts across sites). SQLAlchemy Core over SQLite (default, one file) or
PostgreSQL (``postgresql+psycopg://...``); the same statements serve both.

Exactly-once: ``inbox`` has a unique ``(site_id, seq)``, and a batch is inserted with
``ON CONFLICT DO NOTHING``, so a batch sent again after a lost acknowledgement changes nothing.
A batch is one transaction; the hub acknowledges it only after the commit, and on SQLite the
commit is ``synchronous=FULL``, so an acknowledged event survives a crash of the hub.

Order: each site's batches are serialised by a row lock on the site (``SELECT ... FOR UPDATE``
on PostgreSQL; SQLite has one writer anyway), so ``inbox.id`` (arrival order) follows ``seq``
within a site as long as sites send in seq order, which the outbox does.

Views are projections updated in the batch's transaction: ``sites`` (last seq, event count),
``assets`` (seen in any event that names one), ``alerts`` (the newest state of each alert: an
update is applied only if its seq is newer than the stored one, so replays never roll an alert
back).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

__all__ = ["CentralStore", "StoreResult"]

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets BIGSERIAL.
_Id = BigInteger().with_variant(Integer(), "sqlite")

inbox = Table(
    "inbox",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("site_id", String(128), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("category", String(32), nullable=False),
    Column("ts", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("transport", String(16), nullable=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("site_id", "seq", name="inbox_site_seq"),
)
Index("inbox_category_id", inbox.c.category, inbox.c.id)

sites = Table(
    "sites",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("transport", String(16), nullable=False),
)

assets = Table(
    "assets",
    metadata,
    Column("site_id", String(128), primary_key=True),
    Column("asset_id", String(128), primary_key=True),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("site_id", String(128), primary_key=True),
    Column("id", String(128), primary_key=True),
    Column("asset_id", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("last_active_at", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("peak_score", Float, nullable=False),
    Column("false_alarm", Boolean, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("data", Text, nullable=False),
)
Index("alerts_opened", alerts.c.opened_at)


_INBOX_COLUMNS = ("site_id", "seq", "category", "ts", "received_at", "transport", "data")
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What one batch did: rows new to the store, rows already there, and the seq to
    acknowledge (every event of the batch is durable up to it)."""

    inserted: int
    duplicates: int
    acked_upto: int


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode = WAL")
    # FULL: the hub acknowledges after commit, so the commit must survive a power cut.
    cur.execute("PRAGMA synchronous = FULL")
    cur.close()


class CentralStore:
    """The fleet store at ``url`` (see the module docstring). Tables are created if missing.
    Thread-safe: the hub's HTTP handlers and its MQTT loop write through one instance."""

    def __init__(self, url: str, *, create: bool = True, echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, echo=echo, future=True)
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self._insert: Any = sqlite.insert
        elif self.dialect == "postgresql":
            self._insert = postgresql.insert
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")
        # SQLite allows one writer; serialising here avoids busy-wait retries inside SQLite.
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        if create:
            metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- writing -------------------------------------------------------------------------

    def store_batch(
        self, site: str, events: Sequence[dict[str, Any]], transport: str = "http"
    ) -> StoreResult:
        """Store the events of one batch (dicts with seq, cat, ts, data, in seq order) in one
        transaction; duplicates of stored events are ignored."""
        if not events:
            raise ValueError("empty batch")
        now = time.time()
        enc = _encode
        # tuples in _INBOX_COLUMNS order, straight to the driver (see _insert_inbox)
        rows = [
            (
                site,
                int(e["seq"]),
                str(e["cat"]),
                float(e.get("ts") or now),
                now,
                transport,
                enc(e.get("data")),
            )
            for e in events
        ]
        last = rows[-1][1]
        if self._write_lock is not None:
            with self._write_lock, self.engine.begin() as conn:
                inserted = self._store(conn, site, rows, events, now, transport)
        else:
            with self.engine.begin() as conn:
                inserted = self._store(conn, site, rows, events, now, transport)
        return StoreResult(inserted, len(rows) - inserted, last)

    def _store(
        self,
        conn: Connection,
        site: str,
        rows: list[tuple[Any, ...]],
        events: Sequence[dict[str, Any]],
        now: float,
        transport: str,
    ) -> int:
        ins = self._insert
        conn.execute(
            ins(sites)
            .values(
                id=site, first_seen=now, last_seen=now, last_seq=-1, events=0, transport=transport
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        # Lock the site's row: concurrent batches of one site (two hub workers, a retry racing
        # the original) commit one after the other, keeping inbox.id in seq order.
        conn.execute(select(sites.c.id).where(sites.c.id == site).with_for_update())
        inserted = self._insert_inbox(conn, rows)
        last = rows[-1][1]
        conn.execute(
            sites.update()
            .where(sites.c.id == site)
            .values(
                last_seen=now,
                transport=transport,
                events=sites.c.events + inserted,
                last_seq=case((sites.c.last_seq < last, last), else_=sites.c.last_seq),
            )
        )
        if inserted:
            self._project(conn, site, events, now)
        return inserted

    def _insert_inbox(self, conn: Connection, rows: list[tuple[Any, ...]]) -> int:
        if self.dialect == "postgresql":
            return self._copy_inbox(conn, rows)
        # The DB-API's executemany directly: SQLAlchemy's per-row parameter processing costs
        # more than SQLite's insert itself at tens of thousands of rows per second.
        raw = conn.connection.driver_connection
        before = raw.total_changes  # type: ignore[union-attr]
        raw.executemany(  # type: ignore[union-attr]
            f"INSERT INTO inbox ({', '.join(_INBOX_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (site_id, seq) DO NOTHING",
            rows,
        )
        return int(raw.total_changes - before)  # type: ignore[union-attr]

    def _copy_inbox(self, conn: Connection, rows: list[tuple[Any, ...]]) -> int:
        # COPY into a per-session staging table, then one INSERT ... SELECT with ON CONFLICT:
        # several times faster than row-wise or multi-row INSERTs through bind parameters,
        # and the conflict clause still deduplicates. ORDER BY seq keeps inbox.id in seq order.
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS inbox_stage (site_id text, seq bigint, "
                "category text, ts double precision, received_at double precision, "
                "transport text, data text) ON COMMIT DELETE ROWS"
            )
            cols = _INBOX_COLUMNS
            with cur.copy(f"COPY inbox_stage ({', '.join(cols)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            cur.execute(
                f"INSERT INTO inbox ({', '.join(cols)}) SELECT {', '.join(cols)} "
                "FROM inbox_stage ORDER BY seq ON CONFLICT (site_id, seq) DO NOTHING"
            )
            inserted = cur.rowcount
        finally:
            cur.close()
        return int(inserted)

    def _project(
        self, conn: Connection, site: str, events: Sequence[dict[str, Any]], now: float
    ) -> None:
        seen_assets: set[str] = set()
        latest_alert: dict[str, dict[str, Any]] = {}
        for e in events:
            data = e.get("data")
            if not isinstance(data, dict):
                continue
            asset = data.get("asset_id") or data.get("asset")
            if isinstance(asset, str) and asset:
                seen_assets.add(asset)
            if e["cat"] == "alerts" and isinstance(data.get("id"), str):
                latest_alert[data["id"]] = {"seq": int(e["seq"]), **data}
        if seen_assets:
            stmt = self._insert(assets)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["site_id", "asset_id"],
                    set_={"last_seen": stmt.excluded.last_seen},
                ),
                [
                    {"site_id": site, "asset_id": a, "first_seen": now, "last_seen": now}
                    for a in sorted(seen_assets)
                ],
            )
        if latest_alert:
            rows = [
                {
                    "site_id": site,
                    "id": a["id"],
                    "asset_id": str(a.get("asset_id", "")),
                    "state": str(a.get("state", "open")),
                    "severity": str(a.get("severity", "warning")),
                    "opened_at": float(a.get("opened_at") or 0.0),
                    "last_active_at": float(a.get("last_active_at") or 0.0),
                    "message": str(a.get("message", "")),
                    "peak_score": float(a.get("peak_score") or 0.0),
                    "false_alarm": bool(a.get("false_alarm", False)),
                    "seq": a["seq"],
                    "data": json.dumps(
                        {k: v for k, v in a.items() if k != "seq"}, separators=(",", ":")
                    ),
                }
                for a in latest_alert.values()
            ]
            stmt = self._insert(alerts)
            ex = stmt.excluded
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["site_id", "id"],
                    set_={
                        c: ex[c]
                        for c in (
                            "asset_id",
                            "state",
                            "severity",
                            "opened_at",
                            "last_active_at",
                            "message",
                            "peak_score",
                            "false_alarm",
                            "seq",
                            "data",
                        )
                    },
                    where=alerts.c.seq < ex.seq,
                ),
                rows,
            )

    # --- reading -------------------------------------------------------------------------

    def list_sites(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(sites).order_by(sites.c.id))]

    def list_assets(self, site: str | None = None) -> list[dict[str, Any]]:
        q = select(assets).order_by(assets.c.site_id, assets.c.asset_id)
        if site is not None:
            q = q.where(assets.c.site_id == site)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def list_alerts(
        self, *, site: str | None = None, state: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Alerts across sites, newest opened first, each the newest state the hub has."""
        q = select(alerts.c.site_id, alerts.c.data).order_by(alerts.c.opened_at.desc()).limit(limit)
        if site is not None:
            q = q.where(alerts.c.site_id == site)
        if state is not None:
            q = q.where(alerts.c.state == state)
        with self.engine.connect() as conn:
            return [{"site_id": s, **json.loads(d)} for s, d in conn.execute(q)]

    def list_events(
        self,
        *,
        site: str | None = None,
        category: str | None = None,
        after_id: int = 0,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Stored events in arrival order after ``after_id`` (for paging)."""
        q = select(inbox).where(inbox.c.id > after_id).order_by(inbox.c.id).limit(limit)
        if site is not None:
            q = q.where(inbox.c.site_id == site)
        if category is not None:
            q = q.where(inbox.c.category == category)
        with self.engine.connect() as conn:
            out = []
            for r in conn.execute(q):
                d = dict(r._mapping)
                d["data"] = json.loads(d["data"])
                out.append(d)
            return out

    def site_seqs(self, site: str) -> list[int]:
        """Every stored seq of ``site`` in arrival order; for checks and tests."""
        q = select(inbox.c.seq).where(inbox.c.site_id == site).order_by(inbox.c.id)
        with self.engine.connect() as conn:
            return [int(s) for (s,) in conn.execute(q)]

    def counts(self) -> dict[str, Any]:
        """Totals: events (and by category), sites, assets, alerts (and open ones)."""
        with self.engine.connect() as conn:
            by_cat = {
                c: int(n)
                for c, n in conn.execute(
                    select(inbox.c.category, func.count()).group_by(inbox.c.category)
                )
            }
            n_sites = conn.execute(select(func.count()).select_from(sites)).scalar_one()
            n_assets = conn.execute(select(func.count()).select_from(assets)).scalar_one()
            n_alerts = conn.execute(select(func.count()).select_from(alerts)).scalar_one()
            n_open = conn.execute(
                select(func.count()).select_from(alerts).where(alerts.c.state != "resolved")
            ).scalar_one()
        return {
            "events": sum(by_cat.values()),
            "events_by_category": by_cat,
            "sites": int(n_sites),
            "assets": int(n_assets),
            "alerts": int(n_alerts),
            "open_alerts": int(n_open),
        }
