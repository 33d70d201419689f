"""``POST /assist/ask`` on the edge node (viewer role): the technician assistant over the
node's knowledge index, with the asset's live context taken from the running node.

The live context is read on the event loop (a consistent view between two batches, like
every other handler); retrieval and a model call run in a worker thread so the pipeline
never waits on them. The model call goes through the node's router (task kind
``assist.answer``, edge model first, by the ``llm:`` policy of plant.yaml); without an edge
endpoint there, ``PLANTMIND_LLM_URL`` and ``PLANTMIND_LLM_MODEL`` name the edge model.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from plantmind.assist.answer import Assistant
from plantmind.assist.context import LiveContext, build_context
from plantmind.core.auth import Role, require_role
from plantmind.edge.node import EdgeNode
from plantmind.edge.openai_api import get_router

__all__ = ["AskRequest", "router"]

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


def _assistant(request: Request, node: EdgeNode) -> Assistant:
    # One assistant per app, made on first use: opening the index loads the embedding model.
    state = request.app.state
    with _lock:
        assistant = getattr(state, "assistant", None)
        if assistant is None:
            router = get_router(request.app)
            llm = router.chat_model("assist.answer", requester="api") if router.has_model else None
            assistant = Assistant(node.knowledge, llm=llm)
            state.assistant = assistant
    return assistant


def _live_context(node: EdgeNode, asset: str) -> LiveContext:
    ts, val = node.ring.latest()
    pos = node.index.signal_position()
    latest: dict[str, tuple[float, float]] = {}
    for s in node.plant.asset(asset).signals:
        i = pos[s.id]
        if math.isfinite(val[i]):
            latest[s.id] = (float(ts[i]), float(val[i]))
    return build_context(
        node.plant,
        asset,
        alerts=[a for a in node.tracker.open_alerts() if a.asset_id == asset],
        latest=latest,
    )


@router.post("/ask")
async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
    """Answer a question from the plant documents with citations (document, page, section),
    or decline ("not found in the plant documents"). With ``asset``, the answer also carries
    the asset's open alerts, latest readings against their limits and recent work orders."""
    node: EdgeNode = request.app.state.node
    context = None
    if body.asset is not None:
        try:
            context = _live_context(node, body.asset)
        except KeyError:
            raise HTTPException(404, f"unknown asset {body.asset!r}") from None
    if not body.question.strip():
        raise HTTPException(422, "the question is empty")

    def answer() -> dict[str, Any]:
        assistant = _assistant(request, node)
        if context is not None:
            context.work_orders = [
                {"source": w.source, "section": w.section, "date": w.date, "text": w.text}
                for w in assistant.index.work_orders(context.asset_id)
            ]
        return assistant.ask(body.question, asset=body.asset, context=context).to_dict()

    return await run_in_threadpool(answer)
