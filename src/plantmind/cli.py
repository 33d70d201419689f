"""The ``plantmind`` command line (Typer): demo, edge node, replay, alerts, plant checks and
benchmarks. Each command wires capabilities together; none holds logic of its own."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from plantmind import __version__
from plantmind.bench.cli import bench_app
from plantmind.central.cli import central_app, token_app
from plantmind.central.comply_cli import comply_app
from plantmind.central.language_cli import language_app
from plantmind.cli_common import HomeOpt, PlantOpt, console, err
from plantmind.cli_common import fail as _fail
from plantmind.core.ids import iso
from plantmind.core.plant import Plant, PlantConfigError, example_plant_path, load_plant
from plantmind.core.settings import resolve_home
from plantmind.edge.health_cli import health_app
from plantmind.edge.inspect_cli import inspect_app
from plantmind.edge.knowledge_cli import ask, docs_app
from plantmind.edge.route_cli import route_app
from plantmind.sync.cli_commands import audit as sync_audit

app = typer.Typer(
    name="plantmind",
    help="plantmind: the right AI model at each link of a factory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
edge_app = typer.Typer(help="The edge node service.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts kept by the edge node.", no_args_is_help=True)
events_app = typer.Typer(help="Events kept by the edge node.", no_args_is_help=True)
plant_app = typer.Typer(help="The plant model (plant.yaml).", no_args_is_help=True)
connect_app = typer.Typer(
    help="Industrial connectivity: OPC UA, MQTT, Modbus.", no_args_is_help=True
)
app.add_typer(edge_app, name="edge")
app.add_typer(alerts_app, name="alerts")
app.add_typer(events_app, name="events")
app.add_typer(plant_app, name="plant")
app.add_typer(bench_app, name="bench")
app.add_typer(connect_app, name="connect")
app.add_typer(central_app, name="central")
app.add_typer(token_app, name="token")
app.add_typer(health_app, name="health")
app.add_typer(inspect_app, name="inspect")
app.add_typer(route_app, name="route")
app.add_typer(comply_app, name="comply")
app.add_typer(language_app, name="language")
app.command("audit")(sync_audit)
app.add_typer(docs_app, name="docs")
app.command("ask")(ask)


def _plant(path: Path | None) -> Plant:
    try:
        return load_plant(path or example_plant_path())
    except PlantConfigError as exc:
        raise _fail(str(exc)) from None


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        console.print(f"plantmind {__version__}")
        raise typer.Exit()


# -- demo -------------------------------------------------------------------------------------
@app.command()
def demo(
    duration: Annotated[
        float | None, typer.Option(help="Wall-clock seconds of live plant (default: until Ctrl-C).")
    ] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second.")] = 60.0,
    headless: Annotated[
        bool, typer.Option(help="Plain log lines instead of a live display.")
    ] = False,
    summary_json: Annotated[Path | None, typer.Option(help="Write the fault summary here.")] = None,
    port: Annotated[int, typer.Option(help="Port of the API and page (0: any free port).")] = 8080,
    no_api: Annotated[bool, typer.Option("--no-api", help="Do not serve the API.")] = False,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    history_hours: Annotated[float, typer.Option(help="Fault-free history learned first.")] = 6.0,
    home: HomeOpt = None,
) -> None:
    """Run the simulated plant with an edge node, its API and page at http://127.0.0.1:8080."""
    from plantmind.edge.demo import DemoConfig, DemoProgress, run_demo, write_summary
    from plantmind.edge.server import PortInUseError

    _setup_logging(False)
    if speed <= 0:
        raise _fail(f"--speed must be positive, got {speed}")
    if duration is not None and duration <= 0:
        raise _fail(f"--duration must be positive, got {duration}")
    cfg = DemoConfig(
        home=resolve_home(home) / "demo",
        duration_s=duration,
        speed=speed,
        seed=seed,
        history_h=history_hours,
        port=None if no_api else port,
    )
    state: dict[str, Any] = {"last": 0.0, "announced": False, "alerts": 0}
    live_display = not headless and console.is_terminal
    status = console.status("starting ...") if live_display else None

    def show(p: DemoProgress) -> None:
        if p.url and not state["announced"]:
            state["announced"] = True
            page = p.extra.get("page_url", p.url)
            console.print(f"edge node API and page: [bold]{page}[/]  (OpenAPI: {p.url}docs)")
        if p.phase == "learning history":
            text = f"learning normal behaviour from history ... {iso(p.sim_ts)}"
            if status is not None:
                status.update(text)
            elif p.sim_ts - state["last"] >= 3600 or not state["last"]:
                state["last"] = p.sim_ts
                console.print(text)
            return
        if p.phase != "live":
            return
        line = (
            f"plant time {iso(p.sim_ts)}  samples {p.samples:,}  "
            f"open alerts {p.open_alerts}  alerts so far {p.alerts_opened}"
        )
        if p.alerts_opened != state["alerts"]:
            state["alerts"] = p.alerts_opened
            console.print(f"new alert: {line}")
        if status is not None:
            status.update(line)
        elif p.sim_ts - state["last"] >= 60 * speed:
            state["last"] = p.sim_ts
            console.print(line)

    try:
        if status is not None:
            status.start()
        try:
            summary = asyncio.run(run_demo(cfg, show))
        finally:
            if status is not None:
                status.stop()
    except PortInUseError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        console.print("stopped")
        return
    if summary_json:
        write_summary(summary, summary_json)
    _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title="Injected faults")
    for col in ("kind", "asset", "start", "detected", "delay (s)"):
        table.add_column(col, no_wrap=True)
    table.add_column("first alert", overflow="ellipsis", no_wrap=True, max_width=64)
    for f in summary["faults"]:
        table.add_row(
            f["kind"],
            f["asset"],
            iso(f["start"])[11:19],
            "yes" if f["detected"] else "[red]no[/]",
            "" if f["delay_s"] is None else f"{f['delay_s']:.0f}",
            f["alert"] or "",
        )
    console.print(table, width=max(console.width, 130))  # logs are read later: keep it whole
    console.print(
        f"detected {summary['faults_detected']}/{len(summary['faults'])} faults "
        f"({len(summary['detected_kinds'])}/{len(summary['fault_kinds'])} kinds); "
        f"false alerts per simulated hour: {summary['false_alerts_per_hour']}"
    )


# -- edge -------------------------------------------------------------------------------------
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
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the edge node for a plant: connectors, detection, alerts, store, API and page, and
    store-and-forward to a central hub."""
    import os

    from plantmind.core.connectivity import validate_connector_signals
    from plantmind.core.ids import now
    from plantmind.edge.api import create_app
    from plantmind.edge.node import EdgeNode
    from plantmind.edge.server import PortInUseError, start_server

    _setup_logging(verbose)
    model = _plant(plant)
    root = resolve_home(home)
    if source not in ("auto", "connectors", "simulator", "none"):
        raise _fail(f"--source must be auto, connectors, simulator or none, got {source!r}")
    problems = validate_connector_signals(model)
    if problems:
        raise _fail("connector configuration:\n  " + "\n  ".join(problems))
    has_connectors = any(s.connectors for s in model.sites)
    if source == "auto":
        source = "connectors" if has_connectors else "simulator"
    if source == "connectors" and not has_connectors:
        raise _fail("--source connectors: the plant defines no connectors (sites[].connectors)")
    site_ids = [s.id for s in model.sites]
    site_id = site or site_ids[0]
    if site_id not in site_ids:
        raise _fail(f"--site {site_id!r} is not a site of the plant ({', '.join(site_ids)})")
    if hub and len(site_ids) > 1 and site is None:
        raise _fail(f"the plant has several sites ({', '.join(site_ids)}): name one with --site")

    def make_transport() -> Any:
        assert hub is not None
        if hub.startswith(("http://", "https://")):
            from plantmind.sync.transport_http import HttpTransport

            token = os.environ.get("PLANTMIND_HUB_TOKEN")
            if not token:
                raise _fail("--hub over HTTP needs an operator token in $PLANTMIND_HUB_TOKEN")
            return HttpTransport(hub, token)
        if hub.startswith(("mqtt://", "mqtts://")):
            from urllib.parse import urlparse

            from plantmind.sync.transport_mqtt import MqttConfig, MqttTransport

            u = urlparse(hub)
            cfg = MqttConfig(
                host=u.hostname or "127.0.0.1",
                port=u.port or (8883 if u.scheme == "mqtts" else 1883),
                username=os.environ.get("PLANTMIND_MQTT_USERNAME"),
                password=os.environ.get("PLANTMIND_MQTT_PASSWORD"),
                tls=u.scheme == "mqtts",
            )
            return MqttTransport(cfg, site_id)
        raise _fail(f"--hub must start with http(s):// or mqtt(s)://, got {hub!r}")

    transport = make_transport() if hub else None

    async def main() -> None:
        from plantmind.edge.health_service import HealthService, load_models

        node = EdgeNode(model, root)
        # live health and RUL for every asset kind with a model under <home>/health/models
        # (`plantmind health train`); the others get a deviation-based health index
        health = HealthService(model, load_models(root)).attach(node)
        uplink = None
        if transport is not None:
            from plantmind.sync.uplink import SiteUplink

            # plant time (the data's clock) drives the hourly aggregates, also for replays and
            # a simulator running faster than real time
            uplink = SiteUplink(
                root, site_id, transport, model.egress, clock=lambda: node.stats.last_ts or now()
            )
            uplink.attach(node)
            health.listeners.append(uplink.health)
            uplink.start()
        server, task = await start_server(create_app(node), host, port)
        console.print(
            f"edge node for {model.name}: http://{host}:{port}/  (home {root}, source {source})"
        )
        feed = None
        try:
            if source == "simulator":
                from plantmind.connectors.simulator import PlantSimulator, SimulatorSource

                feed = SimulatorSource(
                    PlantSimulator(model, seed=seed, start_ts=now()), speed=speed
                )
            elif source == "connectors":
                from plantmind.connectors.factory import build_sources, merge_sources

                feed = merge_sources(
                    [s for st in model.sites for s in build_sources(st, node.index)]
                )
            if feed is not None:
                await node.run(feed)
            else:
                await task
        finally:
            if feed is not None:
                await feed.close()
            server.should_exit = True
            await task
            if uplink is not None:
                await uplink.close()
            node.close()

    try:
        asyncio.run(main())
    except PortInUseError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        console.print("stopped")


# -- connect ----------------------------------------------------------------------------------
@connect_app.command("browse")
def connect_browse(
    url: Annotated[str, typer.Argument(help="OPC UA endpoint, e.g. opc.tcp://10.0.0.5:4840/")],
    depth: Annotated[int, typer.Option(help="How many levels below the root.")] = 3,
    root: Annotated[str | None, typer.Option(help="Start node id (default: Objects).")] = None,
    username: Annotated[str | None, typer.Option(help="User name (anonymous if omitted).")] = None,
    password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the password.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 10.0,
) -> None:
    """Print an OPC UA server's address space as a tree (node class, type, node id, value)."""
    from plantmind.connectors.opcua import browse_tree

    try:
        lines = asyncio.run(
            browse_tree(
                url,
                depth,
                username=username,
                password_env=password_env,
                root=root,
                timeout_s=timeout,
            )
        )
    except Exception as exc:  # any connection or protocol failure: say which and where
        raise _fail(f"{url}: {type(exc).__name__}: {exc}") from None
    for line in lines:
        console.print(line, highlight=False)


# -- replay -----------------------------------------------------------------------------------
@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="CSV of timestamped samples (wide or long layout).")],
    plant: PlantOpt = None,
    home: HomeOpt = None,
    speed: Annotated[
        float | None, typer.Option(help="Pace by the file's time (default: flat out).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="Field separator (default: detected).")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option(help="Time column (default: detected).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replay a CSV (e.g. a historian export) through the edge node: detection, alerts, store."""
    from plantmind.connectors.replay import CsvFormatError, CsvReplay
    from plantmind.edge.node import EdgeNode

    _setup_logging(False)
    model = _plant(plant)
    root = resolve_home(home)
    node = EdgeNode(model, root)
    try:
        source = CsvReplay(
            file, node.index, speed=speed, delimiter=delimiter, time_column=time_column
        )
        opened: list[dict[str, Any]] = []
        node.listeners.append(lambda u: opened.extend(a.to_dict() for a in u.opened))
        asyncio.run(node.run(source))
    except CsvFormatError as exc:
        node.close()
        raise _fail(str(exc)) from None
    node.close()
    rep = source.report
    result = {
        "file": str(file),
        "layout": rep.layout,
        "rows": rep.rows,
        "samples": rep.samples,
        "samples_scored": node.stats.samples_scored,
        "samples_dropped": node.stats.samples_dropped,
        "dropped_by_reason": node.gate.counters.by_reason,
        "skipped_rows": rep.skipped_rows,
        "unknown_columns": rep.unknown_columns,
        "unknown_signals": rep.unknown_signals,
        "missing_signals": rep.missing_signals,
        "problems": rep.problems,
        "alerts_opened": opened,
    }
    if as_json:
        console.print_json(json.dumps(result))
        return
    console.print(
        f"{file}: {rep.rows:,} rows ({rep.layout}), {node.stats.samples_scored:,} samples scored, "
        f"{node.stats.samples_dropped:,} dropped {node.gate.counters.by_reason or ''}"
    )
    if rep.missing_signals:
        console.print(f"{len(rep.missing_signals)} plant signal(s) have no data in the file")
    for a in opened:
        console.print(
            f"alert {iso(a['opened_at'])} {a['asset_id']} [{a['severity']}]: {a['message']}"
        )
    if not opened:
        console.print("no alerts")


# -- detect -----------------------------------------------------------------------------------
@app.command()
def detect(
    file: Annotated[Path, typer.Argument(help="CSV of timestamped signals (a historian export).")],
    out: Annotated[Path, typer.Option("--out", help="Where the scored CSV goes.")],
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated signal columns (default: all numeric).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="Field separator (default: detected).")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option(help="Time column (default: detected).")
    ] = None,
    asset_map: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON {asset: [columns]}; default: all columns are one asset."),
    ] = None,
    multivariate: Annotated[
        bool,
        typer.Option(
            help="Also learn how each asset's signals move together (from the first 500 rows; "
            "its limit is set for about 1 % alarmed rows on normal data)."
        ),
    ] = False,
) -> None:
    """Run the default detectors over a CSV; write per row anomaly_score (0-1), alarm (0/1),
    the top contributing signal and the reason."""
    import csv

    from plantmind.connectors.replay import CsvFormatError, read_table
    from plantmind.detect.default import default_detector
    from plantmind.detect.table import score_table

    try:
        raw_times, times, names, values, rep = read_table(
            file, delimiter=delimiter, time_column=time_column
        )
    except CsvFormatError as exc:
        raise _fail(str(exc)) from None
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        missing = [c for c in wanted if c not in names]
        if missing:
            raise _fail(
                f"{file}: no numeric column named {', '.join(missing)} (have: {', '.join(names)})"
            )
        idx = [names.index(c) for c in wanted]
        names, values = wanted, values[:, idx]
    groups = None
    if asset_map is not None:
        import yaml

        try:
            mapping = yaml.safe_load(asset_map.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise _fail(f"{asset_map}: cannot read the asset map: {exc}") from None
        if not isinstance(mapping, dict) or not all(isinstance(v, list) for v in mapping.values()):
            raise _fail(f"{asset_map}: expected a mapping of asset → list of columns")
        unknown = [c for cols in mapping.values() for c in cols if c not in names]
        if unknown:
            raise _fail(f"{asset_map}: columns not in {file}: {', '.join(map(str, unknown))}")
        groups = [[names.index(c) for c in cols] for cols in mapping.values()]
    order = np.argsort(times, kind="stable")
    if np.any(order != np.arange(len(order))):
        err.print(
            f"{file}: rows are not in time order; scored in time order, written in file order"
        )
    res = score_table(
        times[order],
        values[order],
        default_detector,
        groups=groups,
        multivariate=multivariate,
        names=names,
    )
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "anomaly_score", "alarm", "top_signal", "reason"])
        for i in range(len(raw_times)):
            k = inv[i]
            t = int(res.top[k])
            w.writerow(
                [
                    raw_times[i],
                    f"{res.score[k]:.6f}",
                    int(res.alarm[k]),
                    names[t] if t >= 0 else "",
                    res.reason[k],
                ]
            )
    for msg in rep.problems:
        err.print(msg, highlight=False)
    console.print(
        f"{file}: {len(raw_times):,} rows × {len(names)} signal(s) scored; "
        f"{int(res.alarm.sum()):,} alarmed rows → {out}"
    )


# -- alerts and events ------------------------------------------------------------------------
def _open_store(home: Path | None):
    from plantmind.store.edge import EdgeStore

    root = resolve_home(home)
    db = root / "edge.db"
    if not db.exists():
        raise _fail(
            f"no edge store at {db}: run the edge node (or a replay) with this --home first"
        )
    return EdgeStore(db)


@alerts_app.command("list")
def alerts_list(
    home: HomeOpt = None,
    state: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    asset: Annotated[str | None, typer.Option(help="Only this asset.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List alerts, newest first."""
    if state is not None and state not in ("open", "acknowledged", "resolved"):
        raise _fail(f"--state must be open, acknowledged or resolved, got {state!r}")
    store = _open_store(home)
    try:
        rows = store.list_alerts(state=state, asset_id=asset, limit=limit)
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps([a.to_dict() for a in rows]))
        return
    table = Table()
    for col in ("opened", "asset", "severity", "state", "signals", "message"):
        table.add_column(col)
    for a in rows:
        table.add_row(
            iso(a.opened_at),
            a.asset_id,
            str(a.severity),
            str(a.state),
            ", ".join(a.signals),
            a.message,
        )
    console.print(table if rows else "no alerts")


@events_app.command("list")
def events_list(
    home: HomeOpt = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. alert.opened.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """List events, newest first."""
    store = _open_store(home)
    try:
        rows = store.list_events(kind=kind, limit=limit)
    finally:
        store.close()
    for e in rows:
        console.print(f"{iso(e.ts)} {e.kind:<20} {e.message}", highlight=False)
    if not rows:
        console.print("no events")


# -- plant ------------------------------------------------------------------------------------
@plant_app.command("validate")
def plant_validate(file: Annotated[Path, typer.Argument(help="plant.yaml to check.")]) -> None:
    """Check a plant.yaml; errors name the line and the path inside the file."""
    model = _plant(file)
    n_assets = sum(1 for _ in model.iter_assets())
    n_signals = sum(len(a.signals) for _, _, a in model.iter_assets())
    console.print(
        f"{file}: valid: {len(model.sites)} site(s), {n_assets} asset(s), {n_signals} signal(s)"
    )


@plant_app.command("example")
def plant_example() -> None:
    """Print the example plant.yaml (the simulated demo plant)."""
    sys.stdout.write(example_plant_path().read_text(encoding="utf-8"))


# -- bench ------------------------------------------------------------------------------------


if __name__ == "__main__":  # pragma: no cover
    app()
