"""Spans of the original message and the text units every extractor shares: sentences,
Latin-script words and CJK characters, each with its character offsets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CJK",
    "Span",
    "Spans",
    "is_cjk",
    "mask",
    "sentences",
    "words",
]

# Han (with extension A and compatibility), kana, Hangul: scripts written without spaces
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK_RE = re.compile(f"[{CJK}]")
# a word: letters of a space-delimited script (CJK is handled per character)
_WORD_RE = re.compile(rf"(?:(?![{CJK}])[^\W\d_])+")

# Abbreviations whose full stop does not end a sentence (lower case, without the stop).
_ABBREVIATIONS = frozenset({
    "approx", "ca", "cf", "art", "nr", "no", "núm", "num", "ref", "réf", "resp", "bzw", "ggf",
    "inkl", "vgl", "zb", "z", "b", "usw", "etc", "vs", "eg", "ie", "dr", "mr", "mrs", "ms",
    "st", "stk", "pcs", "pc", "pz", "pzas", "max", "min", "nom", "tol", "env", "aprox", "dim",
    "pos",
})  # fmt: skip
_UNIT_LEAD_RE = re.compile(r"(?:\d\s?|[·⋅*/°])$")
_END_RE = re.compile(r"[.!?;]+|[。！？；]+|\n")


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``start:end`` of the message, and their text."""

    start: int
    end: int
    text: str

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}

    @classmethod
    def of(cls, text: str, start: int, end: int) -> Span:
        return cls(start, end, text[start:end])


class Spans:
    """Spans already claimed by an extractor, so that the next one does not read the same
    characters again (a part number is not a quantity, a date is not three numbers).
    One byte per character: a lookup costs the span's length, not the number of spans."""

    def __init__(self) -> None:
        self._spans: list[Span] = []
        self._used = bytearray()

    def add(self, span: Span) -> None:
        self._spans.append(span)
        if span.end > len(self._used):
            self._used.extend(bytes(span.end - len(self._used)))
        self._used[span.start : span.end] = b"\x01" * (span.end - span.start)

    def taken(self, start: int, end: int) -> bool:
        return any(self._used[start:end])

    def __iter__(self) -> Iterator[Span]:
        return iter(self._spans)


def is_cjk(ch: str) -> bool:
    return bool(_CJK_RE.match(ch))


def mask(text: str, spans: Iterable[Span]) -> str:
    """``text`` with the characters of ``spans`` replaced by spaces (offsets unchanged)."""
    chars = list(text)
    for s in spans:
        for i in range(s.start, s.end):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def words(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Words of space-delimited scripts in ``text[start:end]``; apostrophes and hyphens
    separate words (French elision "l'arbre" gives "l" and "arbre")."""
    stop = len(text) if end is None else end
    return [Span(m.start(), m.end(), m.group()) for m in _WORD_RE.finditer(text, start, stop)]


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    punct = m.group()
    if punct[0] in "。！？；\n" or punct[0] in "!?;":
        return True
    # a full stop ends a sentence when followed by a space and a capital, a CJK character,
    # or the end; never after an abbreviation or a single letter ("z. B.", "approx. 20")
    after = text[m.end() :]
    stripped = after.lstrip()
    if not stripped:
        return True
    if stripped is after:  # no space: "12.5", "Art.-Nr."
        return False
    nxt = stripped[0]
    if not (nxt.isupper() or is_cjk(nxt)):
        return False
    before = re.search(r"([^\W\d_]+)$", text[max(0, m.start() - 40) : m.start()])
    if before is None:
        return True
    word = before.group(1)
    if word.lower() in _ABBREVIATIONS:
        return False
    if len(word) == 1:
        # a one-letter unit after a number or a unit sign ends a sentence ("50 N·m. Die",
        # "80 °C. The", "12 m. Le"); an initial or "z. B." does not
        lead = text[max(0, m.start() - 3) : m.start() - 1]
        return bool(_UNIT_LEAD_RE.search(lead))
    return True


def sentences(text: str) -> list[Span]:
    """Sentence spans (trimmed; empty ones left out). Ends: ``. ! ? ;`` before a space and
    a capital, the CJK full stops, a line break."""
    out: list[Span] = []
    start = 0
    for m in _END_RE.finditer(text):
        if _ends_sentence(text, m):
            out.append(Span.of(text, start, m.end()))
            start = m.end()
    out.append(Span.of(text, start, len(text)))
    trimmed = []
    for s in out:
        lead = len(s.text) - len(s.text.lstrip())
        body = s.text.strip()
        if body:
            trimmed.append(Span(s.start + lead, s.start + lead + len(body), body))
    return trimmed
