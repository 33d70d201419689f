"""The running node as the assistant's live source: a snapshot taken on the event loop, so
the worker thread that answers sees the node as it was between two batches."""

from __future__ import annotations

import numpy as np
import pytest

from plantmind.core.types import SampleBatch
from plantmind.edge.assist_api import NodeLive
from plantmind.edge.node import EdgeNode


@pytest.fixture
def node(tmp_path, plant):
    n = EdgeNode(plant, tmp_path, restore=False)
    yield n
    n.close()


def test_the_snapshot_keeps_the_readings_of_its_moment(node):
    s = node.index.signal_position()["P-101.vibration_rms"]
    node.learn(SampleBatch(np.array([s]), np.array([1000.0]), np.array([5.3])))
    live = NodeLive(node, "P-101")
    node.learn(SampleBatch(np.array([s]), np.array([1001.0]), np.array([2.0])))
    assert live.latest_readings("P-101") == {"P-101.vibration_rms": (1000.0, pytest.approx(5.3))}
    assert live.open_alerts("P-101") == []


def test_unknown_and_other_assets(node):
    with pytest.raises(KeyError):
        NodeLive(node, "NOPE")
    live = NodeLive(node, "P-101")
    with pytest.raises(KeyError, match="captured for 'P-101'"):
        live.open_alerts("C-201")
