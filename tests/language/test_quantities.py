"""Quantities with units and tolerances as written in five languages, and unit
conversion."""

from __future__ import annotations

import pytest

from plantmind.language.numbers import NumberContext
from plantmind.language.quantities import find_quantities, resolve_quantity
from plantmind.language.segments import Spans
from plantmind.language.units import convert, lookup


def quantities(text: str, ctx: NumberContext | None = None):
    c = ctx or NumberContext.for_text(text)
    return [resolve_quantity(m, c) for m in find_quantities(text, Spans())]


@pytest.mark.parametrize(
    ("text", "value", "unit", "plus", "minus"),
    [
        ("12,5 mm ± 0,1", 12.5, "mm", 0.1, 0.1),
        ("Ø 20 mm +0.05/-0.02", 20.0, "mm", 0.05, 0.02),
        ("20 ± 0.05 mm", 20.0, "mm", 0.05, 0.05),
        ("20 mm (+0,05 / -0,02)", 20.0, "mm", 0.05, 0.02),
        ("20 mm -0.02/+0.05", 20.0, "mm", 0.05, 0.02),
        ("20 mm ± 50 µm", 20.0, "mm", 0.05, 0.05),  # tolerance in another unit
        ("0.5 in", 0.5, "in", None, None),
        ('3/8"', 0.375, "in", None, None),
        ("1-1/2 in", 1.5, "in", None, None),
        ("200 pcs", 200.0, "pcs", None, None),
        ("200 Stück", 200.0, "pcs", None, None),
        ("200 pièces", 200.0, "pcs", None, None),
        ("200 piezas", 200.0, "pcs", None, None),
        ("200件", 200.0, "pcs", None, None),
        ("200个", 200.0, "pcs", None, None),
        ("5 kg", 5.0, "kg", None, None),
        ("50 N·m", 50.0, "N·m", None, None),
        ("50 Nm", 50.0, "N·m", None, None),
        ("20 °C", 20.0, "°C", None, None),
        ("-10 °C", -10.0, "°C", None, None),
        ("2 bar", 2.0, "bar", None, None),
        ("30 psi", 30.0, "psi", None, None),
        ("20毫米", 20.0, "mm", None, None),
        ("5公斤", 5.0, "kg", None, None),
        ("1\u202f234,5 mm", 1234.5, "mm", None, None),
    ],
)
def test_written_quantities(text, value, unit, plus, minus):
    [q] = quantities(text)
    assert q.value == pytest.approx(value)
    assert q.unit.symbol == unit
    assert q.tol_plus == (None if plus is None else pytest.approx(plus))
    assert q.tol_minus == (None if minus is None else pytest.approx(minus))


def test_count_units_are_counts_and_mass_units_are_mass():
    kinds = {q.unit_text: q.kind for q in quantities("200 Stück, 200 pcs, 5 kg, 10 lb, 200件")}
    assert kinds == {"Stück": "count", "pcs": "count", "kg": "mass", "lb": "mass", "件": "count"}


def test_not_quantities():
    # a number without a unit, a code glued to letters, "in" as a preposition
    assert quantities("Position 20, bearing 6204-2RS, put 5 in the box") == []


def test_prefix_and_span():
    [q] = quantities("Welle Ø20 mm h6")
    assert q.prefix == "Ø" and q.span.text == "Ø20 mm"


def test_an_ambiguous_number_keeps_its_quantity_without_a_value():
    [q] = quantities("1,250 kg", NumberContext())
    assert q.value is None and q.ambiguous and q.number.readings == (1.25, 1250.0)


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (1.0, "in", "mm", 25.4),
        (0.787, "in", "mm", 19.9898),
        (20.0, "mm", "in", 0.787402),
        (10.0, "lb", "kg", 4.5359237),
        (1.0, "kg", "lb", 2.2046226),
        (30.0, "psi", "bar", 2.0684272),
        (2.0, "bar", "psi", 29.007548),
        (68.0, "°F", "°C", 20.0),
        (-40.0, "°C", "°F", -40.0),
        (100.0, "ft·lb", "N·m", 135.58179),
    ],
)
def test_conversions(value, src, dst, expected):
    assert convert(value, lookup(src), lookup(dst)) == pytest.approx(expected, rel=1e-6)


def test_tolerances_convert_without_the_temperature_offset():
    assert convert(9.0, lookup("°F"), lookup("°C"), difference=True) == pytest.approx(5.0)


def test_units_of_different_kinds_do_not_convert():
    with pytest.raises(ValueError, match="cannot convert mass"):
        convert(1.0, lookup("kg"), lookup("mm"))
