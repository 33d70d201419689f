"""The edge node: one site's pipeline, source → quality gate → detector (and, when on, the
multivariate relationship view) → alert tracker → store, moving columnar batches, and the
operator actions on its alerts.

Everything per sample runs in numba kernels over whole batches; Python touches only what
changed (alerts, events, finished aggregate buckets). Writes go to the store's single writer
thread, so scoring never waits for the disk.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from plantmind.connectors.base import Source
from plantmind.core.ids import new_id
from plantmind.core.plant import Plant, PlantIndex
from plantmind.core.types import Alert, AlertState, Event, SampleBatch
from plantmind.detect.alerts import AlertPolicy, AlertTracker, AlertUpdate
from plantmind.detect.default import DEFAULT_DETECTOR, default_detector
from plantmind.detect.explain import SignalExplainer
from plantmind.detect.quality import QualityGate
from plantmind.detect.relationship import CHANNEL, RelationshipConfig, RelationshipView
from plantmind.store.downsample import Downsampler
from plantmind.store.edge import EdgeStore
from plantmind.store.ring import SampleRing

if TYPE_CHECKING:
    from plantmind.knowledge.index import KnowledgeIndex

__all__ = ["EdgeNode", "NodeStats"]

log = logging.getLogger("plantmind.edge")

#: where the relationship view's fitted models are saved (by asset and signal id)
_JOINT_KEY = "detector.relationship"


@dataclass
class NodeStats:
    batches: int = 0
    samples_in: int = 0
    samples_scored: int = 0
    samples_dropped: int = 0
    alerts_opened: int = 0
    started_wall: float = field(default_factory=time.time)
    last_ts: float | None = None


class EdgeNode:
    """One site's edge pipeline over the signals of ``plant`` (see the module docstring).

    Parameters
    ----------
    plant:
        The validated plant model.
    home:
        The home directory; the store lives in ``home/edge.db``.
    ring_capacity:
        Raw samples kept in memory per signal for live views.
    aggregate_s:
        Width of the downsampled buckets kept on disk.
    restore:
        Continue from the detector state and open alerts saved by a previous run.
    multivariate:
        Also run the relationship view (:mod:`plantmind.detect.relationship`): per asset,
        how its signals move together, as a channel ``relationship`` fused into the
        per-signal scores. True for the default settings, or its configuration.
    """

    def __init__(
        self,
        plant: Plant,
        home: Path,
        *,
        detector_config: Any = None,
        alert_policy: AlertPolicy | None = None,
        ring_capacity: int = 300,
        aggregate_s: float = 60.0,
        restore: bool = True,
        retention_days: float = 7.0,
        multivariate: bool | RelationshipConfig = False,
    ) -> None:
        self.plant = plant
        self.home = Path(home)
        #: the plant file's folder: relative paths of plant.yaml (in-process model files) are
        #: read from it; None: the working directory
        self.plant_dir: Path | None = None
        self.index = PlantIndex.build(plant)
        n = self.index.n_signals
        # whatever detect/default.py names; its state is saved under its name
        self.detector = default_detector(
            n, expected_span=self.index.high - self.index.low, config=detector_config
        )
        self._state_key = f"detector.{DEFAULT_DETECTOR}"
        #: the multivariate view (None: off); its channel follows the detector's own
        self.relationship: RelationshipView | None = None
        self._rel_channel = len(self.detector.CHANNELS)
        if multivariate:
            self.relationship = RelationshipView(
                self.index.asset_of,
                self.index.signal_ids,
                self.index.asset_ids,
                multivariate if isinstance(multivariate, RelationshipConfig) else None,
            )
        self._signal_words = SignalExplainer(plant, self.index.signal_ids, self.detector)
        self.tracker = AlertTracker(
            self.index,
            policy=alert_policy,
            explain=self._explain,
            channel_names=self.detector.CHANNELS
            + ((CHANNEL,) if self.relationship is not None else ()),
            confirmed_channels=self.detector.CONFIRMED_CHANNELS,
            sensor_channels=self.detector.SENSOR_CHANNELS,
        )
        self.gate = QualityGate(n)
        self.ring = SampleRing(n, capacity=ring_capacity)
        self.downsampler = Downsampler(n, bucket_s=aggregate_s)
        self.store = EdgeStore(self.home / "edge.db")
        self.stats = NodeStats()
        self.retention_s = retention_days * 86400.0
        self._next_prune: float | None = None
        self._positions = self.index.signal_position()
        self._last_quality_event: dict[tuple[str, int], float] = {}
        self.listeners: list[Callable[[AlertUpdate], None]] = []
        #: called with every scored batch (after the quality gate): live models that follow
        #: the signals (e.g. asset health) attach here
        self.batch_listeners: list[Callable[[SampleBatch], None]] = []
        #: called with no arguments after every ingested or learned batch and every operator
        #: action: what reads the node's state from elsewhere (the API's snapshot) learns here
        #: that it changed. Keep them O(1): they run once per batch on the hot path.
        self.change_hooks: list[Callable[[], None]] = []
        if restore:
            self._restore()

    def follow_models(self, models: Any, detector_kind: str = "detector") -> None:
        """Follow the delivered ``detector_kind`` model: its alert policy (when it carries
        one) replaces the tracker's, and its version is stamped on every alert raised from
        now on (``models``: a :class:`plantmind.models.agent.SiteModels`, or anything with its
        ``listeners``; attach before its ``restore()`` at start, so the version restored from
        disk counts too)."""

        def on_model(loaded: Any, kind: str) -> None:
            if kind == detector_kind:
                policy = getattr(loaded.model, "alert_policy", None)
                if policy:
                    fields = {k: int(v) if k == "persist" else v for k, v in policy.items()}
                    self.tracker.policy = replace(self.tracker.policy, **fields)
                self.tracker.model = {
                    "name": loaded.name,
                    "version": loaded.version,
                    "digest": loaded.digest,
                }

        models.listeners.append(on_model)

    @functools.cached_property
    def knowledge(self) -> KnowledgeIndex:
        """The knowledge index in ``home/knowledge``, opened on first use (it loads the
        embedding model, which takes seconds)."""
        from plantmind.knowledge.index import KnowledgeIndex

        return KnowledgeIndex(self.home / "knowledge")

    # -- the stream ------------------------------------------------------------------------
    def ingest(self, batch: SampleBatch) -> AlertUpdate:
        """Score one batch, update alerts, keep samples; returns what changed."""
        update = self._ingest(batch)
        for changed in self.change_hooks:
            changed()
        return update

    def _ingest(self, batch: SampleBatch) -> AlertUpdate:
        st = self.stats
        st.batches += 1
        st.samples_in += len(batch)
        if len(batch) and (batch.signal.min() < 0 or batch.signal.max() >= self.index.n_signals):
            bad = (batch.signal < 0) | (batch.signal >= self.index.n_signals)
            self._quality_event("unknown signal index", {-1: int(bad.sum())}, time.time())
            st.samples_dropped += int(bad.sum())
            batch = batch.select(~bad)
        clean, dropped = self.gate.filter(batch)
        if dropped:
            n_drop = sum(sum(v.values()) for v in dropped.values())
            st.samples_dropped += n_drop
            ts = (
                float(batch.ts[np.isfinite(batch.ts)].max())
                if np.isfinite(batch.ts).any()
                else time.time()
            )
            for reason, per in dropped.items():
                self._quality_event(reason, per, ts)
        if len(clean) == 0:
            return AlertUpdate()
        scores = self.detector.score_batch(clean)
        if self.relationship is not None:
            scores = self.relationship.fuse(clean, scores, self._rel_channel, live=True)
        update = self.tracker.update(clean, scores)
        self.ring.append(clean)
        buckets = self.downsampler.update(clean)
        if len(buckets):
            self.store.write_aggregates(self.index.signal_ids, buckets)
        st.samples_scored += len(clean)
        st.last_ts = float(clean.ts.max())
        self._maybe_prune(st.last_ts)
        for observe in self.batch_listeners:
            observe(clean)
        if update.opened or update.updated or update.resolved:
            st.alerts_opened += len(update.opened)
            for alert in update.changed():
                self.store.upsert_alert(alert)
            if update.events:
                self.store.add_events(update.events)
            for listener in self.listeners:
                listener(update)
        return update

    def learn(self, batch: SampleBatch) -> None:
        """Learn normal behaviour from history (e.g. a historian backfill) without raising
        alerts: the quality gate, the detector, the sample ring and the batch listeners (live
        models such as health: one rule for every batch) see it; the tracker and the event
        log do not."""
        clean, _ = self.gate.filter(batch)
        if len(clean):
            self.detector.score_batch(clean)
            if self.relationship is not None:
                self.relationship.observe(clean, live=False)
            self.ring.append(clean)
            self.stats.last_ts = float(clean.ts.max())
            for observe in self.batch_listeners:
                observe(clean)
            for changed in self.change_hooks:
                changed()

    def _explain(self, signal: int, channel: int, deviation: float, value: float) -> str:
        """Words for one signal's part in an alert, from the view that raised it."""
        if channel == self._rel_channel and self.relationship is not None:
            return self.relationship.describe(signal)
        return self._signal_words(signal, channel, deviation, value)

    def _maybe_prune(self, now: float) -> None:
        # Bounded disk: once an hour of plant time, drop aggregates past the retention.
        if self._next_prune is None:
            self._next_prune = now + 3600.0
        elif now >= self._next_prune:
            self._next_prune = now + 3600.0
            self.store.prune(aggregates_older_than=now - self.retention_s)

    async def run(self, source: Source, *, stop: asyncio.Event | None = None) -> None:
        """Consume ``source`` until it ends or ``stop`` is set; a failing batch is logged and
        skipped, the node keeps running."""
        async for batch in source.batches():
            try:
                self.ingest(batch)
            except Exception:  # the node must outlive one bad batch
                log.exception(
                    "batch of %d samples from %s failed; skipped", len(batch), source.name
                )
            if stop is not None and stop.is_set():
                break

    def _quality_event(self, reason: str, per_signal: dict[int, int], ts: float) -> None:
        # At most one event per reason and signal per minute of data: a broken sensor must not
        # flood the event log.
        events = []
        for s, count in per_signal.items():
            key = (reason, s)
            if ts - self._last_quality_event.get(key, -np.inf) < 60.0:
                continue
            self._last_quality_event[key] = ts
            sid = self.index.signal_ids[s] if 0 <= s < self.index.n_signals else "?"
            msg = f"dropped {count} sample(s) of {sid}: {reason}"
            log.warning(msg)
            asset = (
                self.index.asset_ids[self.index.asset_of[s]]
                if 0 <= s < self.index.n_signals
                else None
            )
            events.append(
                Event(
                    new_id("ev_"),
                    ts,
                    "data.dropped",
                    msg,
                    asset,
                    {"signal": sid, "reason": reason, "count": count},
                )
            )
        if events:
            self.store.add_events(events)

    # -- operator actions ------------------------------------------------------------------
    def get_alert(self, alert_id: str) -> Alert | None:
        for alert in self.tracker.open_alerts():
            if alert.id == alert_id:
                return alert
        return self.store.get_alert(alert_id)

    def _require(self, alert_id: str) -> Alert:
        alert = self.get_alert(alert_id)
        if alert is None:
            raise KeyError(f"no alert with id {alert_id!r}")
        return alert

    def acknowledge(self, alert_id: str) -> Alert:
        alert = self.tracker.acknowledge(self._require(alert_id), self._now())
        self._record(alert, "alert.acknowledged", f"{alert.asset_id}: acknowledged")
        return alert

    def resolve(self, alert_id: str) -> Alert:
        alert = self.tracker.resolve(self._require(alert_id), self._now())
        self._record(alert, "alert.resolved", f"{alert.asset_id}: resolved by operator")
        return alert

    def mark_false_alarm(self, alert_id: str) -> Alert:
        """Mark an alert as a false alarm: resolves it and makes its signals less sensitive."""
        alert = self._require(alert_id)
        alert.false_alarm = True
        for sid in alert.signals:
            s = self._positions.get(sid)
            if s is not None:
                self.detector.feedback(s, "false_alarm", alert.peak_score)
        if alert.state != AlertState.RESOLVED:
            self.tracker.resolve(alert, self._now(), by="false_alarm")
        self._record(alert, "alert.false_alarm", f"{alert.asset_id}: marked as false alarm")
        return alert

    def _now(self) -> float:
        return self.stats.last_ts if self.stats.last_ts is not None else time.time()

    def _record(self, alert: Alert, kind: str, message: str) -> None:
        event = Event(
            new_id("ev_"), self._now(), kind, message, alert.asset_id, {"alert_id": alert.id}
        )
        self.store.upsert_alert(alert)
        self.store.add_events([event])
        # operator actions reach the listeners (e.g. the uplink to the hub) like detector ones
        update = AlertUpdate(events=[event])
        (update.resolved if alert.state == AlertState.RESOLVED else update.updated).append(alert)
        for listener in self.listeners:
            listener(update)
        for changed in self.change_hooks:
            changed()

    # -- persistence -----------------------------------------------------------------------
    def save_state(self) -> None:
        """Persist the detector so a restart resumes without a new warm-up."""
        buf = io.BytesIO()
        state = self.detector.state_dict()
        # allow_pickle given explicitly (numpy's default) so the stubs don't match **state to it
        np.savez(buf, signal_ids=np.asarray(self.index.signal_ids), allow_pickle=True, **state)
        self.store.put_state(self._state_key, buf.getvalue())
        if self.relationship is not None:
            joint = self.relationship.state_dict()  # its own ids: not per-signal arrays
            if joint:
                buf = io.BytesIO()
                np.savez(buf, allow_pickle=True, **joint)
                self.store.put_state(_JOINT_KEY, buf.getvalue())

    def _restore(self) -> None:
        blob = self.store.get_state(self._state_key)
        if blob is not None:
            try:
                with np.load(io.BytesIO(blob), allow_pickle=False) as data:
                    saved_ids = [str(s) for s in data["signal_ids"]]
                    saved = {k: data[k] for k in data.files if k != "signal_ids"}
                self._load_matching(saved_ids, saved)
            except (ValueError, KeyError, OSError) as exc:
                log.warning("saved detector state ignored (%s); starting a new warm-up", exc)
        joint = self.store.get_state(_JOINT_KEY) if self.relationship is not None else None
        if joint is not None and self.relationship is not None:
            try:
                with np.load(io.BytesIO(joint), allow_pickle=False) as data:
                    self.relationship.load_state_dict({k: data[k] for k in data.files})
            except (ValueError, KeyError, OSError) as exc:
                log.warning("saved relationship models ignored (%s); learning again", exc)
        for alert in self.store.list_alerts(limit=10_000):
            if alert.state != AlertState.RESOLVED and alert.asset_id in self.index.asset_ids:
                self.tracker.adopt(alert)

    def _load_matching(self, saved_ids: list[str], saved: dict[str, np.ndarray]) -> None:
        # The plant may have changed since the state was saved: carry over signals by id.
        fresh = self.detector.state_dict()
        pos = {sid: i for i, sid in enumerate(saved_ids)}
        src = np.array([pos.get(sid, -1) for sid in self.index.signal_ids])
        have = src >= 0
        for name, arr in fresh.items():
            if name in saved:
                arr[have] = saved[name][src[have]]
        self.detector.load_state_dict(fresh)

    def close(self) -> None:
        """Save state, write open aggregate buckets, and close the store."""
        self.save_state()
        rest = self.downsampler.flush()
        if len(rest):
            self.store.write_aggregates(self.index.signal_ids, rest)
        self.store.close()

    def __enter__(self) -> EdgeNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
