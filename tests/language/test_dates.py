"""Dates per locale: the unambiguous forms, and 03/04/2026, which only evidence settles."""

from __future__ import annotations

import pytest
from babel import localedata
from babel.dates import get_date_format

from plantmind.language.conventions import language_convention, locale_convention
from plantmind.language.dates import DateContext, find_dates
from plantmind.language.segments import Spans


def one(text: str, ctx: DateContext | None = None, language=None):
    [d] = find_dates(text, Spans())
    return (ctx or DateContext()).resolve(d, language=language)


@pytest.mark.parametrize(
    "text",
    [
        "2026-04-03",  # ISO
        "3. April 2026",  # de
        "3 avril 2026",  # fr
        "3 de abril de 2026",  # es
        "April 3, 2026",  # en-US
        "3rd April 2026",  # en-GB
        "2026年4月3日",  # zh, ja
        "2026/04/03",  # zh numeric, year first
        "3 kwietnia 2026",  # pl genitive, from Babel
        "2026.4.3",
    ],
)
def test_unambiguous_forms(text):
    v = one(text)
    assert v.date == "2026-04-03" and not v.ambiguous


def test_a_day_over_12_settles_the_order():
    assert one("25/04/2026").date == "2026-04-25"
    assert one("04/25/2026").date == "2026-04-25"


def test_03_04_2026_is_ambiguous_without_evidence():
    v = one("03/04/2026")
    assert v.ambiguous and v.date is None
    assert set(v.readings) == {"2026-03-04", "2026-04-03"}


@pytest.mark.parametrize(
    ("locale", "iso"),
    [("en-US", "2026-03-04"), ("en-GB", "2026-04-03"), ("de-DE", "2026-04-03"),
     ("fr-FR", "2026-04-03"), ("es-ES", "2026-04-03")],
)  # fmt: skip
def test_the_sender_locale_settles_it(locale, iso):
    v = one("03/04/2026", DateContext(sender=locale_convention(locale)))
    assert v.date == iso and not v.ambiguous


def test_sender_and_receiver_disagreeing_is_ambiguous():
    ctx = DateContext(sender=locale_convention("en-US"), receiver=locale_convention("de-DE"))
    v = one("03/04/2026", ctx)
    assert v.ambiguous and v.date == "2026-03-04"
    assert "reads it as 2026-04-03" in v.note


def test_the_message_settles_it_by_its_other_dates():
    ds = find_dates("Lieferung 03/04/2026, Rechnung 25/04/2026", Spans())
    ctx = DateContext.for_dates(ds)
    assert ctx.resolve(ds[0]).date == "2026-04-03"


def test_dotted_dates_are_day_first_and_cldr_agrees():
    assert one("03.04.2026").date == "2026-04-03"
    # the rule's ground: no CLDR locale writes month.day.year with full stops
    offenders = []
    for loc in localedata.locale_identifiers():
        p = get_date_format("short", locale=loc).pattern
        order = "".join(dict.fromkeys(c for c in p if c in "dMy"))
        if "." in p and order == "Mdy":
            offenders.append(loc)
    assert offenders == []


def test_language_settles_only_where_all_its_locales_agree():
    assert one("03/04/2026", language=language_convention("fr")).date == "2026-04-03"
    assert one("03/04/2026", language=language_convention("en")).ambiguous


def test_an_invalid_date_is_reported():
    v = one("31/02/2026")
    assert v.ambiguous and v.date is None and "not a valid calendar date" in v.note


def test_dates_claim_their_spans():
    taken = Spans()
    find_dates("am 03.04.2026", taken)
    assert taken.taken(3, 13)
