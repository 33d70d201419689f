"""Alert lifecycle: per-sample scores become one alert per anomaly episode per asset.

A signal *triggers* when its score stays at or above its alarm point (0.5) for ``persist``
samples in a row, at once when it reaches ``instant`` or when the alarming mechanism is one the
detector declares confirmed on its own (``Detector.CONFIRMED_CHANNELS``, e.g. a spike, already
confirmed by the step back). An asset's episode opens at the first trigger, stays open
while any of its signals scores above the lower ``hold`` level (hysteresis, so an episode does
not flap around the alarm point), and closes after ``clear_after_s`` seconds below it. The
lifecycle is open → acknowledged (operator) → resolved (operator, or automatically when the
episode closes). The per-sample part runs in a numba kernel; Python only sees assets whose
state changed in the batch.

What an alert *means* sets its severity and ``details["category"]``. A fault of the equipment
moves every signal that depends on it (a worn bearing heats and vibrates; cavitation moves flow,
pressure, vibration and current), while a fault of a sensor (drift, stuck, spikes) changes only
that sensor's reading. So an episode in which one signal alarms while the asset's other signals
stay normal is a ``data-quality`` warning ("check the sensor"), never critical; once a second
signal of the asset joins, it is an ``equipment`` alert, critical at ``critical``. A signal
the detector reports on a sensor channel (``Detector.SENSOR_CHANNELS``, e.g. a stuck reading)
is data quality in its own words. An asset with one signal has nothing to corroborate it, so
its alerts are graded by score alone (category ``unconfirmed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from plantmind.core.ids import new_id
from plantmind.core.plant import PlantIndex
from plantmind.core.types import Alert, AlertState, Event, SampleBatch, Severity
from plantmind.detect.base import Scores

__all__ = [
    "DATA_QUALITY",
    "EQUIPMENT",
    "UNCONFIRMED",
    "AlertPolicy",
    "AlertTracker",
    "AlertUpdate",
]

#: categories of ``Alert.details["category"]`` (see the module docstring)
DATA_QUALITY, EQUIPMENT, UNCONFIRMED = "data-quality", "equipment", "unconfirmed"
#: what a technician checks first, per category
RECOMMENDED_CHECK = {
    DATA_QUALITY: "check the sensor, its wiring and its transmitter before acting on the "
    "equipment: the asset's other signals are normal",
    EQUIPMENT: "inspect the equipment: several of its signals moved together",
    UNCONFIRMED: "compare with a local gauge: the asset has no other signal to confirm it",
}


@dataclass(frozen=True)
class AlertPolicy:
    alarm: float = 0.5
    instant: float = 0.9
    hold: float = 0.35
    persist: int = 3
    clear_after_s: float = 120.0
    critical: float = 0.9


@njit(cache=True, nogil=True)
def _track_kernel(
    sig, ts, score, chan, asset_of, alarm, instant, hold, persist, confirmed,
    hot, a_first, a_last_trigger, a_last_hold, a_peak, a_top, s_peak, s_touched,
):  # fmt: skip
    for i in range(sig.shape[0]):
        s = sig[i]
        sc = score[i]
        a = asset_of[s]
        if sc >= hold and (ts[i] > a_last_hold[a] or np.isnan(a_last_hold[a])):
            a_last_hold[a] = ts[i]
        if sc >= alarm:
            hot[s] += 1
        else:
            hot[s] = 0
        if sc >= instant or hot[s] >= persist or (sc >= alarm and confirmed[chan[i]]):
            if np.isnan(a_first[a]):
                a_first[a] = ts[i]
            a_last_trigger[a] = ts[i]
            if sc > a_peak[a]:
                a_peak[a] = sc
                a_top[a] = i
        if sc > s_peak[s]:
            s_peak[s] = sc
            s_touched[s] = True


@dataclass
class AlertUpdate:
    """What one batch changed: alerts opened, updated or resolved, and their events."""

    opened: list[Alert] = field(default_factory=list)
    updated: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def changed(self) -> list[Alert]:
        return [*self.opened, *self.updated, *self.resolved]


Explain = Callable[[int, int, float, float], str]


class AlertTracker:
    """Turns detector scores into alert episodes (see the module docstring).

    ``explain(signal, channel, deviation, value)`` words one signal's contribution, e.g.
    "P-101.vibration_rms = 3.7 mm/s, 1.1 mm/s above its normal maximum 2.6 mm/s (…)".
    """

    def __init__(
        self,
        index: PlantIndex,
        *,
        policy: AlertPolicy | None = None,
        explain: Explain | None = None,
        channel_names: tuple[str, ...] = (),
        confirmed_channels: tuple[int, ...] = (),
        sensor_channels: tuple[int, ...] = (),
    ) -> None:
        self.index = index
        self._sensor_channels = frozenset(sensor_channels)
        self._confirmed = np.zeros(
            max(len(channel_names), 1 + max(confirmed_channels, default=0), 128), np.bool_
        )
        self._confirmed[list(confirmed_channels)] = True
        self.policy = policy or AlertPolicy()
        self.channel_names = channel_names
        self._explain = explain or self._default_explain
        n_s, n_a = index.n_signals, index.n_assets
        self._hot = np.zeros(n_s, np.int64)
        self._last_hold = np.full(n_a, np.nan)
        self._open: dict[int, Alert] = {}  # asset index -> open or acknowledged alert
        self._latched: set[int] = set()  # resolved by an operator while still active
        #: the model that raises the alerts (name, version, digest), stamped on each new one
        #: as ``details["model"]``; set when a delivered detector model is put into service
        self.model: dict[str, Any] | None = None

    # -- operator actions ------------------------------------------------------------------
    def open_alerts(self) -> list[Alert]:
        return list(self._open.values())

    def adopt(self, alert: Alert) -> None:
        """Continue an alert that was open before a restart."""
        a = self.index.asset_ids.index(alert.asset_id)
        self._open[a] = alert
        self._last_hold[a] = alert.last_active_at

    def acknowledge(self, alert: Alert, ts: float) -> Alert:
        if alert.state == AlertState.RESOLVED:
            raise ValueError(f"alert {alert.id} is already resolved")
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_at = ts
        return alert

    def resolve(self, alert: Alert, ts: float, by: str = "operator") -> Alert:
        if alert.state == AlertState.RESOLVED:
            return alert
        alert.state = AlertState.RESOLVED
        alert.resolved_at = ts
        alert.resolved_by = by
        a = self.index.asset_ids.index(alert.asset_id)
        if self._open.get(a) is alert or (a in self._open and self._open[a].id == alert.id):
            del self._open[a]
            self._latched.add(a)  # no new alert until this episode has cleared
        return alert

    # -- the stream ------------------------------------------------------------------------
    def update(self, batch: SampleBatch, scores: Scores) -> AlertUpdate:
        p = self.policy
        n_a = self.index.n_assets
        n_s = self.index.n_signals
        a_first = np.full(n_a, np.nan)
        a_last_trigger = np.full(n_a, np.nan)
        a_peak = np.zeros(n_a)
        a_top = np.full(n_a, -1, np.int64)
        s_peak = np.zeros(n_s)
        s_touched = np.zeros(n_s, np.bool_)
        _track_kernel(
            batch.signal, batch.ts, scores.score, scores.channel, self.index.asset_of,
            p.alarm, p.instant, p.hold, p.persist, self._confirmed,
            self._hot, a_first, a_last_trigger, self._last_hold, a_peak, a_top, s_peak, s_touched,
        )  # fmt: skip
        out = AlertUpdate()
        for a in np.flatnonzero(~np.isnan(a_first)):
            self._on_trigger(
                int(a), batch, scores, a_first, a_last_trigger, a_peak, a_top, s_peak, out
            )
        now = float(batch.ts.max()) if len(batch) else None
        if now is not None:
            self._close_quiet(now, out)
        return out

    def _on_trigger(self, a, batch, scores, a_first, a_last, a_peak, a_top, s_peak, out) -> None:
        p = self.policy
        if a in self._latched:
            return
        sigs = self.index.signals_of_asset(a)
        involved = sigs[s_peak[sigs] >= p.alarm]
        i = int(a_top[a])
        top_sig = int(batch.signal[i])
        if top_sig not in involved:
            involved = np.append(involved, top_sig)
        names = [self.index.signal_ids[s] for s in involved]
        top_text = self._explain(
            top_sig, int(scores.channel[i]), float(scores.deviation[i]), float(batch.value[i])
        )
        peak = float(a_peak[a])
        top_channel = int(scores.channel[i])
        alert = self._open.get(a)
        if alert is None:
            alert = Alert(
                id=new_id("al_"),
                site_id=self.index.site_of_asset[a],
                asset_id=self.index.asset_ids[a],
                opened_at=float(a_first[a]),
                last_active_at=float(a_last[a]),
                severity=Severity.WARNING,
                signals=names,
                message=top_text,
                peak_score=peak,
                details={"contributions": {self.index.signal_ids[top_sig]: top_text}},
            )
            self._grade(alert, len(sigs), top_channel)
            if self.model is not None:
                alert.details["model"] = dict(self.model)
            self._open[a] = alert
            out.opened.append(alert)
            out.events.append(
                Event(new_id("ev_"), alert.opened_at, "alert.opened", f"{alert.asset_id}: {top_text}",
                      alert.asset_id, {"alert_id": alert.id, "severity": str(alert.severity)})
            )  # fmt: skip
            return
        alert.last_active_at = max(alert.last_active_at, float(a_last[a]))
        for nm in names:
            if nm not in alert.signals:
                alert.signals.append(nm)
        contributions = alert.details.setdefault("contributions", {})
        if peak > alert.peak_score:
            alert.peak_score = peak
            alert.message = top_text
            contributions[self.index.signal_ids[top_sig]] = top_text
        else:
            contributions.setdefault(self.index.signal_ids[top_sig], top_text)
        self._grade(alert, len(sigs), top_channel)
        if alert not in out.updated:
            out.updated.append(alert)

    def _grade(self, alert: Alert, n_asset_signals: int, top_channel: int) -> None:
        """Category and severity from what the episode means (see the module docstring);
        severity only rises within an episode."""
        if len(alert.signals) >= 2:
            category = EQUIPMENT
        elif n_asset_signals >= 2 or top_channel in self._sensor_channels:
            category = DATA_QUALITY
        else:
            category = UNCONFIRMED
        if alert.details.get("category") == EQUIPMENT:
            category = EQUIPMENT  # an episode confirmed by two signals stays confirmed
        alert.details["category"] = category
        alert.details["recommended_check"] = RECOMMENDED_CHECK[category]
        critical = category != DATA_QUALITY and alert.peak_score >= self.policy.critical
        if critical:
            alert.severity = Severity.CRITICAL

    def _close_quiet(self, now: float, out: AlertUpdate) -> None:
        p = self.policy
        for a in list(self._open):
            last = self._last_hold[a]
            if np.isnan(last) or now - last >= p.clear_after_s:
                alert = self._open.pop(a)
                alert.state = AlertState.RESOLVED
                alert.resolved_at = now
                alert.resolved_by = "auto"
                out.resolved.append(alert)
                out.events.append(
                    Event(new_id("ev_"), now, "alert.resolved",
                          f"{alert.asset_id}: back to normal", alert.asset_id,
                          {"alert_id": alert.id, "by": "auto"})
                )  # fmt: skip
        for a in list(self._latched):
            last = self._last_hold[a]
            if np.isnan(last) or now - last >= p.clear_after_s:
                self._latched.discard(a)

    def _default_explain(self, signal: int, channel: int, deviation: float, value: float) -> str:
        sid = self.index.signal_ids[signal]
        name = self.channel_names[channel] if channel < len(self.channel_names) else str(channel)
        return f"{sid} = {value:.4g}: {name} ({deviation:.3g})"
