"""The EU legislative layout (plantmind.bench.comply_layouts.eu_articles): a made-up
regulation with recitals, chapters, articles with numbered paragraphs, points, sub-points,
indents and subparagraphs, an unnumbered article, definitions, a "may" paragraph, a
commencement article and an annex with decimal clauses, as Markdown, as plain text and as a
PDF in one or two columns; designators in the EU citation form (``Article 3(2)(c)(i)``,
``Annex I 1.1.1(b), second indent``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantmind.bench import comply_layouts as layouts
from plantmind.comply.clauses import ClauseTree, _is_eu, parse_clauses, parse_text
from plantmind.comply.ingest import StandardText, read_standard
from plantmind.comply.requirements import extract_requirements, label_clauses
from plantmind.knowledge.loaders import split_lines, text_pages


def _assert_gold(tree: ClauseTree) -> None:
    reqs = extract_requirements(tree)
    got = [r.paragraph for r in reqs]
    gold = list(layouts.EU_GOLD)
    hit = set(got) & set(gold)
    assert len(hit) / len(gold) == 1.0, f"missed: {[g for g in gold if g not in got]}"
    assert len(hit) / len(got) == 1.0, f"not in the gold list: {[g for g in got if g not in gold]}"
    assert got == gold  # in document order
    for r, (_, text) in zip(reqs, layouts.eu_expected(), strict=True):
        assert layouts.norm(text) in layouts.norm(r.text), r.paragraph
    assert tree.not_analysed == []


def test_the_eu_corpus_is_what_the_brief_asks():
    gold = layouts.EU_GOLD
    assert 20 <= len(gold) <= 30
    assert any(d.count("(") == 3 for d in gold)  # a sub-point
    assert any("indent" in d for d in gold) and any("subparagraph" in d for d in gold)
    assert "Article 4" in gold and any(d.startswith("Annex I 1.1.1(") for d in gold)


@pytest.mark.parametrize("render", ["markdown", "plain"])
def test_eu_text_gives_its_gold_list(render: str):
    text = layouts.eu_articles() if render == "markdown" else layouts.eu_plain()
    _assert_gold(parse_text(text, "eu.md"))


@pytest.mark.parametrize("pdf", ["one-column", "two-columns-row-by-row", "two-columns"])
def test_eu_pdf_gives_its_gold_list(tmp_path: Path, pdf: str):
    path = tmp_path / "eu.pdf"
    if pdf == "one-column":
        layouts.write_pdf_pages(path, layouts.eu_plain(), header=layouts.EU_HEADER)
    else:
        layouts.write_two_column_pdf(
            path,
            layouts.eu_plain(),
            row_by_row=pdf.endswith("row-by-row"),
            header=layouts.EU_HEADER,
        )
    text = read_standard(path)
    assert text.n_pages >= 2
    lines = [ln for _, page in text.pages for ln in page]
    assert not any(layouts.EU_HEADER in ln for ln in lines)
    _assert_gold(parse_clauses(text))


def test_eu_structure_and_labels():
    tree = parse_text(layouts.eu_articles(), "eu.md")
    by = tree.by_id
    assert by["Article 3(2)(c)(i)"].parent == "Article 3(2)(c)"
    assert by["Article 3(2)(c)"].parent == "Article 3(2)"
    assert by["Article 3(3)"].parent == "Article 3"  # not a point of paragraph 2
    assert by["Article 3(5)(a), first indent"].parent == "Article 3(5)(a)"
    assert by["Annex I 1.1.1(a)"].parent == "Annex I 1.1.1"
    assert by["Annex I 1.1.1"].parent == "Annex I 1.1"
    assert by["Article 3"].title == "Obligations of manufacturers"
    assert by["Article 5"].title == "Instructions"  # "Article 5 — Instructions"
    assert by["Article 6"].title == "Conformity assessment procedures"  # "**Article 6**"
    labels = {lab.clause.id: lab for lab in label_clauses(tree)}
    assert labels["Article 3(2)"].modality == "lead-in"
    assert labels["Article 3(2)(a)"].lead_in == "Article 3(2)"
    assert labels["Article 3(4)"].modality == "may"
    assert labels["Article 5, second subparagraph"].modality == "may"
    assert labels["Article 7"].modality == "statement"  # entry into force
    assert labels["Annex I 1.2.2"].modality == "should"
    for k in (1, 2, 3):  # recitals, even with "shall" / "must"
        assert labels[f"Recital {k}"].modality == "informative"
    assert [c.id for c in tree.clauses if c.kind == "definition"] == [
        "Article 2(1)",
        "Article 2(2)",
        "Article 2(3)",
    ]
    assert labels["Article 1(2)(a)"].modality == "scope"
    assert all(lab.modality == "informative" for k, lab in labels.items() if "Closing" in k)
    req = {r.paragraph: r for r in extract_requirements(tree)}
    assert "manufacturers shall:" in req["Article 3(2)(a)"].context
    assert "Obligations of manufacturers" in req["Article 3(1)"].context


BRIEF = """# Regulation (EU) 2099/1 on machinery safety
## CHAPTER II — OBLIGATIONS OF ECONOMIC OPERATORS
### Article 10
**Obligations of manufacturers**

1. When placing machinery on the market, manufacturers shall ensure that it has been designed and constructed in accordance with Annex III.

2. Before placing machinery on the market, manufacturers shall:

(a) draw up the technical documentation referred to in Annex IV;

(b) carry out the relevant conformity assessment procedure referred to in Article 25.

3. Manufacturers shall keep the technical documentation for at least 10 years.

4. Manufacturers may appoint an authorised representative.
"""


def test_the_example_of_the_issue():
    tree = parse_text(BRIEF, "eu.md")
    got = [(r.paragraph, r.modality, r.inherited) for r in extract_requirements(tree)]
    assert got == [
        ("Article 10(1)", "shall", False),
        ("Article 10(2)(a)", "shall", True),
        ("Article 10(2)(b)", "shall", True),
        ("Article 10(3)", "shall", False),
    ]


def test_one_line_article_headings_and_the_letter_i_after_h():
    points = "\n\n".join(f"({chr(97 + k)}) keep record {k};" for k in range(10))
    text = (
        "Article 8 — Records\n\nOperators shall keep the following records:\n\n"
        + points
        + "\n\nArticle 9 — Penalties\n\n1. Member States shall lay down penalties.\n"
    )
    tree = parse_text(text, "eu.txt")
    got = [r.paragraph for r in extract_requirements(tree)]
    assert got == [f"Article 8({chr(97 + k)})" for k in range(10)] + ["Article 9(1)"]
    assert tree.by_id["Article 8(i)"].parent == "Article 8"


def _text(s: str) -> StandardText:
    return StandardText("t", "t", text_pages(split_lines(s)), 1)


def test_the_other_layouts_are_not_read_as_eu():
    for render in (layouts.one_per_line, layouts.ecfr_inline, layouts.iso):
        assert not _is_eu(_text(render()))
    assert _is_eu(_text(layouts.eu_plain())) and _is_eu(_text(BRIEF))


def test_a_standard_citing_a_directive_is_not_read_as_an_act():
    """A harmonised standard names its directive in the foreword, and a PDF may wrap
    "Article 5" onto a line of its own: still a standard, its clauses still requirements."""
    iso = (
        "ISO 12100 Safety of machinery\n\nForeword\n\nThis document supports essential "
        "requirements of Directive 2006/42/EC.\n\n1 Strategy\n\n1.1 The designer shall take "
        "into account the intended use, as referred to in\nArticle 5\nof the Directive.\n\n"
        "1.2 The designer shall document the risk assessment.\n\nArticle 10-compliant parts "
        "shall be marked.\n"
    )
    assert not _is_eu(_text(iso))
    got = [r.paragraph for r in extract_requirements(parse_text(iso, "iso.txt"))]
    assert "1.1" in got and "1.2" in got


def test_only_the_act_itself_applies_from_a_date():
    text = (
        "Article 1\n\n1. Contractors shall apply from their first day the lockout rules.\n\n"
        "Article 2\n\nThis Regulation shall enter into force on the twentieth day.\n"
    )
    got = [r.paragraph for r in extract_requirements(parse_text(text, "eu.txt"))]
    assert got == ["Article 1(1)"]
