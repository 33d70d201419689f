"""``POST /assist/ask`` on the edge node (viewer role): the technician assistant over the
node's knowledge index, with the asset's live context taken from the running node.

The question goes through :class:`~plantmind.assist.service.AssistService`, the one question
path the CLI takes too; this module adds the running node as its live source
(:class:`NodeLive`). The node's state is captured on the event loop (a consistent view
between two batches, like every other handler); retrieval and a model call run in a worker
thread so the pipeline never waits on them. The model call goes through the app's router
(task kind ``assist.answer``, edge model first, by the ``llm:`` policy of plant.yaml, the
extractive answer as its fallback); without an edge endpoint there, ``PLANTMIND_LLM_URL``
and ``PLANTMIND_LLM_MODEL`` name the edge model.
"""

from __future__ import annotations

import copy
import math
import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from plantmind.assist.service import AssistService
from plantmind.core.auth import Role, require_role
from plantmind.core.plant import Plant
from plantmind.core.types import Alert
from plantmind.edge.node import EdgeNode
from plantmind.edge.openai_api import get_router
from plantmind.knowledge.documents import Chunk

__all__ = ["AskRequest", "NodeLive", "router"]

router = APIRouter(
    prefix="/assist", tags=["assist"], dependencies=[Depends(require_role(Role.VIEWER))]
)

_lock = threading.Lock()


class AskRequest(BaseModel):
    question: str = Field(
        min_length=1,
        max_length=20_000,
        description="The question in the technician's words; over 2,000 characters it is "
        "truncated (the answer's notes say so).",
    )
    asset: str | None = Field(
        default=None, description="Asset id: adds its open alerts, readings and work orders."
    )


class NodeLive:
    """The running node as the assistant's :class:`~plantmind.assist.live.LiveSource`, for
    one asset: its open alerts and latest readings are captured when this is made (on the
    event loop: the worker thread that answers then reads no node state that a batch is
    changing); work orders come from the node's knowledge index when asked for.
    Raises KeyError for an asset the plant does not have, or one it was not made for."""

    def __init__(self, node: EdgeNode, asset_id: str) -> None:
        self._plant = node.plant
        asset = self._plant.asset(asset_id)
        ts, val = node.ring.latest()
        pos = node.index.signal_position()
        self._asset_id = asset.id
        self._latest: dict[str, tuple[float, float]] = {}
        for s in asset.signals:
            i = pos[s.id]
            if math.isfinite(val[i]):
                self._latest[s.id] = (float(ts[i]), float(val[i]))
        # copies: the tracker keeps extending its open alerts in place
        self._alerts = [
            copy.deepcopy(a) for a in node.tracker.open_alerts() if a.asset_id == asset.id
        ]
        # not node.knowledge yet: opening the index loads the embedding model, off the loop
        self._node = node

    @property
    def plant(self) -> Plant:
        return self._plant

    def _check(self, asset_id: str) -> None:
        if asset_id != self._asset_id:
            raise KeyError(f"live state captured for {self._asset_id!r}, not {asset_id!r}")

    def open_alerts(self, asset_id: str) -> list[Alert]:
        self._check(asset_id)
        return self._alerts

    def latest_readings(self, asset_id: str) -> dict[str, tuple[float, float]]:
        self._check(asset_id)
        return self._latest

    def recent_work_orders(self, asset_id: str) -> list[Chunk]:
        self._check(asset_id)
        return self._node.knowledge.work_orders(asset_id)


def _service(request: Request, node: EdgeNode) -> AssistService:
    # One service per app, made on first use (in the worker thread): opening the index loads
    # the embedding model, and the router is the app's, shared with /v1/chat/completions.
    state = request.app.state
    with _lock:
        service: AssistService | None = getattr(state, "assist_service", None)
        if service is None:
            service = AssistService(node.knowledge, get_router(request.app), requester="api")
            state.assist_service = service
    return service


@router.post("/ask")
async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
    """Answer a question from the plant documents with citations (document, page, section),
    or decline ("not found in the plant documents"). With ``asset``, the answer also carries
    the asset's open alerts, latest readings against their limits and recent work orders."""
    node: EdgeNode = request.app.state.node
    live = None
    if body.asset is not None:
        try:
            live = NodeLive(node, body.asset)
        except KeyError:
            raise HTTPException(404, f"unknown asset {body.asset!r}") from None
    if not body.question.strip():
        raise HTTPException(422, "the question is empty")

    def answer() -> dict[str, Any]:
        return _service(request, node).ask(body.question, body.asset, live).to_dict()

    return await run_in_threadpool(answer)
