"""Loaders: a file on disk → a :class:`LoadedDocument` of structural blocks.

PDF (pypdfium2, page numbers kept, pages without extractable text reported), Markdown,
plain text, HTML, work-order CSV (see :mod:`plantmind.knowledge.workorders`) and the sensor
sheet of a plant.yaml (see :mod:`plantmind.knowledge.plantmeta`). Every failure is a
:class:`LoaderError` that names the file and the reason.
"""

from __future__ import annotations

import html.parser
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from plantmind.knowledge.documents import Block, LoadedDocument, LoaderError
from plantmind.knowledge.structure import blocks_from_lines, is_toc_page

__all__ = ["SUPPORTED_SUFFIXES", "load_document"]

PDF_SUFFIXES = (".pdf",)
MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm")
CSV_SUFFIXES = (".csv",)
YAML_SUFFIXES = (".yaml", ".yml")
SUPPORTED_SUFFIXES = (
    PDF_SUFFIXES + MARKDOWN_SUFFIXES + TEXT_SUFFIXES + HTML_SUFFIXES + CSV_SUFFIXES + YAML_SUFFIXES
)

DEFAULT_MAX_PAGES = 5_000


def load_document(
    path: str | Path,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    work_order_columns: dict[str, str] | None = None,
    page_callback: Callable[[int, int], None] | None = None,
) -> LoadedDocument:
    """Read ``path`` by its suffix.

    ``max_pages`` bounds what one PDF may add (pages past it are reported, not read);
    ``work_order_columns`` overrides the CSV column mapping (field → column name);
    ``page_callback(done, total)`` reports progress through a long PDF.
    """
    p = Path(path)
    if not p.is_file():
        raise LoaderError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoaderError(
            f"{p}: unsupported file type {suffix or '(none)'}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if p.stat().st_size == 0:
        raise LoaderError(f"{p}: empty file")
    if suffix in PDF_SUFFIXES:
        return load_pdf(p, max_pages=max_pages, page_callback=page_callback)
    if suffix in CSV_SUFFIXES:
        from plantmind.knowledge.workorders import load_work_orders

        return load_work_orders(p, columns=work_order_columns)
    if suffix in YAML_SUFFIXES:
        from plantmind.knowledge.plantmeta import load_plant_sheet

        return load_plant_sheet(p)
    text = _read_text(p)
    if not text.strip():
        raise LoaderError(f"{p}: no text (only whitespace)")
    if suffix in HTML_SUFFIXES:
        return _document(p, "html", _html_lines(text))
    # Not str.splitlines(): it splits on form feeds too, and a form feed is a page break here.
    lines = re.split(r"\r\n|\n|\r", text)
    return _document(p, "markdown" if suffix in MARKDOWN_SUFFIXES else "text", lines)


def _read_text(p: Path) -> str:
    data = p.read_bytes()
    if b"\x00" in data[:4096]:
        raise LoaderError(f"{p}: binary content, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


_PAGE_MARKER = re.compile(r"^\s*<!--\s*page\s+(\d+)\s*-->\s*$", re.IGNORECASE)
_COMMENT_LINE = re.compile(r"^\s*<!--.*-->\s*$")


def _pages(lines: list[str]) -> list[tuple[int | None, list[str]]]:
    """Split text lines into pages: ``<!-- page N -->`` marker lines (Markdown exports) or
    form feeds (text exports of paged documents). Without either, one page numbered None."""
    marked = any(_PAGE_MARKER.match(ln) for ln in lines) or any("\f" in ln for ln in lines)
    pages: list[tuple[int | None, list[str]]] = [(1 if marked else None, [])]
    for line in lines:
        if m := _PAGE_MARKER.match(line):
            if pages[-1][1] or len(pages) > 1:
                pages.append((int(m.group(1)), []))
            else:
                pages[-1] = (int(m.group(1)), [])
            continue
        if _COMMENT_LINE.match(line):
            continue
        if "\f" in line:
            head, *rest = line.split("\f")
            pages[-1][1].append(head)
            for part in rest:
                number = pages[-1][0]
                pages.append(((number or 0) + 1, [part]))
            continue
        pages[-1][1].append(line)
    return pages


def _document(p: Path, kind: str, lines: list[str]) -> LoadedDocument:
    blocks: list[Block] = []
    section: str | None = None
    pages = _pages(lines)
    for number, page_lines in pages:
        page_blocks, section = blocks_from_lines(page_lines, page=number, section=section)
        blocks.extend(page_blocks)
    if not blocks:
        raise LoaderError(f"{p}: no text found")
    n_pages = max((n for n, _ in pages if n is not None), default=1)
    return LoadedDocument(str(p), p.name, kind, n_pages, blocks)


def pdf_pages(p: Path, max_pages: int) -> Iterator[tuple[int, int, str | None, str | None]]:
    """The text of a PDF's pages, read one at a time: ``(number, n_pages, text, problem)`` for
    the first ``max_pages`` pages (``text`` None and ``problem`` saying why for an unreadable
    page; line ends normalised to ``\n``). An encrypted, corrupt or empty file is a
    :class:`LoaderError` naming it. Shared by the knowledge loader and compliance ingest."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(p))
    except pdfium.PdfiumError as exc:
        reason = str(exc)
        if "password" in reason.lower():
            raise LoaderError(f"{p}: encrypted PDF (password protected); not read") from None
        raise LoaderError(f"{p}: corrupt or not a PDF ({reason})") from None
    try:
        n_pages = len(pdf)
        if n_pages == 0:
            raise LoaderError(f"{p}: the PDF has no pages")
        for i in range(min(n_pages, max_pages)):
            try:
                page = pdf[i]
                textpage = page.get_textpage()
                text = textpage.get_text_bounded()
                textpage.close()
                page.close()
            except pdfium.PdfiumError as exc:
                yield i + 1, n_pages, None, f"unreadable ({exc})"
                continue
            yield i + 1, n_pages, text.replace("\r\n", "\n").replace("\r", "\n"), None
    finally:
        pdf.close()


def load_pdf(
    p: Path,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    page_callback: Callable[[int, int], None] | None = None,
) -> LoadedDocument:
    """Text of every page of a PDF with its 1-based page number. A page with no extractable
    text (a scan, a drawing) is reported in ``problems``; an encrypted or corrupt file is a
    :class:`LoaderError`."""
    problems: list[str] = []
    blocks: list[Block] = []
    empty: list[int] = []
    section: str | None = None
    n_pages = 0
    for number, n_pages, text, problem in pdf_pages(p, max_pages):
        n_read = min(n_pages, max_pages)
        if number == 1 and n_pages > max_pages:
            problems.append(f"{n_pages} pages; only the first {max_pages} were read")
        if text is None:
            problems.append(f"page {number}: {problem}")
        elif not text.strip():
            empty.append(number)
        elif is_toc_page(text):
            blocks.append(Block("toc", " ".join(text.split()), number, "Contents/index"))
        else:
            page_blocks, section = blocks_from_lines(
                text.splitlines(), page=number, section=section
            )
            blocks.extend(page_blocks)
        if page_callback is not None and (number % 25 == 0 or number == n_read):
            page_callback(number, n_read)
    if empty:
        problems.append(
            f"{len(empty)} page(s) without extractable text (scanned or images only): "
            + _ranges(empty)
        )
    if not blocks:
        raise LoaderError(
            f"{p}: no extractable text on any of its {n_pages} page(s) (a scan needs OCR first)"
        )
    return LoadedDocument(str(p), p.name, "pdf", n_pages, blocks, problems)


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)


class _HtmlText(html.parser.HTMLParser):
    """HTML → lines that :func:`blocks_from_lines` understands: headings as Markdown
    headings, list items and table rows on their own lines, script and style dropped."""

    _BLOCK = frozenset(
        (
            "p",
            "div",
            "br",
            "li",
            "tr",
            "section",
            "article",
            "header",
            "footer",
            "ul",
            "ol",
            "table",
            "pre",
        )
    )
    _SKIP = frozenset(("script", "style", "noscript", "template", "head"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._buf: list[str] = []
        self._skip = 0
        self._heading = 0
        self._cells: list[str] | None = None
        self._ol_counter: list[int] = []

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        self._buf = []
        if text:
            self.lines.append(("#" * self._heading + " " + text) if self._heading else text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._flush()
            self._heading = int(tag[1])
        elif tag == "tr":
            self._flush()
            self._cells = []
        elif tag in ("td", "th") and self._cells is not None:
            self._flush_cell()
        elif tag == "ol":
            self._ol_counter.append(0)
        elif tag == "li":
            self._flush()
            if self._ol_counter:
                self._ol_counter[-1] += 1
                self._buf.append(f"{self._ol_counter[-1]}. ")
        elif tag in self._BLOCK:
            self._flush()

    def _flush_cell(self) -> None:
        if self._cells is not None and self._buf:
            self._cells.append(" ".join("".join(self._buf).split()))
            self._buf = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._flush()
            self._heading = 0
        elif tag in ("td", "th"):
            self._flush_cell()
        elif tag == "tr" and self._cells is not None:
            self._flush_cell()
            if self._cells:
                self.lines.append("| " + " | ".join(self._cells) + " |")
            self._cells = None
        elif tag == "ol" and self._ol_counter:
            self._ol_counter.pop()
            self._flush()
        elif tag in self._BLOCK:
            self._flush()
            if tag in ("p", "ul", "ol", "table"):
                self.lines.append("")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._buf.append(data)


def _html_lines(text: str) -> list[str]:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    parser._flush()
    return parser.lines
