"""Live health for an edge node: a :class:`~plantmind.health.live.HealthMonitor` fed by the
node's ``batch_listeners``, the models it uses (artifacts under ``<home>/health/models/<kind>``),
and listeners that receive the summaries after every update (the site uplink sends them to
the hub). Attached to a node, the monitor judges deviations against the node's detector's
learned normal ranges (the ranges its alerts quote) and sees the node's open alerts, so health
and alerts tell one story (see :mod:`plantmind.health.live`).

Models may also come from the signed model registry: :meth:`HealthService.follow_models`
puts every verified ``health`` version the site's agent brings into service for its asset
kind, and the summaries it produces name it (``model``: name, version, digest)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, SupportsFloat

from plantmind.core.plant import Plant
from plantmind.core.types import SampleBatch
from plantmind.health import models_dir
from plantmind.health.artifact import ArtifactError, load_model
from plantmind.health.live import AssetHealth, HealthMonitor
from plantmind.health.rul import RulModel

__all__ = ["HealthService", "load_models"]

log = logging.getLogger("plantmind.health")


def load_models(home: Path) -> dict[str, RulModel]:
    """Every artifact under ``<home>/health/models``, by the asset kind it was trained for
    (``trained_on.asset_kind``, else the directory name). A damaged one is logged and skipped."""
    out: dict[str, RulModel] = {}
    root = models_dir(home)
    if not root.is_dir():
        return out
    for d in sorted(p for p in root.iterdir() if (p / "model.json").is_file()):
        try:
            model = load_model(d)
        except ArtifactError as exc:
            log.warning("health model %s skipped: %s", d, exc)
            continue
        out[str(model.trained_on.get("asset_kind") or d.name)] = model
    return out


def _trained_cycle_s(model: RulModel) -> float:
    """The bucketing cycle (s) a model was trained on: ``trained_on.cycle_s``, else 10."""
    value = model.trained_on.get("cycle_s", 10.0)
    if not isinstance(value, SupportsFloat | str):
        raise TypeError(f"trained_on.cycle_s must be a number, not {type(value).__name__}")
    return float(value)


class HealthService:
    """Live health for one edge node; ``attach`` it, then read :meth:`snapshot`."""

    def __init__(
        self,
        plant: Plant,
        models: dict[str, RulModel],
        *,
        cycle_s: float | None = None,
        smooth_s: float = 120.0,
        trend_window_s: float = 300.0,
    ) -> None:
        cycles = {_trained_cycle_s(m) for m in models.values()}
        if cycle_s is None:
            # one cycle for all models: they were trained on the same bucketing, or the first wins
            cycle_s = min(cycles) if cycles else 10.0
        self.monitor = HealthMonitor(
            plant, models, cycle_s=cycle_s, smooth_s=smooth_s, trend_window_s=trend_window_s
        )
        #: called with the list of summaries (dicts) after each update, e.g. the uplink's
        #: ``HealthSummaries``
        self.listeners: list[Callable[[Sequence[dict[str, Any]]], None]] = []
        self._last_ts: float | None = None

    def attach(self, node: Any) -> HealthService:
        """Follow ``node``'s batches (its ``batch_listeners``, history learning included), judge
        deviations against its detector's learned ranges and read its open alerts."""
        node.batch_listeners.append(self.observe)
        detector = getattr(node, "detector", None)
        node_index = getattr(node, "index", None)
        if detector is not None and node_index is not None:
            at = {sid: i for i, sid in enumerate(node_index.signal_ids)}
            # the node's signal positions, by id: the two indexes are built from the same plant
            to_node = [at.get(sid, -1) for sid in self.monitor.index.signal_ids]

            def normal_range(signal: int) -> tuple[float, float] | None:
                i = to_node[signal]
                return detector.normal_range(i) if i >= 0 else None

            self.monitor.normal_range = normal_range
            margin = getattr(getattr(detector, "config", None), "range_margin", None)
            if isinstance(margin, int | float) and margin > 0:
                self.monitor.range_margin = float(margin)
        tracker = getattr(node, "tracker", None)
        if tracker is not None:
            self.monitor.open_alerts = tracker.open_alerts
        return self

    def follow_models(self, models: Any, kind: str = "health") -> None:
        """Use every ``kind`` version the site's verified models bring into service
        (``models``: a :class:`plantmind.models.agent.SiteModels`, or anything with its
        ``listeners``; attach before its ``restore()``) for the asset kind it was trained for
        (``trained_on.asset_kind``, else the model's registry name); its summaries carry
        ``{"name", "version", "digest"}``. A version trained on another cycle than the
        monitor's is refused before the swap (``incompatible``: the site keeps the running
        version and reports the deployment failed); one that still cannot serve (a bad time
        basis) is logged and left out, the assets keep what they had."""

        def can_serve(loaded: Any, k: str) -> None:
            if k != kind:
                return
            from plantmind.models.signing import TrustError

            what = f"{loaded.name} v{loaded.version}"
            model = loaded.model
            cycle = _trained_cycle_s(model)
            if abs(cycle - self.monitor.cycle_s) > 1e-9:
                raise TrustError(
                    "incompatible",
                    f"{what} was trained on {cycle:g} s cycles, "
                    f"this site's health monitor buckets {self.monitor.cycle_s:g} s",
                )
            asset_kind = str(getattr(model, "trained_on", {}).get("asset_kind") or loaded.name)
            try:
                served = self.monitor.would_serve(asset_kind, model)
            except ValueError as exc:
                raise TrustError("incompatible", f"{what}: {exc}") from None
            if not served:
                raise TrustError(
                    "incompatible",
                    f"{what} (asset kind {asset_kind!r}, signals "
                    f"{', '.join(model.used_signals)}) would serve no asset of this site",
                )

        def on_model(loaded: Any, k: str) -> None:
            if k != kind:
                return
            model = loaded.model
            asset_kind = str(getattr(model, "trained_on", {}).get("asset_kind") or loaded.name)
            ref = {"name": loaded.name, "version": loaded.version, "digest": loaded.digest}
            try:
                cycle = _trained_cycle_s(model)
                if abs(cycle - self.monitor.cycle_s) > 1e-9:
                    raise ValueError(
                        f"trained on {cycle:g} s cycles, this monitor buckets "
                        f"{self.monitor.cycle_s:g} s"
                    )
                served = self.monitor.set_model(asset_kind, model, ref)
            except (TypeError, ValueError) as exc:
                log.warning("health model %s v%s not used: %s", loaded.name, loaded.version, exc)
                return
            if not served:
                log.warning("health model %s v%s (asset kind %r) serves no asset here",
                            loaded.name, loaded.version, asset_kind)  # fmt: skip

        if hasattr(models, "checks"):  # refused before the swap: the inventory stays true
            models.checks.append(can_serve)
        models.listeners.append(on_model)

    def observe(self, batch: SampleBatch) -> None:
        self.monitor.observe(batch)
        ts = max((s.ts for s in self.monitor.state.values() if s.ts is not None), default=None)
        if ts is not None and ts != self._last_ts:
            self._last_ts = ts
            if self.listeners:
                summaries = [s.to_dict() for s in self.snapshot()]
                for listener in self.listeners:
                    try:
                        listener(summaries)
                    except Exception:  # a failing consumer must not stop the pipeline
                        log.exception("health listener failed")

    def snapshot(self) -> list[AssetHealth]:
        return self.monitor.snapshot()

    def get(self, asset_id: str) -> AssetHealth | None:
        return self.monitor.get(asset_id)
