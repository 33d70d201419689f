"""Alert lifecycle: one alert per episode, hysteresis, persistence, operator actions."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from plantmind.core.plant import PlantIndex, example_plant_path, parse_plant
from plantmind.core.types import AlertState, SampleBatch, Severity
from plantmind.detect.alerts import AlertPolicy, AlertTracker
from plantmind.detect.base import Scores


def _feed(
    tracker: AlertTracker,
    index: PlantIndex,
    signal_id: str,
    scores: list[float],
    t0: float = 0.0,
    chan: int = 1,
):
    s = index.signal_position()[signal_id]
    n = len(scores)
    batch = SampleBatch(np.full(n, s), t0 + np.arange(n, dtype=float), np.zeros(n))
    sc = Scores(np.asarray(scores, float), np.full(n, chan, np.int8), np.zeros(n))
    return tracker.update(batch, sc)


def test_persistence_then_one_alert_per_episode(index):
    tr = AlertTracker(index, policy=AlertPolicy(persist=3, clear_after_s=10))
    up = _feed(tr, index, "P-101.flow", [0.6, 0.6, 0.0, 0.6, 0.6])
    assert up.opened == []  # never three in a row
    up = _feed(tr, index, "P-101.flow", [0.6, 0.6, 0.7, 0.8, 0.6, 0.7], t0=5)
    assert len(up.opened) == 1
    alert = up.opened[0]
    # the two hot samples at the end of the last batch count: triggers on the first here
    assert alert.asset_id == "P-101" and alert.opened_at == 5.0
    assert alert.signals == ["P-101.flow"] and alert.severity == Severity.WARNING
    # a second signal of the same asset joins the same episode
    up = _feed(tr, index, "P-101.motor_current", [0.95], t0=11)
    assert up.opened == [] and up.updated == [alert]
    assert set(alert.signals) == {"P-101.flow", "P-101.motor_current"}
    assert alert.severity == Severity.CRITICAL


def test_hysteresis_and_auto_resolve(index):
    tr = AlertTracker(index, policy=AlertPolicy(persist=1, hold=0.35, clear_after_s=10))
    (alert,) = _feed(tr, index, "C-201.motor_current", [0.6]).opened
    # hovering between hold and alarm keeps the episode open
    up = _feed(tr, index, "C-201.motor_current", [0.4] * 30, t0=1)
    assert up.resolved == [] and alert.state == AlertState.OPEN
    up = _feed(tr, index, "C-201.motor_current", [0.1] * 12, t0=31)
    assert (
        up.resolved == [alert]
        and alert.state == AlertState.RESOLVED
        and alert.resolved_by == "auto"
    )
    assert alert.resolved_at == 42.0
    # a new episode after the clear opens a new alert
    up = _feed(tr, index, "C-201.motor_current", [0.9], t0=60)
    assert len(up.opened) == 1 and up.opened[0].id != alert.id


def test_confirmed_channels_trigger_at_once_others_must_persist(index):
    tr = AlertTracker(index, policy=AlertPolicy(persist=5), confirmed_channels=(4,))
    assert _feed(tr, index, "M-301.vibration_rms", [0.55], chan=3).opened == []
    up = _feed(tr, index, "M-301.vibration_rms", [0.0, 0.55], t0=10, chan=4)
    assert len(up.opened) == 1


def test_operator_resolve_latches_until_the_episode_clears(index):
    tr = AlertTracker(index, policy=AlertPolicy(persist=1, clear_after_s=10))
    (alert,) = _feed(tr, index, "CV-401.load", [0.7]).opened
    tr.acknowledge(alert, 1.0)
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_at == 1.0
    tr.resolve(alert, 2.0)
    assert alert.state == AlertState.RESOLVED and alert.resolved_by == "operator"
    with pytest.raises(ValueError, match="already resolved"):
        tr.acknowledge(alert, 3.0)
    # still anomalous: no new alert while latched
    assert _feed(tr, index, "CV-401.load", [0.7] * 5, t0=3).opened == []
    # quiet long enough, then a new anomaly opens a new alert
    _feed(tr, index, "CV-401.load", [0.0] * 15, t0=8)
    assert len(_feed(tr, index, "CV-401.load", [0.8], t0=30).opened) == 1


def test_events_accompany_transitions(index):
    tr = AlertTracker(index, policy=AlertPolicy(persist=1, clear_after_s=5))
    up = _feed(tr, index, "P-102.flow", [0.8])
    assert [e.kind for e in up.events] == ["alert.opened"]
    up = _feed(tr, index, "P-102.flow", [0.0] * 10, t0=1)
    assert [e.kind for e in up.events] == ["alert.resolved"]


def test_one_signal_alone_is_a_data_quality_warning_never_critical(index):
    """A sensor fault changes one reading; the asset's other signals stay normal."""
    tr = AlertTracker(index, policy=AlertPolicy(persist=1, clear_after_s=10))
    (alert,) = _feed(tr, index, "C-201.discharge_pressure", [0.99, 0.99]).opened
    assert alert.severity == Severity.WARNING
    assert alert.details["category"] == "data-quality"
    assert "sensor" in alert.details["recommended_check"]
    # still alone at a higher score: still not critical
    _feed(tr, index, "C-201.discharge_pressure", [0.999], t0=2)
    assert alert.severity == Severity.WARNING


def test_a_second_signal_makes_it_an_equipment_alert_and_it_stays_one(index):
    tr = AlertTracker(index, policy=AlertPolicy(persist=1, clear_after_s=100))
    (alert,) = _feed(tr, index, "P-101.vibration_rms", [0.95]).opened
    assert alert.details["category"] == "data-quality"
    _feed(tr, index, "P-101.bearing_temperature", [0.7], t0=1)
    assert alert.details["category"] == "equipment"
    assert alert.severity == Severity.CRITICAL  # the episode's peak passed 0.9
    _feed(tr, index, "P-101.vibration_rms", [0.6], t0=2)
    assert alert.details["category"] == "equipment"


def _lone_sensor_index() -> PlantIndex:
    spec = yaml.safe_load(example_plant_path().read_text(encoding="utf-8"))
    asset = spec["sites"][0]["lines"][0]["assets"][0]
    asset["signals"] = asset["signals"][:1]
    return PlantIndex.build(parse_plant(yaml.safe_dump(spec)))


def test_a_lone_sensor_is_graded_by_score_unless_it_is_stuck():
    """An asset with one signal has nothing to corroborate it: its score grades the alert,
    except on a channel that speaks of the sensor itself (a stuck reading)."""
    index = _lone_sensor_index()
    (sid,) = [index.signal_ids[int(s)] for s in index.signals_of_asset(0)]
    tr = AlertTracker(index, policy=AlertPolicy(persist=1), sensor_channels=(5,))
    (high,) = _feed(tr, index, sid, [0.99], chan=1).opened
    assert high.details["category"] == "unconfirmed" and high.severity == Severity.CRITICAL
    other = AlertTracker(index, policy=AlertPolicy(persist=1), sensor_channels=(5,))
    (stuck,) = _feed(other, index, sid, [0.99], chan=5).opened
    assert stuck.details["category"] == "data-quality" and stuck.severity == Severity.WARNING
