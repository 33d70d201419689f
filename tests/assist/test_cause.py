"""Probable causes and procedures for alerts from the example plant's work orders, manual and
SOPs (assist/cause.py): what matches, what is cited, what is said when nothing matches, and
the notes when nothing matches (the node hook: tests/edge/test_alert_causes.py)."""

from __future__ import annotations

import pytest

from plantmind.assist.cause import NO_HISTORY, CauseFinder, CauseRequest
from plantmind.core.plant import example_plant_path
from plantmind.knowledge.index import KnowledgeIndex

DOCS = example_plant_path().parent / "docs"


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory):
    ix = KnowledgeIndex(tmp_path_factory.mktemp("knowledge"), embedder=None)
    ix.add([DOCS, example_plant_path()])
    yield ix
    ix.close()


@pytest.fixture(scope="module")
def finder(plant, knowledge):
    return CauseFinder(plant, knowledge)


def _req(asset, signals, category, words):
    return CauseRequest("al_test", asset, tuple(signals), category, words)


def test_bearing_temperature_gets_the_bearing_work_order_and_the_troubleshooting_rows(finder):
    r = finder.lookup(
        _req(
            "P-101",
            ["P-101.bearing_temperature"],
            "equipment",
            "P-101.bearing_temperature = 86 degC, 6 degC above its normal maximum 80 degC",
        )
    )
    causes = r["probable_causes"]
    assert causes, r["cause_lookup"]
    first = causes[0]
    assert first["work_order"] == "WO-25-0150"
    assert first["date"] == "2025-04-15"
    assert "oil dark" in first["cause"] and "SOP-012" in first["action"]
    assert first["citation"] == {
        "source": "work_orders/work_orders.csv",
        "page": None,
        "section": "work order WO-25-0150",
    }
    assert first["same_direction"] is True
    # planned work explains nothing: the 6-monthly PM that logged "brg temp 58 degC" is not one
    assert all(c["work_order"] != "WO-25-0387" for c in causes)
    assert len(causes) <= 3
    assert r["cause_lookup"]["note"] is None
    proc = r["procedure"]
    assert proc["citation"]["source"] == "manuals/P-101_pump_manual.md"
    assert proc["citation"]["section"] == "3. Troubleshooting" and proc["citation"]["page"] == 3
    assert proc["text"].startswith("High bearing temperature")
    assert "Oil level too low" in proc["text"]
    # the SOP the work order was done by, as a second passage
    (also,) = r["procedure_also"]
    assert also["citation"]["source"] == "sops/SOP-012_pump_bearing_replacement.md"
    assert also["citation"]["section"] == "2. When to use"
    assert "bearing temperature" in also["text"]


def test_two_signals_of_a_cavitating_pump_get_the_strainer_work_order(finder):
    r = finder.lookup(
        _req(
            "P-101",
            ["P-101.discharge_pressure", "P-101.flow"],
            "equipment",
            "P-101.discharge_pressure = 3.9 bar, fluctuating 4.1× more than usual; "
            "P-101.flow = 150 m3/h, 30 m3/h below its normal minimum 180 m3/h",
        )
    )
    (first, *_) = r["probable_causes"]
    assert first["work_order"] == "WO-25-0212"  # "flow lo ... disch press fluctuating"
    assert "strainer" in first["cause"]
    assert set(first["matched"]) == {"P-101.discharge_pressure", "P-101.flow"}
    assert "fluctuating discharge pressure" in r["procedure"]["text"]


def test_an_asset_without_matching_history_says_so(finder):
    r = finder.lookup(
        _req(
            "P-102", ["P-102.flow"], "equipment", "P-102.flow = 262 m3/h, above its normal maximum"
        )
    )
    assert r["probable_causes"] == []
    note = r["cause_lookup"]["note"]
    assert note.startswith(NO_HISTORY) and "P-102" in note and "searched" in note


def test_the_opposite_direction_is_not_a_cause(finder):
    # "flow lo 140 m3/h" does not explain a flow above its range
    r = finder.lookup(
        _req("P-101", ["P-101.flow"], "equipment", "P-101.flow = 250, 20 above its normal maximum")
    )
    assert all(c["work_order"] != "WO-25-0212" for c in r["probable_causes"])


def test_a_stuck_sensor_looks_for_sensor_faults_and_the_instrument_passage(finder):
    r = finder.lookup(
        _req(
            "P-101",
            ["P-101.bearing_temperature"],
            "data-quality",
            "P-101.bearing_temperature = 61 degC, unchanged for 300 samples (stuck sensor?)",
        )
    )
    # the history has no sensor fault of it: equipment work orders do not explain a stuck value
    assert r["probable_causes"] == []
    assert "sensor fault" in r["cause_lookup"]["note"]
    proc = r["procedure"]
    assert proc["citation"]["section"].startswith("Instrumentation")
    assert "Pt100" in proc["text"]


def test_no_procedure_for_an_asset_no_document_names(finder):
    r = finder.lookup(
        _req(
            "CV-401",
            ["CV-401.motor_current"],
            "equipment",
            "CV-401.motor_current = 19 A, 3 A above its normal maximum 16 A",
        )
    )
    assert r["probable_causes"][0]["work_order"] == "WO-26-0084"  # "mtr current hi 19 A"
    assert r["procedure"] is None
    assert "CV-401" in r["cause_lookup"]["procedure_note"]


def test_an_index_without_work_orders_says_so(plant, tmp_path):
    with KnowledgeIndex(tmp_path / "k", embedder=None) as ix:
        ix.add([DOCS / "manuals"])
        r = CauseFinder(plant, ix).lookup(
            _req("P-101", ["P-101.bearing_temperature"], "equipment", "above its normal maximum")
        )
    assert r["probable_causes"] == []
    assert r["cause_lookup"]["note"] == f"{NO_HISTORY}: no work orders of P-101 are indexed"
    assert r["procedure"] is not None


def test_bad_settings_are_refused(plant, knowledge):
    with pytest.raises(ValueError, match="max_causes"):
        CauseFinder(plant, knowledge, max_causes=0)
