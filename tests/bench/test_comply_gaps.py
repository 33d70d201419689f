"""``bench comply --layouts --gaps``: every layout of the corpus gives its gold list, and the
gap figures add up (the figures themselves are the bench's to report, not the test's)."""

from __future__ import annotations

from pathlib import Path

from plantmind.bench.comply_gaps import LOCKBOX, gap_scores, layout_sweep


def test_every_layout_of_the_corpus_gives_its_gold_list() -> None:
    sweep = layout_sweep()
    assert {"one-per-line", "ecfr-inline", "iso", "pdf-two-column-row-by-row"} <= set(sweep)
    for name, row in sweep.items():
        assert row["recall"] == 1.0 and row["precision"] == 1.0, (name, row)


def test_gap_figures_add_up_and_the_lockbox_stays_shut(tmp_path: Path) -> None:
    figures = gap_scores(tmp_path)
    assert LOCKBOX not in figures
    assert figures["lockout_program"] == {"skipped": "29 CFR 1910.147 not given (--cfr)"}
    row = figures["process_safety"]
    assert row["requirements"] == 86
    assert row["gaps_found"] + len(row["gaps_not_found"]) == row["gaps"] >= 6
    assert sum(row["statuses"].values()) == row["requirements"]
    assert 0 <= row["false_gaps"] <= row["requirements"] - row["gaps"]
