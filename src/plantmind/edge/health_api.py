"""``GET /api/health`` and ``GET /api/health/{asset}`` (viewer role): each asset's health index,
remaining life with its interval and failure probability, from the node's live health service
(:mod:`plantmind.edge.health_service`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from plantmind.core.auth import ViewerDep
from plantmind.edge.health_service import HealthService

__all__ = ["health_router"]

health_router = APIRouter(prefix="/api/health", tags=["health"])


def _service(request: Request) -> HealthService:
    service = HealthService.of(request.app.state.node)
    if service is None:
        raise HTTPException(503, "no health service runs on this node")
    return service


@health_router.get("")
async def health_list(request: Request, _: ViewerDep) -> list[dict[str, Any]]:
    """Every asset's latest health (``method`` says whether a trained model or the learned
    normal ranges gave it; ``unit`` is the time unit of ``rul``)."""
    return [s.to_dict() for s in _service(request).snapshot()]


@health_router.get("/{asset}")
async def health_of(asset: str, request: Request, _: ViewerDep) -> dict[str, Any]:
    """One asset's health with its recent trend (one point per update)."""
    state = _service(request).get(asset)
    if state is None:
        raise HTTPException(404, f"unknown asset {asset!r}")
    return state.to_dict(trend=True)
