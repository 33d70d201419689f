"""Dates as regions write them: ISO 2026-04-03, numeric 03/04/2026 or 03.04.2026,
month names ("3. April 2026", "3 avril 2026", "3 de abril de 2026", "April 3, 2026") in the
languages Babel knows, and 2026年4月3日. A numeric date whose day and month could swap is
settled only by evidence (the sender's locale, this message's other dates, the dotted
form, the language when all its CLDR locales agree); otherwise, or when the receiver's
locale would read it the other way, it is ambiguous."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from babel.dates import get_month_names

from plantmind.language.conventions import Convention
from plantmind.language.segments import Span, Spans

__all__ = ["DateContext", "DateMatch", "DateValue", "find_dates"]

_NUMERIC = re.compile(
    r"(?<![\d.,/\-])(\d{1,2})([./])(\d{1,2})\2(\d{4}|\d{2})(?![\d/]|[.,]\d)"
    r"|(?<![\d.,/\-])(\d{1,2})(-)(\d{1,2})-(\d{4})(?![\d\-])"
)
_YMD = re.compile(r"(?<![\d.,/\-])(\d{4})([-./])(\d{1,2})\2(\d{1,2})(?![\d/\-]|[.,]\d)")
_CJK = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_MONTH_LANGS = ("en", "de", "fr", "es", "it", "pt", "nl", "pl")


@cache
def _months() -> tuple[dict[str, int], re.Pattern[str], re.Pattern[str]]:
    names: dict[str, set[int]] = {}
    for lang in _MONTH_LANGS:
        for width in ("wide", "abbreviated"):
            for ctx in ("format", "stand-alone"):
                for num, name in get_month_names(width, ctx, lang).items():
                    names.setdefault(name.lower().rstrip("."), set()).add(num)
    # a spelling that names two months in two languages settles nothing: leave it out
    months = {n: next(iter(v)) for n, v in names.items() if len(v) == 1 and len(n) >= 3}
    alt = "|".join(re.escape(n) for n in sorted(months, key=len, reverse=True))
    dmy = re.compile(
        rf"(?<![\d\w])(\d{{1,2}})(?:\.|er|st|nd|rd|th|º)?\s*(?:de\s+)?({alt})\.?"
        rf"(?![^\W\d_])\s*,?\s*(?:de\s+|del\s+)?(\d{{4}})(?!\d)",
        re.IGNORECASE,
    )
    mdy = re.compile(
        rf"(?<![^\W\d_])({alt})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)",
        re.IGNORECASE,
    )
    return months, dmy, mdy


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date as written. ``form``: iso, ymd, cjk, textual (all unambiguous) or numeric
    (``first``/``second`` may be day/month or month/day); ``sep`` for numeric ones."""

    span: Span
    form: str
    year: int
    first: int
    second: int
    sep: str = ""
    two_digit_year: bool = False


@dataclass(frozen=True, slots=True)
class DateValue:
    """``date``: ISO text (None while ambiguous or invalid); ``readings``: every valid
    reading; ``settled_by``; ``ambiguous`` and ``note`` as for numbers."""

    span: Span
    date: str | None
    readings: tuple[str, ...]
    settled_by: str
    ambiguous: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": self.span.to_dict(),
            "date": self.date,
            "readings": list(self.readings),
            "settled_by": self.settled_by,
            "ambiguous": self.ambiguous,
            "note": self.note,
        }


def _valid(y: int, m: int, d: int) -> str | None:
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def find_dates(text: str, taken: Spans) -> list[DateMatch]:
    """Every date in ``text`` outside ``taken`` (and claims their spans)."""
    out: list[DateMatch] = []

    def add(start: int, end: int, **kw: Any) -> None:
        if not taken.taken(start, end):
            span = Span.of(text, start, end)
            taken.add(span)
            out.append(DateMatch(span, **kw))

    for m in _CJK.finditer(text):
        add(m.start(), m.end(), form="cjk", year=int(m[1]), first=int(m[2]), second=int(m[3]))
    for m in _YMD.finditer(text):
        form = "iso" if m[2] == "-" else "ymd"
        add(m.start(), m.end(), form=form, year=int(m[1]), first=int(m[3]), second=int(m[4]))
    months, dmy, mdy = _months()
    for m in dmy.finditer(text):
        mon = months[m[2].lower()]
        add(m.start(), m.end(), form="textual", year=int(m[3]), first=mon, second=int(m[1]))
    for m in mdy.finditer(text):
        mon = months[m[1].lower()]
        add(m.start(), m.end(), form="textual", year=int(m[3]), first=mon, second=int(m[2]))
    for m in _NUMERIC.finditer(text):
        g = m.groups()
        a, sep, b, y = g[0:4] if g[0] is not None else g[4:8]
        year = int(y) + (2000 if len(y) == 2 else 0)
        add(m.start(), m.end(), form="numeric", year=year, first=int(a), second=int(b),
            sep=sep, two_digit_year=len(y) == 2)  # fmt: skip
    return sorted(out, key=lambda d: d.span.start)


def _readings(d: DateMatch) -> dict[str, str]:
    """order → ISO date, for each valid reading."""
    if d.form in ("iso", "ymd", "cjk", "textual"):
        iso = _valid(d.year, d.first, d.second)
        return {"ymd": iso} if iso else {}
    out = {}
    dmy, mdy = _valid(d.year, d.second, d.first), _valid(d.year, d.first, d.second)
    if dmy:
        out["dmy"] = dmy
    if mdy:
        out["mdy"] = mdy
    return out


_ORDER_WORDS = {"dmy": "day first", "mdy": "month first"}


@dataclass(slots=True)
class DateContext:
    """The evidence for one message (see the module docstring). ``message_orders``: the
    orders this message's unambiguous numeric dates prove (order → an example)."""

    sender: Convention | None = None
    receiver: Convention | None = None
    message_orders: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_dates(
        cls,
        dates: Sequence[DateMatch],
        *,
        sender: Convention | None = None,
        receiver: Convention | None = None,
    ) -> DateContext:
        orders: dict[str, str] = {}
        for d in dates:
            if d.form == "numeric" and d.first != d.second:
                r = _readings(d)
                if len(r) == 1:
                    orders.setdefault(next(iter(r)), d.span.text)
        return cls(sender, receiver, orders)

    def resolve(self, d: DateMatch, *, language: Convention | None = None) -> DateValue:
        readings = _readings(d)
        values = tuple(sorted(set(readings.values())))
        note = "two-digit year read as 20xx" if d.two_digit_year else ""
        if not readings:
            return DateValue(d.span, None, (), "", True, "not a valid calendar date")
        if len(values) == 1:
            how = "written unambiguously" if d.form != "numeric" else "only one reading is valid"
            if d.form == "numeric" and d.first == d.second:
                how = "day and month are equal"
            return self._receiver_check(d, values[0], readings, how, note)
        evidence: dict[str, list[str]] = {}
        if self.sender is not None and self.sender.date_order in readings:
            o = self.sender.date_order
            evidence.setdefault(o, []).append(
                f"sender {self.sender.source} writes {_ORDER_WORDS[o]}"
            )
        for proven, example in self.message_orders.items():
            evidence.setdefault(proven, []).append(f"this message writes {example!r}")
        if d.sep == ".":
            # no CLDR locale writes month.day.year with full stops
            evidence.setdefault("dmy", []).append("dotted dates are written day first")
        if not evidence and language is not None and language.date_order in readings:
            o = language.date_order
            evidence[o] = [f"every locale of the {language.source} writes {_ORDER_WORDS[o]}"]
        both = " or ".join(f"{v} ({_ORDER_WORDS[o]})" for o, v in readings.items())
        if len(evidence) != 1:
            why = (
                "nothing settles the order"
                if not evidence
                else "conflicting evidence: " + "; ".join(e for es in evidence.values() for e in es)
            )
            return DateValue(
                d.span, None, values, "", True, _join(f"{d.span.text!r} is {both}: {why}", note)
            )
        order, reasons = next(iter(evidence.items()))
        return self._receiver_check(d, readings[order], readings, "; ".join(reasons), note, order)

    def _receiver_check(
        self,
        d: DateMatch,
        iso: str,
        readings: dict[str, str],
        how: str,
        note: str,
        order: str | None = None,
    ) -> DateValue:
        values = tuple(sorted(set(readings.values())))
        rec = self.receiver
        if (
            order is not None
            and rec is not None
            and rec.date_order in ("dmy", "mdy")
            and rec.date_order != order
        ):
            other = readings[rec.date_order]
            return DateValue(
                d.span, iso, values, how, True,
                _join(f"{d.span.text!r} means {iso} ({how}) but the receiver's {rec.source} "
                      f"reads it as {other}", note),
            )  # fmt: skip
        return DateValue(d.span, iso, values, how, False, note)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
