"""Wiring of the central hub: fleet store + idempotent inbox + HTTP API + MQTT listener +
analysis jobs (compliance and message checks, through the central model when configured)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from plantmind.central.api import create_hub_app
from plantmind.central.inbox import Inbox
from plantmind.central.job_kinds import JOB_KINDS
from plantmind.central.jobs import JobRunner, JobStore
from plantmind.core.auth import TokenStore
from plantmind.store.central import CentralStore
from plantmind.sync.transport_mqtt import HubMqttConfig, MqttHubListener

__all__ = ["CentralService", "default_db_url"]

log = logging.getLogger("plantmind.central")


def default_db_url(home: Path) -> str:
    """SQLite under the hub's home: ``<home>/central.db``."""
    return f"sqlite:///{Path(home) / 'central.db'}"


class CentralService:
    """One hub: ``db_url`` (SQLite or PostgreSQL URL), tokens in ``home/tokens.json``, jobs in
    ``home/jobs.db``. ``router`` (a :class:`plantmind.llm.router.Router`) gives the jobs a
    central model; without one they run their deterministic pipelines and say so."""

    def __init__(self, db_url: str, home: Path, *, router: Any | None = None) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = CentralStore(db_url)
        self.inbox = Inbox(self.store)
        self.tokens = TokenStore.in_home(self.home)
        self.mqtt: MqttHubListener | None = None
        self.router = router
        self.jobs = JobRunner(JobStore(self.home), JOB_KINDS, services={"router": router})

    def app(self) -> FastAPI:
        return create_hub_app(self.inbox, self.tokens, self.jobs)

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
        self.jobs.close()
        self.jobs.store.close()
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
