"""The edge node's OpenAI-compatible endpoint: ``/v1/chat/completions`` (whole or streamed)
and ``/v1/models``, so existing tools (the ``openai`` client, LangChain, editors) get
plantmind's routing policy by pointing their base URL at the node. Viewer role or above.

The request's ``model`` names the task kind, optionally with a sensitivity
(``comply.judge:confidential``); headers override both (``X-Plantmind-Kind``,
``X-Plantmind-Sensitivity``) and add a latency budget (``X-Plantmind-Latency-Ms``).
The router places the task; the answer says where (``X-Plantmind-Placement``,
``X-Plantmind-Rule`` and a ``plantmind`` member in the body).

When no model answers, the reply is an OpenAI-style error: 403 ``policy_refused`` when the
policy fails closed, 503 ``no_model`` for the fallback (an API caller has no deterministic
path the router could run). With ``X-Plantmind-Can-Wait: true`` a task the policy queues is
accepted with 202 and a task id; ``GET /v1/plantmind/tasks/{id}`` gives its result.

A streamed answer is server-sent events written by ``sse-starlette``, in OpenAI's framing:
one ``data: <chunk json>`` event per delta and a final ``data: [DONE]``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from plantmind.core.auth import Role, ViewerDep, require_role
from plantmind.core.routing import SENSITIVITIES
from plantmind.llm.client import LLMError
from plantmind.llm.policy import Task, UnknownTaskKind
from plantmind.llm.router import RoutedResult, RoutedStream, Router

__all__ = ["get_router", "mount_openai_api", "openai_router"]

openai_router = APIRouter(
    prefix="/v1", tags=["openai"], dependencies=[Depends(require_role(Role.VIEWER))]
)
_lock = threading.Lock()
#: the line end of the stream's events: "\n", as this endpoint always wrote; sse-starlette's
#: default "\r\n" is valid SSE, but hand-rolled clients that split on "\n\n" would break
_SEP = "\n"


def get_router(app: FastAPI) -> Router:
    """The node's model router (one per app, made on first use, its queue drainer
    running)."""
    state = app.state
    with _lock:
        router: Router | None = getattr(state, "llm_router", None)
        if router is None:
            node = state.node
            router = Router.from_plant(
                node.plant, node.home, base_dir=getattr(node, "plant_dir", None)
            )
            router.start()
            state.llm_router = router
    return router


def mount_openai_api(app: FastAPI) -> None:
    """Add the endpoint to the edge app; when tasks wait in the queue from an earlier run
    (a restart, a crash), start the router now so they run without waiting for a request."""
    app.include_router(openai_router)
    node = getattr(app.state, "node", None)
    if node is not None and (Path(node.home) / "llm_queue.db").exists():
        get_router(app)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(min_length=1, max_length=32)
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The subset of OpenAI's chat-completions request that plantmind routes; other fields
    are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(default="chat", max_length=128)
    messages: list[ChatMessage] = Field(min_length=1, max_length=1_000)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=131_072)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=131_072)
    temperature: float | None = Field(default=None, ge=0, le=2)


def _error(status: int, message: str, kind: str, code: str, **headers: str) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": code, "param": None}}
    return JSONResponse(body, status_code=status, headers=headers)


def _task(body: ChatRequest, who: str, kind_h: str | None, sens_h: str | None,
          latency_h: float | None, can_wait: bool) -> Task:  # fmt: skip
    name = body.model.removeprefix("plantmind/")
    kind, _, sens = name.partition(":")
    kind = kind_h or (kind if kind and kind != "plantmind" else "chat")
    sensitivity = sens_h or sens or None
    if sensitivity is not None and sensitivity not in SENSITIVITIES:
        raise HTTPException(400, f"unknown sensitivity {sensitivity!r}; one of {SENSITIVITIES}")
    return Task(
        kind,
        [m.model_dump(exclude_none=True) for m in body.messages],
        sensitivity,
        latency_budget_ms=latency_h,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        requester=who,
        can_wait=can_wait,
    )


def _headers(res: RoutedResult | RoutedStream) -> dict[str, str]:
    d = res.decision
    return {
        "X-Plantmind-Placement": res.placement,
        "X-Plantmind-Rule": d.rule,
        "X-Plantmind-Task": res.task.id if isinstance(res, RoutedStream) else res.task_id,
    }


def _completion(res: RoutedResult, model: str) -> dict[str, Any]:
    usage = {k: int(v) for k, v in res.usage.items() if isinstance(v, int | float)}
    usage.setdefault("prompt_tokens", 0)
    usage.setdefault("completion_tokens", 0)
    usage.setdefault("total_tokens", usage["prompt_tokens"] + usage["completion_tokens"])
    return {
        "id": f"chatcmpl-{res.task_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": res.text},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
        "plantmind": res.to_dict() | {"text": None},
    }


def _not_answered(res: RoutedResult) -> JSONResponse:
    h = _headers(res)
    if res.outcome == "queued":
        body = {"id": res.task_id, "object": "plantmind.task", "status": "queued",
                "placement": "queue", "rule": res.decision.rule, "reason": res.reason}  # fmt: skip
        return JSONResponse(body, status_code=202, headers=h)
    if res.outcome == "refused":
        return _error(403, res.reason, "policy_refused", "refused", **h)
    return _error(503, f"no model answered: {res.reason}", "no_model", res.outcome, **h)


def _chunk(
    cid: str, model: str, delta: dict[str, Any], finish: str | None = None
) -> ServerSentEvent:
    event = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return ServerSentEvent(json.dumps(event, ensure_ascii=False), sep=_SEP)


def _sse(deltas: Iterator[str], cid: str, model: str) -> Iterator[ServerSentEvent]:
    yield _chunk(cid, model, {"role": "assistant", "content": ""})
    try:
        for d in deltas:
            yield _chunk(cid, model, {"content": d})
    except LLMError as exc:
        # headers are gone by now: report in the stream, as OpenAI's servers do
        err = {"error": {"message": str(exc), "type": "model_error", "code": "stream_broken"}}
        yield ServerSentEvent(json.dumps(err), sep=_SEP)
        return
    yield _chunk(cid, model, {}, "stop")
    yield ServerSentEvent("[DONE]", sep=_SEP)


def _event_stream(
    deltas: Iterator[str], cid: str, model: str, headers: dict[str, str]
) -> EventSourceResponse:
    # a sync iterator: sse-starlette runs it in the thread pool, as the router's stream blocks
    return EventSourceResponse(_sse(deltas, cid, model), headers=headers, sep=_SEP)


@openai_router.get("/models")
async def models(request: Request) -> dict[str, Any]:
    """The task kinds this node routes, as OpenAI "models"; append ``:<sensitivity>`` to a
    name to declare the data's sensitivity. ``plantmind.tiers``: the model behind each
    tier, with its file's sha256 and delivered version when known."""
    from plantmind.llm.identity import tier_models

    router = get_router(request.app)
    node = request.app.state.node
    # off the event loop: the first call hashes the model file (gigabytes for a 7 B GGUF)
    tiers = await run_in_threadpool(tier_models, router.settings, getattr(node, "plant_dir", None))
    return {
        "object": "list",
        # which model serves each tier (name, backend, file sha256, delivered version): an
        # extra field that OpenAI clients ignore
        "plantmind": {"tiers": tiers},
        "data": [
            {
                "id": name,
                "object": "model",
                "created": 0,
                "owned_by": "plantmind",
                "plantmind": {
                    "sensitivity": k.sensitivity,
                    "latency_budget_ms": k.latency_budget_ms,
                    "description": k.description,
                },
            }
            for name, k in sorted(router.policy.kinds.items())
        ],
    }


@openai_router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatRequest,
    request: Request,
    who: ViewerDep,
    x_plantmind_kind: Annotated[str | None, Header()] = None,
    x_plantmind_sensitivity: Annotated[str | None, Header()] = None,
    x_plantmind_latency_ms: Annotated[float | None, Header(gt=0)] = None,
    x_plantmind_can_wait: Annotated[bool, Header()] = False,
) -> JSONResponse | EventSourceResponse:
    """A chat completion placed by the site's routing policy (see the module docstring)."""
    router = get_router(request.app)
    task = _task(
        body,
        f"api:{who.label or who.token_id}",
        x_plantmind_kind,
        x_plantmind_sensitivity,
        x_plantmind_latency_ms,
        x_plantmind_can_wait,
    )
    try:
        if body.stream:
            out: RoutedResult | RoutedStream = await run_in_threadpool(router.stream, task)
        else:
            out = await run_in_threadpool(router.run, task)
    except UnknownTaskKind as exc:
        return _error(400, str(exc), "invalid_request_error", "unknown_task_kind")
    if isinstance(out, RoutedStream):
        cid = f"chatcmpl-{task.id}"
        return _event_stream(iter(out), cid, body.model, _headers(out))
    if out.outcome != "ok" or out.text is None:
        return _not_answered(out)
    if body.stream:  # a model answered, but not as a stream (it failed to start one)
        return _event_stream(iter([out.text]), f"chatcmpl-{task.id}", body.model, _headers(out))
    return JSONResponse(_completion(out, body.model), headers=_headers(out))


@openai_router.get("/plantmind/tasks/{task_id}")
async def queued_task(task_id: str, request: Request) -> dict[str, Any]:
    """A queued task's state (pending, inflight, done, failed) and, once done, its answer."""
    router = get_router(request.app)
    qt = router.queue.get(task_id) if router.queue is not None else None
    if qt is None:
        raise HTTPException(404, f"no queued task {task_id!r}")
    return qt.to_dict()
