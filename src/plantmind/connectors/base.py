"""The shape every connector has: an async source of :class:`SampleBatch` that maps its
protocol's names to the plant's signal indices, reports its own health, and closes cleanly."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from plantmind.core.types import SampleBatch

__all__ = ["Source", "SourceStats"]


@dataclass
class SourceStats:
    """Counters a connector keeps for diagnostics."""

    batches: int = 0
    samples: int = 0
    errors: int = 0
    last_error: str | None = None
    extra: dict[str, int] = field(default_factory=dict)


class Source(abc.ABC):
    """An async source of sample batches. ``batches()`` yields until the source ends or
    ``close()`` is called; a source that loses its peer reconnects by itself."""

    name: str = "source"

    def __init__(self) -> None:
        self.stats = SourceStats()

    @abc.abstractmethod
    def batches(self) -> AsyncIterator[SampleBatch]:
        """Yield batches as they arrive."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""

    def diagnostics(self) -> dict[str, object]:
        s = self.stats
        return {
            "name": self.name,
            "batches": s.batches,
            "samples": s.samples,
            "errors": s.errors,
            "last_error": s.last_error,
            **s.extra,
        }
