"""The question path every app takes: :class:`AssistService` turns a question, an optional
asset and that asset's :class:`~plantmind.assist.live.LiveSource` into an
:class:`~plantmind.assist.answer.Answer`. The CLI (``plantmind ask``) and the edge node's
``POST /assist/ask`` differ only in where the live state comes from (the edge store or the
running node) and in how they present the answer.

The service owns neither the index nor the router: the caller opens and closes them (the
edge app shares its router with the OpenAI-compatible endpoint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plantmind.assist.answer import Answer, Assistant
from plantmind.assist.context import LiveContext, build_context

if TYPE_CHECKING:
    from plantmind.assist.live import LiveSource
    from plantmind.knowledge.index import KnowledgeIndex
    from plantmind.llm.router import Router

__all__ = ["AssistService", "UnknownAsset"]


class UnknownAsset(KeyError):
    """The question names an asset that the plant does not have."""

    def __init__(self, asset_id: str) -> None:
        super().__init__(asset_id)
        self.asset_id = asset_id

    def __str__(self) -> str:
        return f"unknown asset {self.asset_id!r}"


class AssistService:
    """Answers questions over ``index``; generated answers through ``router`` (the
    ``assist.answer`` task, the extractive answer as its fallback), extractive ones without
    a router or when it has no model. ``requester`` names the caller in the router's call
    log ("cli", "api")."""

    def __init__(
        self, index: KnowledgeIndex, router: Router | None = None, *, requester: str = "local"
    ) -> None:
        self.index = index
        self.assistant = Assistant(index, router=router, requester=requester)

    def context(self, asset_id: str, live: LiveSource) -> LiveContext:
        """The live context of ``asset_id`` from ``live``. Raises :class:`UnknownAsset`."""
        plant = live.plant
        try:
            plant.asset(asset_id)
        except KeyError:
            raise UnknownAsset(asset_id) from None
        return build_context(
            plant,
            asset_id,
            alerts=live.open_alerts(asset_id),
            latest=live.latest_readings(asset_id),
            work_orders=live.recent_work_orders(asset_id),
        )

    def ask(
        self, question: str, asset: str | None = None, live: LiveSource | None = None
    ) -> Answer:
        """Answer ``question``; with ``asset`` and ``live``, the answer carries the asset's
        open alerts, latest readings against their limits and recent work orders (an asset
        without a live source is answered without them). The context is read before the
        question is checked, so an unknown asset is reported first. Raises
        :class:`UnknownAsset`, and ValueError for an empty question."""
        context = self.context(asset, live) if asset is not None and live is not None else None
        return self.assistant.ask(question, asset=asset, context=context)
