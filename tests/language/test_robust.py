"""Bad and odd input: any text gives a report (never an exception), every flag's span is
the text it names, and a long message costs time in proportion to its length."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantmind.language.check import check_message

_PIECES = list(
    "0123456789.,'’ \u202f\u00a0/-+±()Ø°CFmkgin\"NStückpcs件个毫米年月日:;。\n"
    "abcdeSHALLmussdoitdebe必须应该"
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(st.sampled_from(_PIECES), max_size=80) | st.text(max_size=60))
def test_any_text_gives_a_report_with_true_spans(spec, glossary, text):
    r = check_message(text, spec=spec, glossary=glossary)
    d = r.to_dict()
    assert d["language"]
    for f in r.flags:
        if f.span is not None:
            assert text[f.span.start : f.span.end] == f.span.text
    for q in r.quantities:
        assert text[q.span.start : q.span.end] == q.span.text


def test_a_long_message_is_read_in_linear_time(spec, glossary):
    one = "Der Wellendurchmesser muss 20 mm betragen. The shaft diameter should be 0.8 in. "
    t0 = time.perf_counter()
    r = check_message(one * 50, spec=spec, glossary=glossary)
    small = time.perf_counter() - t0
    t0 = time.perf_counter()
    big = check_message(one * 1000, spec=spec, glossary=glossary)
    large = time.perf_counter() - t0
    assert big.codes().count("weakened_modality") == 20 * r.codes().count("weakened_modality")
    assert large < 60 * small + 1.0  # 20x the text: far from the 400x of a quadratic pass
