"""The built-in document loaders: a file on disk → a :class:`LoadedDocument` of structural
blocks, one :class:`~plantmind.knowledge.loader_registry.Loader` class per format.

PDF (pypdfium2, page numbers kept, pages without extractable text reported), Markdown,
plain text, HTML, work-order CSV (see :mod:`plantmind.knowledge.workorders`) and the sensor
sheet of a plant.yaml (see :mod:`plantmind.knowledge.plantmeta`). Every failure is a
:class:`LoaderError` that names the file and the reason.

This module also owns the text conventions the loaders share with compliance ingest
(:mod:`plantmind.comply.ingest`), so a standard and a procedure number their pages alike:
:func:`read_text` (encodings, binary refused), :func:`split_lines`, :func:`text_pages`
(``<!-- page N -->`` markers and form feeds), :func:`pdf_pages` and :func:`page_ranges`.

To add a format: subclass ``Loader`` (or :class:`TextFileLoader` for a text format), set
``suffixes`` and ``kind``, implement ``read``, decorate it with :func:`register_loader`, and
give it a sample in ``tests/knowledge/test_loader_conformance.py``.
"""

from __future__ import annotations

import abc
import html.parser
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

from plantmind.knowledge.documents import Block, LoadedDocument, LoaderError
from plantmind.knowledge.loader_registry import (
    DEFAULT_MAX_PAGES,
    Loader,
    LoadOptions,
    SuffixView,
    loader_for,
    register_loader,
)
from plantmind.knowledge.structure import blocks_from_lines, is_toc_page

__all__ = [
    "DEFAULT_MAX_PAGES",
    "SUPPORTED_SUFFIXES",
    "HtmlLoader",
    "LoadOptions",
    "Loader",
    "MarkdownLoader",
    "PdfLoader",
    "PlainTextLoader",
    "PlantSheetLoader",
    "TextFileLoader",
    "WorkOrderCsvLoader",
    "load_document",
    "load_pdf",
    "page_ranges",
    "pdf_pages",
    "read_text",
    "split_lines",
    "text_pages",
]

#: Every suffix a registered loader reads, in registration order (a live view of the
#: registry, so a loader registered after this import is included).
SUPPORTED_SUFFIXES = SuffixView()


def load_document(
    path: str | Path,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    work_order_columns: dict[str, str] | None = None,
    page_callback: Callable[[int, int], None] | None = None,
) -> LoadedDocument:
    """Read ``path`` with the loader registered for its suffix.

    ``max_pages`` bounds what one PDF may add (pages past it are reported, not read);
    ``work_order_columns`` overrides the CSV column mapping (field → column name);
    ``page_callback(done, total)`` reports progress through a long PDF.
    """
    p = Path(path)
    # A missing file is reported before an unsupported suffix, as it always was.
    if not p.is_file():
        raise LoaderError(f"{p}: no such file")
    loader = loader_for(p)
    return loader.load(
        p,
        LoadOptions(
            max_pages=max_pages,
            work_order_columns=work_order_columns,
            page_callback=page_callback,
        ),
    )


# --- shared text conventions ---------------------------------------------------------------


def read_text(p: Path) -> str:
    """The text of ``p``: UTF-8 (with or without BOM), else cp1252, else latin-1. A file with
    a NUL byte near its start is binary: a :class:`LoaderError` naming it."""
    data = p.read_bytes()
    if b"\x00" in data[:4096]:
        raise LoaderError(f"{p}: binary content, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def split_lines(text: str) -> list[str]:
    """``text`` split on any line end. Not ``str.splitlines()``: it splits on form feeds
    too, and a form feed is a page break here (see :func:`text_pages`)."""
    return re.split(r"\r\n|\n|\r", text)


_PAGE_MARKER = re.compile(r"^\s*<!--\s*page\s+(\d+)\s*-->\s*$", re.IGNORECASE)
_COMMENT_LINE = re.compile(r"^\s*<!--.*-->\s*$")


def text_pages(lines: list[str]) -> list[tuple[int | None, list[str]]]:
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


# Lines per progress report through a long text file, and the size of the slices its pages
# are cut into: a slice ends at a blank line, where blocks_from_lines ends a block anyway, so
# the blocks are the same as from the whole page at once.
_TEXT_PROGRESS_LINES = 20_000


def _page_slices(lines: list[str], size: int) -> Iterator[list[str]]:
    """``lines`` in slices of about ``size`` lines, each cut just after a blank line."""
    start = 0
    while start < len(lines):
        end = min(start + size, len(lines))
        while end < len(lines) and lines[end - 1].strip():
            end += 1
        yield lines[start:end]
        start = end


def _document(
    p: Path,
    kind: str,
    lines: list[str],
    page_callback: Callable[[int, int], None] | None = None,
) -> LoadedDocument:
    blocks: list[Block] = []
    section: str | None = None
    pages = text_pages(lines)
    total = sum(len(page_lines) for _, page_lines in pages)
    done = reported = 0
    for number, page_lines in pages:
        for part in _page_slices(page_lines, _TEXT_PROGRESS_LINES):
            part_blocks, section = blocks_from_lines(part, page=number, section=section)
            blocks.extend(part_blocks)
            done += len(part)
            # progress in lines: a text file has one page or a few, so pages would not move
            if page_callback is not None and done - reported >= _TEXT_PROGRESS_LINES:
                page_callback(done, total)
                reported = done
    if page_callback is not None and total >= _TEXT_PROGRESS_LINES:
        page_callback(total, total)
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
            + page_ranges(empty)
        )
    if not blocks:
        raise LoaderError(
            f"{p}: no extractable text on any of its {n_pages} page(s) (a scan needs OCR first)"
        )
    return LoadedDocument(str(p), p.name, "pdf", n_pages, blocks, problems)


def page_ranges(numbers: list[int]) -> str:
    """Sorted page numbers as ranges: ``[1, 2, 3, 7]`` → ``"1-3, 7"``."""
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


# --- the built-in loaders --------------------------------------------------------------------
# Registration order is the order of SUPPORTED_SUFFIXES and of the "supported:" list in the
# unsupported-type message.


@register_loader
class PdfLoader(Loader):
    """PDF: one page of text at a time, 1-based page numbers, a table-of-contents page as one
    ``toc`` block; pages without text and pages past ``max_pages`` reported in ``problems``."""

    suffixes: ClassVar[tuple[str, ...]] = (".pdf",)
    kind: ClassVar[str] = "pdf"

    def read(self, p: Path, options: LoadOptions) -> LoadedDocument:
        return load_pdf(p, max_pages=options.max_pages, page_callback=options.page_callback)


class TextFileLoader(Loader):
    """A format read as text (:func:`read_text`), refused when only whitespace, turned into
    lines that :func:`blocks_from_lines` understands and paged by :func:`text_pages`."""

    def read(self, p: Path, options: LoadOptions) -> LoadedDocument:
        text = read_text(p)
        if not text.strip():
            raise LoaderError(f"{p}: no text (only whitespace)")
        lines = self.lines(text)
        del text  # the lines hold the text now; a 20 MB file need not be held twice
        return _document(p, self.kind, lines, options.page_callback)

    @abc.abstractmethod
    def lines(self, text: str) -> list[str]:
        """The file's text as structural lines (Markdown-style headings, list items, table
        rows)."""


@register_loader
class MarkdownLoader(TextFileLoader):
    """Markdown: headings, numbered steps, warnings and tables; ``<!-- page N -->`` markers
    and form feeds are page breaks."""

    suffixes: ClassVar[tuple[str, ...]] = (".md", ".markdown")
    kind: ClassVar[str] = "markdown"

    def lines(self, text: str) -> list[str]:
        return split_lines(text)


@register_loader
class PlainTextLoader(TextFileLoader):
    """Plain text, structured like Markdown where it looks like it; form feeds are pages."""

    suffixes: ClassVar[tuple[str, ...]] = (".txt", ".text")
    kind: ClassVar[str] = "text"

    def lines(self, text: str) -> list[str]:
        return split_lines(text)


@register_loader
class HtmlLoader(TextFileLoader):
    """HTML: headings, list items and table rows kept; script, style and head dropped."""

    suffixes: ClassVar[tuple[str, ...]] = (".html", ".htm")
    kind: ClassVar[str] = "html"

    def lines(self, text: str) -> list[str]:
        return _html_lines(text)


@register_loader
class WorkOrderCsvLoader(Loader):
    """Work-order CSV: one ``work_order`` block per row (see
    :mod:`plantmind.knowledge.workorders`), columns mapped by ``work_order_columns``."""

    suffixes: ClassVar[tuple[str, ...]] = (".csv",)
    kind: ClassVar[str] = "work_orders"

    def read(self, p: Path, options: LoadOptions) -> LoadedDocument:
        from plantmind.knowledge.workorders import load_work_orders

        return load_work_orders(p, columns=options.work_order_columns)


@register_loader
class PlantSheetLoader(Loader):
    """plant.yaml: one ``asset`` block per asset naming its signals, units and ranges (see
    :mod:`plantmind.knowledge.plantmeta`)."""

    suffixes: ClassVar[tuple[str, ...]] = (".yaml", ".yml")
    kind: ClassVar[str] = "plant"

    def read(self, p: Path, options: LoadOptions) -> LoadedDocument:
        # Imported on use: plantmeta pulls in the plant model (pydantic, YAML), which reading
        # a PDF does not need.
        from plantmind.knowledge.plantmeta import load_plant_sheet

        return load_plant_sheet(p)
