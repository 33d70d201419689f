"""The edge node's HTTP API (FastAPI, OpenAPI at /docs) and its first web page.

Handlers are ``async def`` on purpose: they run on the event loop that also runs the
pipeline, so they see alerts and the sample ring between two batches, never half-way. That
loop is the pipeline's too, so a read must cost it next to nothing, however many readers come:

* the live routes (assets, signals, stats) answer from a :class:`Snapshot` of the node (latest
  readings, learned ranges, open alerts, counters), rebuilt at most every
  ``snapshot_interval_s`` of wall time and only when something changed and someone reads; each
  response body is encoded once per snapshot and served as bytes after that;
* the routes that read the store's history (alerts, events, aggregates) read it on the
  store's per-thread read connections (SQLite WAL, never blocked by the writer). A short
  answer (at most :data:`INLINE_ROWS` rows: a fraction of a millisecond) is read and encoded
  on the loop, which costs less than the hop to a worker thread; a longer one, JSON encoding
  included, runs in the threadpool, so that no long read holds the loop.

Every ``/api`` route needs a bearer token (:mod:`plantmind.core.auth`): viewer to read,
operator to acknowledge, resolve or mark a false alarm (with the operator's name and comment,
kept on the alert in ``details["actions"]`` and shown with the action's event). ``/health`` is
open, and so are the page shell, its script and style (``/static/``) and the OpenAPI schema,
which hold no plant data (the page reads its token from the URL fragment, which browsers
never send to the server, or from its sign-in box). ``/api/forwarding`` reads the uplink's
outbox file read-only, for the page's events view.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from plantmind import __version__
from plantmind.core.auth import OperatorDep, Principal, Role, TokenStore, ViewerDep, require_role
from plantmind.core.types import Alert, Event
from plantmind.edge.assist_api import router as assist_router
from plantmind.edge.health_api import health_router
from plantmind.edge.inspect_api import inspect_router
from plantmind.edge.node import EdgeNode
from plantmind.edge.openai_api import mount_openai_api
from plantmind.health.service import HealthService
from plantmind.store.edge import AggregateSeries
from plantmind.store.sqlite import connect

__all__ = [
    "INLINE_ROWS",
    "OPERATOR_EVENTS",
    "ActionBody",
    "Snapshot",
    "SnapshotKeeper",
    "create_app",
    "forwarding_state",
]

R = TypeVar("R")

#: default most wall time a live read may lag the newest batch (seconds)
SNAPSHOT_INTERVAL_S = 0.1


def _dumps_str(content: Any) -> str:
    # exactly what Starlette's JSONResponse renders, so bodies are byte-for-byte as before
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    )


def _dumps(content: Any) -> bytes:
    return _dumps_str(content).encode("utf-8")


def _num(x: float) -> str:
    # a float as json.dumps writes it (repr), None (null) where it is not finite
    return repr(float(x)) if np.isfinite(x) else "null"


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


#: The most rows of a history answer read and encoded on the event loop, per route: each
#: bound keeps that work near half a millisecond (an alert is the dearest row, ~35 µs read
#: and encoded; an event ~8 µs; a bucket ~5 µs), less than the hop to a worker thread and
#: back costs, and far less than the wait for the interpreter lock that worker threads and
#: the loop pass between them under a burst (every SQLite step releases it).
INLINE_ROWS: dict[str, int] = {"alerts": 15, "events": 50, "aggregates": 100}


async def _history(
    read: Callable[[int | None], R],
    rows: Callable[[R], int],
    encode: Callable[[R], bytes],
    limit: int | None,
    cap: int,
) -> bytes:
    """The body of a store read of at most ``limit`` rows (None: the store's default):
    ``encode(read(limit))``, done on the loop when the answer has at most ``cap`` rows, else
    in the threadpool. A read that may be longer is tried on the loop with ``cap + 1`` rows
    first: if fewer come back, that is the whole answer."""
    if limit is not None and limit <= cap:
        return encode(read(limit))
    peek = read(cap + 1)
    if rows(peek) <= cap:
        return encode(peek)
    return await run_in_threadpool(lambda: encode(read(limit)))


@dataclass(eq=False)
class Snapshot:
    """What the live routes serve, copied from the node between two batches.

    Immutable once built (copies, not views), so the bodies encoded from it can be cached
    with it: :meth:`body` encodes each at most once per snapshot."""

    generation: int
    """The keeper's change count when this was taken."""
    built_at: float
    """``time.monotonic()`` when this was taken."""
    latest_ts: np.ndarray
    latest_value: np.ndarray
    learned: list[tuple[float, float] | None]
    open_by_asset: dict[str, int]
    stats: dict[str, Any]
    _bodies: dict[object, bytes] = field(default_factory=dict, repr=False)

    def body(self, key: object, encode: Callable[[], bytes]) -> bytes:
        """The body ``encode()`` makes, made once per snapshot under ``key``."""
        cached = self._bodies.get(key)
        if cached is None:
            cached = self._bodies[key] = encode()
        return cached


class SnapshotKeeper:
    """Keeps the :class:`Snapshot` of ``node`` the live routes read.

    The node calls :meth:`changed` after every batch (its ``change_hooks``): one integer
    increment, nothing on the hot path. The snapshot is rebuilt on a read (on the event loop,
    so between two batches) when the node changed since it was taken and it is at least
    ``interval_s`` old: a burst of readers costs one rebuild per interval, not one per request,
    and an idle API costs ingest nothing. A read lags the newest batch by at most
    ``interval_s``; :meth:`invalidate` makes the next read fresh (the API's own writes)."""

    def __init__(self, node: EdgeNode, interval_s: float = SNAPSHOT_INTERVAL_S) -> None:
        if not interval_s >= 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s!r}")
        self.node = node
        self.interval_s = float(interval_s)
        self._changes = 0
        self._snap: Snapshot | None = None
        #: the plant does not change while the node runs: its body is encoded once
        self.plant_body = _dumps(node.plant.model_dump(mode="json"))
        self.asset_ids = frozenset(node.index.asset_ids)
        # The static part of every asset's and signal's JSON object, encoded once: a snapshot
        # only writes the numbers between them (a 2,000-signal /api/signals goes from ~15 ms
        # of dicts and json.dumps to a few ms of string joins). Key order as before.
        pos = node.index.signal_position()
        self._asset_parts: list[tuple[str, str]] = []
        self._signal_parts: list[tuple[str, int, str, str]] = []
        for site, line, a in node.plant.iter_assets():
            head: dict[str, Any] = {"id": a.id, "name": a.name, "kind": a.kind, "site": site.id}
            head |= {"line": line.id, "signals": [sig.id for sig in a.signals]}
            self._asset_parts.append((a.id, _dumps_str(head)[:-1] + ',"open_alerts":'))
            for sig in a.signals:
                meta: dict[str, Any] = {"id": sig.id, "asset": a.id, "name": sig.name}
                meta |= {"unit": sig.unit}
                meta["expected_range"] = list(sig.expected_range)
                first = _dumps_str(meta)[:-1] + ',"learned_range":'
                rate = f',"sample_rate_hz":{_dumps_str(sig.sample_rate_hz)},"latest_ts":'
                self._signal_parts.append((a.id, pos[sig.id], first, rate))
        node.change_hooks.append(self.changed)

    def changed(self) -> None:
        """The node's state changed (a batch, an operator action)."""
        self._changes += 1

    def invalidate(self) -> None:
        """Rebuild on the next read, however recent the snapshot is."""
        self._snap = None

    def assets_body(self, snap: Snapshot) -> bytes:
        """``/api/assets`` of ``snap``."""
        counts = snap.open_by_asset
        items = [f"{head}{counts.get(a_id, 0)}}}" for a_id, head in self._asset_parts]
        return ("[" + ",".join(items) + "]").encode("utf-8")

    def signals_body(self, snap: Snapshot, asset: str | None) -> bytes:
        """``/api/signals`` of ``snap`` (one asset's signals if ``asset`` is given)."""
        items = []
        for a_id, i, first, rate in self._signal_parts:
            if asset is not None and a_id != asset:
                continue
            lr = snap.learned[i]
            learned = "null" if not lr else f"[{_num(lr[0])},{_num(lr[1])}]"
            ts, val = _num(snap.latest_ts[i]), _num(snap.latest_value[i])
            items.append(f'{first}{learned}{rate}{ts},"latest_value":{val}}}')
        return ("[" + ",".join(items) + "]").encode("utf-8")

    def get(self) -> Snapshot:
        """The current snapshot, rebuilt first if stale (see the class docstring)."""
        snap = self._snap
        if snap is None or (
            snap.generation != self._changes and time.monotonic() - snap.built_at >= self.interval_s
        ):
            snap = self._snap = self._build()
        return snap

    def _build(self) -> Snapshot:
        node = self.node
        last_ts, last_val = node.ring.latest()  # copies, under the ring's lock
        detector = node.detector
        open_by_asset: dict[str, int] = {}
        n_open = 0
        for alert in node.tracker.open_alerts():
            open_by_asset[alert.asset_id] = open_by_asset.get(alert.asset_id, 0) + 1
            n_open += 1
        s = node.stats
        stats = {
            "batches": s.batches,
            "samples_in": s.samples_in,
            "samples_scored": s.samples_scored,
            "samples_dropped": s.samples_dropped,
            "dropped_by_reason": dict(node.gate.counters.by_reason),
            "alerts_opened": s.alerts_opened,
            "open_alerts": n_open,
            "last_ts": s.last_ts,
        }
        return Snapshot(
            generation=self._changes,
            built_at=time.monotonic(),
            latest_ts=last_ts,
            latest_value=last_val,
            learned=[detector.normal_range(i) for i in range(node.index.n_signals)],
            open_by_asset=open_by_asset,
            stats=stats,
        )


# ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the threadpool, one
# thread hop (and a wake-up of the loop) per request for an attribute read
async def _node(request: Request) -> EdgeNode:
    return request.app.state.node


async def _snapshots(request: Request) -> SnapshotKeeper:
    return request.app.state.snapshots


NodeDep = Annotated[EdgeNode, Depends(_node)]
SnapshotDep = Annotated[SnapshotKeeper, Depends(_snapshots)]


def _alert_or_404(node: EdgeNode, alert_id: str) -> Alert:
    alert = node.get_alert(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert with id {alert_id!r}")
    return alert


def _signal_or_404(node: EdgeNode, signal_id: str) -> int:
    pos = node.index.signal_position().get(signal_id)
    if pos is None:
        raise HTTPException(404, f"unknown signal {signal_id!r}")
    return pos


api = APIRouter(prefix="/api", dependencies=[Depends(require_role(Role.VIEWER))])


@api.get("/plant", response_model=dict[str, Any])
async def plant(snapshots: SnapshotDep) -> Response:
    """The plant model this node monitors (plant.yaml, validated)."""
    return _json(snapshots.plant_body)


@api.get("/assets", response_model=list[dict[str, Any]])
async def assets(snapshots: SnapshotDep) -> Response:
    """Every asset with its site, line, kind, signal count and number of open alerts."""
    snap = snapshots.get()
    return _json(snap.body("assets", lambda: snapshots.assets_body(snap)))


@api.get("/signals", response_model=list[dict[str, Any]])
async def signals(snapshots: SnapshotDep, asset: str | None = None) -> Response:
    """Signals with their metadata, latest reading and learned normal range."""
    snap = snapshots.get()
    if asset is not None and asset not in snapshots.asset_ids:
        return _json(b"[]")  # not cached: the cache must not grow with what clients send
    return _json(snap.body(("signals", asset), lambda: snapshots.signals_body(snap, asset)))


@api.get("/signals/{signal_id}/samples", response_model=dict[str, Any])
async def samples(
    node: NodeDep,
    signal_id: str,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 300,
    since: float | None = None,
) -> Response:
    """Recent raw samples of one signal from the in-memory ring (time-ordered)."""
    # straight from the ring (one row copied under its lock): too large to snapshot whole;
    # encoded here, not validated and re-encoded by FastAPI (thousands of floats)
    i = _signal_or_404(node, signal_id)
    ts, val = node.ring.recent(i, limit=limit, since=since)
    values = val.tolist()
    if not np.isfinite(val).all():
        values = [v if math.isfinite(v) else None for v in values]
    return _json(_dumps({"signal": signal_id, "ts": ts.tolist(), "value": values}))


@api.get("/signals/{signal_id}/aggregates", response_model=list[dict[str, Any]])
async def aggregates(
    node: NodeDep, signal_id: str, since: float | None = None, until: float | None = None
) -> Response:
    """Downsampled history (bucket start, count, mean, min, max) from the store."""
    _signal_or_404(node, signal_id)

    def read(limit: int | None) -> AggregateSeries:
        if limit is None:  # the store's default bound
            return node.store.aggregates(signal_id, since=since, until=until)
        return node.store.aggregates(signal_id, since=since, until=until, limit=limit)

    def encode(series: AggregateSeries) -> bytes:
        return _dumps(
            [
                {
                    "start": float(t),
                    "count": int(c),
                    "mean": float(m),
                    "min": float(lo),
                    "max": float(hi),
                }
                for t, c, m, lo, hi in zip(
                    series.start, series.count, series.mean, series.min, series.max, strict=True
                )
            ]
        )

    body = await _history(read, lambda s: len(s.start), encode, None, INLINE_ROWS["aggregates"])
    return _json(body)


@api.get("/whoami")
async def whoami(who: ViewerDep) -> dict[str, Any]:
    """The token the page signed in with: its id, role, label and bound site (no secret)."""
    return {"token_id": who.token_id, "role": who.role.name.lower(), "label": who.label,
            "site": who.site}  # fmt: skip


@api.get("/alerts", response_model=list[dict[str, Any]])
async def alerts(
    node: NodeDep,
    state: Literal["open", "acknowledged", "resolved"] | None = None,
    asset: str | None = None,
    severity: Literal["warning", "critical"] | None = None,
    active: Annotated[
        bool | None,
        Query(
            alias="open",
            description="true: only unresolved alerts (open or acknowledged); false: resolved",
        ),
    ] = None,
    since: Annotated[
        float | None, Query(description="only alerts active at or after this time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Alerts, newest first, filtered by state, asset, severity, ``open`` and ``since``;
    ``offset`` and ``limit`` page through them, and the ``X-Total-Count`` header says how
    many match."""
    if since is not None and not math.isfinite(since):
        raise HTTPException(422, f"since must be a finite time in seconds, got {since!r}")
    filters: dict[str, Any] = {
        "state": state, "asset_id": asset, "severity": severity, "active": active, "since": since,
    }  # fmt: skip
    returned: list[int] = []

    def read(n: int | None) -> list[Alert]:
        return node.store.list_alerts(**filters, limit=n or limit, offset=offset)

    def encode(found: list[Alert]) -> bytes:
        returned.append(len(found))
        return _dumps([a.to_dict() for a in found])

    out = _json(await _history(read, len, encode, limit, INLINE_ROWS["alerts"]))
    n = returned[-1]
    if n < limit and (n > 0 or offset == 0):
        total = offset + n  # the last page: nothing more to count
    else:
        total = await run_in_threadpool(lambda: node.store.count_alerts(**filters))
    out.headers["X-Total-Count"] = str(total)
    return out


@api.get("/alerts/{alert_id}")
async def alert(node: NodeDep, alert_id: str) -> dict[str, Any]:
    # an open alert is the tracker's (loop-owned, read here); any other is in the store
    for a in node.tracker.open_alerts():
        if a.id == alert_id:
            return a.to_dict()
    found = await run_in_threadpool(node.store.get_alert, alert_id)
    if found is None:
        raise HTTPException(404, f"no alert with id {alert_id!r}")
    return found.to_dict()


class ActionBody(BaseModel):
    """Who acts on an alert and why; both optional (an empty body, or none, is accepted)."""

    name: str | None = Field(
        default=None,
        max_length=120,
        description="The operator's name, shown on the alert and in the audit view "
        "(default: the token's label, else its id).",
    )
    comment: str | None = Field(
        default=None, max_length=2000, description="What was found or done (free text)."
    )


#: operator action (route) -> the event kind the node records for it
OPERATOR_EVENTS: dict[str, str] = {
    "acknowledge": "alert.acknowledged",
    "resolve": "alert.resolved",
    "false-alarm": "alert.false_alarm",
}


def _plant_now(node: EdgeNode) -> float:
    # the clock the node stamps its operator events with: plant time, wall time before data
    return node.stats.last_ts if node.stats.last_ts is not None else time.time()


def _act(
    node: EdgeNode,
    snapshots: SnapshotKeeper,
    alert_id: str,
    who: Principal,
    body: ActionBody | None,
    action: str,
    do: Callable[[str], Alert],
) -> dict[str, Any]:
    """Run one operator action and keep who did it and why in ``details["actions"]`` of the
    alert (``{"action", "name", "comment", "at", "token"}``, oldest first): on the alert the
    tracker holds *before* the action, so the node stores and forwards it with the note;
    on a stored (resolved) alert after it, stored again."""
    alert = _alert_or_404(node, alert_id)
    name = ((body.name if body else None) or "").strip() or who.label or who.token_id
    comment = ((body.comment if body else None) or "").strip()
    note = {"action": OPERATOR_EVENTS[action], "name": name, "comment": comment,
            "at": _plant_now(node), "token": who.token_id}  # fmt: skip
    held = any(a is alert for a in node.tracker.open_alerts())
    if held:
        alert.details.setdefault("actions", []).append(note)
    snapshots.invalidate()  # the operator's next read shows the change
    try:
        done = do(alert_id)
    except ValueError as exc:
        if held:
            alert.details["actions"].remove(note)
        raise HTTPException(409, str(exc)) from None
    if not held:
        done.details.setdefault("actions", []).append(note)
        node.store.upsert_alert(done)
    return done.to_dict()


@api.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(
    node: NodeDep,
    snapshots: SnapshotDep,
    alert_id: str,
    who: OperatorDep,
    body: ActionBody | None = None,
) -> dict[str, Any]:
    """Acknowledge an open alert (409 if it is resolved), with the operator's name and
    comment."""
    return _act(node, snapshots, alert_id, who, body, "acknowledge", node.acknowledge)


@api.post("/alerts/{alert_id}/resolve")
async def resolve(
    node: NodeDep,
    snapshots: SnapshotDep,
    alert_id: str,
    who: OperatorDep,
    body: ActionBody | None = None,
) -> dict[str, Any]:
    """Resolve an alert; a new one opens only after this episode has cleared."""
    return _act(node, snapshots, alert_id, who, body, "resolve", node.resolve)


@api.post("/alerts/{alert_id}/false-alarm")
async def false_alarm(
    node: NodeDep,
    snapshots: SnapshotDep,
    alert_id: str,
    who: OperatorDep,
    body: ActionBody | None = None,
) -> dict[str, Any]:
    """Mark an alert as a false alarm: it is resolved and its signals become less sensitive."""
    return _act(node, snapshots, alert_id, who, body, "false-alarm", node.mark_false_alarm)


_ACTION_KINDS = frozenset(OPERATOR_EVENTS.values())


def _event_dicts(
    node: EdgeNode, found: list[Event], held: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """``found`` as dicts; an operator action's event gets ``operator`` ({name, comment})
    from the note :func:`_act` kept on its alert (same alert, kind and time). ``held``: the
    notes of the alerts the tracker holds, copied on the loop (fresher than the store)."""
    wanted = {
        str(e.data.get("alert_id"))
        for e in found
        if e.kind in _ACTION_KINDS and e.data.get("alert_id") and e.data["alert_id"] not in held
    }
    notes = dict(held)
    if wanted:
        for a_id, a in node.store.get_alerts(sorted(wanted)).items():
            notes[a_id] = list(a.details.get("actions") or [])
    out = []
    for e in found:
        d = e.to_dict()
        if e.kind in _ACTION_KINDS:
            for n in notes.get(str(e.data.get("alert_id")), ()):
                if n.get("action") == e.kind and n.get("at") == e.ts:
                    d["operator"] = {"name": n.get("name"), "comment": n.get("comment")}
                    break
        out.append(d)
    return out


@api.get("/events", response_model=list[dict[str, Any]])
async def events(
    node: NodeDep,
    since: float | None = None,
    kind: str | None = None,
    asset: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> Response:
    """Events (alert transitions, dropped data, operator actions), newest first; an operator
    action carries ``operator`` (name, comment)."""
    held = {
        a.id: [dict(n) for n in a.details.get("actions") or ()] for a in node.tracker.open_alerts()
    }

    def read(n: int | None) -> list[Event]:
        return node.store.list_events(since=since, kind=kind, asset_id=asset, limit=n or limit)

    def encode(found: list[Event]) -> bytes:
        return _dumps(_event_dicts(node, found, held))

    return _json(await _history(read, len, encode, limit, INLINE_ROWS["events"]))


def forwarding_state(home: Any, plant_now: float, recent: int = 10) -> dict[str, Any]:
    """What the site's uplink has queued for the hub and what it last sent, read-only from
    ``<home>/outbox.db`` (the file the uplink owns; nothing is written): ``configured``
    False when there is no outbox. ``backlog_age_s`` is in plant time (events are stamped
    with it), ``last_delivered_ago_s`` in wall time (send attempts are)."""
    from plantmind.sync.audit import read_audit
    from plantmind.sync.outbox import read_stats

    path = Path(home) / "outbox.db"
    if not path.is_file():
        return {"configured": False}
    try:
        stats = read_stats(path).to_dict()
        conn = connect(path, readonly=True)
        try:
            # the first queued event, as the uplink's heartbeat reports its backlog age
            row = conn.execute("SELECT ts FROM outbox ORDER BY seq LIMIT 1").fetchone()
            oldest = None if row is None else float(row[0])
            attempts = [r.to_dict() for r in read_audit(conn, limit=recent)]
            ok = read_audit(conn, limit=1, outcome="delivered")
            failed = read_audit(conn, limit=1, outcome="failed")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return {"configured": True, "error": f"cannot read {path.name}: {exc}"}
    wall = time.time()
    last_ok = ok[0].to_dict() if ok else None
    return {
        "configured": True,
        **stats,
        "oldest_queued_ts": oldest,
        "backlog_age_s": None if oldest is None else max(0.0, plant_now - float(oldest)),
        "last_delivered": last_ok,
        "last_delivered_ago_s": None if last_ok is None else max(0.0, wall - last_ok["ts"]),
        "last_failed": failed[0].to_dict() if failed else None,
        "attempts": attempts,
    }


@api.get("/forwarding", response_model=dict[str, Any])
async def forwarding(node: NodeDep) -> dict[str, Any]:
    """Forwarding to the hub: the outbox backlog (events, bytes, by category, oldest event's
    age), delivered / dropped / refused counts, the last delivery and failure, and the
    latest send attempts (the audit log)."""
    now = _plant_now(node)
    return await run_in_threadpool(forwarding_state, node.home, now)


@api.get("/stats", response_model=dict[str, Any])
async def stats(snapshots: SnapshotDep) -> Response:
    """Pipeline counters and data-quality drops."""
    snap = snapshots.get()
    return _json(snap.body("stats", lambda: _dumps(snap.stats)))


#: the files under plantmind/web/static/ the edge app serves at /static/, with their type
STATIC_FILES: dict[str, str] = {
    "edge.js": "text/javascript; charset=utf-8",
    "edge.css": "text/css; charset=utf-8",
}


def create_app(
    node: EdgeNode,
    tokens: TokenStore | None = None,
    *,
    health: HealthService | None = None,
    vision: Any = None,
    snapshot_interval_s: float = SNAPSHOT_INTERVAL_S,
) -> FastAPI:
    """The edge node's FastAPI application, bound to ``node``; tokens from ``tokens``
    (default: ``<node home>/tokens.json``). ``health`` serves ``/api/health`` (503 without
    one); ``vision`` (the node's ``VisionStations``) serves ``/api/inspect`` (default: opened
    on first use under the node's home). :class:`~plantmind.edge.service.EdgeService` passes
    its own parts. Live reads lag the newest batch by at most ``snapshot_interval_s``
    (:class:`SnapshotKeeper`)."""
    # /docs and /redoc load Swagger UI and ReDoc from the installed package, not a CDN: the
    # API docs must render on an air-gapped site
    app = FastAPIOffline(
        title="plantmind edge node",
        version=__version__,
        description="Live signals, anomaly alerts and events of one site.",
    )
    app.state.node = node
    app.state.snapshots = SnapshotKeeper(node, snapshot_interval_s)
    app.state.tokens = tokens or TokenStore.in_home(node.home)
    app.state.health = health
    app.state.vision = vision

    @app.get("/health")
    async def liveness() -> dict[str, Any]:
        """Liveness: always open, no token needed."""
        return {"status": "ok", "version": __version__, "signals": node.index.n_signals}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return resources.files("plantmind.web").joinpath("templates/edge.html").read_text("utf-8")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        # the page's script and style (no plant data, so open like the page itself)
        media = STATIC_FILES.get(name)
        if media is None:
            raise HTTPException(404, f"no static file {name!r}")
        body = resources.files("plantmind.web").joinpath("static", name).read_bytes()
        return Response(body, media_type=media, headers={"Cache-Control": "no-cache"})

    app.include_router(api)
    app.include_router(inspect_router)
    app.include_router(assist_router)
    mount_openai_api(app)
    app.include_router(health_router)
    return app
