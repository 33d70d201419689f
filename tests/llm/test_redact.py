"""Redaction: stable placeholders, restored answers (also across stream deltas), nothing of
the configured terms left in what would be sent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from plantmind.core.routing import RedactionPattern
from plantmind.llm.redact import Redactor, StreamRestorer, load_key

PATTERNS = [
    RedactionPattern(name="staff", kind="employee", terms=["Jane Doe", "Ann"]),
    RedactionPattern(name="staff-ids", kind="employee", regex=r"\bE\d{5}\b"),
    RedactionPattern(name="customers", kind="customer", terms=["Globex"]),
    RedactionPattern(name="recipe", kind="recipe", regex=r"\b\d+(?:\.\d+)? ?°C for \d+ min\b"),
]


def test_round_trip_and_stable_placeholders(tmp_path):
    r = Redactor(PATTERNS, key=load_key(tmp_path), extra_terms={"P-101": "asset"})
    text = "Jane Doe (E12345) ran P-101 for Globex at 72.5 °C for 30 min; ANN checked. Annual."
    red, mapping = r.redact(text)
    for secret in ("Jane Doe", "E12345", "Globex", "72.5 °C for 30 min", "P-101", "ANN "):
        assert secret not in red
    assert "Annual" in red  # whole words only
    assert Redactor.restore(red, mapping) == text
    # the same term gets the same placeholder, in another call and with another key file read
    again, _ = Redactor(PATTERNS, key=load_key(tmp_path)).redact("ask jane doe")
    assert r.placeholder("EMPLOYEE", "Jane Doe", True) in again
    assert (tmp_path / "redact.key").stat().st_mode & 0o777 == 0o600
    other, _ = Redactor(PATTERNS, key=b"another site").redact("Jane Doe")
    assert other != r.redact("Jane Doe")[0]  # a key per site: no dictionary of names


def test_messages_and_stream_restoring():
    r = Redactor(PATTERNS, key=b"k")
    msgs, mapping = r.redact_messages(
        [{"role": "system", "content": "be brief"},
         {"role": "user", "content": [{"type": "text", "text": "who is E00042?"}]}]
    )  # fmt: skip
    assert "E00042" not in str(msgs) and msgs[0]["content"] == "be brief"
    (ph,) = mapping
    answer = f"{ph} is on shift B."
    restorer = StreamRestorer(mapping)
    out = "".join(restorer.feed(answer[i : i + 2]) for i in range(0, len(answer), 2))
    assert out + restorer.flush() == "E00042 is on shift B."


@given(st.text(max_size=200))
def test_restore_inverts_redact(text):
    r = Redactor(PATTERNS, key=b"k")
    red, mapping = r.redact(text)
    assert Redactor.restore(red, mapping) == text or "[" in text
