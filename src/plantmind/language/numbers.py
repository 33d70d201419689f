"""Numbers as suppliers and regions write them: decimal comma or point, thousands grouped
with a point, a comma, a (narrow) no-break space or an apostrophe. A number is first read
for every convention it fits (:func:`read_number`); when the readings differ ("1,250" is
1.25 or 1250) the evidence decides (:class:`NumberContext`): a count is whole, the
sender's locale, the convention this message uses elsewhere, the language when all its
CLDR locales agree. Without evidence the number stays ambiguous, never guessed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from plantmind.language.conventions import Convention

__all__ = ["NumberContext", "NumberShape", "NumberValue", "find_numbers", "read_number"]

SPACE_GROUPS = "'’\u00a0\u202f\u2009"
"""Group separators that are never a decimal sign: apostrophes (de-CH), no-break space,
narrow no-break space (fr, CLDR), thin space."""
_SEPS = ".," + SPACE_GROUPS
# a plain space groups only ahead of exactly three digits ("1 234,5"); whether it groups
# at all is a convention the resolver checks
NUMBER_RE = re.compile(rf"(?<![\d{_SEPS}])[-−]?\d+(?:[{_SEPS}]\d+| \d{{3}}(?![\d]))*(?![\d])")
_NO_SPACE_RE = re.compile(rf"[-−]?\d+(?:[{_SEPS}]\d+)*")
_LATIN_LETTER = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏ]")
_PREFIX_OK = "Øø⌀"


@dataclass(frozen=True, slots=True)
class NumberShape:
    """A number as written, and its value under each decimal sign it fits (``.`` or ``,``;
    a whole number without separators has the same value under both)."""

    raw: str
    readings: dict[str, float]

    @property
    def space_grouped(self) -> bool:
        """Grouped with a plain space, which only some conventions do."""
        return " " in self.raw

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(sorted(set(self.readings.values())))

    @property
    def ambiguous(self) -> bool:
        return len(self.values) > 1

    @property
    def convention(self) -> str | None:
        """The decimal sign this number proves its writer uses ("12,5", "1,234.5",
        "1,234,567"), or None (a whole number without separators, or ambiguous)."""
        if len(self.readings) == 1 and any(c in ".," for c in self.raw):
            return next(iter(self.readings))
        return None

    def whole(self) -> list[str]:
        """The decimal signs under which the value is a whole number."""
        return [k for k, v in self.readings.items() if float(v).is_integer()]


def _reading(body: str, dec: str) -> float | None:
    other = "," if dec == "." else "."
    if body.count(dec) > 1:
        return None
    int_part, has_dec, frac = body.partition(dec)
    if has_dec and not frac.isdigit():
        return None
    seps = {c for c in int_part if not c.isdigit()}
    if seps:
        if len(seps) > 1 or not seps <= {other, " ", *SPACE_GROUPS}:
            return None
        groups = int_part.split(seps.pop())
        # grouping: 1-3 leading digits (not a lone zero), then groups of exactly three
        if not 1 <= len(groups[0]) <= 3 or groups[0].startswith("0"):
            return None
        if any(len(g) != 3 for g in groups[1:]):
            return None
        int_part = "".join(groups)
    if not int_part.isdigit():
        return None
    return float(f"{int_part}.{frac}" if frac else int_part)


def read_number(raw: str) -> NumberShape | None:
    """The readings of ``raw`` (None when it fits no convention, e.g. "1.23.4")."""
    sign = -1.0 if raw[:1] in "-−" else 1.0
    body = raw.lstrip("-−")
    readings = {}
    for dec in (".", ","):
        v = _reading(body, dec)
        if v is not None:
            readings[dec] = sign * v
    return NumberShape(raw, readings) if readings else None


def find_numbers(text: str) -> Iterator[tuple[int, int, NumberShape]]:
    """Numbers in ``text`` with their offsets (one that fits no convention has no
    readings). A number glued to a Latin letter before it
    ("M8", "PN4711") is part of a code and left out; "Ø20" and CJK neighbours are fine."""
    pos = 0
    while True:
        m = NUMBER_RE.search(text, pos)
        if m is None:
            return
        start, raw, end = m.start(), m.group(), m.end()
        if " " in raw and read_number(raw) is None:
            # "2026 100": not one grouped number; take what precedes the space
            raw = _NO_SPACE_RE.match(text, start).group()  # type: ignore[union-attr]
            end = start + len(raw)
        pos = end
        if start and _LATIN_LETTER.match(text[start - 1]) and text[start - 1] not in _PREFIX_OK:
            continue
        if raw[0] in "-−" and start and not (text[start - 1].isspace() or text[start - 1] in "(["):
            start += 1  # "4711-25": a hyphen, not a sign
            raw = raw[1:]
        # a number that fits no convention ("12,34,567", "4.2.1") still comes back, with no
        # readings: the caller decides whether it is a reference or an unreadable value
        yield start, end, read_number(raw) or NumberShape(raw, {})


@dataclass(frozen=True, slots=True)
class NumberValue:
    """A number after the evidence: ``value`` (None while ambiguous), every reading, what
    settled it, and ``ambiguous`` with ``note`` when a reader could take it otherwise."""

    raw: str
    value: float | None
    readings: tuple[float, ...]
    settled_by: str
    ambiguous: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "raw": self.raw,
            "value": self.value,
            "readings": list(self.readings),
            "settled_by": self.settled_by,
            "ambiguous": self.ambiguous,
            "note": self.note,
        }


def _describe(shape: NumberShape) -> str:
    parts = [
        f"{_fmt(v)} (decimal {'comma' if k == ',' else 'point'})" for k, v in shape.readings.items()
    ]
    return " or ".join(parts)


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e15 else str(v)


@dataclass(slots=True)
class NumberContext:
    """The evidence for one message. ``message_signs``: decimal signs the message's
    unambiguous numbers prove (sign → an example); ``sender``/``receiver``: the two
    locales' conventions when known; ``language`` is consulted per number (its segment)."""

    sender: Convention | None = None
    receiver: Convention | None = None
    message_signs: dict[str, str] = field(default_factory=dict)
    space_grouped_example: str = ""

    def _space_evidence(self, language: Convention | None) -> str | None:
        if self.space_grouped_example:
            return f"this message groups {self.space_grouped_example!r}"
        for conv in (self.sender, language):
            if conv is not None and conv.space_groups:
                return f"{conv.source} groups thousands with a space"
        return None

    @classmethod
    def for_text(
        cls, text: str, *, sender: Convention | None = None, receiver: Convention | None = None
    ) -> NumberContext:
        signs: dict[str, str] = {}
        spaced = ""
        for _, _, shape in find_numbers(text):
            conv = shape.convention
            if conv is not None and not shape.space_grouped:
                signs.setdefault(conv, shape.raw)
            if not spaced and any(c in shape.raw for c in SPACE_GROUPS[2:]):
                spaced = shape.raw  # a no-break space groups: the writer's software did it
        return cls(sender, receiver, signs, spaced)

    def resolve(
        self, shape: NumberShape, *, count: bool = False, language: Convention | None = None
    ) -> NumberValue:
        values = shape.values
        if not shape.readings:
            return NumberValue(
                shape.raw, None, (), "", True,
                f"{shape.raw!r} fits no convention we read (thousands in groups of three, "
                "one decimal sign)",
            )  # fmt: skip
        space = ""
        if shape.space_grouped:
            space = self._space_evidence(language) or ""
            if not space:
                return NumberValue(
                    shape.raw, None, values, "", True,
                    f"{shape.raw!r} is {_fmt(values[0])} if the space groups thousands, or "
                    "separate numbers: no locale evidence for space grouping",
                )  # fmt: skip
        if not shape.ambiguous:
            return NumberValue(shape.raw, values[0], values, space or "written unambiguously")
        if count:
            whole = shape.whole()
            if len(whole) == 1:
                v = shape.readings[whole[0]]
                return NumberValue(shape.raw, v, values, "a count is a whole number")
        evidence: dict[str, list[str]] = {}
        if self.sender is not None and self.sender.decimal in shape.readings:
            evidence.setdefault(self.sender.decimal, []).append(
                f"sender {self.sender.source} writes decimals with {self.sender.decimal!r}"
            )
        for sign, example in self.message_signs.items():
            evidence.setdefault(sign, []).append(f"this message writes {example!r}")
        if not evidence and language is not None and language.decimal in shape.readings:
            evidence[language.decimal] = [
                f"every locale of the {language.source} writes decimals with {language.decimal!r}"
            ]
        if len(evidence) != 1:
            why = (
                "no locale evidence"
                if not evidence
                else "conflicting evidence: " + "; ".join(e for es in evidence.values() for e in es)
            )
            return NumberValue(
                shape.raw, None, values, "", True, f"{shape.raw!r} is {_describe(shape)}: {why}"
            )
        sign, reasons = next(iter(evidence.items()))
        value = shape.readings[sign]
        settled = "; ".join(reasons)
        rec = self.receiver
        if (
            rec is not None
            and rec.decimal
            and rec.decimal != sign
            and rec.decimal in shape.readings
        ):
            other = shape.readings[rec.decimal]
            return NumberValue(
                shape.raw, value, values, settled, True,
                f"{shape.raw!r} means {_fmt(value)} ({settled}) but the receiver's "
                f"{rec.source} reads it as {_fmt(other)}",
            )  # fmt: skip
        return NumberValue(shape.raw, value, values, settled)
