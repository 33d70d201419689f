"""``GET /api/health`` and ``GET /api/health/{asset}`` (viewer role): each asset's health index,
remaining life with its interval and failure probability, from the node's live health service
(:mod:`plantmind.health.service`)."""

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
    """Every asset's latest health (``method`` says whether a trained model or the learned
    normal ranges gave it; ``unit`` is the time unit of ``rul``)."""
    return [s.to_dict() for s in service.snapshot()]


@health_router.get("/{asset}")
async def health_of(asset: str, service: HealthDep, _: ViewerDep) -> dict[str, Any]:
    """One asset's health with its recent trend (one point per update)."""
    state = service.get(asset)
    if state is None:
        raise HTTPException(404, f"unknown asset {asset!r}")
    return state.to_dict(trend=True)
