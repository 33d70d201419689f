"""CLDR facts read straight from Babel at test time, independent of the code under test, so
that tests of the "a language settles a convention only when all its locales agree" rule
hold whatever a new Babel release changes in the data (Babel 2.19 gave fr-RW a decimal
point, and French stopped settling the decimal sign)."""

from __future__ import annotations

from functools import cache

from babel import Locale, localedata
from babel.numbers import get_decimal_symbol


@cache
def decimals_of(lang: str) -> frozenset[str]:
    """The decimal signs that the CLDR locales of ``lang`` write."""
    return frozenset(
        get_decimal_symbol(Locale.parse(i))
        for i in localedata.locale_identifiers()
        if i.split("_")[0] == lang
    )


def _locales(lang: str) -> int:
    return sum(1 for i in localedata.locale_identifiers() if i.split("_")[0] == lang)


@cache
def unanimous_comma_language() -> str:
    """A language whose CLDR locales (two or more) all write a decimal comma."""
    langs = sorted({i.split("_")[0] for i in localedata.locale_identifiers()})
    for lang in ["fr", "es", "it", "pt", *langs]:
        if decimals_of(lang) == {","} and _locales(lang) >= 2:
            return lang
    raise AssertionError("no language in this CLDR writes a decimal comma in every locale")


@cache
def split_language() -> str:
    """A language whose CLDR locales disagree on the decimal sign (some comma, some point)."""
    langs = sorted({i.split("_")[0] for i in localedata.locale_identifiers()})
    for lang in ["de", "fr", *langs]:
        if {",", "."} <= decimals_of(lang):
            return lang
    raise AssertionError("no language in this CLDR disagrees on the decimal sign")
