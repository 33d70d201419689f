"""Specs from YAML or JSON, validated with errors that name the file and the field."""

from __future__ import annotations

import json

import pytest

from plantmind.language.spec import SpecError, load_spec


def test_example_spec(spec):
    item = spec.item("shaft_diameter")
    assert (item.value, item.unit, item.tol_plus, item.tol_minus) == (20, "mm", 0.05, 0.02)
    assert item.kind == "length" and item.strength == "mandatory"
    assert spec.item("tightening_torque").tol_plus == 2.5  # symmetric shortcut
    assert spec.receiver_locale == "de-DE"


def test_json_spec(tmp_path):
    doc = {
        "items": [{"concept": "shaft_diameter", "value": 20, "unit": "mm", "tol_plus": 0.05,
                   "tol_minus": 0.02, "modality": "shall"}],
        "dates": {"locale": "de-DE"},
    }  # fmt: skip
    p = tmp_path / "spec.json"
    p.write_text(json.dumps(doc))
    s = load_spec(p)
    assert s.receiver_locale == "de-DE" and s.source == str(p)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("items: [{concept: x, unit: furlong}]", "items.0.unit: unknown unit 'furlong'"),
        ("items: [{concept: x, value: 1, tol_plus: 1}]", "give both 'tol_plus' and 'tol_minus'"),
        ("items: [{concept: x, modality: perhaps}]", "items.0.modality: unknown modality"),
        ("items: [{concept: x, unit: kg, kind: length}]", "unit 'kg' is a mass unit"),
        ("locale: xx-YY\nitems: []", "unknown locale 'xx-YY'"),
        ("language: English\nitems: []", "language 'English' is not a language code"),
        ("itemz: []", "itemz: Extra inputs are not permitted"),
        ("items: [{concept: x}, {concept: x}]", "concept 'x' appears twice"),
        ("- just a list", "expected a mapping"),
        ("items: [unclosed", "not valid YAML"),
        ("part_numbers: {patterns: ['(']}", "invalid part number pattern '('"),
    ],
)
def test_bad_specs_name_file_and_field(tmp_path, body, message):
    p = tmp_path / "spec.yaml"
    p.write_text(body)
    with pytest.raises(SpecError) as exc:
        load_spec(p)
    assert str(p) in str(exc.value) and message in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "nope.yaml")


def test_a_spec_without_units_is_valid(tmp_path):
    p = tmp_path / "spec.yaml"
    p.write_text("items: [{concept: shaft_diameter, value: 20, modality: shall}]")
    item = load_spec(p).item("shaft_diameter")
    assert item.unit is None and item.kind is None
