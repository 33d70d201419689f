"""An edge node with the multivariate view on: it learns the example plant's pump from
history, says it is learning until then, alarms when the pump's current stops following its
flow (each signal still inside its own range), names the signals in the alert, and resumes
its fitted models after a restart."""

from __future__ import annotations

import numpy as np

from plantmind.core.plant import PlantIndex
from plantmind.core.types import SampleBatch
from plantmind.detect.relationship import CHANNEL, RelationshipConfig
from plantmind.detect.robust import RobustConfig
from plantmind.edge.node import EdgeNode

VIEW = RelationshipConfig(learn_rows=900, min_learn_rows=300)


def pump_ticks(index: PlantIndex, t0: float, n: int, seed: int, broken: bool = False):
    """``n`` ticks of every signal around mid-range; P-101's flow and motor current follow one
    periodic load (``broken``: the current mirrors it, falling as the flow rises)."""
    rng = np.random.default_rng(seed)
    mid = (index.low + index.high) / 2
    span = index.high - index.low
    f = np.sin(2 * np.pi * (t0 + np.arange(n)) / 97.0) + rng.normal(0, 0.1, n)
    vals = mid + rng.normal(0, 0.01, (n, index.n_signals)) * span
    pos = index.signal_position()
    flow, current = pos["P-101.flow"], pos["P-101.motor_current"]
    vals[:, flow] = mid[flow] + 0.08 * span[flow] * f
    vals[:, current] = mid[current] + (-1 if broken else 1) * 0.08 * span[current] * f
    vals[:, current] += rng.normal(0, 0.003, n) * span[current]
    sig = np.tile(np.arange(index.n_signals), n)
    ts = np.repeat(t0 + np.arange(n, dtype=float), index.n_signals)
    return SampleBatch(sig, ts, vals.reshape(-1))


def make_node(plant, home, restore: bool = False) -> EdgeNode:
    return EdgeNode(
        plant, home, restore=restore, detector_config=RobustConfig(warmup=100), multivariate=VIEW
    )


def test_node_learns_then_alarms_a_broken_relation_naming_the_signals(tmp_path, plant) -> None:
    node = make_node(plant, tmp_path)
    try:
        view = node.relationship
        assert view is not None and CHANNEL in node.tracker.channel_names
        node.learn(pump_ticks(node.index, 0.0, 600, seed=1))
        assert view.status["state"] == "learning"  # no score yet, and it says so
        node.learn(pump_ticks(node.index, 600.0, 300, seed=2))
        assert view.learned, view.status
        quiet = node.ingest(pump_ticks(node.index, 900.0, 600, seed=3))
        assert not quiet.opened, [a.message for a in quiet.opened]
        update = node.ingest(pump_ticks(node.index, 1500.0, 300, seed=4, broken=True))
        alerts = [a for a in update.opened if a.asset_id == "P-101"]
        assert alerts, "no alert for the broken relation"
        alert = alerts[0]
        assert alert.message.startswith("relationship broke: "), alert.message
        assert "P-101.motor_current" in alert.message and "P-101.flow" in alert.message
        assert set(alert.signals) <= {"P-101.motor_current", "P-101.flow"}
        assert [a.asset_id for a in update.opened] == ["P-101"]  # other assets stay quiet
    finally:
        node.close()


def test_node_restart_resumes_the_fitted_models(tmp_path, plant) -> None:
    node = make_node(plant, tmp_path)
    node.learn(pump_ticks(node.index, 0.0, 900, seed=5))
    assert node.relationship is not None and node.relationship.learned
    state = node.relationship.state_dict()
    node.close()
    again = make_node(plant, tmp_path, restore=True)
    try:
        view = again.relationship
        assert view is not None and view.learned and view.status["assets"] >= 1
        for k, v in view.state_dict().items():
            np.testing.assert_array_equal(v, state[k])
    finally:
        again.close()


def test_the_view_is_off_by_default(tmp_path, plant) -> None:
    node = EdgeNode(plant, tmp_path, restore=False)
    try:
        assert node.relationship is None and CHANNEL not in node.tracker.channel_names
    finally:
        node.close()
