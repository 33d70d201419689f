"""``plantmind replay`` and ``plantmind detect``: a historian export (CSV) through the edge
node, or scored row by row by the default detectors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from plantmind.cli.common import HomeOpt, PlantOpt, console, err, fail, plant_or_fail, setup_logging
from plantmind.core.ids import iso
from plantmind.core.settings import resolve_home

__all__ = ["detect", "replay"]

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


# -- detect -----------------------------------------------------------------------------------
def detect(
    file: Annotated[Path, typer.Argument(help="CSV of timestamped signals (a historian export).")],
    out: Annotated[Path, typer.Option("--out", help="Where the scored CSV goes.")],
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated signal columns (default: all numeric).")
    ] = None,
    delimiter: DelimiterOpt = None,
    time_column: TimeColumnOpt = None,
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

    import numpy as np

    from plantmind.connectors.replay import CsvFormatError, read_table
    from plantmind.detect.default import default_detector
    from plantmind.detect.table import score_table

    try:
        raw_times, times, names, values, rep = read_table(
            file, delimiter=delimiter, time_column=time_column
        )
    except CsvFormatError as exc:
        raise fail(str(exc)) from None
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        missing = [c for c in wanted if c not in names]
        if missing:
            raise fail(
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
            raise fail(f"{asset_map}: cannot read the asset map: {exc}") from None
        if not isinstance(mapping, dict) or not all(isinstance(v, list) for v in mapping.values()):
            raise fail(f"{asset_map}: expected a mapping of asset → list of columns")
        unknown = [c for cols in mapping.values() for c in cols if c not in names]
        if unknown:
            raise fail(f"{asset_map}: columns not in {file}: {', '.join(map(str, unknown))}")
        groups = [[names.index(c) for c in cols] for cols in mapping.values()]
    # The usual file is in time order: then no sort order, inverse or sorted copy of the table
    # is made (each would be another array as long as the file).
    order = None if bool(np.all(times[1:] >= times[:-1])) else np.argsort(times, kind="stable")
    if order is not None:
        err.print(
            f"{file}: rows are not in time order; scored in time order, written in file order"
        )
    res = score_table(
        times if order is None else times[order],
        values if order is None else values[order],
        default_detector,
        groups=groups,
        multivariate=multivariate,
        names=names,
    )
    inv = None
    if order is not None:
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "anomaly_score", "alarm", "top_signal", "reason"])
        for i, raw in enumerate(raw_times):
            k = i if inv is None else int(inv[i])
            t = int(res.top[k])
            w.writerow(
                [
                    raw,
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
