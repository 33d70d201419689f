"""Reading a standard: a PDF, Markdown or text file → its pages of text lines, with what could
not be read (pages without text, pages past the limit) and a :class:`ComplyError` naming the
file for anything that cannot be analysed at all (missing, empty, unsupported, a scan).

A PDF's pages come in reading order (two-column pages left column first) and without their
running headers, footers and page numbers (:mod:`plantmind.comply.layout`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from plantmind.comply.layout import column_text, strip_running_lines

# The knowledge loaders' text conventions (encodings, ``<!-- page N -->`` markers, form
# feeds), so a standard and a procedure number their pages alike.
from plantmind.knowledge.documents import LoaderError
from plantmind.knowledge.loaders import (
    MarkdownLoader,
    PdfLoader,
    PlainTextLoader,
    page_ranges,
    pdf_pages,
    read_text,
    split_lines,
    text_pages,
)

__all__ = [
    "MAX_CHARS",
    "MAX_PAGES",
    "STANDARD_SUFFIXES",
    "ComplyError",
    "StandardText",
    "read_standard",
]

# The formats a standard comes in: the knowledge loaders' paged-text formats (not HTML, CSV
# or plant.yaml), read here as pages of lines rather than blocks.
STANDARD_SUFFIXES = PdfLoader.suffixes + MarkdownLoader.suffixes + PlainTextLoader.suffixes
# A 1,000-page standard is about 3 M characters; the limits leave room for four times that
# and bound memory (the clause tree holds the text once, the requirements refer to it).
MAX_PAGES = 4_000
MAX_CHARS = 12_000_000


class ComplyError(ValueError):
    """A standard or a procedures folder cannot be analysed; the message names the file and
    says why."""


@dataclass(slots=True)
class StandardText:
    """The text of a standard as pages of lines (page ``None``: a file without pages).

    ``problems`` says what was not read and why; nothing is dropped silently."""

    path: str
    name: str
    pages: list[tuple[int | None, list[str]]]
    n_pages: int
    empty_pages: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def chars(self) -> int:
        return sum(len(line) + 1 for _, lines in self.pages for line in lines)


def read_standard(
    path: str | Path, *, max_pages: int = MAX_PAGES, max_chars: int = MAX_CHARS
) -> StandardText:
    """The pages of the standard at ``path``; raises :class:`ComplyError` when nothing in it
    can be analysed."""
    p = Path(path)
    if p.is_dir():
        raise ComplyError(f"{p}: is a folder, not a file (give the standard's file)")
    if not p.is_file():
        raise ComplyError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix not in STANDARD_SUFFIXES:
        raise ComplyError(
            f"{p}: unsupported file type {suffix or '(none)'} for a standard; "
            f"supported: {', '.join(STANDARD_SUFFIXES)}"
        )
    size = p.stat().st_size
    if size == 0:
        raise ComplyError(f"{p}: empty file")
    if suffix in PdfLoader.suffixes:
        return _read_pdf(p, max_pages, max_chars)
    if size > 4 * max_chars:  # refuse before reading a huge file into memory
        raise ComplyError(_too_long(p, size, max_chars))
    try:
        text = read_text(p)
    except ValueError as exc:  # LoaderError: binary content
        raise ComplyError(str(exc)) from None
    if len(text) > max_chars:
        raise ComplyError(_too_long(p, len(text), max_chars))
    if not text.strip():
        raise ComplyError(f"{p}: no text (only whitespace)")
    pages = text_pages(split_lines(text))
    n_pages = max((n for n, _ in pages if n is not None), default=1)
    return StandardText(str(p), p.name, pages, n_pages)


def _too_long(p: Path, chars: int, max_chars: int) -> str:
    return (
        f"{p}: {chars:,} characters (about {chars // 3000:,} pages) is over the limit of "
        f"{max_chars:,} characters (about {max_chars // 3000:,} pages); split the document"
    )


def _read_pdf(p: Path, max_pages: int, max_chars: int) -> StandardText:
    problems: list[str] = []
    pages: list[tuple[int | None, list[str]]] = []
    empty: list[int] = []
    chars = 0
    n_pages = 0
    try:
        for number, n_pages, text, problem in pdf_pages(p, max_pages):
            if number == 1 and n_pages > max_pages:
                problems.append(
                    f"pages {max_pages + 1}-{n_pages} not analysed: over the limit of "
                    f"{max_pages:,} pages"
                )
            if text is None:
                problems.append(f"page {number} not analysed: {problem}")
                continue
            if not text.strip():
                empty.append(number)
                continue
            chars += len(text)
            if chars > max_chars:
                problems.append(
                    f"pages {number}-{n_pages} not analysed: over the limit of "
                    f"{max_chars:,} characters"
                )
                break
            pages.append((number, text.split("\n")))
    except LoaderError as exc:
        raise ComplyError(str(exc)) from None
    if empty:
        problems.insert(
            0,
            f"{len(empty)} page(s) without extractable text (scanned or images only), "
            f"nothing analysed from them: {page_ranges(empty)}",
        )
    if not pages:
        raise ComplyError(
            f"{p}: no extractable text on any of its {n_pages} page(s) "
            f"(scanned or images only: {page_ranges(empty) if empty else 'none readable'}); "
            "nothing was analysed (a scan needs OCR first)"
        )
    pages = strip_running_lines(_in_reading_order(p, pages))
    return StandardText(str(p), p.name, pages, n_pages, empty, problems)


def _in_reading_order(
    p: Path, pages: list[tuple[int | None, list[str]]]
) -> list[tuple[int | None, list[str]]]:
    """Pages set in two columns, read left column first (see
    :func:`~plantmind.comply.layout.column_text`); other pages as the loader read them."""
    import pypdfium2 as pdfium

    out: list[tuple[int | None, list[str]]] = []
    try:
        pdf = pdfium.PdfDocument(str(p))
    except pdfium.PdfiumError:
        return pages
    try:
        for number, lines in pages:
            text = None
            if number is not None:
                try:
                    page = pdf[number - 1]
                    textpage = page.get_textpage()
                    width, height = page.get_size()
                    text = column_text(textpage, width, height)
                    textpage.close()
                    page.close()
                except pdfium.PdfiumError:
                    text = None
            out.append((number, text.split("\n") if text is not None else lines))
    finally:
        pdf.close()
    return out
