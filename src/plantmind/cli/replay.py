"""``plantmind replay``: a historian export (CSV) through the edge node."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from plantmind.cli.common import HomeOpt, PlantOpt, console, fail, plant_or_fail, setup_logging
from plantmind.core.ids import iso
from plantmind.core.settings import resolve_home

__all__ = ["DelimiterOpt", "TimeColumnOpt", "replay"]

DelimiterOpt = Annotated[str | None, typer.Option(help="Field separator (default: detected).")]
TimeColumnOpt = Annotated[str | None, typer.Option(help="Time column (default: detected).")]


def replay(
    file: Annotated[Path, typer.Argument(help="CSV of timestamped samples (wide or long layout).")],
    plant: PlantOpt = None,
    home: HomeOpt = None,
    speed: Annotated[
        float | None, typer.Option(help="Pace by the file's time (default: flat out).")
    ] = None,
    delimiter: DelimiterOpt = None,
    time_column: TimeColumnOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replay a CSV (e.g. a historian export) through the edge node: detection, alerts, store."""
    from plantmind.connectors.replay import CsvFormatError, CsvReplay
    from plantmind.edge.node import EdgeNode

    setup_logging(False)
    model, _ = plant_or_fail(plant)
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
        raise fail(str(exc)) from None
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
