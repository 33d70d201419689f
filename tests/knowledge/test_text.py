"""The tokenizer: maintenance shorthand meets plain words, in documents and questions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from plantmind.knowledge.shorthand import SHORTHAND, expand
from plantmind.knowledge.text import tokenize


def test_shorthand_meets_plain_words():
    assert tokenize("rplc brg, lkg") == tokenize("replace bearing leaking")
    assert tokenize("PM overdue") == tokenize("preventive maintenance overdue")
    assert tokenize("c/o mech seal") == tokenize("change out mechanical seal")
    assert tokenize("hyd press switch") == tokenize("hydraulic press switch")


def test_part_numbers_stay_whole_and_contractions_drop():
    terms = tokenize("PT6A-67 doesn't start")
    assert "pt6a-67" in terms and "pt6a" in terms
    assert not any("doesn" in t for t in terms)


def test_question_noise_and_spelling_variants():
    assert tokenize("what is the procedure to depressurise it", query=True) == tokenize(
        "depressurize"
    )


def test_table_keys_are_lower_case_single_tokens():
    assert all(k == k.lower() and " " not in k for k in SHORTHAND)
    assert expand("brg") == ["bearing"] and expand("bearing") == ["bearing"]


@given(st.text(max_size=300))
def test_tokenize_never_fails_and_gives_lower_case(text):
    assert all(t == t.lower() and t for t in tokenize(text))
