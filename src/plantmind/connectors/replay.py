"""Replay of a CSV of timestamped samples (a historian export) as a source of SampleBatch.

Two layouts are understood, detected from the header:

* **wide**: a time column and one column per signal (``timestamp,P-101.flow,P-101.vibration_rms``);
* **long**: a time column, a signal column and a value column (``ts,signal,value``).

The separator (``,`` ``;`` tab ``|``) and the time column (``timestamp``, ``time``, ``ts``,
``datetime``, ``date``; else the first column) are detected; timestamps may be ISO 8601 text
(without a zone they are taken as UTC) or epoch seconds. Problems are reported with the file's
line number and the rest of the file is still replayed: rows with the wrong number of fields or
an unreadable time are skipped; unreadable values become NaN (then dropped and counted by the
edge's quality gate); columns or signal names that the plant does not know are reported once
and ignored.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from plantmind.connectors.base import Source
from plantmind.core.plant import PlantIndex
from plantmind.core.types import SampleBatch

__all__ = ["CsvFormatError", "CsvReplay", "ReplayReport", "parse_time", "read_table"]

log = logging.getLogger("plantmind.connectors.replay")

TIME_NAMES = ("timestamp", "time", "ts", "datetime", "date", "time_stamp")
SIGNAL_NAMES = ("signal", "tag", "signal_id", "name", "sensor")
VALUE_NAMES = ("value", "val", "reading")


class CsvFormatError(ValueError):
    """The CSV cannot be replayed at all (no header, no time column, no known signal)."""


@dataclass
class ReplayReport:
    """What the replay saw: rows read, problems with their line numbers."""

    layout: str = ""
    delimiter: str = ","
    time_column: str = ""
    rows: int = 0
    samples: int = 0
    skipped_rows: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    missing_signals: list[str] = field(default_factory=list)
    unknown_signals: dict[str, int] = field(default_factory=dict)
    bad_values: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, msg: str, limit: int = 50) -> None:
        if len(self.problems) < limit:
            self.problems.append(msg)
            log.warning(msg)
        elif len(self.problems) == limit:
            self.problems.append("... further problems not listed")


def parse_time(text: str) -> float:
    """Epoch seconds from ISO 8601 text or a number (seconds, or milliseconds if > 1e11)."""
    t = text.strip()
    try:
        x = float(t)
    except ValueError:
        pass
    else:
        if not np.isfinite(x):
            raise ValueError(f"not a time: {text!r}")
        return x / 1000.0 if abs(x) > 1e11 else x
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _to_float(cell: str) -> float:
    c = cell.strip()
    if not c:
        return np.nan
    try:
        return float(c)
    except ValueError:
        # decimal comma exports (de_DE historians): "3,14"
        if c.count(",") == 1 and c.replace(",", "").replace("-", "").replace(".", "").isdigit():
            return float(c.replace(".", "").replace(",", "."))
        raise


@contextmanager
def _open_csv(
    path: Path, delimiter: str | None, time_column: str | None, rep: ReplayReport
) -> Iterator[tuple[Iterator[list[str]], list[str], int]]:
    """The CSV reader positioned after the header, the header, and the time column's index;
    the separator and the time column are detected unless given."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        head = fh.read(64 * 1024)
        fh.seek(0)
        if not head.strip():
            raise CsvFormatError(f"{path}: the file is empty")
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        rep.delimiter = delimiter
        reader = csv.reader(fh, delimiter=delimiter)
        header = [h.strip() for h in next(reader)]
        lower = [h.lower() for h in header]
        if time_column:
            if time_column not in header:
                raise CsvFormatError(f"{path}: time column {time_column!r} not in header {header}")
            t_col = header.index(time_column)
        else:
            t_col = next((lower.index(n) for n in TIME_NAMES if n in lower), 0)
        rep.time_column = header[t_col]
        yield reader, header, t_col


def _timed_rows(
    reader: Iterator[list[str]], width: int, t_col: int, rep: ReplayReport, path: Path
) -> Iterator[tuple[int, list[str], float]]:
    """``(line number, fields, epoch time)`` of every usable row; blank rows are passed over,
    rows with the wrong number of fields or an unreadable time are reported and skipped."""
    for line_no, row in enumerate(reader, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rep.rows += 1
        if len(row) != width:
            rep.skipped_rows += 1
            rep.note(f"{path}:{line_no}: {len(row)} fields, expected {width}; row skipped")
            continue
        try:
            t = parse_time(row[t_col])
        except ValueError as exc:
            rep.skipped_rows += 1
            rep.note(f"{path}:{line_no}: {exc}; row skipped")
            continue
        yield line_no, row, t


class CsvReplay(Source):
    """Replays ``path`` against the plant's signals.

    ``speed=None`` replays as fast as the pipeline takes it; ``speed=60`` paces by the file's
    timestamps at 60× real time. ``chunk_rows`` rows go into one batch.
    """

    name = "replay"

    def __init__(
        self,
        path: str | Path,
        index: PlantIndex,
        *,
        speed: float | None = None,
        chunk_rows: int = 5000,
        delimiter: str | None = None,
        time_column: str | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.index = index
        self.speed = speed
        self.chunk_rows = chunk_rows
        self.report = ReplayReport()
        self._delimiter = delimiter
        self._time_column = time_column
        self._closed = False
        if not self.path.is_file():
            raise CsvFormatError(f"{self.path}: no such file")

    def chunks(self) -> Iterator[SampleBatch]:
        """The file as batches, in file order (synchronous; ``batches()`` wraps it)."""
        rep = self.report
        with _open_csv(self.path, self._delimiter, self._time_column, rep) as (
            reader,
            header,
            t_col,
        ):
            lower = [h.lower() for h in header]
            sig_col = next((lower.index(n) for n in SIGNAL_NAMES if n in lower), None)
            val_col = next((lower.index(n) for n in VALUE_NAMES if n in lower), None)
            if sig_col is not None and val_col is not None and len(header) <= 4:
                rep.layout = "long"
                yield from self._long(reader, len(header), t_col, sig_col, val_col)
            else:
                rep.layout = "wide"
                yield from self._wide(reader, header, t_col)

    def _wide(
        self, reader: Iterator[list[str]], header: list[str], t_col: int
    ) -> Iterator[SampleBatch]:
        rep = self.report
        pos = self.index.signal_position()
        cols: list[int] = []
        sig_idx: list[int] = []
        for j, name in enumerate(header):
            if j == t_col:
                continue
            if name in pos:
                cols.append(j)
                sig_idx.append(pos[name])
            else:
                rep.unknown_columns.append(name)
        if rep.unknown_columns:
            rep.note(
                f"{self.path}: columns not in the plant, ignored: {', '.join(rep.unknown_columns)}"
            )
        present = {header[j] for j in cols}
        rep.missing_signals = [s for s in self.index.signal_ids if s not in present]
        if not cols:
            raise CsvFormatError(
                f"{self.path}: no column matches a signal id of the plant (header: {header[:10]})"
            )
        sig_row = np.asarray(sig_idx, dtype=np.int32)
        width = len(header)
        times: list[float] = []
        rows: list[list[float]] = []
        for line_no, row, t in _timed_rows(reader, width, t_col, rep, self.path):
            vals = []
            for j in cols:
                try:
                    vals.append(_to_float(row[j]))
                except ValueError:
                    rep.bad_values += 1
                    rep.note(
                        f"{self.path}:{line_no}: column {header[j]!r}: not a number: {row[j]!r}"
                    )
                    vals.append(np.nan)
            times.append(t)
            rows.append(vals)
            if len(rows) >= self.chunk_rows:
                yield self._wide_batch(times, rows, sig_row)
                times, rows = [], []
        if rows:
            yield self._wide_batch(times, rows, sig_row)

    def _wide_batch(
        self, times: list[float], rows: list[list[float]], sig_row: np.ndarray
    ) -> SampleBatch:
        t = np.asarray(times)
        v = np.asarray(rows, dtype=np.float64)
        n_rows, n_cols = v.shape
        self.report.samples += v.size
        return SampleBatch(np.tile(sig_row, n_rows), np.repeat(t, n_cols), v.ravel())

    def _long(
        self, reader: Iterator[list[str]], width: int, t_col: int, s_col: int, v_col: int
    ) -> Iterator[SampleBatch]:
        rep = self.report
        pos = self.index.signal_position()
        sig: list[int] = []
        ts: list[float] = []
        val: list[float] = []
        for line_no, row, t in _timed_rows(reader, width, t_col, rep, self.path):
            name = row[s_col].strip()
            s = pos.get(name)
            if s is None:
                if name not in rep.unknown_signals:
                    rep.note(
                        f"{self.path}:{line_no}: signal {name!r} is not in the plant; its rows are ignored"
                    )
                rep.unknown_signals[name] = rep.unknown_signals.get(name, 0) + 1
                continue
            try:
                x = _to_float(row[v_col])
            except ValueError:
                rep.bad_values += 1
                rep.note(f"{self.path}:{line_no}: not a number: {row[v_col]!r}")
                x = np.nan
            sig.append(s)
            ts.append(t)
            val.append(x)
            if len(sig) >= self.chunk_rows:
                rep.samples += len(sig)
                yield SampleBatch(np.asarray(sig), np.asarray(ts), np.asarray(val))
                sig, ts, val = [], [], []
        if sig:
            rep.samples += len(sig)
            yield SampleBatch(np.asarray(sig), np.asarray(ts), np.asarray(val))

    async def batches(self) -> AsyncIterator[SampleBatch]:
        wall0 = time.monotonic()
        t0: float | None = None
        for batch in self.chunks():
            if self._closed:
                return
            self.stats.batches += 1
            self.stats.samples += len(batch)
            if self.speed and len(batch):
                finite = batch.ts[np.isfinite(batch.ts)]
                if len(finite):
                    t0 = float(finite.min()) if t0 is None else t0
                    due = (float(finite.max()) - t0) / self.speed
                    delay = due - (time.monotonic() - wall0)
                    if delay > 0:
                        await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)
            yield batch

    async def close(self) -> None:
        self._closed = True


def read_table(
    path: str | Path, *, delimiter: str | None = None, time_column: str | None = None
) -> tuple[list[str], np.ndarray, list[str], np.ndarray, ReplayReport]:
    """A CSV as a table: raw time texts, epoch times, the numeric columns' names and their
    values (rows × columns, NaN where a cell is empty or not a number).

    A column is numeric when most of its non-empty cells parse as numbers (text columns such
    as a status or a batch id are left out and named in the report). Rows with the wrong
    number of fields or an unreadable time are skipped and reported with their line numbers.
    """
    p = Path(path)
    if not p.is_file():
        raise CsvFormatError(f"{p}: no such file")
    rep = ReplayReport(layout="table")
    raw_times: list[str] = []
    times: list[float] = []
    cells: list[list[str]] = []
    with _open_csv(p, delimiter, time_column, rep) as (reader, header, t_col):
        for _, row, t in _timed_rows(reader, len(header), t_col, rep, p):
            raw_times.append(row[t_col])
            times.append(t)
            cells.append(row)
    names: list[str] = []
    columns: list[np.ndarray] = []
    for j, name in enumerate(header):
        if j == t_col:
            continue
        col = np.full(len(cells), np.nan)
        good = bad = 0
        for i, row in enumerate(cells):
            try:
                col[i] = _to_float(row[j])
                good += 1
            except ValueError:
                bad += 1
        if good and good >= bad:
            names.append(name)
            columns.append(col)
            rep.bad_values += bad
        else:
            rep.unknown_columns.append(name)
    if rep.unknown_columns:
        rep.note(f"{p}: non-numeric columns left out: {', '.join(rep.unknown_columns)}")
    if not names:
        raise CsvFormatError(f"{p}: no numeric column besides the time column {header[t_col]!r}")
    values = np.column_stack(columns) if columns else np.empty((len(cells), 0))
    rep.samples = int(values.size)
    return raw_times, np.asarray(times), names, values, rep
