"""The hub's fleet routes: site heartbeats in (``POST /api/heartbeat``, a site's token), and
the JSON behind the fleet page out (viewer token): the fleet (a row per site), one site (its
assets and open alerts), one asset, the latest health per asset, hourly inspection counts and
the heartbeats. Lists that can be long are paged with ``limit``/``offset``. The views are
:class:`plantmind.central.fleet.FleetStore`'s; model versions come from the model registry's
inventory when the hub has a registry, else from the sites' heartbeats.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from plantmind.central.fleet import FleetStore
from plantmind.central.inbox import BatchRefusedError, Inbox
from plantmind.core.auth import SiteWriterDep, ViewerDep
from plantmind.core.bodies import read_body_limited
from plantmind.sync.wire import WireError

__all__ = ["MAX_HEARTBEAT_BYTES", "fleet_api"]

MAX_HEARTBEAT_BYTES = 64 * 2**10

fleet_api = APIRouter(prefix="/api", tags=["fleet"])

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def _fleet(request: Request) -> FleetStore:
    store = request.app.state.inbox.store
    if not isinstance(store, FleetStore):
        raise HTTPException(503, "this hub's store has no fleet views (start it as a service)")
    return store


def _registry_models(request: Request) -> dict[str, list[dict[str, Any]]]:
    """Site → the models it last reported to the registry (name, version, state)."""
    reg = getattr(request.app.state, "models", None)
    if reg is None:
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for report in reg.inventory():
        site = report.get("site")
        if isinstance(site, str):
            out[site] = [
                {"name": m.get("name"), "version": m.get("version"), "state": m.get("state")}
                for m in report.get("models") or []
                if isinstance(m, dict)
            ]
    return out


@fleet_api.post("/heartbeat")
async def heartbeat(request: Request, who: SiteWriterDep) -> dict[str, Any]:
    """Keep a site's heartbeat (:mod:`plantmind.sync.heartbeat`): 422 for a malformed one
    (the message names the field), 403 if the token is bound to another site, 413 over 64 KiB."""
    body = await read_body_limited(request, MAX_HEARTBEAT_BYTES, "heartbeat")
    try:
        doc = json.loads(body)
    except ValueError:
        raise HTTPException(422, "heartbeat is not JSON") from None
    if not isinstance(doc, dict):
        raise HTTPException(422, "a heartbeat is a JSON object")
    inbox: Inbox = request.app.state.inbox
    try:
        return await run_in_threadpool(inbox.heartbeat, doc, who.site)
    except BatchRefusedError as exc:
        raise HTTPException(403, str(exc)[:200]) from None
    except WireError as exc:
        raise HTTPException(422, str(exc)[:200]) from None


@fleet_api.get("/fleet")
async def fleet(
    request: Request, who: ViewerDep, limit: Limit = 500, offset: Offset = 0
) -> dict[str, Any]:
    """A row per site (by id): last seen, stale, sync lag p50/p95, outbox backlog and age,
    open alerts by severity, worst asset's health/RUL, inspection pass rate over 24 h, model
    versions."""
    store = _fleet(request)

    def work() -> dict[str, Any]:
        return store.fleet(limit=limit, offset=offset, models=_registry_models(request))

    return await run_in_threadpool(work)


@fleet_api.get("/fleet/sites/{site}")
async def fleet_site(
    site: str,
    request: Request,
    who: ViewerDep,
    limit: Limit = 50,
    offset: Offset = 0,
    alerts_limit: Limit = 50,
    alerts_offset: Offset = 0,
) -> dict[str, Any]:
    """One site: its fleet row, its assets (worst health first) and its open alerts."""
    store = _fleet(request)

    def work() -> dict[str, Any] | None:
        models = _registry_models(request).get(site)
        return store.site(
            site,
            limit=limit,
            offset=offset,
            alerts_limit=alerts_limit,
            alerts_offset=alerts_offset,
            models=models,
        )

    out = await run_in_threadpool(work)
    if out is None:
        raise HTTPException(404, f"no site {site[:130]!r} has sent anything to this hub")
    return out


@fleet_api.get("/fleet/sites/{site}/assets/{asset}")
async def fleet_asset(
    site: str, asset: str, request: Request, who: ViewerDep, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """One asset: its latest health summary and its alerts, newest first."""
    store = _fleet(request)
    out = await run_in_threadpool(lambda: store.asset(site, asset, limit=limit, offset=offset))
    if out is None:
        raise HTTPException(404, f"site {site[:130]!r} has sent nothing about {asset[:130]!r}")
    return out


@fleet_api.get("/fleet/health")
async def fleet_health(
    request: Request,
    who: ViewerDep,
    site: str | None = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The latest health summary of every asset (or of one ``site``'s), worst first."""
    store = _fleet(request)
    return await run_in_threadpool(lambda: store.latest_health(site, limit=limit, offset=offset))


@fleet_api.get("/fleet/inspections")
async def fleet_inspections(
    request: Request,
    who: ViewerDep,
    site: str | None = None,
    since: float | None = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Inspection counts per site, station, model and hour (counts only), newest first."""
    store = _fleet(request)
    return await run_in_threadpool(
        lambda: store.inspection_counts(site, since=since, limit=limit, offset=offset)
    )


@fleet_api.get("/fleet/heartbeats")
async def fleet_heartbeats(request: Request, who: ViewerDep) -> list[dict[str, Any]]:
    """The latest heartbeat of every site that sends them."""
    store = _fleet(request)
    return await run_in_threadpool(store.heartbeats)
