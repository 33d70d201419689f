"""Modal words and their strength per language, negation included."""

from __future__ import annotations

import pytest

from plantmind.language.modality import find_modals, strength_of


@pytest.mark.parametrize(
    ("lang", "text", "word", "strength"),
    [
        ("en", "The shaft shall be ground.", "shall", "mandatory"),
        ("en", "The shaft must be ground.", "must", "mandatory"),
        ("en", "The shaft should be ground.", "should", "recommended"),
        ("en", "The shaft may be ground.", "may", "permitted"),
        ("de", "Die Welle muss geschliffen sein.", "muss", "mandatory"),
        ("de", "Die Wellen müssen geschliffen sein.", "müssen", "mandatory"),
        ("de", "Die Welle ist zu schleifen.", "ist zu", "mandatory"),
        ("de", "Die Welle soll geschliffen sein.", "soll", "recommended"),
        ("de", "Die Welle sollte geschliffen sein.", "sollte", "recommended"),
        ("de", "Die Welle darf geschliffen sein.", "darf", "permitted"),
        ("fr", "L'arbre doit être rectifié.", "doit", "mandatory"),
        ("fr", "Les arbres doivent être rectifiés.", "doivent", "mandatory"),
        ("fr", "L'arbre devrait être rectifié.", "devrait", "recommended"),
        ("fr", "L'arbre peut être rectifié.", "peut", "permitted"),
        ("es", "El eje debe ser rectificado.", "debe", "mandatory"),
        ("es", "Los ejes deben ser rectificados.", "deben", "mandatory"),
        ("es", "El eje debería ser rectificado.", "debería", "recommended"),
        ("es", "El eje puede ser rectificado.", "puede", "permitted"),
        ("zh", "轴必须磨削。", "必须", "mandatory"),
        ("zh", "轴应当磨削。", "应当", "mandatory"),
        ("zh", "轴须磨削。", "须", "mandatory"),
        ("zh", "轴应该磨削。", "应该", "recommended"),
        ("zh", "轴宜磨削。", "宜", "recommended"),
        ("zh", "轴可以磨削。", "可以", "permitted"),
    ],
)
def test_modal_words(lang, text, word, strength):
    [m] = find_modals(text, lang)
    assert (m.word, m.strength) == (word, strength)


@pytest.mark.parametrize(
    ("lang", "text", "strength"),
    [
        ("en", "Parts must not be oiled.", "mandatory"),
        ("en", "Parts need not be oiled.", "permitted"),
        ("de", "Die Temperatur darf 80 °C nicht überschreiten.", "mandatory"),
        ("de", "Das Teil muss nicht geölt werden.", "permitted"),
        ("fr", "La pièce ne doit pas être huilée.", "mandatory"),
        ("es", "La pieza no puede superar 80 °C.", "mandatory"),
        ("zh", "不得超过80℃。", "mandatory"),
        ("zh", "无须涂油。", "permitted"),
    ],
)
def test_negation(lang, text, strength):
    [m] = find_modals(text, lang)
    assert m.strength == strength


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Delivery in May 2026 as agreed."),  # the month
        ("de", "Der Druck ist zu hoch."),  # "zu" = too
        ("zh", "价格便宜，适宜长期供货。须知附后。"),  # 便宜, 适宜, 须知
        ("en", "The bearing is mustard yellow."),
    ],
)
def test_words_that_only_look_modal(lang, text):
    assert find_modals(text, lang) == []


def test_spec_modality_in_any_language():
    assert strength_of("shall") == strength_of("muss") == strength_of("必须") == "mandatory"
    assert strength_of("should") == strength_of("debería") == "recommended"
    with pytest.raises(ValueError, match="unknown modality"):
        strength_of("perhaps")
