"""``plantmind edge run``: the edge node service for a plant (connectors, detection, alerts,
store, API and page, store-and-forward to a hub)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from plantmind.cli.common import HomeOpt, PlantOpt, console, fail, plant_or_fail, setup_logging
from plantmind.core.settings import resolve_home

if TYPE_CHECKING:
    from plantmind.connectors.base import Source

__all__ = ["edge_app"]

edge_app = typer.Typer(help="The edge node service.", no_args_is_help=True)


@edge_app.command("run")
def edge_run(
    plant: PlantOpt = None,
    home: HomeOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.")] = 8080,
    source: Annotated[
        str,
        typer.Option(
            help="auto (the plant's connectors if it has any, else the simulator), "
            "connectors, simulator, or none (API only)."
        ),
    ] = "auto",
    hub: Annotated[
        str | None,
        typer.Option(
            help="Central hub: http(s)://host:port (token from $PLANTMIND_HUB_TOKEN) or "
            "mqtt(s)://host:port (user/password from $PLANTMIND_MQTT_USERNAME/_PASSWORD)."
        ),
    ] = None,
    site: Annotated[
        str | None, typer.Option(help="Site id for the hub (default: the only site).")
    ] = None,
    speed: Annotated[float, typer.Option(help="Simulator speed (1 = real time).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 0,
    models_hub: Annotated[
        str | None,
        typer.Option(
            help="Hub to pull signed models from, http(s)://host:port (outbound only; token "
            "from $PLANTMIND_HUB_TOKEN; the trusted root from --models-root on first start)."
        ),
    ] = None,
    models_root: Annotated[
        Path | None, typer.Option(help="root.json from `plantmind models keygen` (first start).")
    ] = None,
    drain_seconds: Annotated[
        float, typer.Option(help="On stop, seconds to keep sending the outbox to the hub.")
    ] = 10.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the edge node for a plant: connectors, detection, alerts, store, API and page, and
    store-and-forward to a central hub."""
    import os

    from plantmind.core.connectivity import validate_connector_signals
    from plantmind.core.ids import now
    from plantmind.edge.server import PortInUseError
    from plantmind.edge.service import EdgeService, SiteError, pick_site

    setup_logging(verbose)
    model, plant_path = plant_or_fail(plant)
    root = resolve_home(home)
    if source not in ("auto", "connectors", "simulator", "none"):
        raise fail(f"--source must be auto, connectors, simulator or none, got {source!r}")
    problems = validate_connector_signals(model)
    if problems:
        raise fail("connector configuration:\n  " + "\n  ".join(problems))
    has_connectors = any(s.connectors for s in model.sites)
    if source == "auto":
        source = "connectors" if has_connectors else "simulator"
    if source == "connectors" and not has_connectors:
        raise fail("--source connectors: the plant defines no connectors (sites[].connectors)")
    try:
        site_id = pick_site(model, site, required=hub is not None or models_hub is not None)
    except SiteError as exc:
        raise fail(str(exc)) from None

    def make_transport() -> Any:
        assert hub is not None
        if hub.startswith(("http://", "https://")):
            from plantmind.sync.transport_http import HttpTransport

            token = os.environ.get("PLANTMIND_HUB_TOKEN")
            if not token:
                raise fail("--hub over HTTP needs an operator token in $PLANTMIND_HUB_TOKEN")
            return HttpTransport(hub, token)
        if hub.startswith(("mqtt://", "mqtts://")):
            from urllib.parse import urlparse

            from plantmind.sync.transport_mqtt import HubMqttConfig, MqttTransport

            u = urlparse(hub)
            cfg = HubMqttConfig(
                host=u.hostname or "127.0.0.1",
                port=u.port or (8883 if u.scheme == "mqtts" else 1883),
                username=os.environ.get("PLANTMIND_MQTT_USERNAME"),
                password=os.environ.get("PLANTMIND_MQTT_PASSWORD"),
                tls=u.scheme == "mqtts",
            )
            return MqttTransport(cfg, site_id)
        raise fail(f"--hub must start with http(s):// or mqtt(s)://, got {hub!r}")

    transport = make_transport() if hub else None

    async def main() -> None:
        # live health and RUL for every asset kind with a model under <home>/health/models
        # (`plantmind health train`); the others get a deviation-based health index
        service = EdgeService(model, root, site=site_id, transport=transport)
        service.node.plant_dir = plant_path.parent
        if models_hub:
            import json

            token = os.environ.get("PLANTMIND_HUB_TOKEN")
            if not token:
                raise fail("--models-hub needs an operator token in $PLANTMIND_HUB_TOKEN")
            trust = json.loads(models_root.read_text(encoding="utf-8")) if models_root else None
            try:
                service.follow_hub_models(models_hub, token, root=trust)
            except Exception as exc:  # no trusted root yet, a bad root file: say which
                raise fail(f"--models-hub: {exc}") from None
        service.start()
        feed: Source | None = None
        if source == "simulator":
            from plantmind.connectors.simulator import PlantSimulator, SimulatorSource

            feed = SimulatorSource(PlantSimulator(model, seed=seed, start_ts=now()), speed=speed)
        elif source == "connectors":
            from plantmind.connectors.factory import build_sources, merge_sources

            index = service.node.index
            feed = merge_sources([s for st in model.sites for s in build_sources(st, index)])

        def ready() -> None:
            console.print(
                f"edge node for {model.name}: http://{host}:{port}/  (home {root}, source {source})"
            )

        # SIGTERM (a service manager) and SIGINT (Ctrl-C) stop cleanly: drain the pipeline,
        # queue what was aggregated, send the outbox for a bounded time, then exit
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await service.run(feed, host=host, port=port, on_ready=ready, stop=stop)
        finally:
            sent = await service.stop(drain_s=drain_seconds)
            console.print("stopped" + ("" if sent else " (events left queued for the next start)"))

    try:
        asyncio.run(main())
    except PortInUseError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        console.print("stopped")
