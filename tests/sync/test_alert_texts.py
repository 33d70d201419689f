"""What of an alert's probable causes and operator notes may leave the site: document
excerpts only where the policy lets documents go (their citations always), operators'
comments not when the plant marks anything confidential."""

from __future__ import annotations

from plantmind.core.plant import EgressPolicy, Plant, PlantIndex, example_plant_path, load_plant
from plantmind.sync.egress import EgressGate

ALERT = {
    "id": "a1",
    "asset_id": "P-101",
    "signals": ["P-101.bearing_temperature"],
    "severity": "critical",
    "message": "P-101.bearing_temperature = 91 degC",
    "details": {
        "probable_causes": [
            {
                "work_order": "WO-25-0150",
                "symptom": "brg temp hi",
                "cause": "worn DE brg",
                "action": "rplc DE brg pair",
                "citation": {"source": "work_orders.csv"},
            },
        ],
        "procedure": {
            "text": "High bearing temperature: check the oil level …",
            "citation": {"source": "P-101_pump_manual.md", "page": 3},
        },
        "actions": [{"action": "acknowledge", "name": "Jo", "comment": "C-201 was at 412 degC"}],
    },
}


def test_excerpts_stay_home_by_default_and_citations_go() -> None:
    gate = EgressGate(EgressPolicy())
    out = gate.redact("alerts", ALERT)
    cause = out["details"]["probable_causes"][0]
    assert cause == {"work_order": "WO-25-0150", "citation": {"source": "work_orders.csv"}}
    assert "text" not in out["details"]["procedure"]
    assert out["details"]["procedure"]["citation"]["page"] == 3
    assert "withheld_texts" in out["details"]
    assert out["details"]["actions"][0]["comment"]  # no confidential marks: the note goes
    assert ALERT["details"]["probable_causes"][0]["cause"] == "worn DE brg"  # not mutated


def test_with_documents_allowed_the_excerpts_go() -> None:
    gate = EgressGate(EgressPolicy(allow=["alerts", "documents"]))
    out = gate.redact("alerts", ALERT)
    assert out["details"]["probable_causes"][0]["cause"] == "worn DE brg"
    assert out["details"]["procedure"]["text"].startswith("High bearing")


def test_comments_stay_home_when_the_plant_marks_something_confidential() -> None:
    text = (
        example_plant_path()
        .read_text()
        .replace(
            "kind: air_compressor\n",
            "kind: air_compressor\n            sensitivity: confidential\n",
            1,
        )
    )
    plant = load_plant_text(text)
    gate = EgressGate(plant.egress)
    gate.bind(PlantIndex.build(plant))
    out = gate.redact("alerts", ALERT)
    assert out is not None and "comment" not in out["details"]["actions"][0]
    assert out["details"]["actions"][0]["name"] == "Jo"


def load_plant_text(text: str) -> Plant:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "plant.yaml"
        p.write_text(text)
        return load_plant(p)
