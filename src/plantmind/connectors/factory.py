"""Builds the live sources of a site from its ``connectors:`` section in plant.yaml.

Protocol modules are imported only for the protocols a site uses, so a site without, say, OPC
UA does not need ``asyncua`` installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from plantmind.connectors.base import Source
from plantmind.core.connectivity import (
    ModbusConfig,
    MqttConfig,
    OpcUaConfig,
    SparkplugConfig,
)
from plantmind.core.plant import PlantIndex, Site
from plantmind.core.types import SampleBatch

__all__ = ["MergedSource", "build_source", "build_sources", "merge_sources"]

log = logging.getLogger("plantmind.connectors")


def build_source(
    config: OpcUaConfig | MqttConfig | SparkplugConfig | ModbusConfig, index: PlantIndex
) -> Source:
    """The source for one connector entry."""
    if isinstance(config, OpcUaConfig):
        from plantmind.connectors.opcua import OpcUaSource

        return OpcUaSource(config, index)
    if isinstance(config, MqttConfig):
        from plantmind.connectors.mqtt import MqttJsonSource

        return MqttJsonSource(config, index)
    if isinstance(config, SparkplugConfig):
        from plantmind.connectors.sparkplug import SparkplugSource

        return SparkplugSource(config, index)
    if isinstance(config, ModbusConfig):
        from plantmind.connectors.modbus import ModbusSource

        return ModbusSource(config, index)
    raise TypeError(f"unknown connector configuration {type(config).__name__}")


def build_sources(site_config: Site, index: PlantIndex) -> list[Source]:
    """One source per entry of ``site_config.connectors``, in file order. Nothing connects
    until a source's ``batches()`` is iterated."""
    return [build_source(c, index) for c in site_config.connectors]


class MergedSource(Source):
    """Several sources as one (for ``EdgeNode.run``): batches in arrival order; one source
    failing is logged and does not stop the others; ``close()`` closes them all."""

    name = "merged"

    def __init__(self, sources: list[Source]) -> None:
        super().__init__()
        self.sources = list(sources)
        self.name = "+".join(s.name for s in self.sources) or "merged"
        self._queue: asyncio.Queue[SampleBatch | None] = asyncio.Queue(maxsize=1000)
        self._closed = False

    async def _pump(self, source: Source) -> None:
        try:
            async for batch in source.batches():
                await self._queue.put(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("source %s failed; the other sources keep running", source.name)

    async def batches(self) -> AsyncIterator[SampleBatch]:
        tasks = [asyncio.create_task(self._pump(s)) for s in self.sources]

        async def done() -> None:
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._queue.put(None)

        finisher = asyncio.create_task(done())
        try:
            while not self._closed:
                batch = await self._queue.get()
                if batch is None:
                    return
                self.stats.batches += 1
                self.stats.samples += len(batch)
                yield batch
        finally:
            await self.close()
            for t in (*tasks, finisher):
                t.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*tasks, finisher, return_exceptions=True)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(s.close() for s in self.sources), return_exceptions=True)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    def diagnostics(self) -> dict[str, object]:
        d = super().diagnostics()
        d["sources"] = [s.diagnostics() for s in self.sources]
        return d


def merge_sources(sources: list[Source]) -> Source:
    """One source for ``EdgeNode.run``: the only one, or a :class:`MergedSource`."""
    return sources[0] if len(sources) == 1 else MergedSource(sources)
