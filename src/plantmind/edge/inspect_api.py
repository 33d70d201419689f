"""The edge node's inspection routes: upload an image to a station, read verdicts and heatmap
overlays, review uncertain parts. Operator role to upload and review, viewer to read.

The image is the raw request body (``Content-Type: image/png`` or ``image/jpeg``; e.g.
``curl --data-binary @part.png``), so no multipart parser is needed; it is counted as it
streams and refused with 413 past :data:`MAX_UPLOAD_BYTES`, chunked or not. Scoring runs in a
worker thread: the event loop that runs the pipeline is never blocked by a model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from plantmind.core.auth import OperatorDep, Role, require_role
from plantmind.core.bodies import read_body_limited

try:
    from plantmind.vision.images import ImageError
    from plantmind.vision.station import StationNotTrained, UnknownStation, VisionStations

    _MISSING: str | None = None
except ImportError as _exc:  # the [vision] extra (Pillow, onnxruntime) is not installed
    _MISSING = f"inspection needs the [vision] extra (pip install 'plantmind[vision]'): {_exc}"

    class ImageError(ValueError):  # type: ignore[no-redef]
        """Placeholder: never raised without the vision extra."""

    StationNotTrained = UnknownStation = ImageError  # type: ignore[misc,assignment]
    VisionStations = Any  # type: ignore[misc,assignment]

__all__ = ["MAX_UPLOAD_BYTES", "inspect_router", "vision_of"]

MAX_UPLOAD_BYTES = 64 * 1024 * 1024


def vision_of(request: Request) -> VisionStations:
    """The node's stations (``app.state.vision``), opened on first use under the node home."""
    if _MISSING is not None:
        raise HTTPException(503, _MISSING)
    state = request.app.state
    vision = getattr(state, "vision", None)
    if vision is None:
        node = state.node
        stations = [st for site in node.plant.sites for st in site.stations]
        vision = state.vision = VisionStations(node.home, stations)
    return vision


VisionDep = Annotated[VisionStations, Depends(vision_of)]

inspect_router = APIRouter(
    prefix="/api/inspect",
    tags=["inspection"],
    dependencies=[Depends(require_role(Role.VIEWER))],
)


class ReviewBody(BaseModel):
    label: Literal["good", "defect"]


def _with_links(d: dict[str, Any]) -> dict[str, Any]:
    d["overlay_url"] = f"/api/inspect/results/{d['id']}/overlay.png"
    return d


@inspect_router.get("/stations")
async def stations(vision: VisionDep) -> list[dict[str, Any]]:
    """Inspection stations (plant.yaml and locally created) with their model and thresholds."""
    out = []
    for st in vision.stations():
        d: dict[str, Any] = st.model_dump(mode="json")
        try:
            m = vision.model(st.id)
            d["model"] = {
                "model_id": m.meta.model_id,
                "trained_at": m.meta.trained_at,
                "n_train": m.meta.n_train,
                "size": m.meta.size,
                "channels": m.meta.channels,
                "thresholds": m.thresholds.to_dict(),
                "registry": m.registry,
            }
        except StationNotTrained:
            d["model"] = None
        out.append(d)
    return out


@inspect_router.post("/{station}")
async def inspect(
    vision: VisionDep, station: str, request: Request, who: OperatorDep, source: str | None = None
) -> dict[str, Any]:
    """Inspect one image (the request body): verdict (pass / fail / uncertain), score,
    thresholds and the overlay's URL. Uncertain parts join the review queue."""
    body = await read_body_limited(request, MAX_UPLOAD_BYTES, "image")
    if not body:
        raise HTTPException(422, "empty body: send the image bytes as the request body")
    try:
        rec, _ = await run_in_threadpool(vision.inspect, station, body, source or "<upload>")
    except UnknownStation as exc:
        raise HTTPException(404, str(exc)) from None
    except StationNotTrained as exc:
        raise HTTPException(409, str(exc)) from None
    except ImageError as exc:
        raise HTTPException(422, str(exc)) from None
    return _with_links(rec.to_dict())


@inspect_router.get("/results")
async def results(
    vision: VisionDep,
    station: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Inspection results, newest first."""
    return [_with_links(r.to_dict()) for r in vision.results(station, limit)]


@inspect_router.get("/reviews")
async def reviews(
    vision: VisionDep,
    station: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """The review queue: uncertain inspections awaiting an operator, newest first."""
    return [_with_links(r.to_dict()) for r in vision.results(station, limit, pending_only=True)]


@inspect_router.get("/results/{inspection_id}")
async def result(vision: VisionDep, inspection_id: str) -> dict[str, Any]:
    rec = vision.get(inspection_id)
    if rec is None:
        raise HTTPException(404, f"no inspection with id {inspection_id!r}")
    return _with_links(rec.to_dict())


@inspect_router.get("/results/{inspection_id}/overlay.png", response_class=Response)
async def overlay(vision: VisionDep, inspection_id: str) -> Response:
    """The image with its heatmap in red (PNG)."""
    png = vision.overlay(inspection_id)
    if png is None:
        raise HTTPException(404, f"no overlay for inspection {inspection_id!r}")
    return Response(png, media_type="image/png")


@inspect_router.post("/results/{inspection_id}/review")
async def review(
    vision: VisionDep, inspection_id: str, body: ReviewBody, who: OperatorDep
) -> dict[str, Any]:
    """Confirm or override a verdict (good / defect); the station's thresholds are refit."""
    try:
        rec = await run_in_threadpool(
            vision.review, inspection_id, body.label, who.label or who.token_id
        )
    except KeyError:
        raise HTTPException(404, f"no inspection with id {inspection_id!r}") from None
    except StationNotTrained as exc:
        raise HTTPException(409, str(exc)) from None
    return _with_links(rec.to_dict())
