"""Replay of a CSV of timestamped samples (a historian export) as a source of SampleBatch.

Two layouts are understood, detected from the header:

* **wide**: a time column and one column per signal (``timestamp,P-101.flow,P-101.vibration_rms``);
* **long**: a time column, a signal column and a value column (``ts,signal,value``).

The separator (``,`` ``;`` tab ``|``) and the time column (``timestamp``, ``time``, ``ts``,
``datetime``, ``date``; else the first column) are detected; timestamps may be ISO 8601 text
(without a zone they are taken as UTC) or epoch seconds. Problems are reported with the file's
line number and the rest of the file is still replayed: rows with the wrong number of fields, an
unreadable time or a quote that is not closed on the same line are skipped; unreadable values
become NaN (then dropped and counted by the edge's quality gate); columns or signal names that
the plant does not know are reported once and ignored.

Each physical line is one row: a quoted field may hold the separator but not a line break. A
historian export has no multi-line cells, while a stray quote is common in hand-edited files;
letting it open a field that runs on over the following lines would swallow good rows silently
and shift every later line number. A file that is not text (NUL bytes, or not UTF-8 in its first
64 KiB) is refused with :class:`CsvFormatError`.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import logging
import time
from array import array
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

import numpy as np

from plantmind.connectors.base import Source
from plantmind.core.plant import PlantIndex
from plantmind.core.types import SampleBatch

__all__ = [
    "CsvFormatError",
    "CsvReplay",
    "ReplayReport",
    "TextColumn",
    "parse_time",
    "read_table",
]

log = logging.getLogger("plantmind.connectors.replay")

TIME_NAMES = ("timestamp", "time", "ts", "datetime", "date", "time_stamp")
SIGNAL_NAMES = ("signal", "tag", "signal_id", "name", "sensor")
VALUE_NAMES = ("value", "val", "reading")
HEAD_BYTES = 64 * 1024  # sniffed for the separator and checked for binary content
SKIPPED_LINES_KEPT = 10_000  # line numbers of skipped rows kept in the report (bounded memory)


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
    skipped_lines: list[int] = field(default_factory=list)  # the first SKIPPED_LINES_KEPT

    def skip(self, line_no: int, msg: str) -> None:
        """Count a skipped row, keep its physical line number and report ``msg``."""
        self.skipped_rows += 1
        if len(self.skipped_lines) < SKIPPED_LINES_KEPT:
            self.skipped_lines.append(line_no)
        self.note(msg)

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


# A physical line's fields: the fields, or None with the reason the line is not a row.
_Line = tuple[int, list[str] | None, str]


def _split(line: str, delimiter: str) -> tuple[list[str] | None, str]:
    """The fields of one physical line, or ``(None, why)`` when it cannot be a row."""
    if '"' not in line:
        # no quoting on the line: a plain split is what the csv module would do, and faster
        return line.rstrip("\r\n").split(delimiter), ""
    if not line.endswith(("\n", "\r")):
        line += "\n"  # the last line of a file: make an open quote show up as below
    try:
        row = next(csv.reader((line,), delimiter=delimiter))
    except csv.Error as exc:
        return None, str(exc)
    # The line's own break can only end up inside a field when a quote opened and never closed
    # (a closed field cannot hold it: the reader saw exactly one line).
    if any("\n" in f or "\r" in f for f in row):
        return None, "a quote opens a field and is not closed on this line"
    return row, ""


def _physical_rows(lines: Iterable[str], delimiter: str, first_line: int) -> Iterator[_Line]:
    for line_no, line in enumerate(lines, start=first_line):
        row, why = _split(line, delimiter)
        yield line_no, row, why


def _check_text(path: Path) -> str:
    """The first block of ``path`` as text; CsvFormatError when it is binary or not UTF-8."""
    with path.open("rb") as fh:
        block = fh.read(HEAD_BYTES)
    if b"\0" in block:
        raise CsvFormatError(
            f"{path}: not a text CSV (NUL bytes in the first {len(block):,} bytes: a binary file?)"
        )
    try:
        # incremental, so that a character cut at the end of the block is no error
        return codecs.getincrementaldecoder("utf-8-sig")().decode(
            block, final=len(block) < HEAD_BYTES
        )
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"{path}: not a UTF-8 text CSV (undecodable byte at offset {exc.start}: "
            "a binary file, or another encoding?)"
        ) from None


@contextmanager
def _open_csv(
    path: Path, delimiter: str | None, time_column: str | None, rep: ReplayReport
) -> Iterator[tuple[Iterator[_Line], list[str], int]]:
    """The file's physical lines after the header as ``(line number, fields or None, why)``,
    the header, and the time column's index; the separator and the time column are detected
    unless given."""
    head = _check_text(path)
    if not head.strip():
        raise CsvFormatError(f"{path}: the file is empty")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    rep.delimiter = delimiter
    # errors="replace": the first block was checked; a bad byte further on spoils its cell
    # (reported as not a number / not a time), not the whole replay
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        first, why = _split(fh.readline(), delimiter)
        if first is None:
            raise CsvFormatError(f"{path}:1: unreadable header: {why}")
        header = [h.strip() for h in first]
        lower = [h.lower() for h in header]
        if time_column:
            if time_column not in header:
                raise CsvFormatError(f"{path}: time column {time_column!r} not in header {header}")
            t_col = header.index(time_column)
        else:
            t_col = next((lower.index(n) for n in TIME_NAMES if n in lower), 0)
        rep.time_column = header[t_col]
        yield _physical_rows(fh, delimiter, 2), header, t_col


def _timed_rows(
    lines: Iterator[_Line], width: int, t_col: int, rep: ReplayReport, path: Path
) -> Iterator[tuple[int, list[str], float]]:
    """``(line number, fields, epoch time)`` of every usable row; blank rows are passed over,
    rows with an open quote, the wrong number of fields or an unreadable time are reported
    (with their physical line number) and skipped."""
    for line_no, row, why in lines:
        if row is None:
            rep.rows += 1
            rep.skip(line_no, f"{path}:{line_no}: {why}; row skipped")
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rep.rows += 1
        if len(row) != width:
            rep.skip(line_no, f"{path}:{line_no}: {len(row)} fields, expected {width}; row skipped")
            continue
        try:
            t = parse_time(row[t_col])
        except ValueError as exc:
            rep.skip(line_no, f"{path}:{line_no}: {exc}; row skipped")
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
        self, reader: Iterator[_Line], header: list[str], t_col: int
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
        self, reader: Iterator[_Line], width: int, t_col: int, s_col: int, v_col: int
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


class TextColumn(Sequence[str]):
    """A read-only column of short texts held compactly: blocks of texts joined into one
    string each, instead of one Python object per cell (a row's raw time costs its characters,
    not ~70 bytes of object). Texts must not contain a line break, which a physical-line CSV
    field never does. Reading in order splits each block once."""

    BLOCK = 4096

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._pending: list[str] = []
        self._n = 0
        self._cached: tuple[int, list[str]] = (-1, [])

    def append(self, text: str) -> None:
        self._pending.append(text)
        self._n += 1
        if len(self._pending) == self.BLOCK:
            self._blocks.append("\n".join(self._pending))
            self._pending = []

    def __len__(self) -> int:
        return self._n

    def _block(self, k: int) -> list[str]:
        if k == len(self._blocks):
            return self._pending
        if self._cached[0] != k:
            self._cached = (k, self._blocks[k].split("\n"))
        return self._cached[1]

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("TextColumn index out of range")
        return self._block(i // self.BLOCK)[i % self.BLOCK]

    def __iter__(self) -> Iterator[str]:
        for k in range(len(self._blocks)):
            yield from self._blocks[k].split("\n")
        yield from list(self._pending)


class _Blocks:
    """Rows of floats gathered in fixed-size float64 blocks (no per-cell Python object
    outlives its block), assembled at the end with only the wanted columns."""

    ROWS = 16_384

    def __init__(self, width: int) -> None:
        self.width = width
        self.n = 0
        self._done: list[np.ndarray] = []
        self._rows: list[list[float]] = []

    def append(self, row: list[float]) -> None:
        self._rows.append(row)
        self.n += 1
        if len(self._rows) == self.ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._done.append(np.asarray(self._rows, dtype=np.float64).reshape(-1, self.width))
            self._rows = []

    def take(self, cols: list[int] | None = None) -> np.ndarray:
        """The rows × ``cols`` (all by default) array; the blocks are released as they are
        copied, and the result's pages are only touched as it fills, so the peak stays near
        one copy of the data."""
        self._flush()
        width = self.width if cols is None else len(cols)
        out = np.empty((self.n, width), dtype=np.float64)
        a = 0
        self._done.reverse()
        while self._done:
            block = self._done.pop()
            out[a : a + len(block)] = block if cols is None else block[:, cols]
            a += len(block)
            del block
        return out


def read_table(
    path: str | Path, *, delimiter: str | None = None, time_column: str | None = None
) -> tuple[Sequence[str], np.ndarray, list[str], np.ndarray, ReplayReport]:
    """A CSV as a table: raw time texts, epoch times, the numeric columns' names and their
    values (rows × columns, NaN where a cell is empty or not a number).

    A column is numeric when most of its non-empty cells parse as numbers (text columns such
    as a status or a batch id are left out and named in the report). Rows with the wrong
    number of fields, an open quote or an unreadable time are skipped and reported with their
    line numbers. Cells are converted as they are read and held as float64 (the raw times in
    a :class:`TextColumn`), so memory stays near the size of the numbers, not of the text.
    """
    p = Path(path)
    if not p.is_file():
        raise CsvFormatError(f"{p}: no such file")
    rep = ReplayReport(layout="table")
    raw_times = TextColumn()
    with _open_csv(p, delimiter, time_column, rep) as (lines, header, t_col):
        data_cols = [j for j in range(len(header)) if j != t_col]
        values = _Blocks(len(data_cols))
        times = array("d")
        bad = [0] * len(data_cols)
        nan = float("nan")
        for _, row, t in _timed_rows(lines, len(header), t_col, rep, p):
            vals: list[float] = []
            for k, j in enumerate(data_cols):
                try:
                    vals.append(_to_float(row[j]))
                except ValueError:
                    bad[k] += 1
                    vals.append(nan)
            values.append(vals)
            times.append(t)
            raw_times.append(row[t_col])
    n = values.n
    names: list[str] = []
    keep: list[int] = []
    for k, j in enumerate(data_cols):
        good = n - bad[k]  # as before: an empty cell counts as readable (NaN)
        if good and good >= bad[k]:
            names.append(header[j])
            keep.append(k)
            rep.bad_values += bad[k]
        else:
            rep.unknown_columns.append(header[j])
    if rep.unknown_columns:
        rep.note(f"{p}: non-numeric columns left out: {', '.join(rep.unknown_columns)}")
    if not names:
        raise CsvFormatError(f"{p}: no numeric column besides the time column {header[t_col]!r}")
    table = values.take(None if len(keep) == len(data_cols) else keep)
    rep.samples = int(table.size)
    # a view of the array's buffer, not a second copy of every time
    return raw_times, np.frombuffer(times, dtype=np.float64), names, table, rep
