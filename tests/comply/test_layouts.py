"""The same standard in every layout gives the same requirements (plantmind.bench.comply_layouts):
one paragraph a line, the eCFR's inline layout, ISO decimal clauses, and each of these as a
PDF in one column (the tests' PDF writer) or two (drawn row by row or column by column),
with running headers, page numbers and hyphenation. And a made-up regulation in the eCFR
inline layout against its gold list (tests/comply/gold_ecfr_inline.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantmind.bench import comply_layouts as layouts
from plantmind.bench.comply_corpus import ecfr_inline as ecfr
from plantmind.comply.clauses import ClauseTree, parse_clauses, parse_text
from plantmind.comply.ingest import read_standard
from plantmind.comply.requirements import extract_requirements, label_clauses

RENDERINGS = {
    "one-per-line": (layouts.one_per_line, "cfr"),
    "ecfr-inline": (layouts.ecfr_inline, "cfr"),
    "iso": (layouts.iso, "iso"),
}


def _found(tree: ClauseTree) -> list[tuple[str, str]]:
    section = tree.section or ""
    return [
        (r.paragraph.removeprefix(section).strip(), layouts.norm(r.text))
        for r in extract_requirements(tree)
    ]


def _want(style: str) -> list[tuple[str, str]]:
    return [(d, layouts.norm(t)) for d, t in layouts.expected(style)]


def test_the_corpus_standard_is_what_the_brief_asks():
    want = layouts.expected("cfr")
    assert 25 <= len(want) <= 40
    assert max(d.count("(") for d, _ in want) == 5  # five levels deep
    assert [d for d, _ in layouts.expected("iso")][-1] == "B.1"  # the normative annex


@pytest.mark.parametrize("name", list(RENDERINGS))
def test_each_text_layout_gives_the_same_requirements(name: str):
    render, style = RENDERINGS[name]
    tree = parse_text(render(), f"{name}.md")
    assert _found(tree) == _want(style)
    assert tree.not_analysed == []


@pytest.mark.parametrize("pdf", ["one-column", "two-columns-row-by-row", "two-columns"])
@pytest.mark.parametrize("name", list(RENDERINGS))
def test_each_layout_as_a_pdf_gives_the_same_requirements(tmp_path: Path, name: str, pdf: str):
    render, style = RENDERINGS[name]
    path = tmp_path / f"{name}.pdf"
    if pdf == "one-column":
        layouts.write_pdf_pages(path, render())
    else:
        layouts.write_two_column_pdf(path, render(), row_by_row=pdf.endswith("row-by-row"))
    text = read_standard(path)
    assert text.n_pages >= 2
    lines = [ln for _, page in text.pages for ln in page]
    assert not any(layouts.HEADER.replace("—", "-") in ln for ln in lines)  # running header
    assert not any(ln.strip().startswith(("Page ", "- ")) for ln in lines)  # page numbers
    tree = parse_clauses(text)
    assert _found(tree) == _want(style)
    assert tree.not_analysed == []


def test_the_hyphenation_is_undone_and_the_pdf_really_is_hyphenated(tmp_path: Path):
    text = layouts.one_per_line()
    assert any(ln.endswith("-") for ln in layouts.pdf_lines(text, 42))
    path = layouts.write_two_column_pdf(tmp_path / "s.pdf", text, row_by_row=True)
    words = {w for _, lab in _found(parse_clauses(read_standard(path))) for w in lab.split()}
    assert {"interlocked", "inspections"} <= words


def test_definitions_notes_exception_and_appendices_in_every_layout():
    for name, (render, _) in RENDERINGS.items():
        tree = parse_text(render(), f"{name}.md")
        kinds = [c.kind for c in tree.clauses]
        assert kinds.count("definition") == len(layouts.DEFINITIONS), name
        assert "exception" in kinds and "note" in kinds, name
        labels = {lab.clause.id: lab.modality for lab in label_clauses(tree)}
        assert "informative" in labels.values(), name
        assert "may" in labels.values() and "should" in labels.values(), name


# --- a made-up regulation in the eCFR inline layout ---------------------------------------


def test_recall_and_precision_on_an_ecfr_inline_regulation():
    tree = parse_text(ecfr.TEXT, "ecfr.txt")
    got = {r.paragraph for r in extract_requirements(tree)}
    gold = {ecfr.full(p) for p in ecfr.GOLD}
    hit = got & gold
    assert len(hit) / len(gold) >= 0.95, f"missed: {sorted(gold - got)}"
    assert len(hit) / len(got) >= 0.95, f"not in the gold list: {sorted(got - gold)}"
    assert tree.not_analysed == []


def test_ecfr_inline_structure():
    tree = parse_text(ecfr.TEXT, "ecfr.txt")
    by = tree.by_id
    f = ecfr.full
    # heading, first sub-paragraph and a list three levels deep, all from one line
    assert by[f("(f)(1)(iii)(C)")].parent == f("(f)(1)(iii)")
    assert by[f("(f)(1)(iv)")].parent == f("(f)(1)")
    assert by[f("(f)")].heading_only and by[f("(f)")].text == "Operating procedures."
    # "; or, (iii)" and "; and, (E)" open items; the items lose the text after them
    assert by[f("(a)(2)(iii)")].text == "Normally unoccupied remote facilities."
    assert by[f("(d)(2)(i)(D)")].text.endswith("compositions; and,")
    # cross-references stay in the text
    assert "paragraph (e)(1) of this section" in by[f("(d)")].text
    assert "two (2) most recent" in by[f("(l)(5)")].text
    assert "(see appendix B to this section)" in by[f("(d)(2)(i)(A)")].text
    # the definitions: unnumbered terms, the first on the heading's line
    terms = [c.title for c in tree.clauses if c.kind == "definition"]
    assert terms == list(ecfr.TERMS)
    # the letter (i) after (h)(3)(ii)
    assert by[f("(i)(2)(iii)")].parent == f("(i)(2)")


def test_ecfr_without_blank_lines_and_with_italic_headings():
    text = ecfr.TEXT.replace("\n\n", "\n").replace(
        "(c) Employee participation.", "(c) *Employee participation.*"
    )
    tree = parse_text(text, "ecfr.md")
    got = {r.paragraph for r in extract_requirements(tree)}
    assert got == {ecfr.full(p) for p in ecfr.GOLD}
    assert tree.section == ecfr.SECTION
