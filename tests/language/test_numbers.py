"""Numbers per locale: decimal comma or point, grouping, and the evidence that settles an
ambiguous one ("1,250"); without evidence it stays ambiguous."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol
from hypothesis import given, settings
from hypothesis import strategies as st

from plantmind.language.conventions import language_convention, locale_convention
from plantmind.language.numbers import NumberContext, find_numbers, read_number

from .cldr import decimals_of, split_language, unanimous_comma_language


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.234,5", 1234.5),  # de, es
        ("1,234.5", 1234.5),  # en
        ("1\u202f234,5", 1234.5),  # fr (narrow no-break space)
        ("1\u00a0234,5", 1234.5),  # pl, fr-CA (no-break space)
        ("1’234.5", 1234.5),  # de-CH
        ("12,5", 12.5),
        ("0,250", 0.25),  # a group never starts with a lone zero
        ("1,234,567", 1234567.0),
        ("1.234.567,89", 1234567.89),
        ("1234", 1234.0),
        ("-20", -20.0),
    ],
)
def test_unambiguous_numbers(raw, value):
    shape = read_number(raw)
    assert shape is not None and not shape.ambiguous
    assert NumberContext().resolve(shape).value == value


def test_same_digits_opposite_conventions():
    de, en = read_number("1.234,5"), read_number("1,234.5")
    assert de.convention == "," and en.convention == "."
    assert de.values == en.values == (1234.5,)


def test_1250_without_evidence_is_ambiguous_not_guessed():
    v = NumberContext().resolve(read_number("1,250"))
    assert v.ambiguous and v.value is None
    assert v.readings == (1.25, 1250.0)
    assert "no locale evidence" in v.note


@pytest.mark.parametrize(
    ("locale", "value"), [("de-DE", 1.25), ("es-ES", 1.25), ("en-US", 1250.0), ("zh-CN", 1250.0)]
)
def test_the_sender_locale_settles_it(locale, value):
    v = NumberContext(sender=locale_convention(locale)).resolve(read_number("1,250"))
    assert not v.ambiguous and v.value == value
    assert locale in v.settled_by


def test_the_message_settles_it_by_its_other_numbers():
    ctx = NumberContext.for_text("Durchmesser 12,5 mm, Gewicht 1,250 kg")
    v = ctx.resolve(read_number("1,250"))
    assert v.value == 1.25 and "12,5" in v.settled_by


def test_conflicting_evidence_stays_ambiguous():
    ctx = NumberContext.for_text("12,5 mm and 0.75 mm", sender=None)
    v = ctx.resolve(read_number("1,250"))
    assert v.ambiguous and "conflicting" in v.note


def test_a_count_is_a_whole_number():
    v = NumberContext().resolve(read_number("1.250"), count=True)
    assert v.value == 1250.0 and v.settled_by == "a count is a whole number"


def test_language_settles_only_where_all_its_locales_agree():
    # the languages are picked from Babel's own data: the rule is tested whatever CLDR says
    agree, split = (
        language_convention(unanimous_comma_language()),
        language_convention(split_language()),
    )
    assert agree.decimal == "," and split.decimal is None
    assert NumberContext().resolve(read_number("1,250"), language=agree).value == 1.25
    assert NumberContext().resolve(read_number("1,250"), language=split).ambiguous


@pytest.mark.parametrize("lang", ["de", "fr", "es", "en", "zh"])
def test_languages_of_the_checks_settle_as_their_cldr_locales_say(lang):
    signs = decimals_of(lang)
    expected = next(iter(signs)) if len(signs) == 1 else None
    assert language_convention(lang).decimal == expected


def test_sender_and_receiver_disagreeing_is_flagged_with_both_readings():
    ctx = NumberContext(sender=locale_convention("de-DE"), receiver=locale_convention("en-US"))
    v = ctx.resolve(read_number("1,250"))
    assert v.value == 1.25 and v.ambiguous
    assert "reads it as 1250" in v.note


def test_space_grouping_needs_a_convention_that_groups_with_spaces():
    plain = read_number("1 234,5")
    assert NumberContext().resolve(plain).ambiguous
    pl = NumberContext().resolve(plain, language=language_convention("pl"))
    assert pl.value == 1234.5


def test_find_numbers_leaves_codes_and_splits_at_non_groups():
    raws = [s.raw for _, _, s in find_numbers("PN4711 M8 2026 100 pcs 4711-25")]
    # "PN4711" and "M8" are codes; "2026 100" is no grouping; "-25" after a digit is a
    # hyphen, not a sign
    assert raws == ["2026", "100", "4711", "25"]


def test_a_number_in_no_convention_is_reported_not_dropped():
    [(_, _, shape)] = list(find_numbers("12,34,567.5"))
    v = NumberContext().resolve(shape)
    assert v.ambiguous and v.value is None and "fits no convention" in v.note


def written_in(value: Decimal, locale: str) -> str:
    """``value`` as ``locale`` writes it: its CLDR group and decimal signs, thousands in
    groups of three. Not ``babel.numbers.format_decimal``: Babel 2.19 reads de-CH's new
    ASCII apostrophe group sign as a pattern quote and writes 1000000'000."""
    loc = Locale.parse(locale)
    text = f"{value:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    table = {",": get_group_symbol(loc), ".": get_decimal_symbol(loc)}
    return "".join(table.get(c, c) for c in text)


LOCALES = ["de_DE", "en_US", "fr_FR", "es_ES", "de_CH", "pl_PL", "zh_CN", "it_IT", "pt_BR"]


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False),
    locale=st.sampled_from(LOCALES),
)
def test_what_a_locale_writes_reads_back_under_that_locale(value, locale):
    raw = written_in(value, locale)
    shape = read_number(raw)
    assert shape is not None, raw
    v = NumberContext(sender=locale_convention(locale)).resolve(shape)
    assert v.value == pytest.approx(float(value)), (raw, v)
