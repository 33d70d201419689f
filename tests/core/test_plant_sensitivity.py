"""``sensitivity`` on assets and signals: validated with line and path, inherited by a
signal from its asset unless it sets its own, and exposed in the plant index."""

from __future__ import annotations

import pytest

from plantmind.core.plant import PlantConfigError, PlantIndex, parse_plant

PLANT = """\
name: Test works
sites:
  - id: s1
    name: Site 1
    lines:
      - id: l1
        name: Line 1
        assets:
          - id: A
            name: Secret mixer
            kind: mixer
            sensitivity: {asset}
            signals:
              - {{id: A.temp, name: Temp, unit: degC, expected_range: [0, 100], sample_rate_hz: 1}}
              - id: A.speed
                name: Speed
                unit: rpm
                expected_range: [0, 3000]
                sample_rate_hz: 1
                sensitivity: {signal}
          - id: B
            name: Plain pump
            kind: pump
            signals:
              - {{id: B.flow, name: Flow, unit: m3/h, expected_range: [0, 50], sample_rate_hz: 1}}
egress:
  confidential_values: {values}
"""


def _plant(asset: str = "confidential", signal: str = "public", values: str = "false") -> str:
    return PLANT.format(asset=asset, signal=signal, values=values)


def test_signals_inherit_their_assets_sensitivity_unless_they_set_one():
    plant = parse_plant(_plant())
    a = plant.asset("A")
    assert a.sensitivity == "confidential"
    assert [a.signal_sensitivity(s) for s in a.signals] == ["confidential", "public"]
    assert plant.asset("B").sensitivity == "internal"  # the default
    assert plant.egress.confidential_values is False
    index = PlantIndex.build(plant)
    assert index.signal_sensitivity == ("confidential", "public", "internal")
    assert index.asset_sensitivity == ("confidential", "internal")
    assert index.confidential_signals == {"A.temp"}
    assert index.confidential_assets == {"A"}


def test_confidential_values_can_be_allowed_explicitly():
    assert parse_plant(_plant(values="true")).egress.confidential_values is True


def test_a_bad_signal_sensitivity_names_line_and_path():
    with pytest.raises(PlantConfigError) as info:
        parse_plant(_plant(signal="secret"), "plant.yaml")
    (problem,) = info.value.problems
    assert problem.startswith("line 20: sites[0].lines[0].assets[0].signals[1].sensitivity:")
    assert "'public', 'internal' or 'confidential'" in problem


def test_a_bad_asset_sensitivity_names_line_and_path():
    with pytest.raises(PlantConfigError) as info:
        parse_plant(_plant(asset="restricted"), "plant.yaml")
    (problem,) = info.value.problems
    assert problem.startswith("line 12: sites[0].lines[0].assets[0].sensitivity:")
    assert str(info.value).startswith("plant.yaml: invalid plant model")
