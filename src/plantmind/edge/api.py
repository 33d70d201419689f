"""The edge node's HTTP API (FastAPI, OpenAPI at /docs) and its first web page.

Handlers are ``async def`` on purpose: they run on the event loop that also runs the
pipeline, so they see alerts and the sample ring between two batches, never half-way.

Every ``/api`` route needs a bearer token (:mod:`plantmind.core.auth`): viewer to read,
operator to acknowledge, resolve or mark a false alarm. ``/health`` is open, and so are the
page shell and the OpenAPI schema, which hold no plant data (the page reads its token from
the URL fragment, which browsers never send to the server).
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi_offline import FastAPIOffline

from plantmind import __version__
from plantmind.core.auth import OperatorDep, Role, TokenStore, require_role
from plantmind.core.types import Alert
from plantmind.edge.assist_api import router as assist_router
from plantmind.edge.health_api import health_router
from plantmind.edge.inspect_api import inspect_router
from plantmind.edge.node import EdgeNode
from plantmind.edge.openai_api import mount_openai_api
from plantmind.health.service import HealthService

__all__ = ["create_app"]


def _node(request: Request) -> EdgeNode:
    return request.app.state.node


NodeDep = Annotated[EdgeNode, Depends(_node)]


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


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


api = APIRouter(prefix="/api", dependencies=[Depends(require_role(Role.VIEWER))])


@api.get("/plant")
async def plant(node: NodeDep) -> dict[str, Any]:
    """The plant model this node monitors (plant.yaml, validated)."""
    return node.plant.model_dump(mode="json")


@api.get("/assets")
async def assets(node: NodeDep) -> list[dict[str, Any]]:
    """Every asset with its site, line, kind, signal count and number of open alerts."""
    open_by_asset: dict[str, int] = {}
    for alert in node.tracker.open_alerts():
        open_by_asset[alert.asset_id] = open_by_asset.get(alert.asset_id, 0) + 1
    return [
        {
            "id": a.id,
            "name": a.name,
            "kind": a.kind,
            "site": site.id,
            "line": line.id,
            "signals": [s.id for s in a.signals],
            "open_alerts": open_by_asset.get(a.id, 0),
        }
        for site, line, a in node.plant.iter_assets()
    ]


@api.get("/signals")
async def signals(node: NodeDep, asset: str | None = None) -> list[dict[str, Any]]:
    """Signals with their metadata, latest reading and learned normal range."""
    last_ts, last_val = node.ring.latest()
    out = []
    pos = node.index.signal_position()
    for _, _, a in node.plant.iter_assets():
        if asset is not None and a.id != asset:
            continue
        for s in a.signals:
            i = pos[s.id]
            learned = node.detector.normal_range(i)
            out.append(
                {
                    "id": s.id,
                    "asset": a.id,
                    "name": s.name,
                    "unit": s.unit,
                    "expected_range": list(s.expected_range),
                    "learned_range": list(learned) if learned else None,
                    "sample_rate_hz": s.sample_rate_hz,
                    "latest_ts": _finite(last_ts[i]),
                    "latest_value": _finite(last_val[i]),
                }
            )
    return out


@api.get("/signals/{signal_id}/samples")
async def samples(
    node: NodeDep,
    signal_id: str,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 300,
    since: float | None = None,
) -> dict[str, Any]:
    """Recent raw samples of one signal from the in-memory ring (time-ordered)."""
    i = _signal_or_404(node, signal_id)
    ts, val = node.ring.recent(i, limit=limit, since=since)
    return {
        "signal": signal_id,
        "ts": ts.tolist(),
        "value": [None if not np.isfinite(v) else float(v) for v in val],
    }


@api.get("/signals/{signal_id}/aggregates")
async def aggregates(
    node: NodeDep, signal_id: str, since: float | None = None, until: float | None = None
) -> list[dict[str, Any]]:
    """Downsampled history (bucket start, count, mean, min, max) from the store."""
    _signal_or_404(node, signal_id)
    series = node.store.aggregates(signal_id, since=since, until=until)
    return [
        {"start": float(t), "count": int(c), "mean": float(m), "min": float(lo), "max": float(hi)}
        for t, c, m, lo, hi in zip(
            series.start, series.count, series.mean, series.min, series.max, strict=True
        )
    ]


@api.get("/alerts")
async def alerts(
    node: NodeDep,
    state: Literal["open", "acknowledged", "resolved"] | None = None,
    asset: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Alerts, newest first."""
    return [a.to_dict() for a in node.store.list_alerts(state=state, asset_id=asset, limit=limit)]


@api.get("/alerts/{alert_id}")
async def alert(node: NodeDep, alert_id: str) -> dict[str, Any]:
    return _alert_or_404(node, alert_id).to_dict()


@api.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(node: NodeDep, alert_id: str, who: OperatorDep) -> dict[str, Any]:
    """Acknowledge an open alert."""
    _alert_or_404(node, alert_id)
    try:
        return node.acknowledge(alert_id).to_dict()
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None


@api.post("/alerts/{alert_id}/resolve")
async def resolve(node: NodeDep, alert_id: str, who: OperatorDep) -> dict[str, Any]:
    """Resolve an alert; a new one opens only after this episode has cleared."""
    _alert_or_404(node, alert_id)
    return node.resolve(alert_id).to_dict()


@api.post("/alerts/{alert_id}/false-alarm")
async def false_alarm(node: NodeDep, alert_id: str, who: OperatorDep) -> dict[str, Any]:
    """Mark an alert as a false alarm: it is resolved and its signals become less sensitive."""
    _alert_or_404(node, alert_id)
    return node.mark_false_alarm(alert_id).to_dict()


@api.get("/events")
async def events(
    node: NodeDep,
    since: float | None = None,
    kind: str | None = None,
    asset: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Events (alert transitions, dropped data, operator actions), newest first."""
    return [
        e.to_dict()
        for e in node.store.list_events(since=since, kind=kind, asset_id=asset, limit=limit)
    ]


@api.get("/stats")
async def stats(node: NodeDep) -> dict[str, Any]:
    """Pipeline counters and data-quality drops."""
    s = node.stats
    q = node.gate.counters
    return {
        "batches": s.batches,
        "samples_in": s.samples_in,
        "samples_scored": s.samples_scored,
        "samples_dropped": s.samples_dropped,
        "dropped_by_reason": q.by_reason,
        "alerts_opened": s.alerts_opened,
        "open_alerts": len(node.tracker.open_alerts()),
        "last_ts": s.last_ts,
    }


def create_app(
    node: EdgeNode,
    tokens: TokenStore | None = None,
    *,
    health: HealthService | None = None,
    vision: Any = None,
) -> FastAPI:
    """The edge node's FastAPI application, bound to ``node``; tokens from ``tokens``
    (default: ``<node home>/tokens.json``). ``health`` serves ``/api/health`` (503 without
    one); ``vision`` (the node's ``VisionStations``) serves ``/api/inspect`` (default: opened
    on first use under the node's home). :class:`~plantmind.edge.service.EdgeService` passes
    its own parts."""
    # /docs and /redoc load Swagger UI and ReDoc from the installed package, not a CDN: the
    # API docs must render on an air-gapped site
    app = FastAPIOffline(
        title="plantmind edge node",
        version=__version__,
        description="Live signals, anomaly alerts and events of one site.",
    )
    app.state.node = node
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

    app.include_router(api)
    app.include_router(inspect_router)
    app.include_router(assist_router)
    mount_openai_api(app)
    app.include_router(health_router)
    return app
