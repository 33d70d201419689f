"""CSV replay through the edge node: both layouts, separators, and bad input reported with
line numbers while the valid data around it is still processed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from plantmind.connectors.replay import CsvFormatError, CsvReplay, parse_time
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
