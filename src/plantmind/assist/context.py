"""Live context for one asset: its open alerts, its latest readings against their expected
ranges (from plant.yaml), and its recent work orders. The app gathers the raw pieces (from the
running node or its store); this module only shapes them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from plantmind.core.plant import Plant
from plantmind.core.types import Alert
from plantmind.knowledge.documents import Chunk

__all__ = ["LiveContext", "Reading", "build_context"]


@dataclass(frozen=True, slots=True)
class Reading:
    signal: str
    name: str
    unit: str
    value: float | None
    ts: float | None
    low: float
    high: float
    status: Literal["normal", "below", "above", "no data"]


@dataclass(slots=True)
class LiveContext:
    asset_id: str
    asset_name: str
    asset_kind: str
    open_alerts: list[dict[str, Any]] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    work_orders: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset_id,
            "name": self.asset_name,
            "kind": self.asset_kind,
            "open_alerts": self.open_alerts,
            "readings": [asdict(r) for r in self.readings],
            "work_orders": self.work_orders,
        }

    def describe(self) -> str:
        """Plain lines for a technician (and for a model's prompt)."""
        out = [f"Live context for {self.asset_name} ({self.asset_id}, {self.asset_kind}):"]
        if self.open_alerts:
            for a in self.open_alerts:
                out.append(f"- open alert [{a['severity']}]: {a['message']}")
        else:
            out.append("- no open alerts")
        off = [r for r in self.readings if r.status in ("below", "above")]
        for r in self.readings:
            if r.value is None:
                continue
            mark = "" if r.status == "normal" else f"  ** {r.status.upper()} normal range **"
            out.append(
                f"- {r.name}: {r.value:.4g} {r.unit} (normal {r.low:g} to {r.high:g} {r.unit}){mark}"
            )
        if not any(r.value is not None for r in self.readings):
            out.append("- no recent readings")
        elif not off:
            out.append("- all latest readings within their normal ranges")
        for w in self.work_orders:
            out.append(f"- work order {w['date'] or ''}: {w['text']}")
        return "\n".join(out)


def _status(
    value: float | None, low: float, high: float
) -> Literal["normal", "below", "above", "no data"]:
    if value is None or not math.isfinite(value):
        return "no data"
    if value < low:
        return "below"
    if value > high:
        return "above"
    return "normal"


def build_context(
    plant: Plant,
    asset_id: str,
    *,
    alerts: Sequence[Alert] = (),
    latest: Mapping[str, tuple[float, float]] | None = None,
    work_orders: Sequence[Chunk] = (),
) -> LiveContext:
    """The live context of ``asset_id``; ``latest`` maps signal id → (ts, value).
    Raises KeyError for an asset the plant does not have."""
    asset = plant.asset(asset_id)
    latest = latest or {}
    readings = []
    for s in asset.signals:
        ts, value = latest.get(s.id, (None, None))
        good = value if value is not None and math.isfinite(value) else None
        low, high = s.expected_range
        readings.append(
            Reading(
                s.id,
                s.name,
                s.unit,
                float(good) if good is not None else None,
                float(ts) if good is not None and ts is not None else None,
                low,
                high,
                _status(good, low, high),
            )
        )
    return LiveContext(
        asset_id=asset.id,
        asset_name=asset.name,
        asset_kind=asset.kind,
        open_alerts=[
            {
                "id": a.id,
                "severity": str(a.severity),
                "state": str(a.state),
                "opened_at": datetime.fromtimestamp(a.opened_at, UTC).isoformat(timespec="seconds"),
                "message": a.message,
                "signals": list(a.signals),
            }
            for a in alerts
            if a.asset_id == asset.id and str(a.state) != "resolved"
        ],
        readings=readings,
        work_orders=[
            {"source": w.source, "section": w.section, "date": w.date, "text": w.text}
            for w in work_orders
        ],
    )
