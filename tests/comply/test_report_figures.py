"""The compliance report's figures: requirements by status and status per top-level clause
as inline SVG (well-formed, with a text equivalent, no scripts), the per-clause numbers in a
table, and the matrix table as before."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import mini_data as mini
import pytest

from plantmind.comply.check import run_check
from plantmind.comply.matrix import MatrixRow
from plantmind.comply.report import STATUS_COLOURS, clause_of, render_html

NS = "{http://www.w3.org/2000/svg}"


def _row(paragraph: str, status: str) -> MatrixRow:
    return MatrixRow(
        paragraph=paragraph, requirement=f"req {paragraph}", modality="shall",
        status=status,  # type: ignore[arg-type]
        evidence_source="", evidence_page=None, evidence_section="", evidence_text="",
        judged_by="deterministic",
    )  # fmt: skip


def _svgs(page: str) -> list[ET.Element]:
    roots = [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]
    for r in roots:
        assert r.get("role") == "img" and r.get("aria-label")
    return roots


@pytest.mark.parametrize(
    ("paragraph", "clause"),
    [
        ("1910.147(c)(7)(ii)", "1910.147(c)"),
        ("(a)(1)", "(a)"),
        ("4.2.1", "4"),
        ("A.3.1", "A"),
        ("Clause 5.1", "Clause 5"),
        ("7", "7"),
        ("Appendix A", "Appendix A"),
    ],
)
def test_clause_of(paragraph, clause):
    assert clause_of(paragraph) == clause


def test_figures_count_statuses_and_clauses():
    rows = [
        _row("1910.1(a)(1)", "covered"),
        _row("1910.1(a)(2)", "missing"),
        _row("1910.1(b)(1)", "partial"),
        _row("1910.1(b)(2)(i)", "covered"),
        _row("1910.1(<script>)", "covered"),
    ]
    summary = {"standard": "s", "counts": {"covered": 3, "partial": 1, "missing": 1}}
    page = render_html(summary, rows)
    assert "<script>" not in page and "<script" not in page
    by_status, per_clause, strip = _svgs(page)
    fills = [r.get("fill") for r in by_status.iter(f"{NS}rect")]
    assert fills == [STATUS_COLOURS[s] for s in ("covered", "partial", "missing")]
    texts = ["".join(t.itertext()) for t in by_status.iter(f"{NS}text")]
    assert {"3", "1", "covered", "partial", "missing"} <= set(texts)
    clause_labels = ["".join(t.itertext()) for t in per_clause.iter(f"{NS}text")]
    assert {"1910.1(a)", "1910.1(b)", "1910.1(<script>)"} <= set(clause_labels)
    assert len(list(strip.iter(f"{NS}g"))) == 5  # one cell per requirement
    # per-clause numbers as a table: covered, partial, missing, share covered
    assert "<tr><td>1910.1(a)</td><td>1</td><td>0</td><td>1</td><td>50%</td></tr>" in page
    assert "<tr><td>1910.1(b)</td><td>1</td><td>1</td><td>0</td><td>50%</td></tr>" in page
    # the matrix is still there, a row per requirement
    assert page.count("<tr class='covered'>") == 3 and "<th>evidence</th>" in page


def test_a_check_without_rows_still_has_the_status_figure():
    page = render_html({"standard": "s", "counts": {}}, [])
    (only,) = _svgs(page)
    assert "no requirements to count" in only.get("aria-label", "")


def test_mini_check_report_carries_its_figures(tmp_path):
    std, procs = mini.write(tmp_path / "in")
    report = run_check(std, procs, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    figures = _svgs(page)
    assert len(figures) == 3
    assert "<script" not in page.replace("&lt;script", "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    labels = ["".join(t.itertext()) for t in figures[0].iter(f"{NS}text")]
    assert str(report.counts["covered"]) in labels and str(report.counts["missing"]) in labels
