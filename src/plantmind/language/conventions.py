"""How a locale, or every locale of a language, writes decimals and numeric dates, read
from CLDR through Babel: the evidence that settles "1,250" and "03/04/2026". A language
settles a convention only when all of its CLDR locales agree (German does not settle the
decimal sign: de-CH writes a point; nor does French since Babel 2.19, where fr-RW writes one).
CLDR changes between Babel releases, so the lock pins the Babel that was tested."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from babel import Locale, UnknownLocaleError, localedata
from babel.dates import get_date_format
from babel.numbers import get_decimal_symbol, get_group_symbol

__all__ = ["Convention", "DateOrder", "language_convention", "locale_convention", "parse_locale"]

DateOrder = Literal["dmy", "mdy", "ymd"]


@dataclass(frozen=True, slots=True)
class Convention:
    """``decimal``: the decimal sign (``,`` or ``.``) or None when not settled;
    ``date_order``: the order of a numeric date's day and month (``dmy``, ``mdy``; ``ymd``
    for locales that write the year first) or None; ``source``: where this came from;
    ``space_groups``: whether thousands are grouped with a space ("1 234,5"), None when not
    settled."""

    decimal: str | None
    date_order: DateOrder | None
    source: str
    space_groups: bool | None = None


def parse_locale(tag: str) -> Locale:
    """A Babel locale from ``de-DE``, ``de_DE`` or ``de``; ValueError naming the tag."""
    try:
        return Locale.parse(tag.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"unknown locale {tag!r} (expected e.g. de-DE, en-US, fr)") from None


def _order(loc: Locale) -> DateOrder | None:
    pattern = get_date_format("short", locale=loc).pattern
    seq = "".join(dict.fromkeys(c for c in pattern if c in "dMy"))
    return {"dMy": "dmy", "Mdy": "mdy", "yMd": "ymd"}.get(seq)  # type: ignore[return-value]


def _space_groups(loc: Locale) -> bool:
    return get_group_symbol(loc) in " \u00a0\u202f\u2009"


def _decimal(loc: Locale) -> str | None:
    sym = get_decimal_symbol(loc)
    return sym if sym in ",." else None


@cache
def locale_convention(tag: str) -> Convention:
    """The convention of one locale (``de-DE``: comma, day first)."""
    loc = parse_locale(tag)
    return Convention(_decimal(loc), _order(loc), f"locale {tag}", _space_groups(loc))


@cache
def language_convention(lang: str) -> Convention:
    """What every CLDR locale of ``lang`` agrees on. Locales that write the year first
    (fr-CA ``y-MM-dd``) do not vote on day-versus-month: they would not write d/m/y."""
    ids = [i for i in localedata.locale_identifiers() if i.split("_")[0] == lang]
    if not ids:
        return Convention(None, None, f"language {lang} (not in CLDR)")
    decimals, orders, spaces = set(), set(), set()
    for i in ids:
        loc = Locale.parse(i)
        decimals.add(_decimal(loc))
        spaces.add(_space_groups(loc))
        o = _order(loc)
        if o in ("dmy", "mdy"):
            orders.add(o)
    dec = next(iter(decimals)) if len(decimals) == 1 else None
    order = next(iter(orders)) if len(orders) == 1 else None
    space = next(iter(spaces)) if len(spaces) == 1 else None
    return Convention(dec, order, f"language {lang} (all {len(ids)} CLDR locales)", space)
