"""Quantities: a number with its unit and tolerance ("12,5 mm ± 0,1", "Ø 20 mm +0.05/-0.02",
"20 ± 0.05 mm", "3/8\"", "200 Stück", "20毫米"), found in two steps. :func:`find_quantities`
reads what is written (number shapes, unit, tolerance); :func:`resolve_quantity` gives the
values once the message's number conventions are known (a count is whole)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from plantmind.language.conventions import Convention
from plantmind.language.lexicon import FUNCTION_WORDS
from plantmind.language.numbers import (
    SPACE_GROUPS,
    NumberContext,
    NumberShape,
    NumberValue,
    read_number,
)
from plantmind.language.numbers import find_numbers as _find_numbers
from plantmind.language.segments import Span, Spans
from plantmind.language.units import Unit, convert, lookup, unit_pattern

__all__ = ["Quantity", "QuantityMatch", "find_quantities", "resolve_quantity"]

_NUM = rf"\d+(?:[.,{SPACE_GROUPS}]\d+)*"
_PM = r"(?:±|\+/-|\+/−|\+-|\+−)"
_MINUS = r"[-−–]"


def _rx(body: str) -> re.Pattern[str]:
    return re.compile(body.replace("UNIT", unit_pattern()))


_SYM = _rx(rf"\s*\(?\s*{_PM}\s*(?P<t>{_NUM})(?:\s*(?P<tu>UNIT))?(?:\s*\))?")
_ASYM = _rx(
    rf"\s*\(?\s*\+\s*(?P<p>{_NUM})(?:\s*(?P<pu>UNIT))?\s*(?:/\s*{_MINUS}?|,?\s*{_MINUS})\s*"
    rf"(?P<m>{_NUM})(?:\s*(?P<mu>UNIT))?(?:\s*\))?"
)
_ASYM_REV = _rx(
    rf"\s*\(?\s*{_MINUS}\s*(?P<m>{_NUM})(?:\s*(?P<mu>UNIT))?\s*/\s*\+\s*"
    rf"(?P<p>{_NUM})(?:\s*(?P<pu>UNIT))?(?:\s*\))?"
)
_UNIT = _rx(r"\s*(?P<u>UNIT)")
_FRACTION = re.compile(r"(?:(?P<whole>\d+)[\s-])?(?P<num>\d+)/(?P<den>\d+)(?!\d)")
_PREFIX = re.compile(r"(?P<p>[Ø⌀ø]|DN)\s?$")
_NEXT_WORD = re.compile(r"\s+([^\W\d_]+)")


@dataclass(frozen=True, slots=True)
class QuantityMatch:
    """What is written: the number's shape, the unit, the tolerance's shapes (``tol_plus``,
    ``tol_minus``; one shape for a symmetric tolerance) and the tolerance's own unit."""

    span: Span
    number: NumberShape
    number_span: Span
    unit: Unit
    unit_text: str
    tol_plus: NumberShape | None = None
    tol_minus: NumberShape | None = None
    tol_unit: Unit | None = None
    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class Quantity:
    """A quantity with values: ``value`` (None while its number is ambiguous) in ``unit``;
    ``tol_plus``/``tol_minus`` in the same unit; ``number`` says how the value was read."""

    span: Span
    value: float | None
    unit: Unit
    unit_text: str
    number: NumberValue
    tol_plus: float | None = None
    tol_minus: float | None = None
    tol_numbers: tuple[NumberValue, ...] = ()
    prefix: str | None = None

    @property
    def kind(self) -> str:
        return self.unit.kind

    @property
    def ambiguous(self) -> bool:
        return self.number.ambiguous or any(t.ambiguous for t in self.tol_numbers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": self.span.to_dict(),
            "value": self.value,
            "unit": self.unit.symbol,
            "unit_text": self.unit_text,
            "kind": self.unit.kind,
            "tol_plus": self.tol_plus,
            "tol_minus": self.tol_minus,
            "prefix": self.prefix,
            "number": self.number.to_dict(),
        }


def _unit_ok(text: str, m: re.Match[str]) -> bool:
    """ "in" is an inch unless an English function word follows ("5 in the box")."""
    if m.group("u") != "in":
        return True
    nxt = _NEXT_WORD.match(text, m.end())
    return not (nxt and nxt.group(1).lower() in FUNCTION_WORDS["en"])


def _tolerance(text: str, pos: int) -> tuple[NumberShape, NumberShape, Unit | None, int] | None:
    m = _SYM.match(text, pos)
    if m:
        t = read_number(m["t"])
        if t is not None:
            return t, t, lookup(m["tu"]) if m["tu"] else None, m.end()
    for rx in (_ASYM, _ASYM_REV):
        m = rx.match(text, pos)
        if m:
            p, mi = read_number(m["p"]), read_number(m["m"])
            if p is not None and mi is not None:
                unit_text = m["pu"] or m["mu"]
                return p, mi, lookup(unit_text) if unit_text else None, m.end()
    return None


def find_quantities(text: str, taken: Spans) -> list[QuantityMatch]:
    """Quantities in ``text`` outside ``taken`` (their spans are claimed). A number without
    a unit is not a quantity; a number glued to letters that are not a unit ("2RS",
    "4711A") is part of a code and neither."""
    out: list[QuantityMatch] = []
    skip_until = -1
    for start, end, shape in _find_numbers(text):
        if start < skip_until or taken.taken(start, end):
            continue
        num_start = start
        frac = _FRACTION.match(text, start)
        if frac and frac.end() >= end and "/" in frac.group():
            den = int(frac["den"])
            if den:
                whole = int(frac["whole"] or 0)
                v = whole + int(frac["num"]) / den
                shape = NumberShape(frac.group(), {".": v, ",": v})
                end = frac.end()
        pos = end
        tol = _tolerance(text, pos)
        if tol:
            pos = tol[3]
        um = _UNIT.match(text, pos)
        unit: Unit | None = None
        unit_text = ""
        if um and _unit_ok(text, um):
            unit, unit_text, pos = lookup(um["u"]), um["u"], um.end()
        if tol is None:
            tol = _tolerance(text, pos)
            if tol:
                pos = tol[3]
        if unit is None and tol is not None and tol[2] is not None:
            unit, unit_text = tol[2], ""
        if unit is None or ("/" in shape.raw and unit.kind != "length"):
            continue
        pre = _PREFIX.search(text, max(0, num_start - 4), num_start)
        prefix = pre["p"] if pre else None
        q_start = pre.start() if pre else num_start
        if taken.taken(q_start, pos):
            continue
        span = Span.of(text, q_start, pos)
        taken.add(span)
        skip_until = pos
        out.append(
            QuantityMatch(
                span, shape, Span.of(text, num_start, end), unit, unit_text or unit.symbol,
                tol[0] if tol else None, tol[1] if tol else None, tol[2] if tol else None,
                prefix,
            )
        )  # fmt: skip
    return out


def resolve_quantity(
    q: QuantityMatch, ctx: NumberContext, language: Convention | None = None
) -> Quantity:
    """Values for ``q`` under the message's evidence; the tolerance is expressed in the
    quantity's unit (a tolerance written in another unit of the same kind is converted)."""
    count = q.unit.kind == "count"
    number = ctx.resolve(q.number, count=count, language=language)
    tol_numbers: list[NumberValue] = []
    plus = minus = None
    if q.tol_plus is not None and q.tol_minus is not None:
        p = ctx.resolve(q.tol_plus, language=language)
        mi = p if q.tol_minus is q.tol_plus else ctx.resolve(q.tol_minus, language=language)
        tol_numbers = [p] if mi is p else [p, mi]
        plus, minus = p.value, mi.value
        tu = q.tol_unit
        if tu is not None and tu != q.unit and tu.kind == q.unit.kind:
            plus = None if plus is None else convert(plus, tu, q.unit, difference=True)
            minus = None if minus is None else convert(minus, tu, q.unit, difference=True)
    return Quantity(
        q.span, number.value, q.unit, q.unit_text, number, plus, minus, tuple(tol_numbers),
        q.prefix,
    )  # fmt: skip
