"""Structure in plain lines of text: headings, numbered steps, warnings and cautions,
table rows, paragraphs. Shared by the text, Markdown and PDF loaders so a procedure reads the
same whatever file it came in."""

from __future__ import annotations

import re
from collections.abc import Iterable

from plantmind.knowledge.documents import Block

__all__ = ["blocks_from_lines", "is_toc_page"]

_STEP = re.compile(r"^\s*(?:step\s+)?(\d{1,3})(?:[.)]|\s*[:\-–])\s+(\S.*)$", re.IGNORECASE)
_SUBSTEP = re.compile(r"^\s*(?:[a-z][.)]|[-*•◦▪])\s+(\S.*)$")
# Upper case ("WARNING") or followed by a colon ("Caution:"): a sentence that merely starts
# with "Note that ..." or "Important ..." is prose.
_ALERT = re.compile(
    r"^\s*(?:(?:WARNING|CAUTION|DANGER|NOTE|IMPORTANT)\b|"
    r"(?:warning|caution|danger|note|important)\s*[:!])\s*[:!\-–]?\s*(.*)$",
    re.IGNORECASE,
)
_NUMBERED_HEADING = re.compile(r"^\s*(\d+(?:\.\d+){1,3})\.?\s+([A-Z].{1,80})$")
_MD_HEADING = re.compile(r"^\s*(#{1,6})\s+(.+?)\s*#*\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$|\t.*\t")
_TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*[\dA-Z][\d\-–,\s A-Z]*$")


def _is_caps_heading(line: str) -> bool:
    words = line.split()
    return (
        1 <= len(words) <= 10
        and len(line) <= 80
        and line.isupper()
        and sum(c.isalpha() for c in line) >= 4
        and not _ALERT.match(line)
        and not line.rstrip().endswith((".", ","))
    )


def blocks_from_lines(
    lines: Iterable[str], *, page: int | None = None, section: str | None = None
) -> tuple[list[Block], str | None]:
    """Blocks of ``lines`` and the section in force at the end (so a section carries over
    to the next page).

    A warning, caution or note is its own block; the chunker keeps it with the step that
    follows it, since in a procedure it applies to that step. Wrapped lines of one step or
    paragraph are joined.
    """
    blocks: list[Block] = []
    current: Block | None = None

    def flush() -> None:
        nonlocal current
        if current is not None and current.text.strip():
            current.text = current.text.strip()
            blocks.append(current)
        current = None

    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            flush()
            continue
        if m := _MD_HEADING.match(line):
            flush()
            section = m.group(2).strip()
            blocks.append(Block("heading", section, page, section))
            continue
        if (m := _NUMBERED_HEADING.match(line)) or _is_caps_heading(line.strip()):
            flush()
            section = line.strip() if m is None else f"{m.group(1)} {m.group(2).strip()}"
            blocks.append(Block("heading", section, page, section))
            continue
        if _ALERT.match(line) and (line.lstrip()[:4].isupper() or ":" in line[:15]):
            flush()
            current = Block("warning", line.strip(), page, section)
            continue
        if m := _STEP.match(line):
            flush()
            current = Block("step", line.strip(), page, section, step=int(m.group(1)))
            continue
        if _TABLE_ROW.search(line):
            if current is None or current.kind != "table":
                flush()
                current = Block("table", "", page, section)
            current.text += line.strip() + "\n"
            continue
        if _SUBSTEP.match(line) and current is not None and current.kind == "step":
            current.text += "\n" + line.strip()
            continue
        if current is None or current.kind == "table":
            flush()
            current = Block("text", line.strip(), page, section)
        else:
            current.text += " " + line.strip()
    flush()
    return blocks, section


def is_toc_page(text: str) -> bool:
    """True for a table-of-contents or index page (most lines end in dot leaders and page
    numbers): such pages name every topic and answer none, so search ranks them last."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 5:
        return False
    leaders = sum(1 for ln in lines if _TOC_LINE.search(ln.strip()))
    return leaders / len(lines) >= 0.4
