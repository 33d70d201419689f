"""The hub's HTTP API (FastAPI, OpenAPI at /docs): ingest from sites, and sites, assets,
alerts and events across the fleet (analysis jobs: :mod:`plantmind.central.jobs_api`; the
fleet views and heartbeats: :mod:`plantmind.central.fleet_api`; the fleet page at ``/``:
:mod:`plantmind.central.page`). Every route but ``/health`` and the page needs a bearer token;
reading needs viewer, ingest needs operator (a site's token)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline

from plantmind import __version__
from plantmind.central.fleet_api import fleet_api
from plantmind.central.inbox import BatchRefusedError, Inbox
from plantmind.central.jobs import JobRunner
from plantmind.central.jobs_api import jobs_api
from plantmind.central.models_api import models_api
from plantmind.central.page import page_router
from plantmind.core.auth import SiteWriterDep, TokenStore, ViewerDep
from plantmind.core.bodies import read_body_limited
from plantmind.store.central import CentralStore
from plantmind.sync.wire import WireError

__all__ = ["MAX_BATCH_BYTES", "create_hub_app"]

MAX_BATCH_BYTES = 64 * 2**20
MAX_ERROR_CHARS = 200  # of a 422's detail: a sender's input is quoted, never echoed whole

api = APIRouter(prefix="/api")


def _store(request: Request) -> CentralStore:
    return request.app.state.inbox.store


@api.post("/ingest")
async def ingest(request: Request, who: SiteWriterDep) -> dict[str, Any]:
    """Store one outbox batch (the JSON of :mod:`plantmind.sync.wire`); answers with the
    seq up to which the site's events are durably stored. Sending a batch again is harmless.
    A token bound to a site stores only that site's batches (403 otherwise, or for a category
    the site may not send); a malformed batch is answered 422, one over 64 MiB 413 (send
    smaller batches)."""
    body = await read_body_limited(request, MAX_BATCH_BYTES, "batch")
    inbox: Inbox = request.app.state.inbox
    try:
        upto = await run_in_threadpool(inbox.receive, body, "http", who.site)
    except BatchRefusedError as exc:
        raise HTTPException(403, str(exc)[:MAX_ERROR_CHARS]) from None
    except WireError as exc:
        # the message quotes at most an excerpt of the input; the cap keeps it so
        raise HTTPException(422, str(exc)[:MAX_ERROR_CHARS]) from None
    return {"acked_upto": upto}


@api.get("/sites")
async def list_sites(request: Request, who: ViewerDep) -> list[dict[str, Any]]:
    """Every site that has sent anything: last seq, event count, last seen."""
    return await run_in_threadpool(_store(request).list_sites)


@api.get("/assets")
async def list_assets(
    request: Request, who: ViewerDep, site: str | None = None
) -> list[dict[str, Any]]:
    """Assets named in what sites sent, across sites (or of one ``site``)."""
    return await run_in_threadpool(_store(request).list_assets, site)


@api.get("/alerts")
async def list_alerts(
    request: Request,
    who: ViewerDep,
    site: str | None = None,
    state: Literal["open", "acknowledged", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Alerts across sites, newest first, each in the newest state the hub has received."""
    store = _store(request)
    return await run_in_threadpool(lambda: store.list_alerts(site=site, state=state, limit=limit))


@api.get("/events")
async def list_events(
    request: Request,
    who: ViewerDep,
    site: str | None = None,
    category: str | None = None,
    after_id: int = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Stored events in arrival order after ``after_id`` (page with the last id you got)."""
    store = _store(request)
    return await run_in_threadpool(
        lambda: store.list_events(site=site, category=category, after_id=after_id, limit=limit)
    )


@api.get("/stats")
async def stats(request: Request, who: ViewerDep) -> dict[str, Any]:
    """Fleet totals and the inbox's counters (batches, duplicates ignored, rejected)."""
    inbox: Inbox = request.app.state.inbox
    counts = await run_in_threadpool(inbox.store.counts)
    c = inbox.counters
    counts["inbox"] = {
        "batches": c.batches,
        "events": c.events,
        "duplicates": c.duplicates,
        "rejected": c.rejected,
    }
    return counts


def create_hub_app(inbox: Inbox, tokens: TokenStore, jobs: JobRunner | None = None) -> FastAPI:
    """The hub's FastAPI application over ``inbox`` (and its store), guarded by ``tokens``;
    ``jobs`` serves the analysis jobs (compliance checks, message checks) under /api/jobs."""
    # /docs and /redoc load Swagger UI and ReDoc from the installed package, not a CDN: the
    # API docs must render on an air-gapped site
    app = FastAPIOffline(
        title="plantmind central hub",
        version=__version__,
        description="What the sites sent: alerts, health summaries and aggregates, fleet-wide.",
    )
    app.state.inbox = inbox
    app.state.tokens = tokens
    app.state.jobs = jobs

    app.state.mqtt = None
    app.state.models = None  # a model registry: plantmind.central.models_api.attach_models

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: always open, no token needed. ``mqtt`` says whether the MQTT listener is
        subscribed (``off`` when the hub runs without MQTT)."""
        listener = app.state.mqtt
        mqtt = "off" if listener is None else "up" if listener.connected.is_set() else "down"
        return {"status": "ok", "version": __version__, "mqtt": mqtt}

    app.include_router(page_router)
    app.include_router(api)
    app.include_router(fleet_api)
    app.include_router(jobs_api)
    app.include_router(models_api)
    return app
