"""Part numbers: an identifier after a prefix a supplier writes ("PN 4711-A", "Art.-Nr.
12-345", "réf. AB-1234", "零件号 X-99"), or one matching a plant's own patterns. Found before
numbers and dates so that "12-345" is not read as two numbers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plantmind.language.segments import Span, Spans

__all__ = ["DEFAULT_PREFIXES", "PartNumber", "PartNumberRules"]

DEFAULT_PREFIXES: tuple[str, ...] = (
    "part number", "part no.", "part no", "part #", "p/n", "pn", "item no.", "item no",
    "art.-nr.", "art.nr.", "art-nr.", "artikel-nr.", "artikelnummer", "teilenummer",
    "teile-nr.", "sachnummer", "sach-nr.", "best.-nr.", "bestellnummer", "référence", "réf.",
    "ref.", "réf", "n° de pièce", "n° pièce", "número de pieza", "núm. de pieza",
    "nº de pieza", "referencia", "codice", "零件号", "料号", "物料号", "物料编号", "部件号", "型号",
    "品番",
)  # fmt: skip
# an identifier: letters and digits, joined by - . / ; it must hold a digit
_ID = r"[A-Za-z0-9](?:[A-Za-z0-9]|[-./](?=[A-Za-z0-9]))*"


@dataclass(frozen=True, slots=True)
class PartNumber:
    span: Span
    value: str
    prefix: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"span": self.span.to_dict(), "value": self.value, "prefix": self.prefix}


class PartNumberRules:
    """``prefixes``: words that introduce a part number (case-insensitive); ``patterns``:
    regular expressions of the plant's own numbers, matched anywhere (e.g. ``\\d{4}-[A-Z]``)."""

    def __init__(
        self, prefixes: Sequence[str] = DEFAULT_PREFIXES, patterns: Sequence[str] = ()
    ) -> None:
        alts = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
        self._prefixed = re.compile(
            rf"(?<![^\W\d_])(?P<prefix>{alts})(?![^\W\d_])\s*[:#]?\s*(?P<id>{_ID})", re.IGNORECASE
        )
        self._bare: list[re.Pattern[str]] = []
        for p in patterns:
            try:
                self._bare.append(re.compile(p))
            except re.error as exc:
                raise ValueError(f"invalid part number pattern {p!r}: {exc}") from None

    def find(self, text: str, taken: Spans) -> list[PartNumber]:
        out: list[PartNumber] = []
        for m in self._prefixed.finditer(text):
            ident = m.group("id").rstrip(".")
            if not any(c.isdigit() for c in ident) or len(ident) < 3:
                continue
            start, end = m.start(), m.start("id") + len(ident)
            if taken.taken(start, end):
                continue
            span = Span.of(text, start, end)
            taken.add(span)
            out.append(PartNumber(span, ident, m.group("prefix")))
        for rx in self._bare:
            for m in rx.finditer(text):
                if m.end() > m.start() and not taken.taken(m.start(), m.end()):
                    span = Span.of(text, m.start(), m.end())
                    taken.add(span)
                    out.append(PartNumber(span, m.group(), None))
        return sorted(out, key=lambda p: p.span.start)
