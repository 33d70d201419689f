"""Where the assistant's live context comes from: the :class:`LiveSource` protocol (an asset's
open alerts, its latest reading per signal, its recent work orders) and its implementation
over the edge store, for asking without a running node (``plantmind ask --asset``).

A running node implements the protocol in the app that holds it (``plantmind.edge``); this
module never imports an app. :func:`plantmind.assist.context.build_context` shapes what a
source gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from plantmind.core.plant import Plant
    from plantmind.core.types import Alert
    from plantmind.knowledge.documents import Chunk
    from plantmind.knowledge.index import KnowledgeIndex
    from plantmind.store.edge import EdgeStore

__all__ = ["LiveSource", "StoreLive"]

# the most alerts of one asset read from the store (newest first), as the assistant always did
_ALERT_LIMIT = 50


class LiveSource(Protocol):
    """The live state of a plant's assets, as the assistant reads it. Each method raises
    KeyError for an asset the source does not know."""

    @property
    def plant(self) -> Plant:
        """The plant the state belongs to (its assets, signals and their normal ranges)."""
        ...

    def open_alerts(self, asset_id: str) -> Sequence[Alert]:
        """The asset's alerts that are not resolved."""
        ...

    def latest_readings(self, asset_id: str) -> Mapping[str, tuple[float, float]]:
        """Signal id → (ts, value) of the asset's newest reading per signal; signals without
        one are left out."""
        ...

    def recent_work_orders(self, asset_id: str) -> Sequence[Chunk]:
        """The asset's most recent work orders, newest first."""
        ...


class StoreLive:
    """A :class:`LiveSource` without a running node: open alerts and the newest minute
    averages from the edge store (None: no store yet, so no alerts and no readings), recent
    work orders from the knowledge index. Closing it closes the store."""

    def __init__(self, plant: Plant, store: EdgeStore | None, index: KnowledgeIndex) -> None:
        self._plant = plant
        self._store = store
        self._index = index

    @classmethod
    def open(cls, plant: Plant, path: str | Path, index: KnowledgeIndex) -> StoreLive:
        """The source over the store file ``path`` (conventionally ``<home>/edge.db``), when it
        exists: asking never creates a store."""
        store = None
        if Path(path).exists():
            from plantmind.store.edge import EdgeStore

            store = EdgeStore(path)
        return cls(plant, store, index)

    @property
    def plant(self) -> Plant:
        return self._plant

    def open_alerts(self, asset_id: str) -> list[Alert]:
        self._plant.asset(asset_id)  # KeyError for an unknown asset, as the protocol says
        if self._store is None:
            return []
        alerts = self._store.list_alerts(asset_id=asset_id, limit=_ALERT_LIMIT)
        return [a for a in alerts if str(a.state) != "resolved"]

    def latest_readings(self, asset_id: str) -> dict[str, tuple[float, float]]:
        signals = self._plant.asset(asset_id).signals
        latest: dict[str, tuple[float, float]] = {}
        if self._store is None:
            return latest
        for s in signals:
            series = self._store.aggregates(s.id, limit=1)
            if len(series):
                latest[s.id] = (float(series.start[-1]), float(series.mean[-1]))
        return latest

    def recent_work_orders(self, asset_id: str) -> list[Chunk]:
        self._plant.asset(asset_id)
        return self._index.work_orders(asset_id)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> StoreLive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
