"""Loaders: real files of every supported kind, and the bad ones (corrupt, encrypted, empty,
unsupported) failing with a message that names the file and the reason."""

from __future__ import annotations

import pytest

from plantmind.core.plant import example_plant_path
from plantmind.knowledge.documents import LoaderError
from plantmind.knowledge.loaders import load_document
from plantmind.knowledge.workorders import parse_date


def test_pdf_keeps_page_numbers_and_reports_pages_without_text(make_pdf):
    pdf = make_pdf(
        "manual.pdf", ["Oil system\nCheck the oil level.", "", "Fuel system\nDrain the sump."]
    )
    doc = load_document(pdf)
    assert doc.pages == 3 and doc.kind == "pdf" and doc.source == "manual.pdf"
    assert {b.page for b in doc.blocks} == {1, 3}
    assert any("without extractable text" in p and ": 2" in p for p in doc.problems)


def test_pdf_max_pages_is_reported(make_pdf):
    pdf = make_pdf("long.pdf", [f"page {i}" for i in range(1, 11)])
    doc = load_document(pdf, max_pages=4)
    assert {b.page for b in doc.blocks} == {1, 2, 3, 4}
    assert any("only the first 4" in p for p in doc.problems)


def test_encrypted_pdf_is_a_clear_error(make_pdf):
    pdf = make_pdf("locked.pdf", ["secret"], encrypted=True)
    with pytest.raises(LoaderError, match="encrypted"):
        load_document(pdf)


def test_corrupt_pdf_empty_file_unsupported_type(tmp_path):
    corrupt = tmp_path / "broken.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    with pytest.raises(LoaderError, match="corrupt or not a PDF"):
        load_document(corrupt)
    empty = tmp_path / "empty.md"
    empty.write_text("")
    with pytest.raises(LoaderError, match="empty file"):
        load_document(empty)
    docx = tmp_path / "notes.docx"
    docx.write_bytes(b"PK\x03\x04")
    with pytest.raises(LoaderError, match=r"unsupported file type \.docx"):
        load_document(docx)
    with pytest.raises(LoaderError, match="no such file"):
        load_document(tmp_path / "missing.txt")


def test_pdf_without_any_text_says_ocr(make_pdf):
    pdf = make_pdf("scan.pdf", ["", ""])
    with pytest.raises(LoaderError, match="OCR"):
        load_document(pdf)


def test_markdown_headings_page_markers_steps_and_warnings(tmp_path):
    md = tmp_path / "sop.md"
    md.write_text(
        "<!-- page 1 -->\n# SOP-7 Pump seal change\n\nIntro text.\n\n"
        "## 3. Procedure\n\n1. Isolate the pump.\n\nWARNING: the casing may be hot.\n\n"
        "2. Drain the casing.\n   a. open the drain valve\n<!-- page 2 -->\n"
        "| Item | Torque |\n|---|---|\n| Gland nut | 25 N·m |\n",
        encoding="utf-8",
    )
    doc = load_document(md)
    kinds = [(b.kind, b.page, b.section) for b in doc.blocks]
    assert ("step", 1, "3. Procedure") in kinds
    assert ("warning", 1, "3. Procedure") in kinds
    assert ("table", 2, "3. Procedure") in kinds  # the section carries over the page break
    step2 = next(b for b in doc.blocks if b.step == 2)
    assert "open the drain valve" in step2.text
    assert doc.pages == 2


def test_text_form_feeds_are_pages(tmp_path):
    txt = tmp_path / "log.txt"
    txt.write_text("first page text\n\fsecond page text\n", encoding="utf-8")
    doc = load_document(txt)
    assert [(b.page, b.text) for b in doc.blocks] == [
        (1, "first page text"),
        (2, "second page text"),
    ]


def test_html_headings_lists_tables_and_no_script(tmp_path):
    html = tmp_path / "page.html"
    html.write_text(
        "<html><head><title>x</title><script>var a=1;</script></head><body>"
        "<h2>Lubrication</h2><p>Use ISO VG 68 oil.</p>"
        "<ol><li>Stop the pump.</li><li>Drain the oil.</li></ol>"
        "<table><tr><th>Part</th><th>Qty</th></tr><tr><td>Oil</td><td>0.9 L</td></tr></table>"
        "</body></html>",
        encoding="utf-8",
    )
    doc = load_document(html)
    text = "\n".join(b.text for b in doc.blocks)
    assert "var a" not in text
    assert [b.step for b in doc.blocks if b.kind == "step"] == [1, 2]
    assert any(b.kind == "table" and "0.9 L" in b.text for b in doc.blocks)
    assert all(b.section == "Lubrication" for b in doc.blocks)


def test_work_orders_default_mapping_assetops_layout(tmp_path):
    csv = tmp_path / "wo.csv"
    csv.write_text(
        "\ufeffwo_id,wo_description,collection,primary_code,primary_code_description,"
        "equipment_id,equipment_name,preventive,actual_finish\n"
        "WO1,Replace condenser fan brg,fan,M005,Bearing failure,CWC04013,Chiller 13,FALSE,"
        "4/6/16 14:00\n"
        ",,,,,,,,\n",
        encoding="utf-8",
    )
    doc = load_document(csv)
    (b,) = doc.blocks
    assert b.kind == "work_order" and b.asset == "CWC04013" and b.date == "2016-04-06"
    assert "corrective maintenance" in b.text and "M005 Bearing failure" in b.text


def test_work_orders_custom_mapping_and_errors(tmp_path):
    csv = tmp_path / "history.csv"
    csv.write_text("Tag;Finished;Problem;Fix\nP-7;2024-03-01;seal lkg;c/o seal\n;;;\n")
    doc = load_document(
        csv,
        work_order_columns={
            "asset": "Tag",
            "date": "Finished",
            "symptom": "Problem",
            "action": "Fix",
        },
    )
    (b,) = doc.blocks
    assert b.asset == "P-7" and b.date == "2024-03-01" and "Action: c/o seal" in b.text
    with pytest.raises(LoaderError, match="column 'Nope'"):
        load_document(csv, work_order_columns={"asset": "Nope"})
    with pytest.raises(LoaderError, match="unknown work-order field"):
        load_document(csv, work_order_columns={"colour": "Tag"})
    other = tmp_path / "numbers.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(LoaderError, match="not a work-order table"):
        load_document(other)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2024-03-01", "2024-03-01"),
        ("4/6/16 14:00", "2016-04-06"),
        ("01.02.2023", "2023-02-01"),
        ("soon", None),
    ],
)
def test_parse_date(text, iso):
    assert parse_date(text) == iso


def test_plant_sheet_lists_signals_with_units_and_ranges():
    doc = load_document(example_plant_path())
    p101 = next(b for b in doc.blocks if b.asset == "P-101")
    assert "P-101.vibration_rms" in p101.text and "mm/s" in p101.text and "0 to 4.5" in p101.text
