"""Words for a signal's contribution to an alert, in the signal's own unit and terms a plant
engineer reads at a glance (e.g. "P-101.vibration_rms = 3.9 mm/s, 0.6 range widths above its
learned normal range 0.8–2.6 mm/s")."""

from __future__ import annotations

from plantmind.core.plant import Plant
from plantmind.detect.robust import ABOVE, BELOW, SPIKE, STUCK, VOLATILITY, RobustSignalDetector

__all__ = ["SignalExplainer"]


class SignalExplainer:
    """Callable ``(signal, channel, deviation, value) -> text`` for :class:`AlertTracker`."""

    def __init__(
        self, plant: Plant, signal_ids: tuple[str, ...], detector: RobustSignalDetector
    ) -> None:
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
        if channel in (ABOVE, BELOW):
            rng = self._detector.normal_range(signal)
            where = "above" if channel == ABOVE else "below"
            span = f" {rng[0]:.4g}–{rng[1]:.4g} {unit}".rstrip() if rng else ""
            return f"{reading}, {deviation:.2g} range widths {where} its learned normal range{span}"
        if channel == VOLATILITY:
            return f"{reading}, fluctuating {deviation:.3g}× more than usual (step variance)"
        if channel == SPIKE:
            return f"{sid}: isolated spike of {deviation:.3g} noise steps"
        if channel == STUCK:
            return f"{reading}, unchanged for {int(deviation)} samples (stuck sensor?)"
        return reading
