"""``plantmind detect``: score a historian export (CSV) row by row. The first rows (or a
known-normal file, or a saved model) teach what normal looks like; every later row gets an
anomaly score, an alarm, the top signal and the reason; the summary says what was learned
from, what was scored and what was left out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from plantmind.cli.common import console, err, fail
from plantmind.cli.replay import DelimiterOpt, TimeColumnOpt

if TYPE_CHECKING:
    import numpy as np

    from plantmind.connectors.replay import ReplayReport
    from plantmind.detect.learned import RowScores, TableModel

__all__ = ["detect"]

CHUNK_ROWS = 20_000
HEADER = ["timestamp", "learning", "anomaly_score", "alarm", "top_signal", "reason"]


def _read(
    file: Path, delimiter: str | None, time_column: str | None
) -> tuple[Sequence[str], np.ndarray, list[str], np.ndarray, ReplayReport]:
    import logging

    from plantmind.connectors.replay import CsvFormatError, read_table

    # the command prints the reader's problems itself, once, after the summary's lines
    reader_log = logging.getLogger("plantmind.connectors.replay")
    level = reader_log.level
    reader_log.setLevel(logging.ERROR)
    try:
        raw, times, names, values, rep = read_table(
            file, delimiter=delimiter, time_column=time_column
        )
    except CsvFormatError as exc:
        raise fail(str(exc)) from None
    finally:
        reader_log.setLevel(level)
    return raw, times, list(names), values, rep  # raw stays a compact TextColumn


def _pick(
    file: Path, names: list[str], values: np.ndarray, wanted: list[str]
) -> tuple[list[str], np.ndarray]:
    missing = [c for c in wanted if c not in names]
    if missing:
        raise fail(
            f"{file}: no numeric column named {', '.join(missing)} (have: {', '.join(names)})"
        )
    return wanted, values[:, [names.index(c) for c in wanted]]


def _groups(asset_map: Path, names: list[str], file: Path) -> list[list[int]]:
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
    return [[names.index(c) for c in cols] for cols in mapping.values()]


def _learn_until_rows(text: str, times: np.ndarray) -> int:
    from plantmind.connectors.replay import parse_time

    try:
        limit = parse_time(text)
    except ValueError:
        raise fail(f"--learn-until {text!r}: not a time (ISO 8601 or epoch seconds)") from None
    return int((times < limit).sum())


def _row(raw: str, r: int, res: RowScores, names: list[str]) -> list[object]:
    t = int(res.top[r])
    return [raw, 0, f"{res.score[r]:.6f}", int(res.alarm[r]), names[t] if t >= 0 else "",
            res.reason.get(r, "")]  # fmt: skip


def _write_in_order(
    w: Any, tm: TableModel, raw: Sequence[str], values: np.ndarray, learned: int, names: list[str]
) -> int:
    """Score and write block by block: memory stays that of one block's scores."""
    for i in range(learned):
        w.writerow([raw[i], 1, "", "", "", ""])
    alarmed = 0
    for a in range(learned, len(raw), CHUNK_ROWS):
        res = tm.score(values[a : a + CHUNK_ROWS])
        alarmed += int(res.alarm.sum())
        w.writerows(_row(raw[a + r], r, res, names) for r in range(len(res.score)))
    return alarmed


def _write_in_file_order(
    w: Any,
    tm: TableModel,
    raw: Sequence[str],
    values: np.ndarray,
    learned: int,
    names: list[str],
    order: np.ndarray,
) -> int:
    """Rows out of time order: score all in time order, then write in the file's order."""
    import numpy as np

    res = tm.score(values[learned:])
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    for i, text in enumerate(raw):
        k = int(inv[i])
        w.writerow(
            [text, 1, "", "", "", ""] if k < learned else _row(text, k - learned, res, names)
        )
    return int(res.alarm.sum())


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
    learn_rows: Annotated[
        int | None,
        typer.Option(
            help="Learn normal behaviour from the first N rows (default: 30 % of the file, "
            "at least 3 rows per signal, at most 20,000)."
        ),
    ] = None,
    learn_until: Annotated[
        str | None, typer.Option(help="Learn from the rows before this time (ISO or epoch).")
    ] = None,
    learn_from: Annotated[
        Path | None,
        typer.Option(help="Learn from this known-normal CSV instead; every row of FILE is scored."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Score with a model saved by --save-model; every row is scored."),
    ] = None,
    save_model: Annotated[
        Path | None, typer.Option(help="Save the learned model here (.npz) to score other files.")
    ] = None,
    false_alarm_rate: Annotated[
        float,
        typer.Option(
            help="Expected share of normal rows alarmed; sets the alarm point from the "
            "learning rows (0.01 = 1 in 100)."
        ),
    ] = 0.01,
    multivariate: Annotated[
        bool,
        typer.Option(
            help="Model each asset's signals together (how they move with each other); "
            "--no-multivariate models each signal alone."
        ),
    ] = True,
) -> None:
    """Score a CSV row by row: learning rows are marked (learning=1, no score); every later row
    gets anomaly_score (0-1, 0.5 at the alarm point), alarm (0/1), the top signal and why."""
    import csv

    import numpy as np

    from plantmind.detect.learned import (
        MAX_LEARN_ROWS,
        LearnSettings,
        ModelFileError,
        TableModel,
        TooFewRowsError,
        default_learn_rows,
        min_learn_rows,
    )

    sources = [o for o, v in (("--learn-rows", learn_rows), ("--learn-until", learn_until),
                              ("--learn-from", learn_from), ("--model", model)) if v is not None]  # fmt: skip
    if len(sources) > 1:
        raise fail(f"choose one way to learn: {' and '.join(sources)} were both given")
    try:
        settings = LearnSettings(false_alarm_rate=false_alarm_rate)
    except ValueError as exc:
        raise fail(f"--false-alarm-rate: {exc}") from None

    raw_times, times, names, values, rep = _read(file, delimiter, time_column)
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        names, values = _pick(file, names, values, wanted)
    if not names:
        raise fail(f"{file}: no numeric column to score")
    n_rows = len(raw_times)
    order = None if bool(np.all(times[1:] >= times[:-1])) else np.argsort(times, kind="stable")
    notes: list[str] = []
    if order is not None:
        notes.append("rows are not in time order: scored in time order, written in file order")
        times, values = times[order], values[order]
    dup = int(np.sum(times[1:] == times[:-1])) if n_rows > 1 else 0
    if dup:
        notes.append(f"{dup:,} row(s) repeat the previous row's timestamp (scored in file order)")

    learned = 0  # rows of FILE used for learning (not scored)
    try:
        if model is not None:
            tm = TableModel.load(model)
            missing = [c for c in tm.names if c not in names]
            if missing:
                raise fail(f"{file}: the model needs column(s) {', '.join(missing)}")
            values = values[:, [names.index(c) for c in tm.names]]
            names = tm.names
            origin = f"model {model} (learned from {tm.learned_rows:,} rows)"
        else:
            groups = None
            if asset_map is not None:
                groups = _groups(asset_map, names, file)
            elif not multivariate:
                groups = [[j] for j in range(len(names))]
            if learn_from is not None:
                _, _, lnames, lvalues, _ = _read(learn_from, delimiter, time_column)
                missing = [c for c in names if c not in lnames]
                if missing:
                    raise fail(f"{learn_from}: no column(s) {', '.join(missing)} to learn from")
                lvalues = lvalues[:, [lnames.index(c) for c in names]]
                tm = TableModel.fit(lvalues, names, groups, settings)
                origin = f"{learn_from} (all {len(lvalues):,} rows)"
            else:
                if learn_until is not None:
                    learned = _learn_until_rows(learn_until, times)
                    how = f"rows before {learn_until}"
                elif learn_rows is not None:
                    learned = learn_rows
                    how = "--learn-rows"
                else:
                    widest = max(len(g) for g in groups) if groups else len(names)
                    learned = default_learn_rows(n_rows, widest)
                    how = "default: 30 % of the file"
                    if learned == MAX_LEARN_ROWS:
                        how = f"default: 30 % of the file, at most {MAX_LEARN_ROWS:,} rows"
                    elif learned == min_learn_rows(widest):
                        how = f"default: the fewest rows {widest} signal(s) need"
                if learned >= n_rows:
                    raise fail(
                        f"{file}: learning from {learned:,} of {n_rows:,} rows leaves nothing "
                        "to score"
                    )
                if learned < 1:
                    raise fail(f"{file}: no row to learn from ({how})")
                tm = TableModel.fit(values[:learned], names, groups, settings)
                origin = f"rows 1–{learned:,} ({how})"
    except TooFewRowsError as exc:
        raise fail(f"{file}: {exc}") from None
    except ModelFileError as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:
        raise fail(f"{file}: {exc}") from None

    if save_model is not None:
        tm.save(save_model)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        if order is None:
            alarmed = _write_in_order(w, tm, raw_times, values, learned, names)
        else:
            alarmed = _write_in_file_order(w, tm, raw_times, values, learned, names, order)
    for msg in rep.problems:
        err.print(msg, highlight=False)
    for col, why in tm.excluded.items():
        notes.append(f"not scored: {col} ({why})")
    for msg in notes:
        err.print(f"{file}: {msg}", highlight=False)
    scored = n_rows - learned
    first = learned + 1
    console.print(
        f"{file}: {n_rows:,} rows × {len(tm.scored_columns())} signal(s); learned from {origin}; "
        f"scored rows {first:,}–{n_rows:,}: {alarmed:,} of {scored:,} alarmed "
        f"→ {out}",
        highlight=False,
    )
    console.print(
        f"alarm point: {tm.settings.false_alarm_rate:.1%} of the learning rows scored out of "
        f"fold, × {tm.settings.margin:g} for what a short learning period cannot show"
        + (f"; model saved to {save_model}" if save_model is not None else ""),
        highlight=False,
    )
