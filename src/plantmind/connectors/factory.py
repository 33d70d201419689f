"""Builds the live sources of a site from its ``connectors:`` section in plant.yaml, through
the connector registry (protocol → configuration model → source factory), and merges several
sources into one for the edge node.

Protocol modules are imported only for the protocols a site uses, so a site without, say, OPC
UA does not need ``asyncua`` installed: the registered factories import their module when
called, and this module imports none of them.

To add a connector: its configuration model in :mod:`plantmind.core.connectivity` (a member of
``ConnectorConfig``), its :class:`~plantmind.connectors.base.Source` in a module of its own, a
:func:`register_connector` call below with a factory that imports that module, and a harness
in ``tests/connectors/test_conformance.py`` (a test there fails for a protocol without one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_args

from pydantic import BaseModel

from plantmind.connectors.base import Source
from plantmind.core.connectivity import (
    ModbusConfig,
    MqttConfig,
    OpcUaConfig,
    SparkplugConfig,
)
from plantmind.core.plant import PlantIndex, Site
from plantmind.core.types import SampleBatch

__all__ = [
    "ConnectorSpec",
    "MergedSource",
    "build_source",
    "build_sources",
    "connector_for",
    "merge_sources",
    "register_connector",
    "registered_connectors",
]

log = logging.getLogger("plantmind.connectors")

C = TypeVar("C", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    """One registered connector: the ``protocol:`` value of its plant.yaml entries, the
    configuration model those entries parse to, and what builds its source."""

    protocol: str
    config_type: type[BaseModel]
    # Any: the registry holds factories of different configuration types; register_connector
    # checks that each factory fits its config_type.
    factory: Callable[[Any, PlantIndex], Source]


# protocol → spec, in registration order (the order a config is matched in).
_REGISTRY: dict[str, ConnectorSpec] = {}


def register_connector(
    protocol: str,
    config_type: type[C],
    factory: Callable[[C, PlantIndex], Source],
    *,
    replace: bool = False,
) -> ConnectorSpec:
    """Register the connector for ``protocol``: entries that parse to ``config_type`` are
    built by ``factory(config, index)``. A protocol or configuration model registered twice
    is a ``ValueError`` unless ``replace`` (which source a site gets must not depend on import
    order)."""
    if not protocol or protocol != protocol.strip():
        raise ValueError(f"connector protocol {protocol!r} is empty or padded")
    # The model's own ``protocol`` field is the plant.yaml discriminator: registering it under
    # another name would build a source no entry can select.
    field = config_type.model_fields.get("protocol")
    declared = get_args(field.annotation) if field is not None else ()
    if declared and protocol not in declared:
        raise ValueError(
            f"{config_type.__name__}.protocol is {' | '.join(map(repr, declared))}, "
            f"not {protocol!r}"
        )
    for spec in _REGISTRY.values():
        if replace and spec.protocol == protocol:
            continue
        if spec.protocol == protocol:
            raise ValueError(f"connector protocol {protocol!r} is already registered")
        if spec.config_type is config_type:
            raise ValueError(
                f"{config_type.__name__} is already the configuration of {spec.protocol!r}"
            )
    spec = ConnectorSpec(protocol, config_type, factory)
    _REGISTRY[protocol] = spec
    return spec


def registered_connectors() -> list[ConnectorSpec]:
    """Every registered connector, in registration order."""
    return list(_REGISTRY.values())


def connector_for(config: object) -> ConnectorSpec:
    """The registered connector whose configuration model ``config`` is an instance of; a
    ``TypeError`` naming the type when none is."""
    # isinstance, not a dict lookup on type(config): a subclass of a registered model
    # builds like its base, as the isinstance chain this replaced did.
    for spec in _REGISTRY.values():
        if isinstance(config, spec.config_type):
            return spec
    raise TypeError(f"unknown connector configuration {type(config).__name__}")


def build_source(
    config: OpcUaConfig | MqttConfig | SparkplugConfig | ModbusConfig, index: PlantIndex
) -> Source:
    """The source for one connector entry, built by the connector registered for its
    configuration type."""
    return connector_for(config).factory(config, index)


# --- the built-in connectors -------------------------------------------------------------------
# Each factory imports its protocol module on first use (see the module docstring).


def _opcua(config: OpcUaConfig, index: PlantIndex) -> Source:
    from plantmind.connectors.opcua import OpcUaSource

    return OpcUaSource(config, index)


def _mqtt(config: MqttConfig, index: PlantIndex) -> Source:
    from plantmind.connectors.mqtt import MqttJsonSource

    return MqttJsonSource(config, index)


def _sparkplug(config: SparkplugConfig, index: PlantIndex) -> Source:
    from plantmind.connectors.sparkplug import SparkplugSource

    return SparkplugSource(config, index)


def _modbus(config: ModbusConfig, index: PlantIndex) -> Source:
    from plantmind.connectors.modbus import ModbusSource

    return ModbusSource(config, index)


register_connector("opcua", OpcUaConfig, _opcua)
register_connector("mqtt", MqttConfig, _mqtt)
register_connector("sparkplug", SparkplugConfig, _sparkplug)
register_connector("modbus", ModbusConfig, _modbus)


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
