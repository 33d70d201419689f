"""Shared value types: columnar sample batches, alerts, events and citations.

Samples always travel as a :class:`SampleBatch` of three parallel numpy arrays, never as one
Python object per sample; that is what lets the edge node score millions of samples per second.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Alert", "AlertState", "Citation", "Event", "SampleBatch", "Severity"]


@dataclass(slots=True)
class SampleBatch:
    """Samples of many signals: ``signal[i]`` (index into the plant's signal table) had
    ``value[i]`` at ``ts[i]`` (seconds since the Unix epoch, UTC).

    Order inside a batch is arrival order; per signal it should be time order, and the edge
    pipeline drops (and counts) samples that go back in time.
    """

    signal: np.ndarray
    ts: np.ndarray
    value: np.ndarray

    def __post_init__(self) -> None:
        self.signal = np.ascontiguousarray(self.signal, dtype=np.int32)
        self.ts = np.ascontiguousarray(self.ts, dtype=np.float64)
        self.value = np.ascontiguousarray(self.value, dtype=np.float64)
        if not (self.signal.ndim == self.ts.ndim == self.value.ndim == 1):
            raise ValueError("SampleBatch arrays must be one-dimensional")
        if not (len(self.signal) == len(self.ts) == len(self.value)):
            raise ValueError(
                f"SampleBatch arrays differ in length: signal={len(self.signal)}, "
                f"ts={len(self.ts)}, value={len(self.value)}"
            )

    def __len__(self) -> int:
        return len(self.signal)

    @classmethod
    def empty(cls) -> SampleBatch:
        return cls(np.empty(0, np.int32), np.empty(0), np.empty(0))

    @classmethod
    def concat(cls, batches: list[SampleBatch]) -> SampleBatch:
        if not batches:
            return cls.empty()
        return cls(
            np.concatenate([b.signal for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.value for b in batches]),
        )

    def select(self, mask: np.ndarray) -> SampleBatch:
        """The samples where ``mask`` (boolean or index array) selects."""
        return SampleBatch(self.signal[mask], self.ts[mask], self.value[mask])


class AlertState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(enum.StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(slots=True)
class Alert:
    """One anomaly episode on one asset: opened once, extended while the anomaly lasts."""

    id: str
    site_id: str
    asset_id: str
    opened_at: float
    last_active_at: float
    severity: Severity
    signals: list[str]
    message: str
    peak_score: float
    state: AlertState = AlertState.OPEN
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    false_alarm: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site_id": self.site_id,
            "asset_id": self.asset_id,
            "opened_at": self.opened_at,
            "last_active_at": self.last_active_at,
            "severity": str(self.severity),
            "signals": list(self.signals),
            "message": self.message,
            "peak_score": self.peak_score,
            "state": str(self.state),
            "acknowledged_at": self.acknowledged_at,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "false_alarm": self.false_alarm,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alert:
        return cls(
            id=d["id"],
            site_id=d["site_id"],
            asset_id=d["asset_id"],
            opened_at=float(d["opened_at"]),
            last_active_at=float(d["last_active_at"]),
            severity=Severity(d["severity"]),
            signals=list(d["signals"]),
            message=d["message"],
            peak_score=float(d["peak_score"]),
            state=AlertState(d["state"]),
            acknowledged_at=d.get("acknowledged_at"),
            resolved_at=d.get("resolved_at"),
            resolved_by=d.get("resolved_by"),
            false_alarm=bool(d.get("false_alarm", False)),
            details=dict(d.get("details") or {}),
        )


@dataclass(slots=True)
class Event:
    """Something that happened on the site worth keeping: an alert transition, a data-quality
    problem, a connector going up or down, an operator action."""

    id: str
    ts: float
    kind: str
    message: str
    asset_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "kind": self.kind,
            "message": self.message,
            "asset_id": self.asset_id,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a piece of an answer comes from: a document, its page and section."""

    source: str
    page: int | None
    section: str | None
    score: float
