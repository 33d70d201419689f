"""The plant glossary: loading from CSV with clear errors, and finding its terms."""

from __future__ import annotations

import pytest

from plantmind.language.glossary import Glossary, GlossaryError


def test_example_glossary_loads(glossary):
    assert {"en", "de", "fr", "es", "zh"} <= set(glossary.languages)
    assert glossary.term("shaft_diameter", "de") == "Wellendurchmesser"
    assert glossary.kind("ball_bearing") == "count"


@pytest.mark.parametrize(
    ("text", "concept", "found"),
    [
        ("The shaft diameters are fine.", "shaft_diameter", "shaft diameters"),
        ("Der Wellendurchmesser passt.", "shaft_diameter", "Wellendurchmesser"),
        ("Les roulements à billes sont livrés.", "ball_bearing", "roulements à billes"),
        ("El diámetro del eje es correcto.", "shaft_diameter", "diámetro del eje"),
        ("轴径符合要求。", "shaft_diameter", "轴径"),
        ("Check the deep-groove ball bearing.", "ball_bearing", "deep-groove ball bearing"),
    ],
)
def test_terms_normalise_to_concepts(glossary, text, concept, found):
    hits = {t.concept: t.span.text for t in glossary.find(text)}
    assert hits.get(concept) == found


def test_longest_term_wins(glossary):
    # "shaft diameter" and "shaft" overlap: one match, the longer concept
    [t] = glossary.find("the shaft diameter")
    assert t.concept == "shaft_diameter"


def test_terms_are_whole_words(glossary):
    assert glossary.find("The shafting and boredom") == []


def write(tmp_path, body: str):
    p = tmp_path / "g.csv"
    p.write_text(body, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty"),
        ("en,de\nshaft,Welle\n", "line 1: no 'concept' column"),
        ("concept,english\nx,shaft\n", "column 'english' is not a language code"),
        ("concept,en\nshaft,shaft\nshaft,axle\n", "line 3: concept 'shaft' appears twice"),
        ("concept,en\na,bore\nb,bore\n", "line 3: en term 'bore' is also concept 'a' (line 2)"),
        ("concept,kind,en\na,volume,bore\n", "kind 'volume' is not one of"),
        ("concept,en\na,\n", "line 2: concept 'a' has no terms"),
        ("concept,en\n", "no concepts"),
    ],
)
def test_bad_glossaries_name_file_and_line(tmp_path, body, message):
    p = write(tmp_path, body)
    with pytest.raises(GlossaryError) as exc:
        Glossary.from_csv(p)
    assert str(p) in str(exc.value) and message in str(exc.value)


def test_synonyms_in_one_cell(tmp_path):
    g = Glossary.from_csv(write(tmp_path, "concept,en\nbore,bore|hole diameter\n"))
    assert [t.concept for t in g.find("the hole diameter and the bore")] == ["bore", "bore"]
