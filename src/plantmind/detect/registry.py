"""The detectors plantmind knows, by name: one registry for per-signal detectors
(:class:`~plantmind.detect.base.Detector`) and one for asset detectors
(:class:`~plantmind.detect.base.AssetDetector`). A new detector is one module with its class,
one ``register_*`` line here, and one entry in the conformance suite's harness
(``tests/detect/test_detector_conformance.py`` or ``test_asset_detector_conformance.py``):
a registered detector without one fails the tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from plantmind.core.registry import Registry
from plantmind.detect.base import AssetDetector, Detector

__all__ = [
    "asset_detector_names",
    "detector_names",
    "make_asset_detector",
    "make_detector",
    "register_asset_detector",
    "register_detector",
]

#: ``factory(n_signals, expected_span=..., config=...)``: a fresh detector
DetectorFactory = Callable[..., Detector]
AssetDetectorFactory = Callable[..., AssetDetector]

_DETECTORS: Registry[DetectorFactory] = Registry("detector")
_ASSET_DETECTORS: Registry[AssetDetectorFactory] = Registry("asset detector")


def register_detector(name: str, factory: DetectorFactory) -> None:
    """Make ``factory`` available as detector ``name`` (a name is registered once)."""
    _DETECTORS.register(name, factory)


def register_asset_detector(name: str, factory: AssetDetectorFactory) -> None:
    """Make ``factory`` available as asset detector ``name``."""
    _ASSET_DETECTORS.register(name, factory)


def detector_names() -> list[str]:
    return _DETECTORS.names()


def asset_detector_names() -> list[str]:
    return _ASSET_DETECTORS.names()


def make_detector(
    name: str, n_signals: int, *, expected_span: np.ndarray | None = None, config: Any = None
) -> Detector:
    """A fresh detector ``name`` over ``n_signals`` signals; ``expected_span`` is the width of
    each signal's expected range from plant.yaml (detectors that do not use it ignore it)."""
    return _DETECTORS.get(name)(n_signals, expected_span=expected_span, config=config)


def make_asset_detector(name: str, n_signals: int, *, config: Any = None) -> AssetDetector:
    """A fresh asset detector ``name`` over one asset's ``n_signals`` signals."""
    return _ASSET_DETECTORS.get(name)(n_signals, config=config)


def _robust(n: int, *, expected_span: np.ndarray | None = None, config: Any = None) -> Detector:
    from plantmind.detect.robust import RobustSignalDetector

    return RobustSignalDetector(n, expected_span=expected_span, config=config)


def _streaming(n: int, *, expected_span: np.ndarray | None = None, config: Any = None) -> Detector:
    from plantmind.detect.streaming import StreamingRankDetector

    return StreamingRankDetector(n, config=config)  # learns its own scale: no span needed


def _seasonal(n: int, *, expected_span: np.ndarray | None = None, config: Any = None) -> Detector:
    from plantmind.detect.seasonal import SeasonalRecordDetector

    return SeasonalRecordDetector(n, config=config)  # learns its own scale: no span needed


def _correlation(n: int, *, config: Any = None) -> AssetDetector:
    from plantmind.detect.multivariate import AssetCorrelationDetector

    return AssetCorrelationDetector(n, config)


register_detector("robust", _robust)
register_detector("streaming", _streaming)
register_detector("streaming-seasonal", _seasonal)
register_asset_detector("correlation", _correlation)
