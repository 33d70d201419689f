"""The product's default detector: the one place that says which detector the edge node, the
CLI's ``detect`` and the benchmarks use (by its name in :mod:`plantmind.detect.registry`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from plantmind.detect.base import Detector
from plantmind.detect.registry import make_detector

__all__ = ["DEFAULT_DETECTOR", "default_detector"]

#: the registered name of the default per-signal detector
DEFAULT_DETECTOR = "robust"


def default_detector(
    n_signals: int, *, expected_span: np.ndarray | None = None, config: Any = None
) -> Detector:
    """A fresh default detector for ``n_signals`` signals (``expected_span``: the width of each
    signal's expected range from plant.yaml, when known; ``config``: the detector's own
    configuration, default the product's)."""
    return make_detector(DEFAULT_DETECTOR, n_signals, expected_span=expected_span, config=config)
