"""Regressions from a review: sentence ends after a one-letter unit, a count not tied to a
measured concept, Spanish "uds.", empty and binary input, one-line spec errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import plantmind
from plantmind.cli import app
from plantmind.language.check import check_message
from plantmind.language.glossary import Glossary
from plantmind.language.segments import sentences
from plantmind.language.spec import SpecError, load_spec
from plantmind.language.units import lookup

EXAMPLES = Path(plantmind.__file__).parent / "examples" / "language"
runner = CliRunner()


@pytest.fixture(scope="module")
def spec():
    return load_spec(EXAMPLES / "spec.yaml")


@pytest.fixture(scope="module")
def glossary():
    return Glossary.from_csv(EXAMPLES / "glossary.csv")


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("Le couple devrait être de 50 N·m. Pression d'essai 2,5 bar.", 2),
        ("Betriebstemperatur 80 °C. Der Rest folgt.", 2),
        ("Länge 12 m. Der Rest folgt.", 2),
        ("Siehe z. B. Abschnitt 3.", 1),
        ("Mr. J. Smith called.", 1),
    ],
)
def test_sentence_ends_after_a_one_letter_unit(text, n):
    assert len(sentences(text)) == n


def test_a_weak_modal_does_not_leak_into_the_next_sentence(spec, glossary):
    r = check_message(
        "Le couple de serrage devrait être de 50 N·m. Pression d'essai 2,5 bar.",
        spec=spec, glossary=glossary, translate_message=False,
    )  # fmt: skip
    weak = [f.message for f in r.flags if f.code == "weakened_modality"]
    assert len(weak) == 1 and "tightening_torque" in weak[0]


def test_a_count_is_not_tied_to_a_pressure_in_its_sentence(spec, glossary):
    r = check_message(
        "Please note: test pressure 2 bar ±0.1, delivery 04/15/2026, 200 pcs.",
        spec=spec, glossary=glossary, translate_message=False,
    )  # fmt: skip
    assert "unit_mismatch" not in r.codes()
    d = r.to_dict()
    assert [q["concept"] for q in d["quantities"]] == ["test_pressure", "ball_bearing"]


def test_spanish_units_abbreviation(spec, glossary):
    assert lookup("uds").symbol == "pcs" and lookup("unidades").symbol == "pcs"
    r = check_message(
        "Entregamos 200 uds. de rodamiento de bolas el 15/04/2026.",
        spec=spec, glossary=glossary, translate_message=False,
    )  # fmt: skip
    assert "missing_quantity" not in r.codes()
    assert r.to_dict()["quantities"][0]["unit"] == "pcs"


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (["check", ""], None, "MESSAGE: the message is empty"),
        (["check", "-"], "  \n", "standard input: the message is empty"),
        (["check", "-"], b"\xff\xfe\x00\x81binary", "standard input: not UTF-8 text"),
        (["detect", "-"], b"\xff\xfe\x00\x81binary", "standard input: not UTF-8 text"),
        (["detect", ""], None, "the message is empty"),
    ],
)
def test_empty_or_binary_message_exits_2(args, stdin, words):
    r = runner.invoke(app, ["language", *args], input=stdin)
    assert r.exit_code == 2, r.output
    assert words in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    ("name", "body", "words"),
    [
        ("s.yaml", "items: [\n  - bad", "not valid YAML at line 2, column 3"),
        ("s.json", '{"items": [', "not valid JSON at line 1, column 12"),
        ("s.yaml", "# only a comment\n", "empty spec"),
    ],
)
def test_spec_errors_are_one_line(tmp_path, name, body, words):
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        load_spec(p)
    assert words in str(exc.value) and "\n" not in str(exc.value)
