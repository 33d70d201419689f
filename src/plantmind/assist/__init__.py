"""The technician assistant: a question (and optionally an asset) → retrieval from the
knowledge index → an answer with citations (document, page, section) and the asset's live
context (open alerts, latest readings against their limits, recent work orders).

Without a model the answer is extractive (quoted, cited passages); with an OpenAI-compatible
model it is generated from the retrieved passages only. Either way, when the documents do not
answer the question, the assistant says so instead of guessing.

Apps ask through :class:`AssistService` (one question path), giving the asset's live state
as a :class:`LiveSource`: :class:`StoreLive` over the edge store, or the running node's.
"""

from plantmind.assist.answer import Answer, Assistant, DeclinePolicy
from plantmind.assist.context import LiveContext, Reading, build_context
from plantmind.assist.live import LiveSource, StoreLive
from plantmind.assist.service import AssistService, UnknownAsset

__all__ = [
    "Answer",
    "AssistService",
    "Assistant",
    "DeclinePolicy",
    "LiveContext",
    "LiveSource",
    "Reading",
    "StoreLive",
    "UnknownAsset",
    "build_context",
]
