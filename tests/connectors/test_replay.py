"""CSV replay through the edge node: both layouts, separators, and bad input reported with
line numbers while the valid data around it is still processed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from plantmind.connectors.replay import CsvFormatError, CsvReplay, parse_time, read_table
from plantmind.edge.node import EdgeNode


def _wide_csv(path: Path, n: int = 50, sep: str = ",") -> Path:
    lines = [sep.join(["timestamp", "P-101.flow", "P-101.discharge_pressure", "XYZ.unknown"])]
    for i in range(n):
        lines.append(
            sep.join([f"2026-03-01T00:{i // 60:02d}:{i % 60:02d}Z", f"{180 + i % 3}", "4.1", "7"])
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_wide_layout_with_unknown_column(tmp_path, index):
    src = CsvReplay(_wide_csv(tmp_path / "h.csv"), index)
    batches = list(src.chunks())
    rep = src.report
    assert rep.layout == "wide" and rep.time_column == "timestamp" and rep.rows == 50
    assert rep.unknown_columns == ["XYZ.unknown"]
    assert "P-102.flow" in rep.missing_signals
    b = batches[0]
    pos = index.signal_position()
    assert set(b.signal.tolist()) == {pos["P-101.flow"], pos["P-101.discharge_pressure"]}
    assert b.ts[0] == parse_time("2026-03-01T00:00:00Z")
    assert len(b) == 100


def test_semicolon_and_decimal_comma(tmp_path, index):
    p = tmp_path / "de.csv"
    p.write_text("Zeit;P-101.flow\n1767571200;181,5\n1767571201;182,25\n", encoding="utf-8")
    src = CsvReplay(p, index, time_column="Zeit")
    (b,) = list(src.chunks())
    assert src.report.delimiter == ";"
    assert b.value.tolist() == [181.5, 182.25]


def test_long_layout_and_unknown_signal(tmp_path, index):
    p = tmp_path / "long.csv"
    p.write_text(
        "ts,signal,value\n1000,P-101.flow,1.0\n1001,NOPE,2\n1002,P-101.flow,3.0\n", encoding="utf-8"
    )
    src = CsvReplay(p, index)
    (b,) = list(src.chunks())
    assert src.report.layout == "long" and src.report.unknown_signals == {"NOPE": 1}
    assert b.value.tolist() == [1.0, 3.0]
    assert any(":3: signal 'NOPE'" in m for m in src.report.problems)


def test_bad_rows_are_reported_with_line_numbers_and_the_rest_replayed(tmp_path, index):
    p = tmp_path / "bad.csv"
    p.write_text(
        "timestamp,P-101.flow\n"
        "1000,1.0\n"
        "1001,2.0,99\n"  # line 3: extra field
        "yesterday,3.0\n"  # line 4: bad time
        "1003,abc\n"  # line 5: bad value -> NaN
        "1004,5.0\n",
        encoding="utf-8",
    )
    src = CsvReplay(p, index)
    (b,) = list(src.chunks())
    rep = src.report
    assert rep.skipped_rows == 2 and rep.bad_values == 1
    assert any(m.endswith(":3: 3 fields, expected 2; row skipped") for m in rep.problems)
    assert any(":4: not a time: 'yesterday'" in m for m in rep.problems)
    assert b.ts.tolist() == [1000.0, 1003.0, 1004.0]
    assert np.isnan(b.value[1])


def test_unusable_files_fail_clearly(tmp_path, index):
    with pytest.raises(CsvFormatError, match="no such file"):
        CsvReplay(tmp_path / "missing.csv", index)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CsvFormatError, match="empty"):
        list(CsvReplay(empty, index).chunks())
    alien = tmp_path / "alien.csv"
    alien.write_text("time,a,b\n1,2,3\n", encoding="utf-8")
    with pytest.raises(CsvFormatError, match="no column matches a signal id"):
        list(CsvReplay(alien, index).chunks())


def test_replay_through_the_node_counts_drops(tmp_path, plant):
    p = tmp_path / "h.csv"
    rows = ["timestamp,P-101.flow"]
    rows += [f"{1000 + i},{180 + (i % 5)}" for i in range(100)]
    rows += ["1050,181", "1200,nan", "1201,inf"]  # out of order, NaN, inf
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    node = EdgeNode(plant, tmp_path / "home", restore=False)
    try:
        asyncio.run(node.run(CsvReplay(p, node.index)))
        assert node.stats.samples_scored == 100
        assert node.gate.counters.by_reason == {"out of order": 1, "not finite": 2}
        node.store.flush()
        kinds = {e.kind for e in node.store.list_events()}
        assert "data.dropped" in kinds
    finally:
        node.close()


def _stray_quote_csv(path: Path, n: int = 3000, n_bad: int = 70) -> tuple[Path, list[int]]:
    """``n`` rows, ``n_bad`` of them with a quote that opens a field and is never closed on its
    line (scattered, one at the very last line); the physical line numbers of those."""
    rng = np.random.default_rng(11)
    bad = set(rng.choice(np.arange(n - 1), n_bad - 1, replace=False).tolist()) | {n - 1}
    lines = ["timestamp,P-101.flow,P-101.discharge_pressure"]
    for i in range(n):
        flow, pres = f"{180 + i % 7}", f"{4 + (i % 3) * 0.1:.1f}"
        if i in bad:  # the quote opens the flow field, or the pressure field
            flow, pres = (f'"{flow}', pres) if i % 2 else (flow, f'"{pres}')
        lines.append(f"{1_700_000_000 + i},{flow},{pres}")
    path.write_text("\n".join(lines), encoding="utf-8")  # no final line break either
    return path, sorted(i + 2 for i in bad)  # line 1 is the header


def test_a_stray_quote_costs_only_its_own_row(tmp_path, plant):
    p, bad_lines = _stray_quote_csv(tmp_path / "quotes.csv")
    node = EdgeNode(plant, tmp_path / "home", restore=False)
    try:
        src = CsvReplay(p, node.index)
        asyncio.run(node.run(src))
        rep = src.report
        assert rep.rows == 3000 and rep.skipped_rows == 70
        assert rep.skipped_lines == bad_lines  # physical line numbers
        listed = [int(m.split(":")[1]) for m in rep.problems if "quote" in m]
        assert listed == bad_lines[: len(listed)] and len(listed) == 50  # the list is capped
        assert all("not closed on this line; row skipped" in m for m in rep.problems[:50])
        assert node.stats.samples_scored == (3000 - 70) * 2  # every good row scored
    finally:
        node.close()


def test_quoted_fields_that_close_on_their_line_still_parse(tmp_path, index):
    p = tmp_path / "q.csv"
    p.write_text(
        '"timestamp","P-101.flow"\r\n'
        '"1000","1.5"\r\n'
        '1001,"2,5"\r\n'  # a quoted decimal comma
        '1002,3"5\r\n'  # a quote inside a field is text: a bad value, not a bad row
        '"1003,4.0\r\n'  # open quote: skipped, reading resumes at the next line
        "1004,5.0\r\n",
        encoding="utf-8",
    )
    src = CsvReplay(p, index)
    (b,) = list(src.chunks())
    assert b.ts.tolist() == [1000.0, 1001.0, 1002.0, 1004.0]
    assert b.value.tolist()[:2] == [1.5, 2.5] and np.isnan(b.value[2])
    assert src.report.skipped_lines == [5] and src.report.bad_values == 1


def test_read_table_recovers_after_a_stray_quote_and_holds_values_compactly(tmp_path):
    p, bad_lines = _stray_quote_csv(tmp_path / "quotes.csv")
    raw, times, names, values, rep = read_table(p)
    good = 3000 - 70
    assert len(raw) == good and times.shape == (good,) and values.shape == (good, 2)
    assert values.dtype == np.float64 and values.flags.c_contiguous
    assert names == ["P-101.flow", "P-101.discharge_pressure"]
    assert rep.skipped_lines == bad_lines and not np.isnan(values).any()
    good_rows = [i for i in range(3000) if i + 2 not in set(bad_lines)]
    assert list(raw) == [str(1_700_000_000 + i) for i in good_rows]
    assert raw[0] == "1700000000" and raw[-1] == list(raw)[-1] and raw[1:3] == list(raw)[1:3]
    assert times.tolist() == [1_700_000_000.0 + i for i in good_rows]


def test_read_table_keeps_numeric_columns_across_blocks(tmp_path, monkeypatch):
    from plantmind.connectors import replay

    monkeypatch.setattr(replay._Blocks, "ROWS", 7)  # many blocks, one partial
    monkeypatch.setattr(replay.TextColumn, "BLOCK", 5)
    rows = ["ts,a,status,b"] + [f"{i},{i * 0.5},{'ok' if i % 9 else 'x1'},{-i}" for i in range(40)]
    rows[3] = "2,,ok,"  # empty cells: NaN, still numeric columns
    p = tmp_path / "t.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    raw, _, names, values, rep = read_table(p)
    assert names == ["a", "b"] and rep.unknown_columns == ["status"]
    assert list(raw) == [str(i) for i in range(40)] and [raw[i] for i in range(40)] == list(raw)
    assert np.isnan(values[2]).all()
    keep = [i for i in range(40) if i != 2]
    assert values[keep, 0].tolist() == [i * 0.5 for i in keep]
    assert values[keep, 1].tolist() == [-float(i) for i in keep]


def test_binary_input_is_refused_naming_the_file(tmp_path, index):
    blob = tmp_path / "export.csv"
    blob.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)  # e.g. an .xlsx renamed
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("timestamp,P-101.flow\n1,2\n# Temperatur in \u00b0C\n".encode("latin-1"))
    for path, what in ((blob, "NUL bytes"), (latin, "not a UTF-8 text CSV")):
        with pytest.raises(CsvFormatError, match=what) as info:
            list(CsvReplay(path, index).chunks())
        assert str(path) in str(info.value) and "\n" not in str(info.value)
        with pytest.raises(CsvFormatError, match=what):
            read_table(path)
