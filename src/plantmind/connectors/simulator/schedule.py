"""The demo's fault schedule: one fault of each kind within an hour, spread so that a viewer
(and a detector) sees them one or two at a time."""

from __future__ import annotations

import math
from collections.abc import Iterator

from plantmind.connectors.simulator.faults import (
    SENSOR_FAULT_KINDS,
    Fault,
    FaultKind,
    default_signal,
)
from plantmind.core.plant import Asset, Plant

__all__ = ["demo_fault_schedule"]

PUMP = "centrifugal_pump"
#: (kind, start s, duration s, asset kinds to use, best first; None: any asset with signals),
#: laid out for one hour. Bearing wear is progressive, so it gets longer. At most two faults
#: overlap, never on the same asset; faults on one asset are at least ``_REST`` apart, because
#: an asset needs time to settle after a repair (a bearing cools with a time constant of
#: minutes), and the last fault ends 10 min before the hour.
_TEMPLATE: tuple[tuple[FaultKind, float, float, tuple[str | None, ...]], ...] = (
    ("bearing_wear", 240.0, 720.0, (PUMP, "air_compressor", "cnc_spindle")),
    ("sensor_drift", 600.0, 480.0, ("air_compressor", None)),
    ("stuck_sensor", 1200.0, 360.0, ("belt_conveyor", None)),
    ("cavitation", 1620.0, 360.0, (PUMP,)),
    ("spikes", 2100.0, 360.0, ("cnc_spindle", None)),
    ("valve_closure", 2640.0, 360.0, (PUMP,)),
)
_HOUR = 3600.0
_FIRST = 240.0
_TAIL = 600.0
_REST = 600.0


def _timing(duration_s: float) -> list[tuple[float, float]]:
    """Start and duration of each template entry for a run of ``duration_s``."""
    if duration_s >= _HOUR:
        # Longer runs keep the fault lengths and spread the starts out.
        last_start = _TEMPLATE[-1][1]
        stretch = (duration_s - _TAIL - _TEMPLATE[-1][2] - _FIRST) / (last_start - _FIRST)
        return [(_FIRST + (s - _FIRST) * stretch, d) for _, s, d, _ in _TEMPLATE]
    shrink = duration_s / _HOUR
    return [(s * shrink, d * shrink) for _, s, d, _ in _TEMPLATE]


def _candidates(plant: Plant, kinds: tuple[str | None, ...]) -> Iterator[Asset]:
    """Assets to try, best first. Duty pumps (the first pump of each line, which always runs)
    come before standby pumps, whose faults would be invisible while they are stopped."""
    seen: set[str] = set()
    for kind in kinds:
        for duty_pass in (True, False):
            for site in plant.sites:
                for line in site.lines:
                    pumps = [a for a in line.assets if a.kind == PUMP]
                    duty = pumps[0].id if pumps else None
                    for asset in line.assets:
                        if not asset.signals or asset.id in seen:
                            continue
                        if kind is not None and asset.kind != kind:
                            continue
                        if duty_pass != (asset.id == duty):
                            continue
                        seen.add(asset.id)
                        yield asset


def demo_fault_schedule(plant: Plant, duration_s: float = 3600.0) -> list[Fault]:
    """One fault of each kind in ``FAULT_KINDS`` within ``duration_s`` seconds.

    For the one-hour default on the example plant: bearing wear on P-101 04:00–16:00, drift of
    C-201's discharge pressure 10:00–18:00, a stuck CV-401 motor current 20:00–26:00,
    cavitation on P-101 27:00–33:00, spikes on M-301's vibration 35:00–41:00 and a closing
    discharge valve on P-101 44:00–50:00 (minutes after the start). Longer runs spread the starts;
    shorter ones shrink the whole schedule in proportion (below about 30 min the faults get too
    short for a detector to confirm them reliably). On other plants the same kinds of
    asset are used (the first ones free at that time); pump faults go to a line's duty pump.

    Raises
    ------
    ValueError
        ``duration_s`` is not positive, or the plant lacks an asset a fault needs (a
        ``centrifugal_pump`` for cavitation and valve closure).
    """
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be a positive number of seconds, got {duration_s!r}")
    busy: dict[str, list[tuple[float, float]]] = {}
    faults: list[Fault] = []
    for (kind, _, _, kinds), (start, length) in zip(_TEMPLATE, _timing(duration_s), strict=True):
        end = start + length
        for asset in _candidates(plant, kinds):
            rest = _REST * min(duration_s / _HOUR, 1.0)
            if all(end + rest <= s or start >= e + rest for s, e in busy.get(asset.id, [])):
                break
        else:
            wanted = " or ".join(k or "any" for k in kinds)
            raise ValueError(
                f"demo_fault_schedule: the plant has no {wanted} asset free for {kind} "
                f"at {start:.0f}-{end:.0f} s"
            )
        busy.setdefault(asset.id, []).append((start, end))
        signal = default_signal(kind, asset) if kind in SENSOR_FAULT_KINDS else None
        faults.append(Fault(kind, asset.id, start, length, signal_id=signal))
    return faults
