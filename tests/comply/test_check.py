"""``run_check`` end to end without a model: the deliberate omissions of a procedure come out
as missing, every "covered" row cites a passage that holds the requirement's substance, and
the matrix, report and summary say what they should."""

from __future__ import annotations

import csv
import json

import mini_data as mini
import pytest

from plantmind.bench.comply_corpus import gold_1910_147 as gold
from plantmind.comply.check import run_check
from plantmind.comply.judge import DETERMINISTIC_NO_MODEL
from plantmind.comply.matrix import COLUMNS


def _rows(out) -> list[dict[str, str]]:
    with (out / "matrix.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _short(pid: str, section: str) -> str:
    return pid.removeprefix(section)


# --- a small made-up regulation: always runs ----------------------------------------------


@pytest.fixture
def mini_check(tmp_path):
    std, procs = mini.write(tmp_path / "in")
    return run_check(std, procs, tmp_path / "out"), tmp_path / "out"


def test_mini_regulation_statuses_and_evidence(mini_check):
    report, out = mini_check
    rows = _rows(out)
    assert [_short(r["paragraph"], mini.SECTION) for r in rows] == list(mini.REQUIREMENTS)
    status = {_short(r["paragraph"], mini.SECTION): r for r in rows}
    missing = {p for p, r in status.items() if r["status"] == "missing"}
    assert missing == mini.OMITTED
    for pid, words in mini.EVIDENCE.items():
        r = status[pid]
        assert r["status"] == "covered", (pid, r["status"], r["note"])
        assert words in r["evidence_text"].lower(), (pid, r["evidence_text"])
        assert r["evidence_source"] == "SOP-210_air_receivers.md" and r["evidence_section"]
    for pid in mini.OMITTED:
        assert status[pid]["evidence_text"] == "" and status[pid]["evidence_source"] == ""
    assert {r["judged_by"] for r in rows} == {DETERMINISTIC_NO_MODEL}
    assert report.counts == {"covered": 7, "partial": 0, "missing": 3}


def test_mini_outputs(mini_check):
    report, out = mini_check
    with (out / "matrix.csv").open(encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(COLUMNS)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == report.counts and summary["requirements"] == 10
    assert summary["model"] is None and summary["judged_by"] == {DETERMINISTIC_NO_MODEL: 10}
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "No model judged this check" in page and "missing: 3" in page
    assert "Everything in the standard and the procedures was analysed." in page


def test_a_second_run_reuses_the_index_and_agrees(mini_check, tmp_path):
    report, out = mini_check
    again = run_check(tmp_path / "in" / "standard.md", tmp_path / "in" / "procedures", out)
    assert [r.status for r in again.rows] == [r.status for r in report.rows]
    assert again.seconds["index"] < 5


def test_an_unreadable_procedure_is_reported_and_the_others_still_count(tmp_path):
    std, procs = mini.write(tmp_path / "in")
    (procs / "scan.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    report = run_check(std, procs, tmp_path / "out")
    assert any("scan.pdf" in line and "not analysed" in line for line in report.not_analysed)
    assert report.counts["covered"] == 7
    assert "scan.pdf" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


# --- the real regulation and the example SOP ---------------------------------------------


@pytest.fixture(scope="module")
def cfr_rows(cfr_path, sop_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cfr")
    report = run_check(cfr_path, sop_dir, out)
    return report, _rows(out)


def test_the_deliberate_omissions_are_exactly_the_missing_rows(cfr_rows):
    _, rows = cfr_rows
    missing = {_short(r["paragraph"], gold.SECTION) for r in rows if r["status"] == "missing"}
    # ± 1 allowed by the brief; today it is exact
    assert len(missing ^ gold.OMITTED) <= 1, sorted(missing ^ gold.OMITTED)
    assert missing == gold.OMITTED


def test_every_covered_row_cites_real_evidence(cfr_rows):
    _, rows = cfr_rows
    covered = [r for r in rows if r["status"] == "covered"]
    # not a matcher that calls everything partial: most met requirements are covered
    assert len(covered) >= 45
    for r in covered:
        pid = _short(r["paragraph"], gold.SECTION)
        assert pid in gold.EVIDENCE, f"{pid} marked covered but the SOP omits it"
        text = r["evidence_text"].lower()
        assert any(w in text for w in gold.EVIDENCE[pid]), (pid, r["evidence_text"])
        assert r["evidence_source"] == "loto_sop.md" and r["evidence_page"]


def test_cfr_report_says_who_judged_and_what_is_not_a_requirement(cfr_rows):
    report, rows = cfr_rows
    assert report.requirements == 77 and report.model is None
    assert {r["judged_by"] for r in rows} == {DETERMINISTIC_NO_MODEL}
    others = report.not_requirements
    # 14 defined terms; (a)(1)-(a)(2) and their items; (c)(7)(ii), (d), (e), (f)(1)
    assert others["definition"] == 14 and others["scope"] == 18 and others["lead-in"] == 4
    assert others["informative"] > 0  # Appendix A
    page = (report.out / "report.html").read_text(encoding="utf-8")
    assert "Clauses read but not requirements:" in page and "definition 14" in page
