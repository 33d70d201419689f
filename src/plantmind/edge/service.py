"""``EdgeService``: one site's edge, built from plant.yaml and a home. The one builder that
``plantmind edge run``, ``plantmind demo`` and the tests use: it owns the node (detection,
alerts, store), live health, the inspection stations, the uplink to a hub, and the API app
that serves them. Wiring only: the work is in the capability packages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plantmind.assist.cause import AlertCauses
from plantmind.core.ids import now
from plantmind.core.plant import Plant
from plantmind.core.types import SampleBatch
from plantmind.detect.alerts import AlertUpdate
from plantmind.detect.relationship import RelationshipConfig
from plantmind.edge.node import EdgeNode
from plantmind.health.service import HealthService, load_models

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from plantmind.connectors.base import Source
    from plantmind.core.auth import TokenStore
    from plantmind.health.rul import RulModel
    from plantmind.sync.forwarder import Transport
    from plantmind.sync.uplink import SiteUplink
    from plantmind.vision.station import VisionStations

__all__ = ["EdgeService", "SiteError"]

log = logging.getLogger("plantmind.edge")


class SiteError(ValueError):
    """The site asked for is not in the plant, or a plant of several sites names none."""


def pick_site(plant: Plant, site: str | None, *, required: bool) -> str:
    """The site this edge serves: ``site`` if given (it must be one of the plant's), else the
    plant's only site; a plant of several sites must name one when ``required``."""
    ids = [s.id for s in plant.sites]
    if site is not None:
        if site not in ids:
            raise SiteError(f"--site {site!r} is not a site of the plant ({', '.join(ids)})")
        return site
    if required and len(ids) > 1:
        raise SiteError(f"the plant has several sites ({', '.join(ids)}): name one with --site")
    return ids[0]


class EdgeService:
    """One site's edge service (see the module docstring).

    Parameters
    ----------
    plant, home:
        The validated plant model and the home directory that keeps the state.
    site:
        The site this edge serves (default: the plant's only site).
    transport:
        Where the site's outbox delivers (HTTP, MQTT or an in-process hub); None: no uplink.
    health_models:
        Remaining-life models by asset kind (default: the artifacts under
        ``<home>/health/models``).
    clock:
        Plant time: the uplink's hourly aggregates (default: the newest sample's time) and
        the inspection stations' results and reviews (default: wall time), so that e.g. a
        simulator's alerts and inspections share one clock.
    restore, detector_config, multivariate:
        Passed to :class:`~plantmind.edge.node.EdgeNode` (``multivariate``: the relationship
        view on, True or its :class:`~plantmind.detect.relationship.RelationshipConfig`).
    """

    def __init__(
        self,
        plant: Plant,
        home: Path,
        *,
        site: str | None = None,
        transport: Transport | None = None,
        health_models: dict[str, RulModel] | None = None,
        clock: Callable[[], float] | None = None,
        restore: bool = True,
        detector_config: object = None,
        multivariate: bool | RelationshipConfig = False,
    ) -> None:
        self.plant = plant
        self.home = Path(home)
        self.site_id = pick_site(plant, site, required=transport is not None)
        self.node = EdgeNode(
            plant,
            self.home,
            restore=restore,
            detector_config=detector_config,
            multivariate=multivariate,
        )
        #: probable causes and the procedure on every new alert, looked up off the scoring
        #: path in the node's knowledge index (assist/cause.py)
        self.causes = AlertCauses(self.node).attach()
        self.clock = clock
        models = load_models(self.home) if health_models is None else health_models
        self.health = HealthService(plant, models).attach(self.node)
        self.uplink: SiteUplink | None = None
        if transport is not None:
            from plantmind.sync.uplink import SiteUplink

            # plant time (the data's clock) drives the hourly aggregates, also for replays and
            # a simulator running faster than real time
            self.uplink = SiteUplink(
                self.home,
                self.site_id,
                transport,
                plant.egress,
                clock=clock or (lambda: self.node.stats.last_ts or now()),
            )
            self.uplink.attach(self.node)
            self.health.listeners.append(self.uplink.health)
        self._stations: VisionStations | None = None
        self.models_agent: Any = None
        self._models_thread: threading.Thread | None = None

    def follow_hub_models(
        self,
        hub_url: str,
        token: str,
        *,
        root: dict[str, Any] | None = None,
        interval_s: float = 30.0,
    ) -> Any:
        """Run the signed-model agent (:class:`plantmind.models.agent.EdgeAgent`, state in
        ``<home>/models``) in this process, pulling from the hub every ``interval_s``
        (outbound only); the node follows its detector versions (alert policy, and the
        version on every new alert), live health its health versions and the stations their
        station models (the version on every summary and inspection). ``root``: the trusted
        root, needed on the first start."""
        from plantmind.models.agent import EdgeAgent

        if self.site_id is None:
            raise ValueError("following the hub's models needs the site id (site=...)")
        agent = EdgeAgent(
            hub_url, self.site_id, token, self.home / "models", root=root, interval_s=interval_s
        )
        # before the agent restores what is on disk: the node (detector versions), live
        # health (health versions) and, with the [vision] extra, the inspection stations
        self.node.follow_models(agent)
        self.health.follow_models(agent)
        # without the [vision] extra the agent refuses station versions (``load``)
        with contextlib.suppress(ImportError):
            self.stations.follow_models(agent)
        self.models_agent = agent
        self._models_thread = threading.Thread(target=agent.run, name="models-agent", daemon=True)
        self._models_thread.start()
        return agent

    # -- parts -----------------------------------------------------------------------------
    @property
    def stations(self) -> VisionStations:
        """The plant's inspection stations under ``<home>/vision``, opened on first use;
        ImportError (naming the extra) without the [vision] extra."""
        if self._stations is None:
            from plantmind.core.extras import ExtraMissing, extra_installed

            if not extra_installed("vision"):
                raise ExtraMissing(
                    "inspection needs the [vision] extra: pip install 'plantmind[vision]'"
                )
            from plantmind.vision.station import VisionStations

            stations = [st for site in self.plant.sites for st in site.stations]
            self._stations = VisionStations(self.home, stations, clock=self.clock)
        return self._stations

    def app(self, tokens: TokenStore | None = None) -> FastAPI:
        """The API and page over this service's parts."""
        from plantmind.edge.api import create_app

        vision = self._stations
        if vision is None:
            try:
                vision = self.stations
            except ImportError:
                vision = None  # the inspection routes answer 503 naming the extra
        return create_app(self.node, tokens, health=self.health, vision=vision)

    # -- the stream ------------------------------------------------------------------------
    def learn(self, batch: SampleBatch) -> None:
        """History: the node and every batch listener learn, no alerts are raised."""
        self.node.learn(batch)

    def ingest(self, batch: SampleBatch) -> AlertUpdate:
        """A live batch through the whole pipeline."""
        return self.node.ingest(batch)

    def start(self) -> None:
        """Start delivering to the hub (needs a running event loop); no-op without one."""
        if self.uplink is not None:
            self.uplink.start()

    async def serve(self, host: str, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
        """Serve :meth:`app` on ``host:port`` in this event loop; stop it with
        ``server.should_exit = True`` and await the task."""
        from plantmind.edge.server import start_server

        return await start_server(self.app(), host, port)

    async def run(
        self,
        source: Source | None,
        *,
        host: str,
        port: int,
        on_ready: Callable[[], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Serve the API and consume ``source`` until it ends, ``stop`` is set or the server
        stops (uvicorn stops on SIGINT/SIGTERM); then close the source and stop the server.
        ``on_ready`` is called once the API listens. Follow with :meth:`stop`."""
        stop = stop or asyncio.Event()
        server, serving = await self.serve(host, port)
        if on_ready is not None:
            on_ready()
        consuming = asyncio.create_task(self.node.run(source, stop=stop)) if source else None
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait(
                {t for t in (consuming, stopped, serving) if t is not None},
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopped.cancel()
            if consuming is not None:
                if not consuming.done():
                    # a source waiting for data never sees ``stop``: cancel its wait
                    consuming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consuming
            if source is not None:
                await source.close()
            server.should_exit = True
            await serving

    async def stop(self, *, drain_s: float = 10.0) -> bool:
        """A clean stop: what the node aggregated reaches the store, the uplink queues it
        with the last alerts and health summaries and sends the outbox for at most
        ``drain_s`` seconds, then everything closes. True if nothing was left queued (what
        is left stays in the outbox, durable, for the next start)."""
        rest = self.node.downsampler.flush()
        if len(rest):
            self.node.store.write_aggregates(self.node.index.signal_ids, rest)
        self.node.store.flush()
        empty = True
        if self.uplink is not None:
            empty = await self.uplink.finish(timeout=drain_s)
            left = self.uplink.outbox.stats().queued
            if left:
                log.warning("stopping with %d event(s) still queued for the hub", left)
        await self.close()
        return empty

    async def close(self) -> None:
        """Stop the model agent and the uplink, then the cause lookups (the finished ones
        stored), the stations and the node (state saved)."""
        if self.models_agent is not None:
            self.models_agent.stop()
            if self._models_thread is not None:
                await asyncio.to_thread(self._models_thread.join, 35.0)
            self.models_agent.close()
            self.models_agent = None
        if self.uplink is not None:
            await self.uplink.close()
        self.causes.close()
        if self._stations is not None:
            self._stations.close()
            self._stations = None
        self.node.close()
