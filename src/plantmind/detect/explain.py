"""Words for a signal's contribution to an alert, in the signal's own unit and terms a plant
engineer reads at a glance (e.g. "P-101.vibration_rms = 3.7 mm/s, 1.1 mm/s above its normal
maximum 2.6 mm/s (learned normal range 0.8–2.6 mm/s)"). The reading is formatted here; the terms come from the
detector that scored it (:meth:`~plantmind.detect.base.Detector.describe`)."""

from __future__ import annotations

from plantmind.core.plant import Plant
from plantmind.detect.base import Detector

__all__ = ["SignalExplainer"]


class SignalExplainer:
    """Callable ``(signal, channel, deviation, value) -> text`` for :class:`AlertTracker`."""

    def __init__(self, plant: Plant, signal_ids: tuple[str, ...], detector: Detector) -> None:
        units = {}
        for _, _, asset in plant.iter_assets():
            for sig in asset.signals:
                units[sig.id] = sig.unit
        self._units = [units.get(sid, "") for sid in signal_ids]
        self._ids = signal_ids
        self._detector = detector

    def __call__(self, signal: int, channel: int, deviation: float, value: float) -> str:
        sid = self._ids[signal]
        unit = self._units[signal]
        reading = f"{sid} = {value:.4g} {unit}".rstrip()
        return self._detector.describe(
            signal, channel, deviation, reading=reading, signal_id=sid, unit=unit, value=value
        )
