"""The product's default detector: the one place that says which detector the edge node, the
CLI's ``detect`` and the benchmarks use."""

from __future__ import annotations

import numpy as np

from plantmind.detect.base import Detector
from plantmind.detect.robust import RobustSignalDetector

__all__ = ["default_detector"]


def default_detector(n_signals: int, *, expected_span: np.ndarray | None = None) -> Detector:
    """A fresh default detector for ``n_signals`` signals (``expected_span``: the width of each
    signal's expected range from plant.yaml, when known)."""
    return RobustSignalDetector(n_signals, expected_span=expected_span)
