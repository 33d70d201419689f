"""Fault definitions and their validation: what can go wrong, on which assets and signals, and
the ground-truth windows a detector is scored against.

Physical faults (bearing wear, cavitation, valve closure) change an asset's physics, so every
signal of the asset that depends on it moves. Sensor faults (drift, stuck, spikes) change only
the reading of one signal. All effects end at the end of the window: the demo treats the end
of a window as the repair (bearing replaced, valve reopened, sensor recalibrated).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from plantmind.core.plant import Asset, Plant

__all__ = [
    "FAULT_KINDS",
    "SENSOR_FAULT_KINDS",
    "Fault",
    "FaultKind",
    "FaultWindow",
    "ResolvedFault",
    "applicable_asset_kinds",
    "default_signal",
    "resolve_faults",
]

FaultKind = Literal[
    "bearing_wear", "cavitation", "sensor_drift", "stuck_sensor", "spikes", "valve_closure"
]
FAULT_KINDS: tuple[str, ...] = (
    "bearing_wear",
    "cavitation",
    "sensor_drift",
    "stuck_sensor",
    "spikes",
    "valve_closure",
)
SENSOR_FAULT_KINDS: frozenset[str] = frozenset({"sensor_drift", "stuck_sensor", "spikes"})

#: asset kinds each physical fault can happen to
_PHYSICAL: dict[str, frozenset[str]] = {
    "bearing_wear": frozenset({"centrifugal_pump", "air_compressor", "cnc_spindle"}),
    "cavitation": frozenset({"centrifugal_pump"}),
    "valve_closure": frozenset({"centrifugal_pump"}),
}

#: roles a sensor fault hits when no signal is named, best first: drift shows on slow absolute
#: measurements, a stuck value on a normally noisy one, spikes on vibration or current.
_DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    "sensor_drift": (
        "discharge_pressure",
        "bearing_temperature",
        "spindle_temperature",
        "motor_temperature",
        "discharge_temperature",
    ),
    "stuck_sensor": ("flow", "motor_current", "spindle_load", "belt_load"),
    "spikes": ("vibration_rms", "motor_current"),
}
_DEFAULT_WORDS: dict[str, tuple[str, ...]] = {
    "sensor_drift": ("temperature", "pressure"),
    "stuck_sensor": ("flow", "current", "load"),
    "spikes": ("vibration", "current"),
}


@dataclass(frozen=True)
class Fault:
    """A fault to inject.

    Parameters
    ----------
    kind
        One of :data:`FAULT_KINDS`.
    asset_id
        The asset it happens to.
    start, duration
        Seconds after the simulation start, and how long it lasts; effects end with the window.
    signal_id
        For sensor faults, the signal whose reading is corrupted; ``None`` picks a sensible
        default for the asset (see :func:`default_signal`). Must be ``None`` for physical faults.
    severity
        Scales the effect; 1.0 is clearly detectable within minutes.
    """

    kind: FaultKind
    asset_id: str
    start: float
    duration: float
    signal_id: str | None = None
    severity: float = 1.0


@dataclass(frozen=True)
class FaultWindow:
    """Ground truth: fault ``kind`` affected ``asset_id`` (and, for a sensor fault, the reading
    of ``signal_id``) from ``start_ts`` to ``end_ts`` (Unix seconds, end exclusive)."""

    kind: str
    asset_id: str
    signal_id: str | None
    start_ts: float
    end_ts: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "asset_id": self.asset_id,
            "signal_id": self.signal_id,
            "start_ts": self.start_ts,
            "end_ts": self.end_ts,
        }


@dataclass(frozen=True)
class ResolvedFault:
    """A validated fault with its asset's kind and its resolved signal."""

    fault: Fault
    asset_kind: str
    window: FaultWindow


def applicable_asset_kinds(kind: str) -> frozenset[str] | None:
    """Asset kinds a fault kind applies to; ``None`` for sensor faults (any asset)."""
    return _PHYSICAL.get(kind)


def default_signal(kind: str, asset: Asset) -> str:
    """The signal a sensor fault of ``kind`` hits on ``asset`` when none is named."""
    if not asset.signals:
        raise ValueError(f"asset {asset.id!r} has no signals for a {kind} fault")
    by_role = {s.role: s.id for s in reversed(asset.signals) if s.role}
    for role in _DEFAULT_ROLES[kind]:
        if role in by_role:
            return by_role[role]
    for word in _DEFAULT_WORDS[kind]:
        for s in asset.signals:
            if word in (s.role or "") or word in s.id.lower():
                return s.id
    return asset.signals[0].id


def _check_one(i: int, f: Fault, assets: dict[str, Asset]) -> tuple[Asset, str | None]:
    where = f"fault #{i} ({f.kind} on {f.asset_id!r})"
    if f.kind not in FAULT_KINDS:
        raise ValueError(f"{where}: unknown fault kind {f.kind!r}; known: {', '.join(FAULT_KINDS)}")
    asset = assets.get(f.asset_id)
    if asset is None:
        known = sorted(assets)
        listed = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        raise ValueError(f"{where}: unknown asset {f.asset_id!r}; known assets: {listed}")
    for name, value in (("start", f.start), ("duration", f.duration), ("severity", f.severity)):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")
    if f.start < 0:
        raise ValueError(f"{where}: start must be >= 0 s after the simulation start, got {f.start}")
    if f.duration <= 0:
        raise ValueError(f"{where}: duration must be > 0 s, got {f.duration}")
    if f.severity <= 0:
        raise ValueError(f"{where}: severity must be > 0, got {f.severity}")
    kinds = applicable_asset_kinds(f.kind)
    if kinds is not None:
        if asset.kind not in kinds:
            raise ValueError(
                f"{where}: {f.kind} does not apply to asset kind {asset.kind!r}; "
                f"it applies to {', '.join(sorted(kinds))}"
            )
        if f.signal_id is not None:
            raise ValueError(
                f"{where}: signal_id is only for sensor faults "
                f"({', '.join(sorted(SENSOR_FAULT_KINDS))}); {f.kind} acts on the whole asset"
            )
        return asset, None
    if f.signal_id is None:
        return asset, default_signal(f.kind, asset)
    if f.signal_id not in {s.id for s in asset.signals}:
        raise ValueError(
            f"{where}: unknown signal {f.signal_id!r} on asset {f.asset_id!r}; its signals: "
            + ", ".join(s.id for s in asset.signals)
        )
    return asset, f.signal_id


def resolve_faults(plant: Plant, faults: Sequence[Fault], start_ts: float) -> list[ResolvedFault]:
    """Validate ``faults`` against ``plant``; raises ValueError naming the fault and problem."""
    assets = {a.id: a for _, _, a in plant.iter_assets()}
    out: list[ResolvedFault] = []
    for i, f in enumerate(faults):
        asset, signal_id = _check_one(i, f, assets)
        start = start_ts + float(f.start)
        window = FaultWindow(f.kind, f.asset_id, signal_id, start, start + float(f.duration))
        out.append(ResolvedFault(f, asset.kind, window))
    return out
