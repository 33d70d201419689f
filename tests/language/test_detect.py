"""Language detection: one language per message in five languages, mixed messages with
their spans, and "unknown" with a reason instead of a guess."""

from __future__ import annotations

import pytest

from plantmind.language.detect import DEFAULT_LANGUAGES, LanguageDetector, get_detector

MESSAGES = {
    "en": "Please confirm that the shaft diameter of the new batch is within the drawing.",
    "de": "Bitte bestätigen Sie, dass der Wellendurchmesser der neuen Charge passt.",
    "fr": "Merci de confirmer que le diamètre de l'arbre du nouveau lot est conforme.",
    "es": "Por favor confirmen que el diámetro del eje del nuevo lote es correcto.",
    "zh": "请确认新批次的轴径符合图纸要求。",
}


@pytest.mark.parametrize("lang", sorted(MESSAGES))
def test_each_language_is_detected(lang):
    res = get_detector().detect(MESSAGES[lang])
    assert res.language == lang
    assert res.languages == [lang]
    assert not res.mixed


def test_numbers_and_units_are_blanked_so_short_english_is_not_german():
    # lingua alone reads "The shaft shall be" as German; the function words settle it
    res = get_detector().detect("The shaft shall be 20 mm.")
    assert res.language == "en"
    assert "function words (the, shall, be)" in res.segments[0].reason


def test_a_message_mixing_two_languages_is_mixed_with_spans():
    text = "Bitte liefern Sie 200 Stück bis Freitag. Please confirm the delivery date by email."
    res = get_detector().detect(text)
    assert res.mixed
    assert set(res.languages) == {"de", "en"}
    by_lang = {s.language: s.span.text for s in res.segments}
    assert by_lang["de"].startswith("Bitte liefern")
    assert by_lang["en"].startswith("Please confirm")
    assert res.language_at(text.index("Please")) == "en"
    assert res.language_at(text.index("Bitte")) == "de"


def test_chinese_inside_an_english_sentence_is_its_own_segment():
    res = get_detector().detect("Please deliver the bearings soon. 请在四月三日前交付。")
    assert res.mixed and set(res.languages) == {"en", "zh"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("xkq zzv", "too short"),
        ("xkq zzv qwrt plmk brr", "does not look like words"),
        ("🙂🙂🙂", "no words"),
        ("12345 67,5", "no words"),
        ("Привет, как дела сегодня утром?", "not one of the configured languages"),
        ("OK", "too short"),
    ],
)
def test_unknown_language_says_why(text, reason):
    res = get_detector().detect(text)
    assert res.language == "unknown"
    assert res.languages == []
    assert reason in res.reason


def test_short_sentences_do_not_make_a_message_mixed():
    # "Danke." and "Thanks!" are too short to count as evidence of a second language
    res = get_detector().detect("Die Lieferung der Kugellager kommt am Montag an. Thanks! Danke.")
    assert res.language == "de"
    assert not res.mixed


def test_the_detector_is_built_once_and_reports_its_cost(detector_ready):
    d = get_detector()
    assert d is get_detector(list(reversed(DEFAULT_LANGUAGES)))
    assert set(d.languages) == set(DEFAULT_LANGUAGES)
    assert 0 < d.load_s < 30
    assert detector_ready["detector_load_s"] == d.load_s


def test_languages_are_configurable():
    small = get_detector(["en", "de"])
    assert small.languages == ("de", "en")
    assert small.detect(MESSAGES["de"]).language == "de"
    # French is not configured here: lingua alone would call it English; its function
    # words say it is none of the two
    res = small.detect(MESSAGES["fr"])
    assert res.language == "unknown"
    assert "not one of the configured languages (function words of fr" in res.reason


def test_bad_language_codes_are_refused():
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        LanguageDetector(["en", "xx"])
    with pytest.raises(ValueError, match="at least two"):
        LanguageDetector(["en"])
