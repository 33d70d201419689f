"""``plantmind demo``: the simulated plant with an edge node, its API and page, and an
in-process hub, scored against the injected faults at the end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from plantmind.cli.common import HomeOpt, console, fail, setup_logging
from plantmind.core.ids import iso
from plantmind.core.settings import resolve_home

__all__ = ["demo"]


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
    multivariate: Annotated[
        bool,
        typer.Option(
            "--multivariate",
            help="Also watch how each asset's signals move together (learned from the history).",
        ),
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Run the simulated plant with an edge node, its API and page at http://127.0.0.1:8080."""
    from plantmind.demo.run import DemoConfig, DemoProgress, run_demo, write_summary
    from plantmind.edge.server import PortInUseError

    setup_logging(False)
    if speed <= 0:
        raise fail(f"--speed must be positive, got {speed}")
    if duration is not None and duration <= 0:
        raise fail(f"--duration must be positive, got {duration}")
    cfg = DemoConfig(
        home=resolve_home(home) / "demo",
        duration_s=duration,
        speed=speed,
        seed=seed,
        history_h=history_hours,
        port=None if no_api else port,
        multivariate=multivariate,
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
        raise fail(str(exc)) from None
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
    view = summary.get("multivariate")
    if view:
        console.print(f"relationship view: {view['text']}", highlight=False)
    skipped = summary.get("inspection", {}).get("skipped")
    if skipped:
        console.print(f"not run: {skipped}", highlight=False, markup=False)
    home = summary["home"]
    console.print(
        f"the demo's state is in {home}; look at it with --home, e.g.\n"
        f"  plantmind alerts list --home {home}\n  plantmind audit --home {home}\n"
        f"  plantmind health list --home {home}\n"
        f'  plantmind ask "P-101 bearing temperature high, what to check?" --home {home}',
        highlight=False,
        markup=False,
    )
