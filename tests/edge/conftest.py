"""The edge tests' shared fixture: a node of the example plant that warms up in 100 ticks."""

from __future__ import annotations

import pytest

from plantmind.detect.robust import RobustConfig
from plantmind.edge.node import EdgeNode


@pytest.fixture
def node(tmp_path, plant):
    n = EdgeNode(plant, tmp_path, restore=False, detector_config=RobustConfig(warmup=100))
    yield n
    n.close()
