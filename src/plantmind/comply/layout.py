"""Page layout clean-up for standards read from a PDF: running headers and footers, page
numbers, two-column pages and words hyphenated across a line end.

* :func:`column_text`: the text of a page in reading order when it is set in two columns
  (left column, then right), whatever order the PDF draws its lines in; a line across the
  gutter (a running header, a centred title) stays where it is, above or below the columns.
* :func:`strip_running_lines`: drops lines at the top or bottom of the pages that recur,
  page numbers aside, on most pages (``ISO 12100:2010(E)``, ``© ISO 2010 – All rights
  reserved``, ``Page 3 of 7``), and lines that are only a page number.
* :func:`join_wrapped`: joins a wrapped line to the text before it, undoing a hyphenation
  ("require-" + "ments").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

__all__ = ["column_text", "is_page_number", "join_wrapped", "strip_running_lines"]

# --- columns ----------------------------------------------------------------------------

Rect = tuple[float, float, float, float]  # left, bottom, right, top (PDF points)


def _gutter(rects: list[Rect], width: float) -> float | None:
    """The x of the gap between two columns, or None for a page in one column: a vertical
    line in the middle third of the page that no text crosses but a few full-width lines (a
    running header, a centred page number), with lines on both sides of it, side by side."""
    if len(rects) < 6:
        return None
    best: tuple[int, float] | None = None
    for step in range(13):
        x = width * (1 / 3 + step / 36)
        crossing = sum(1 for left, _, right, _ in rects if left < x < right)
        if crossing > max(2, len(rects) / 8):
            continue
        lefts = [r for r in rects if r[2] <= x]
        rights = [r for r in rects if r[0] >= x]
        if len(lefts) < 3 or len(rights) < 3:
            continue
        beside = sum(1 for r in rights if any(ll[1] < r[3] and r[1] < ll[3] for ll in lefts))
        if beside < 2:
            continue
        if best is None or crossing < best[0]:
            best = (crossing, x)
    return best[1] if best else None


def column_text(textpage: Any, width: float, height: float) -> str | None:
    """The text of a two-column page in reading order, or None when the page is not in two
    columns (``textpage``: a pypdfium2 text page)."""
    rects: list[Rect] = [tuple(textpage.get_rect(i)) for i in range(textpage.count_rects())]
    x = _gutter(rects, width)
    if x is None:
        return None
    cols = [r for r in rects if not (r[0] < x < r[2])]
    top = max(r[3] for r in cols)
    bottom = min(r[1] for r in cols)
    # full-width lines above and below the columns keep their place
    above = [r for r in rects if r[0] < x < r[2] and r[1] >= top - 1]
    below = [r for r in rects if r[0] < x < r[2] and r[3] <= bottom + 1]
    parts: list[str] = []
    if above:
        parts.append(textpage.get_text_bounded(0, min(r[1] for r in above) - 0.5, width, height))
    for left, right in ((0.0, x), (x, width)):
        parts.append(textpage.get_text_bounded(left, bottom - 0.5, right, top + 0.5))
    if below:
        parts.append(textpage.get_text_bounded(0, 0, width, max(r[3] for r in below) + 0.5))
    text = "\n".join(p.replace("\r\n", "\n").replace("\r", "\n").strip("\n") for p in parts)
    return "\n".join(line.rstrip() for line in text.split("\n"))


# --- running headers and footers ----------------------------------------------------------

_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?(?:\s*[-–—])?$", re.I
)
_OBLIGES = re.compile(r"\b(?:shall|must)\b", re.I)
EDGE_LINES = 3  # lines at the top and at the bottom of a page that may be running lines


def is_page_number(line: str) -> bool:
    """``3``, ``- 3 -``, ``Page 3``, ``Page 3 of 7``, ``3/7``."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def strip_running_lines(
    pages: list[tuple[int | None, list[str]]],
) -> list[tuple[int | None, list[str]]]:
    """Drop running headers and footers: a line among the first or last three of a page that
    is a page number, or that recurs (numbers aside) on every page of a short document (two
    or three pages) or on at least a third of the pages (four or more). A line that obliges
    ("shall", "must") is never taken for a running line."""
    if len(pages) < 2:
        return pages
    seen: Counter[str] = Counter()
    for _, lines in pages:
        body = [ln.strip() for ln in lines if ln.strip()]
        seen.update({_DIGITS.sub("#", ln) for ln in body[:EDGE_LINES] + body[-EDGE_LINES:]})
    need = len(pages) if len(pages) < 4 else max(3, len(pages) // 3)
    running = {k for k, n in seen.items() if n >= need and not _OBLIGES.search(k) and k[:1] != "("}
    out: list[tuple[int | None, list[str]]] = []
    for number, lines in pages:
        idx = [i for i, ln in enumerate(lines) if ln.strip()]
        edge = set(idx[:EDGE_LINES] + idx[-EDGE_LINES:])
        kept = [
            ln
            for i, ln in enumerate(lines)
            if not (i in edge and (_DIGITS.sub("#", ln.strip()) in running or is_page_number(ln)))
        ]
        out.append((number, kept))
    return out


# --- wrapped lines ----------------------------------------------------------------------

_HYPHENATED = re.compile(r"[A-Za-z]{2}-$")


def join_wrapped(text: str, line: str) -> str:
    """``text`` continued by the wrapped ``line``: "require-" + "ments of" → "requirements
    of" (a hyphen at a line end before a lower-case letter is a hyphenation), else a space."""
    if _HYPHENATED.search(text) and line[:1].islower():
        return text[:-1] + line
    return f"{text} {line}"
