"""Regressions from a review: a folder given as the standard, an output folder that is a
file, a previous run's report (or the standard itself) inside the procedures folder."""

from __future__ import annotations

import mini_data as mini
from typer.testing import CliRunner

from plantmind.cli import app
from plantmind.comply.check import run_check

runner = CliRunner()


def test_a_folder_as_the_standard_is_named_as_a_folder(tmp_path):
    res = runner.invoke(app, ["comply", "extract", str(tmp_path)])
    assert res.exit_code == 2
    assert "is a folder, not a file" in res.output and "Traceback" not in res.output


def test_out_that_is_a_file_exits_2_without_traceback(tmp_path):
    std, procs = mini.write(tmp_path / "in")
    out = tmp_path / "out.txt"
    out.write_text("x")
    res = runner.invoke(
        app, ["comply", "check", "--standard", str(std), "--procedures", str(procs),
              "--out", str(out)]
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "output must be a folder" in res.output and str(out) in res.output


def test_a_previous_report_in_the_procedures_folder_is_not_evidence(tmp_path):
    std, procs = mini.write(tmp_path / "in")
    first = run_check(std, procs, procs / "report")
    second = run_check(std, procs, procs / "report")  # report.html now lies in procs
    assert second.counts == first.counts
    assert second.procedures == first.procedures == ["SOP-210_air_receivers.md"]
    assert any("report.html not analysed" in line for line in second.not_analysed)
    assert all(r.evidence_source != "report.html" for r in second.rows)


def test_the_standard_inside_the_procedures_folder_is_not_evidence(tmp_path):
    std, procs = mini.write(tmp_path / "in")
    inside = procs / "standard.md"
    inside.write_text(std.read_text(encoding="utf-8"), encoding="utf-8")
    rep = run_check(inside, procs, tmp_path / "out")
    assert rep.procedures == ["SOP-210_air_receivers.md"]
    assert any("it is the standard being checked" in line for line in rep.not_analysed)
