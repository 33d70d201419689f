"""The assistant without a model: extractive answers quoted and cited, declines when the
documents do not answer, live context for an asset, long questions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantmind.assist.answer import NOT_FOUND, Assistant, DeclinePolicy, keep_valid_citations
from plantmind.assist.context import build_context
from plantmind.core.types import Alert, Severity
from plantmind.knowledge.index import KnowledgeIndex

SOP = """<!-- page 1 -->
# SOP-12 Pump bearing replacement
## 1. Purpose
Replace the bearings of the cooling-water pump.
<!-- page 2 -->
## 5. Procedure
1. Lock out the motor and verify zero energy.
CAUTION: the bearing frame may still be hot.
2. Drain the bearing oil into a drip tray.
3. Pull the bearings with a 3-arm puller.
4. Heat the new bearings to 110 degC on the induction heater.
"""
MANUAL = """<!-- page 1 -->
# Pump manual
## Limits
Vibration alarm at 4.5 mm/s and trip at 7.1 mm/s on the drive-end housing.
<!-- page 2 -->
## Seal
A seal leak of up to 5 drops per minute may run to the next planned stop.
"""
WORK_ORDERS = """wo_id,asset,date,symptom,cause,action,failure_code
WO-1,P-101,2025-02-19,vib hi 4.9 mm/s,misalignment,laser align,VIB
WO-2,P-101,2026-02-03,brg noisy,outer race spalled,rplc DE brg,BRG
WO-3,C-201,2026-03-01,oil lkg,gasket,rplc gasket,LEAK
"""


@pytest.fixture
def kb(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "sop.md").write_text(SOP, encoding="utf-8")
    (docs / "manual.md").write_text(MANUAL, encoding="utf-8")
    (docs / "wo.csv").write_text(WORK_ORDERS, encoding="utf-8")
    with KnowledgeIndex(tmp_path / "kb", embedder=None) as index:
        index.add([docs])
        yield index


def test_extractive_answer_quotes_and_cites(kb):
    ans = Assistant(kb).ask("at what vib level do we trip the pump?")
    assert not ans.declined and ans.model_used is None
    assert ans.citations[0].source == "manual.md" and ans.citations[0].page == 1
    assert ans.citations[0].section == "Limits"
    assert "7.1 mm/s" in ans.answer and "[1]" in ans.answer and "manual.md, page 1" in ans.answer
    d = ans.to_dict()
    assert set(d) >= {"answer", "declined", "citations", "model_used", "timings"}
    assert set(d["citations"][0]) == {"source", "page", "section", "score"}
    assert d["timings"]["total_ms"] >= d["timings"]["retrieve_ms"] > 0


def test_procedure_steps_are_quoted_with_their_caution(kb):
    ans = Assistant(kb).ask("pull the old bearings off and heat the new ones: how?")
    assert ans.citations[0].source == "sop.md" and ans.citations[0].page == 2
    first = ans.answer.split("[2]")[0]
    assert "CAUTION: the bearing frame may still be hot." in first
    assert "3. Pull the bearings with a 3-arm puller." in first


def test_declines_when_the_documents_do_not_answer(kb):
    for q in ("what is the wifi password of the canteen router?", "TBO of a PT6A-67 engine?"):
        ans = Assistant(kb).ask(q)
        assert ans.declined and ans.answer.startswith(NOT_FOUND) and ans.citations == []
        assert ans.retrieved or ans.decline_reason


def test_a_decline_names_the_missing_subject_and_the_closest_passages(kb):
    ans = Assistant(kb).ask("what is the wifi password of the canteen router?")
    assert ans.declined and "'wifi password of the canteen router'" in ans.decline_reason
    assert ans.decline_reason[1:] in ans.answer and ans.to_dict()["decline_reason"]
    ans = Assistant(kb).ask("how do I regrease the bearings of the canteen dishwasher?")
    assert ans.declined and "canteen dishwasher" in ans.decline_reason
    assert "bearing" not in ans.decline_reason.split("closest")[0]
    assert "closest: " in ans.decline_reason and ans.retrieved[0].source in ans.decline_reason


def test_decline_policy_thresholds():
    from plantmind.knowledge.index import SearchResult

    def res(cov, dense):
        return SearchResult("q", ["x"], [object()], cov, 1.0, dense, [], dense is not None)  # type: ignore[list-item]

    p = DeclinePolicy()
    assert p.decide(res(0.9, None))[0] is False
    assert p.decide(res(0.2, None))[0] is True
    assert p.decide(res(0.5, 0.6))[0] is False
    assert p.decide(res(0.5, 0.2))[0] is True


def test_asset_context_alerts_readings_and_work_orders(kb, plant):
    alert = Alert(
        "al1",
        "riverside",
        "P-101",
        1.7e9,
        1.7e9,
        Severity.WARNING,
        ["P-101.vibration_rms"],
        "vibration high",
        0.9,
    )
    ctx = build_context(
        plant,
        "P-101",
        alerts=[alert],
        latest={"P-101.vibration_rms": (1.7e9, 5.2), "P-101.flow": (1.7e9, 200.0)},
        work_orders=kb.work_orders("P-101"),
    )
    by = {r.signal: r for r in ctx.readings}
    assert by["P-101.vibration_rms"].status == "above" and by["P-101.flow"].status == "normal"
    assert by["P-101.motor_current"].status == "no data"
    assert [w["date"] for w in ctx.work_orders] == ["2026-02-03", "2025-02-19"]
    ans = Assistant(kb).ask("vibration alarm and trip level", asset="P-101", context=ctx)
    assert "vibration high" in ans.answer and "ABOVE normal range" in ans.answer
    assert ans.to_dict()["context"]["open_alerts"][0]["message"] == "vibration high"
    with pytest.raises(KeyError):
        build_context(plant, "NOPE")


def test_long_and_empty_questions(kb):
    ans = Assistant(kb).ask("seal leak drops per minute " + "x" * 10_000)
    assert any("truncated" in n for n in ans.notes)
    with pytest.raises(ValueError, match="empty"):
        Assistant(kb).ask("   ")


def test_keep_valid_citations_examples():
    assert keep_valid_citations("a [1] b [3] c [1, 7] d [2-4].", 3) == (
        "a [1] b [3] c [1] d [2, 3].",
        [0, 2, 1],
    )
    assert keep_valid_citations("nothing [0] here [12].", 3) == ("nothing here.", [])


@given(st.text(max_size=200), st.integers(min_value=0, max_value=8))
def test_citations_are_always_in_range(text, n):
    _, cited = keep_valid_citations(text, n)
    assert all(0 <= i < n for i in cited)
    assert len(set(cited)) == len(cited)
