"""``GET /api/health`` and ``GET /api/health/{asset}`` (viewer role): each asset's health from
the node's live health service (:mod:`plantmind.health.service`, the method in
:mod:`plantmind.health.live`).

Fields of a summary:

* ``health`` (0–100, smoothed over ``smooth_s`` plant seconds) and ``health_raw`` (this cycle's
  index, for diagnosis); ``trend`` ("falling" / "rising" / "stable"), ``trend_per_hour`` and
  ``trend_per_day`` (points per hour / day of the asset's time basis);
* ``rul``, ``rul_low``, ``rul_high`` (remaining life and its interval) and ``rul_raw``, in
  ``unit`` ("h": operating hours); ``rul_basis`` says which clock the life is on (the plant's
  own operating time, or a declared scale such as the demo's simulated wear);
  ``failure_probability`` within ``horizon`` (hours);
* ``method`` ("model", "deviation" or "warming up"), ``open_alerts`` (counts: open, critical,
  data_quality, equipment), ``excluded_signals`` (signals left out of the index for a
  data-quality alert), ``note`` (where the index comes from and how it relates to the open
  alerts) and ``alert_consistent`` (False when the index is below 50 with no open equipment
  alert; ``note`` then says why).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from plantmind.core.auth import ViewerDep
from plantmind.health.service import HealthService

__all__ = ["health_router"]

health_router = APIRouter(prefix="/api/health", tags=["health"])


def health_service(request: Request) -> HealthService:
    """The node's live health service (``app.state.health``); 503 when none runs."""
    service: HealthService | None = getattr(request.app.state, "health", None)
    if service is None:
        raise HTTPException(503, "no health service runs on this node")
    return service


HealthDep = Annotated[HealthService, Depends(health_service)]


@health_router.get("")
async def health_list(service: HealthDep, _: ViewerDep) -> list[dict[str, Any]]:
    """Every asset's latest health summary (fields in the module docstring)."""
    return [s.to_dict() for s in service.snapshot()]


@health_router.get("/{asset}")
async def health_of(asset: str, service: HealthDep, _: ViewerDep) -> dict[str, Any]:
    """One asset's summary with its recent ``history`` (one point per update: plant ``ts``,
    smoothed and raw health, remaining life in hours)."""
    state = service.get(asset)
    if state is None:
        raise HTTPException(404, f"unknown asset {asset!r}")
    return state.to_dict(history=True)
