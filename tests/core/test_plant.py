"""The plant model: the example validates, and errors name file, line, path and problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plantmind.core.plant import (
    PlantConfigError,
    PlantIndex,
    example_plant_path,
    load_plant,
    parse_plant,
)

EXAMPLE = example_plant_path().read_text(encoding="utf-8")


def test_example_plant_has_the_demo_assets(plant):
    kinds = {a.kind for _, _, a in plant.iter_assets()}
    assert {"centrifugal_pump", "air_compressor", "cnc_spindle", "belt_conveyor"} <= kinds
    pump = plant.asset("P-101")
    roles = {s.role for s in pump.signals}
    assert roles == {
        "vibration_rms",
        "bearing_temperature",
        "motor_current",
        "discharge_pressure",
        "flow",
    }
    assert plant.sites[0].stations[0].id == "QS-1"
    assert plant.egress.allow == ["alerts", "health", "aggregates", "models"]


def test_index_is_flat_and_ordered(plant, index):
    n = sum(len(a.signals) for _, _, a in plant.iter_assets())
    assert index.n_signals == n == len(index.low) == len(index.asset_of)
    assert index.signal_ids[0] == "P-101.vibration_rms"
    assert index.asset_ids[index.asset_of[0]] == "P-101"
    assert np.all(index.low < index.high)
    assert list(index.signals_of_asset(index.asset_ids.index("C-201"))) == [
        index.signal_position()[s.id] for s in plant.asset("C-201").signals
    ]


def test_missing_unit_names_path_and_line():
    text = EXAMPLE.replace("unit: A,", "", 1)
    with pytest.raises(PlantConfigError) as info:
        parse_plant(text, "plant.yaml")
    msg = str(info.value)
    assert "plant.yaml" in msg
    assert "sites[0].lines[0].assets[0].signals[2].unit: Field required" in msg
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "P-101.motor_current" in t)
    assert f"line {line}:" in msg


def test_bad_range_and_unknown_field_are_reported_together():
    text = EXAMPLE.replace("expected_range: [0, 6.5]", "expected_range: [7, 6.5]", 1)
    text = text.replace("kind: air_compressor", "kind: air_compressor\n            colour: red", 1)
    with pytest.raises(PlantConfigError) as info:
        parse_plant(text, "p.yaml")
    problems = info.value.problems
    assert any("expected_range must be two finite numbers with low < high" in p for p in problems)
    assert any(
        p.endswith("sites[0].lines[0].assets[2].colour: Extra inputs are not permitted")
        for p in problems
    )


def test_duplicate_signal_id_is_named():
    text = EXAMPLE.replace("id: P-102.flow", "id: P-101.flow", 1)
    with pytest.raises(PlantConfigError, match=r"duplicate signal id 'P-101.flow' at sites\[0\]"):
        parse_plant(text, "p.yaml")


def test_malformed_yaml_gives_position(tmp_path: Path):
    bad = tmp_path / "plant.yaml"
    bad.write_text("name: x\nsites:\n  - id: a\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(PlantConfigError) as info:
        load_plant(bad)
    assert str(bad) in str(info.value)
    assert "malformed YAML at line" in str(info.value)


def test_not_a_mapping_and_missing_file(tmp_path: Path):
    with pytest.raises(PlantConfigError, match="must be a mapping"):
        parse_plant("- just\n- a list\n")
    with pytest.raises(PlantConfigError, match="file not found"):
        load_plant(tmp_path / "nope.yaml")


def test_minimal_plant_defaults():
    p = parse_plant("name: tiny\nsites: [{id: s, name: S}]\n")
    assert PlantIndex.build(p).n_signals == 0
    assert p.egress.allow == ["alerts", "health", "aggregates", "models"]


def test_duplicate_keys_are_errors_naming_file_line_and_path(tmp_path: Path):
    # YAML loaders keep the last of two equal keys silently; the plant loader refuses them
    kind = "            kind: air_compressor"
    text = EXAMPLE.replace(kind, kind + "\n            kind: pump", 1)
    text = text.replace("name: Riverside", "name: first\nname: Riverside", 1)
    p = tmp_path / "plant.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(PlantConfigError) as info:
        load_plant(p)
    lines = text.splitlines()
    dup_name = lines.index("name: Riverside Works (simulated)") + 1
    dup_kind = lines.index("            kind: pump") + 1
    assert info.value.source == str(p) and str(p) in str(info.value)
    assert info.value.problems == [
        f"line {dup_name}: name: duplicate key 'name' (first at line {dup_name - 1})",
        f"line {dup_kind}: sites[0].lines[0].assets[2].kind: duplicate key 'kind' "
        f"(first at line {dup_kind - 1})",
    ]


def test_duplicate_key_in_a_flow_mapping_and_merge_keys():
    with pytest.raises(PlantConfigError, match=r"line 2: sites\[0\]\.id: duplicate key 'id'"):
        parse_plant("name: tiny\nsites: [{id: s, name: S, id: t}]\n")
    # a key that overrides one merged in with << is YAML's override, not a duplicate
    p = parse_plant("name: tiny\nsites: [{<<: {id: s, name: S}, name: T}]\n")
    assert p.sites[0].name == "T"
