"""Wiring of the central hub: fleet store + idempotent inbox + HTTP API + MQTT listener +
analysis jobs (compliance and message checks, through the central model when configured) +
token management for admins.

The hub enforces each site's egress policy again, whatever the site's own outbox did: a batch
holding a category the site's policy (:class:`~plantmind.core.plant.EgressPolicy`) does not
allow is refused whole, on every transport, and nothing of it is stored. A site the hub has no
policy for gets the default policy (alerts, health, aggregates), so raw samples, images and
document text reach the hub only from sites it was told may send them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from plantmind.central.api import create_hub_app
from plantmind.central.fleet import FleetStore
from plantmind.central.inbox import BatchRefusedError, Inbox
from plantmind.central.job_kinds import JOB_KINDS
from plantmind.central.jobs import JobRunner, JobStore
from plantmind.central.models_api import attach_models
from plantmind.central.tokens_api import TokenAudit, tokens_api
from plantmind.core.auth import TokenStore
from plantmind.core.plant import EgressPolicy, Plant
from plantmind.models.registry import Registry
from plantmind.models.rollout import RolloutController
from plantmind.sync.egress import EgressGate, EgressRefusedError
from plantmind.sync.transport_mqtt import HubMqttConfig, MqttHubListener

__all__ = ["CentralService", "HubEgress", "default_db_url", "site_policies_of"]

log = logging.getLogger("plantmind.central")


def default_db_url(home: Path) -> str:
    """SQLite under the hub's home: ``<home>/central.db``."""
    return f"sqlite:///{Path(home) / 'central.db'}"


def site_policies_of(plant: Plant) -> dict[str, EgressPolicy]:
    """The egress policy of every site of ``plant`` (one plant.yaml has one policy, for all
    of its sites), as :class:`CentralService` takes them."""
    return {site.id: plant.egress for site in plant.sites}


class HubEgress:
    """The hub's copy of each site's egress policy: :meth:`admit` refuses a batch holding a
    category its site may not send. Sites not in ``site_policies`` get ``default``
    (the default :class:`EgressPolicy`: alerts, health and aggregates)."""

    def __init__(
        self,
        site_policies: Mapping[str, EgressPolicy] | None = None,
        default: EgressPolicy | None = None,
    ) -> None:
        self._gates = {site: EgressGate(p) for site, p in (site_policies or {}).items()}
        self._default = EgressGate(default)

    def gate(self, site: str) -> EgressGate:
        return self._gates.get(site, self._default)

    def admit(self, site: str, events: list[dict[str, Any]]) -> None:
        """Raise :class:`BatchRefusedError` naming the first refused category of the batch."""
        gate = self.gate(site)
        # a batch is at most a few kinds of events: check each category once, not per event
        for cat in dict.fromkeys(str(e["cat"]) for e in events):
            try:
                gate.check(cat)
            except EgressRefusedError as exc:
                n = sum(1 for e in events if e["cat"] == cat)
                shown = cat if len(cat) <= 40 else cat[:37] + "..."  # the sender chose it
                log.warning("refused a batch of site %s: %d %r event(s)", site, n, shown)
                # the category first: the HTTP answer cuts long messages
                raise BatchRefusedError(
                    f"category {shown!r} refused for site {site!r}, so nothing of the batch "
                    f"was stored ({n} event(s)): {exc.reason}"
                ) from None


class CentralService:
    """One hub: ``db_url`` (SQLite or PostgreSQL URL), tokens in ``home/tokens.json`` (their
    audit log in ``home/token_audit.db``), jobs in ``home/jobs.db``. ``router`` (a
    :class:`plantmind.llm.router.Router`) gives the jobs a central model; without one they run
    their deterministic pipelines and say so. ``site_policies`` are the egress policies of
    the sites that may send more than the default policy allows (see the module docstring;
    :func:`site_policies_of` reads them from a plant). The store keeps the fleet views
    (:class:`~plantmind.central.fleet.FleetStore`); ``clock`` is their time (tests inject one)."""

    def __init__(
        self,
        db_url: str,
        home: Path,
        *,
        router: Any | None = None,
        site_policies: Mapping[str, EgressPolicy] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.store: FleetStore = FleetStore(db_url, clock=clock)
        self.egress = HubEgress(site_policies)
        self.inbox = Inbox(self.store, admit=self.egress.admit)
        self.tokens = TokenStore.in_home(self.home)
        self.token_audit = TokenAudit(self.home)
        self.mqtt: MqttHubListener | None = None
        self.router = router
        self.jobs = JobRunner(JobStore(self.home), JOB_KINDS, services={"router": router})
        # the model registry, once `plantmind models init` made <home>/models (else the model
        # routes answer 503 and say how to make one)
        models_home = self.home / "models"
        self.models = Registry(models_home) if (models_home / "roots").is_dir() else None
        self.rollout: RolloutController | None = None

    def app(self) -> FastAPI:
        app = create_hub_app(self.inbox, self.tokens, self.jobs)
        # token management needs the audit log, which only the service (it knows the home) has
        app.state.token_audit = self.token_audit
        app.include_router(tokens_api)
        if self.models is not None:
            if self.rollout is not None:
                self.rollout.stop()
            self.rollout = attach_models(app, self.models)
        return app

    def counts(self) -> dict[str, Any]:
        """Fleet totals plus the inbox counters (what the demo summary shows)."""
        out = self.store.counts()
        c = self.inbox.counters
        out["duplicates_ignored"] = c.duplicates
        out["batches"] = c.batches
        return out

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 8090,
        mqtt: HubMqttConfig | None = None,
        stop: asyncio.Event | None = None,
        on_ready: Any = None,
    ) -> None:
        """Serve the API (and listen on MQTT if ``mqtt``) until ``stop`` is set."""
        stop = stop or asyncio.Event()
        app = self.app()
        self.jobs.start()
        server, task = await _start_uvicorn(app, host, port)
        mqtt_task = None
        if mqtt is not None:
            self.mqtt = MqttHubListener(mqtt, self.inbox.receive)
            app.state.mqtt = self.mqtt
            mqtt_task = asyncio.create_task(self.mqtt.run(stop))
        if on_ready is not None:
            on_ready(server)
        try:
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        finally:
            stop.set()
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task
            if mqtt_task is not None:
                with contextlib.suppress(Exception):
                    await mqtt_task

    def close(self) -> None:
        if self.rollout is not None:
            self.rollout.stop()
        self.jobs.close()
        self.jobs.store.close()
        self.token_audit.close()
        if self.router is not None:
            self.router.close()
        self.store.close()


async def _start_uvicorn(
    app: FastAPI, host: str, port: int
) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    # uvicorn binds with SO_REUSEADDR, so a hub restarted right after a crash gets its port
    # back although the old connections linger in TIME_WAIT.
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise OSError(f"the hub's API on {host}:{port} stopped during start-up")
        await asyncio.sleep(0.02)
    return server, task
