"""Bad input: a scanned PDF (pages with an image and no text), a PDF with some pages
unreadable, an empty file, an unknown type, binary content, a standard over the limit, and a
1,000-page standard (processed, in bounded time)."""

from __future__ import annotations

import time

import mini_data as mini
import pypdfium2 as pdfium
import pytest
from comply_support import write_pdf
from PIL import Image

from plantmind.comply.check import load_requirements, run_check
from plantmind.comply.ingest import ComplyError, read_standard
from plantmind.comply.synth import generate


def _scanned_pdf(path, pages: int = 2):
    """A PDF whose pages hold only an image (what a scanner makes) or nothing."""
    pdf = pdfium.PdfDocument.new()
    for i in range(pages):
        page = pdf.new_page(612, 792)
        if i == 0:
            image = pdfium.PdfImage.new(pdf)
            image.set_bitmap(pdfium.PdfBitmap.from_pil(Image.new("RGB", (200, 100), "gray")))
            image.set_matrix(pdfium.PdfMatrix().scale(400, 200).translate(100, 400))
            page.insert_obj(image)
            page.gen_content()
    pdf.save(str(path))
    pdf.close()
    return path


def test_a_scanned_pdf_is_refused_naming_its_pages(tmp_path):
    scan = _scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(ComplyError) as exc:
        read_standard(scan)
    msg = str(exc.value)
    assert str(scan) in msg and "no extractable text" in msg and "1-2" in msg
    assert "nothing was analysed" in msg


def test_pages_without_text_are_reported_and_the_rest_analysed(tmp_path):
    pdf = write_pdf(
        tmp_path / "std.pdf",
        [
            "(a) General.\n(1) The employer shall test every guard.\n"
            "(2) The employer shall record the test.",
            "",
            "(b) Records.\n(1) The employer shall keep records for five years.",
        ],
    )
    tree, reqs = load_requirements(pdf)
    assert [r.paragraph for r in reqs] == ["(a)(1)", "(a)(2)", "(b)(1)"]
    assert [r.page for r in reqs] == [1, 1, 3]
    (problem,) = tree.problems
    assert "without extractable text" in problem and problem.endswith(": 2")
    _, procs = mini.write(tmp_path / "in")
    report = run_check(pdf, procs, tmp_path / "out")
    assert any("nothing analysed from them: 2" in line for line in report.not_analysed)
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "nothing analysed from them: 2" in page


def test_empty_unknown_and_binary_files(tmp_path):
    empty = tmp_path / "std.txt"
    empty.write_text("")
    with pytest.raises(ComplyError, match="empty file"):
        read_standard(empty)
    blank = tmp_path / "blank.md"
    blank.write_text("   \n\n  \n")
    with pytest.raises(ComplyError, match="no text"):
        read_standard(blank)
    odd = tmp_path / "std.docx"
    odd.write_bytes(b"PK\x03\x04 data")
    with pytest.raises(ComplyError, match=r"unsupported file type \.docx"):
        read_standard(odd)
    binary = tmp_path / "std.txt"
    binary.write_bytes(b"\x00\x01\x02 binary")
    with pytest.raises(ComplyError, match="binary content"):
        read_standard(binary)


def test_a_standard_over_the_limit_is_refused_with_the_limit(tmp_path):
    std = tmp_path / "huge.md"
    std.write_text("(a) The employer shall do A.\n\n" * 2000, encoding="utf-8")
    with pytest.raises(ComplyError) as exc:
        read_standard(std, max_chars=10_000)
    assert str(std) in str(exc.value) and "over the limit of 10,000 characters" in str(exc.value)


def test_a_pdf_over_the_page_limit_is_read_up_to_it_and_says_so(tmp_path):
    pdf = write_pdf(tmp_path / "long.pdf", [f"({c}) The employer shall do {c}." for c in "abcd"])
    text = read_standard(pdf, max_pages=2)
    assert len(text.pages) == 2
    assert text.problems == ["pages 3-4 not analysed: over the limit of 2 pages"]


@pytest.mark.slow
def test_a_1000_page_standard_is_processed(tmp_path):
    std = tmp_path / "long.md"
    data = generate(1000, seed=3)
    std.write_text(data.standard, encoding="utf-8")
    t = time.perf_counter()
    tree, reqs = load_requirements(std)
    seconds = time.perf_counter() - t
    assert tree.pages >= 1000
    assert len(reqs) == data.requirements
    assert tree.not_analysed == []
    assert seconds < 30, f"{seconds:.1f} s to extract 1,000 pages"
