"""Live asset health: turns the stream of sample batches into per-asset cycles (fixed-width
bucket means), and after each cycle the health index with its trend, remaining life with its
interval and the probability of failure within a horizon.

Two ways to a health index (``method``):

* **model**: the asset's kind has a trained :class:`~plantmind.health.rul.RulModel` (its
  signals are matched by role). The model predicts the remaining life every cycle; the health
  index is that life as a share of the model's healthy plateau (``RulModel.health_index``).
* **deviation**: any other asset. Each signal's latest cycle mean is compared with its learned
  normal range: the node's detector's range (``normal_range``, the same range its alerts quote)
  when the monitor is given one, else the min/max of the signal's first ``learn_cycles`` cycle
  means, widened afterwards by cycle means just outside it (short of the alarm point). The excess ``e`` beyond the range, in range widths, maps to a score with the
  detector's own curve (``z = 6 e / range_margin``, ``score = z² / (z² + 36)``, 0.5 at the
  detector's alarm point) and the worst signal's score gives ``health = 100 (1 - score)``:
  inside every range the index is 100, at the detector's alarm point it is 50. No remaining
  life: nothing was trained for the asset.

Smoothing and trend. The raw index of one cycle (``health_raw``) is kept for diagnosis; the
published ``health`` is its exponentially weighted mean with a time constant ``smooth_s`` in
plant seconds, ``h += (1 - exp(-dt / smooth_s)) (raw - h)`` for updates ``dt`` apart, so the
weight of one cycle does not depend on how often samples arrive, and one bad 10 s window moves
the index by at most ``1 - exp(-10 / smooth_s)`` of its dip (8 % at the default 120 s). For a
modelled asset it is the remaining life that is smoothed, and health, interval and failure
probability follow from the smoothed life, so they always agree. The price is lag: a steady
decline shows about ``smooth_s`` late. ``trend_per_hour`` is the least-squares slope of the
smoothed index over the last ``trend_window_s`` of plant time, in points per hour of the
asset's time basis; ``trend`` words it ("falling"/"rising" when the fitted change over the
window is at least ``stable_points``, else "stable").

Time basis and units. Remaining life is reported in operating hours (``unit`` "h"). A model
trained on a compressed clock (the demo's simulated bearing wear lasts minutes, a real one
days) declares it in ``trained_on["time_scale"]`` (operating seconds per second of its training
clock) and ``trained_on["rul_basis"]`` (words); life and trend are then scaled to that basis and
``rul_basis`` says so. Without a declaration the scale is 1 and ``rul_basis`` says the life is in
the plant's own operating time.

Alerts. Given the node's open alerts (``open_alerts``), a signal with an open data-quality alert
(a stuck, drifting or spiking sensor: ``details["category"] == "data-quality"``) is left out of
the deviation index, and a model's prediction is held while one of its inputs has one: a sensor
fault must not read as wear. Every summary counts the asset's open alerts, and ``note`` says in
words where the index comes from and, when it is below ``ALARM_HEALTH`` without an open
equipment alert, why (``alert_consistent`` is then False).

Model version. A model put in by :meth:`HealthMonitor.set_model` with the identity of its signed
registry version (``{"name", "version", "digest"}``, see
:meth:`plantmind.health.service.HealthService.follow_models`) is named in every summary it
produced (``model``); a model loaded from a local artifact has no such identity and its
summaries carry no ``model`` key.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plantmind.core.plant import Plant, PlantIndex
from plantmind.core.types import Alert, SampleBatch
from plantmind.health.features import unit_features
from plantmind.health.rul import RulModel

__all__ = [
    "ALARM_HEALTH",
    "AssetHealth",
    "HealthMonitor",
    "deviation_health",
    "health_trend",
    "model_time_basis",
    "smooth_step",
]

#: below this health index an asset is expected to have an open alert (else ``note`` says why)
ALARM_HEALTH = 50.0
DATA_QUALITY = "data-quality"  # ``Alert.details["category"]`` of a sensor fault (detect.alerts)
PLANT_BASIS = "plant operating time"
#: share of the way an own learned range moves toward a cycle mean just outside it
OWN_RANGE_WIDEN = 0.05

RangeProvider = Callable[[int], "tuple[float, float] | None"]
AlertsProvider = Callable[[], Iterable[Alert]]


def smooth_step(prev: float | None, value: float, dt: float, tau: float) -> float:
    """One step of an exponentially weighted mean with time constant ``tau`` (same unit as
    ``dt``): ``prev + (1 - exp(-dt / tau)) (value - prev)``; the first value (``prev`` None)
    is taken as is, and ``dt <= 0`` keeps ``prev``."""
    if prev is None or not math.isfinite(prev):
        return float(value)
    if dt <= 0:
        return float(prev)
    return float(prev + (1.0 - math.exp(-dt / tau)) * (value - prev))


def health_trend(
    ts: Sequence[float] | np.ndarray,
    health: Sequence[float] | np.ndarray,
    *,
    window_s: float,
    stable_points: float = 3.0,
    time_scale: float = 1.0,
) -> tuple[float | None, str | None]:
    """Slope of ``health`` over the last ``window_s`` plant seconds of ``ts`` (least squares),
    in points per hour of the asset's time basis (plant seconds × ``time_scale``), and its word:
    "falling"/"rising" when the fitted change over the window reaches ``stable_points``, else
    "stable". ``(None, None)`` with fewer than 3 points or under a third of the window."""
    t = np.asarray(ts, dtype=np.float64)
    h = np.asarray(health, dtype=np.float64)
    if t.shape != h.shape:
        raise ValueError(f"ts and health differ in length ({t.shape} vs {h.shape})")
    if len(t) == 0:
        return None, None
    sel = (t >= t[-1] - window_s) & np.isfinite(h)
    t, h = t[sel], h[sel]
    if len(t) < 3 or t[-1] - t[0] < window_s / 3.0:
        return None, None
    dt = t - t.mean()
    slope = float(np.dot(dt, h - h.mean()) / np.dot(dt, dt))  # points per plant second
    change = slope * (t[-1] - t[0])
    word = "stable" if abs(change) < stable_points else ("falling" if change < 0 else "rising")
    return slope * 3600.0 / time_scale, word


def deviation_health(excess: np.ndarray, range_margin: float) -> np.ndarray:
    """Health 0–100 from the excess beyond a normal range in range widths (≤ 0 inside), on the
    detector's score curve: 100 inside, 50 at ``range_margin`` widths beyond (its alarm
    point), 20 at twice that."""
    e = np.maximum(np.asarray(excess, dtype=np.float64), 0.0)
    z = 6.0 * e / range_margin
    return 100.0 * (1.0 - z * z / (z * z + 36.0))


def model_time_basis(model: RulModel) -> tuple[float, str]:
    """``(time_scale, rul_basis)`` of a model: operating seconds per second of its training
    clock and the words for it (see the module docstring).

    Raises
    ------
    ValueError
        ``trained_on["time_scale"]`` is not a positive finite number.
    """
    raw = model.trained_on.get("time_scale", 1.0)
    try:
        scale = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"trained_on.time_scale must be a number, got {raw!r}") from None
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"trained_on.time_scale must be a positive number, got {raw!r}")
    basis = model.trained_on.get("rul_basis")
    if basis is None:
        basis = PLANT_BASIS if scale == 1.0 else f"model clock × {scale:g}"
    return scale, str(basis)


@dataclass
class AssetHealth:
    """One asset's latest health. Times in plant seconds; remaining life in operating hours
    (``unit``) of the asset's time basis (``rul_basis``); trend in points per hour of it."""

    asset_id: str
    kind: str
    ts: float | None = None
    health: float | None = None  # smoothed, 0 (failed) … 100 (healthy)
    health_raw: float | None = None  # this cycle's index, unsmoothed
    trend: str | None = None  # "falling" | "rising" | "stable"
    trend_per_hour: float | None = None
    rul: float | None = None
    rul_low: float | None = None
    rul_high: float | None = None
    rul_raw: float | None = None
    failure_probability: float | None = None
    horizon: float | None = None
    unit: str = "h"
    rul_basis: str | None = None
    time_scale: float = 1.0
    method: str = "warming up"
    cycles: int = 0
    open_alerts: dict[str, int] = field(default_factory=dict)
    excluded_signals: list[dict[str, str]] = field(default_factory=list)
    note: str = ""
    alert_consistent: bool = True
    #: the registry version that produced this summary (``{"name", "version", "digest"}``),
    #: None when the model is a local artifact or there is no model (deviation)
    model: dict[str, Any] | None = None
    #: recent points: (plant ts, smoothed health, remaining life in hours or None, raw health)
    history: deque[tuple[float, float, float | None, float]] = field(
        default_factory=lambda: deque(maxlen=360)
    )
    # smoothing state (model: remaining life in model units; deviation: health)
    _level: float | None = field(default=None, repr=False)
    _level_ts: float | None = field(default=None, repr=False)

    def to_dict(self, *, history: bool = False) -> dict[str, Any]:
        """The summary the API, the uplink and the demo publish (``history``: with the recent
        points)."""

        def r(v: float | None, nd: int = 2) -> float | None:
            return None if v is None else round(float(v), nd)

        d: dict[str, Any] = {
            "asset_id": self.asset_id,
            "kind": self.kind,
            "ts": self.ts,
            "health": r(self.health),
            "health_raw": r(self.health_raw),
            "trend": self.trend,
            "trend_per_hour": r(self.trend_per_hour, 3),
            "trend_per_day": r(None if self.trend_per_hour is None else 24 * self.trend_per_hour),
            "rul": r(self.rul, 3),
            "rul_low": r(self.rul_low, 3),
            "rul_high": r(self.rul_high, 3),
            "rul_raw": r(self.rul_raw, 3),
            "unit": self.unit,
            "rul_basis": self.rul_basis,
            "failure_probability": r(self.failure_probability, 4),
            "horizon": r(self.horizon, 3),
            "method": self.method,
            "cycles": self.cycles,
            "open_alerts": dict(self.open_alerts),
            "excluded_signals": [dict(x) for x in self.excluded_signals],
            "note": self.note,
            "alert_consistent": self.alert_consistent,
        }
        if self.model is not None:
            d["model"] = dict(self.model)
        if history:
            d["history"] = [
                {
                    "ts": t,
                    "health": round(h, 2),
                    "health_raw": round(raw, 2),
                    "rul": None if life is None else round(life, 3),
                }
                for t, h, life, raw in self.history
            ]
        return d


def _fmt_hours(h: float) -> str:
    return f"{h / 24:.1f} d" if h >= 48 else f"{h:.1f} h" if h >= 1 else f"{h * 60:.0f} min"


class HealthMonitor:
    """Per-asset health from a stream of :class:`SampleBatch` (see the module docstring).

    Parameters
    ----------
    plant:
        The plant model (asset kinds, signal roles).
    models:
        Trained models by asset kind; their signal names are signal roles.
    cycle_s:
        Bucket width; must match the cycle the models were trained on.
    keep:
        Cycles of history kept per asset (bounds memory and the cost of one update).
    learn_cycles:
        Cycles whose means define a signal's own normal range (min/max), used where
        ``normal_range`` gives none.
    horizon:
        Horizon of the failure probability, in the model's time unit (default: half the
        plateau).
    smooth_s:
        Time constant of the health smoothing, plant seconds.
    trend_window_s:
        Plant seconds of smoothed health the trend is fitted over.
    stable_points:
        Fitted change over the trend window below which the trend is "stable".
    normal_range:
        ``signal position -> (low, high) | None``: learned normal ranges (the node's detector).
    open_alerts:
        ``() -> alerts``: the node's open alerts.
    range_margin:
        The detector's alarm point beyond its range, in range widths.

    Raises
    ------
    ValueError
        A non-positive cycle, smoothing constant or window, or a model with a bad
        ``time_scale``.
    """

    def __init__(
        self,
        plant: Plant,
        models: dict[str, RulModel] | None = None,
        *,
        cycle_s: float = 10.0,
        keep: int = 96,
        learn_cycles: int = 360,
        horizon: float | None = None,
        smooth_s: float = 120.0,
        trend_window_s: float = 300.0,
        stable_points: float = 3.0,
        normal_range: RangeProvider | None = None,
        open_alerts: AlertsProvider | None = None,
        range_margin: float = 0.25,
    ) -> None:
        for name, v in (
            ("cycle_s", cycle_s),
            ("smooth_s", smooth_s),
            ("trend_window_s", trend_window_s),
            ("range_margin", range_margin),
        ):
            if not (math.isfinite(float(v)) and float(v) > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if keep < 1 or learn_cycles < 1:
            raise ValueError(f"keep and learn_cycles must be ≥ 1, got {keep}, {learn_cycles}")
        self.index = PlantIndex.build(plant)
        self.models = dict(models or {})
        self.cycle_s = float(cycle_s)
        self.keep = keep
        self.learn_cycles = learn_cycles
        self.smooth_s = float(smooth_s)
        self.trend_window_s = float(trend_window_s)
        self.stable_points = float(stable_points)
        self.normal_range = normal_range
        self.open_alerts = open_alerts
        self.range_margin = float(range_margin)
        n = self.index.n_signals
        self._sum = np.zeros(n)
        self._count = np.zeros(n)
        self._cycle: int | None = None
        self._rows: deque[np.ndarray] = deque(maxlen=keep)
        self._row_ts: deque[float] = deque(maxlen=keep)
        # own normal ranges: min/max of the first learn_cycles cycle means of each signal
        self._own_lo = np.full(n, np.inf)
        self._own_hi = np.full(n, -np.inf)
        self._own_n = np.zeros(n, dtype=np.int64)
        pos = self.index.signal_position()
        span = np.zeros(n)
        roles_by_pos: dict[int, str] = {}
        for _, _, asset in plant.iter_assets():
            for sig in asset.signals:
                roles_by_pos[pos[sig.id]] = sig.role or sig.id.rsplit(".", 1)[-1]
                span[pos[sig.id]] = sig.expected_range[1] - sig.expected_range[0]
        # a range never narrower than this, so a signal that sat still does not divide by ~0
        self._width_floor = np.maximum(1e-4 * span, 1e-9)
        self._roles_by_pos = roles_by_pos
        self._horizon_arg = horizon
        #: registry identity of each asset kind's model (:meth:`set_model`)
        self.model_refs: dict[str, dict[str, Any]] = {}
        self._swap = threading.Lock()  # a model swap never lands in the middle of an update
        self.state: dict[str, AssetHealth] = {}
        self._plan: list[tuple[int, str, RulModel | None, np.ndarray]] = []
        for a, asset_id in enumerate(self.index.asset_ids):
            kind = plant.asset(asset_id).kind
            entry, self.state[asset_id] = self._plan_asset(a, asset_id, kind)
            self._plan.append(entry)

    def _plan_asset(
        self, a: int, asset_id: str, kind: str
    ) -> tuple[tuple[int, str, RulModel | None, np.ndarray], AssetHealth]:
        """The plan entry and a fresh state of asset ``a`` with its kind's current model."""
        cols = self.index.signals_of_asset(a)
        model = self.models.get(kind)
        if model is not None:
            by_role = {self._roles_by_pos[int(c)]: int(c) for c in cols}
            if all(r in by_role for r in model.used_signals):
                mapped = np.array([by_role.get(r, -1) for r in model.signal_names])
                scale, basis = model_time_basis(model)
                h = self._horizon(model, self._horizon_arg) * scale / 3600.0
                st = AssetHealth(asset_id, kind, horizon=h, time_scale=scale, rul_basis=basis)
                return (a, kind, model, mapped), st
        return (a, kind, None, cols), AssetHealth(asset_id, kind, unit="")

    def would_serve(self, kind: str, model: RulModel) -> list[str]:
        """The assets of ``kind`` that ``model`` could serve here (each has every signal role
        the model uses), without changing anything; ValueError for a bad ``time_scale``."""
        model_time_basis(model)
        out: list[str] = []
        for entry in self._plan:
            a, k = entry[0], entry[1]
            if k != kind:
                continue
            cols = self.index.signals_of_asset(a)
            roles = {self._roles_by_pos[int(c)] for c in cols}
            if all(r in roles for r in model.used_signals):
                out.append(self.index.asset_ids[a])
        return out

    def set_model(self, kind: str, model: RulModel, ref: dict[str, Any] | None = None) -> list[str]:
        """Use ``model`` for the assets of ``kind`` from the next update on; ``ref`` is its
        registry identity (``{"name", "version", "digest"}``), stamped on the summaries it
        produces (None: a local model, nothing stamped). Those assets start a fresh
        smoothing (the level is in the model's units) but keep their history. Raises
        ValueError for a model with a bad ``time_scale``. Returns the assets it serves."""
        model_time_basis(model)  # refuse before anything changes
        served: list[str] = []
        with self._swap:
            self.models[kind] = model
            if ref is None:
                self.model_refs.pop(kind, None)
            else:
                self.model_refs[kind] = {"name": str(ref["name"]), "version": int(ref["version"]),
                                         "digest": str(ref["digest"])}  # fmt: skip
            plan = []
            for entry in self._plan:
                a, k = entry[0], entry[1]
                if k != kind:
                    plan.append(entry)
                    continue
                asset_id = self.index.asset_ids[a]
                new, st = self._plan_asset(a, asset_id, kind)
                st.history = self.state[asset_id].history
                self.state[asset_id] = st
                plan.append(new)
                if new[2] is not None:
                    served.append(asset_id)
            self._plan = plan
        return served

    @staticmethod
    def _horizon(model: RulModel, horizon: float | None) -> float:
        # default: half the plateau, i.e. "will it fail within the next half of a healthy life"
        return float(horizon) if horizon is not None else model.config.cap / 2.0

    # -- the stream ----------------------------------------------------------------------------
    def observe(self, batch: SampleBatch) -> None:
        """Take one scored batch (``EdgeNode.batch_listeners`` calls this)."""
        if len(batch) == 0:
            return
        cyc = np.floor(batch.ts / self.cycle_s).astype(np.int64)
        # one pass per cycle over a sorted view, not one mask per cycle over the whole batch
        order = np.argsort(cyc, kind="stable")
        cyc_sorted = cyc[order]
        starts = np.flatnonzero(np.r_[True, cyc_sorted[1:] != cyc_sorted[:-1]])
        ends = np.r_[starts[1:], len(order)]
        closed = False
        n = self.index.n_signals
        for lo, hi in zip(starts, ends, strict=True):
            c = int(cyc_sorted[lo])
            if self._cycle is not None and c > self._cycle:
                self._close()
                closed = True
            if self._cycle is None or c >= self._cycle:
                self._cycle = c
                sel = order[lo:hi]
                self._sum += np.bincount(batch.signal[sel], batch.value[sel], minlength=n)
                self._count += np.bincount(batch.signal[sel], minlength=n)
            # samples of an already closed cycle are late: the node's gate drops out-of-order
            # samples per signal, so only a straggler of another signal can land here; skipped
        if closed:
            with self._swap:
                self._update()

    def _close(self) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            row = np.where(self._count > 0, self._sum / self._count, np.nan)
        self._rows.append(row)
        self._row_ts.append((self._cycle + 1) * self.cycle_s if self._cycle is not None else 0.0)
        self._sum[:] = 0.0
        self._count[:] = 0.0
        fresh = np.isfinite(row)
        learning = fresh & (self._own_n < self.learn_cycles)
        self._own_lo[learning] = np.minimum(self._own_lo[learning], row[learning])
        self._own_hi[learning] = np.maximum(self._own_hi[learning], row[learning])
        self._own_n[learning] += 1
        # after learning, a cycle mean just outside the range (short of the alarm point) widens
        # it a little, as the detector's range does: slow normal wander is learned, a fault
        # (beyond the alarm point) is not
        lo, hi = self._own_lo, self._own_hi
        done = fresh & ~learning & (self._own_n >= self.learn_cycles)
        limit = self.range_margin * np.maximum(hi - lo, self._width_floor)
        with np.errstate(invalid="ignore"):
            up = done & (row > hi) & (row - hi < limit)
            down = done & (row < lo) & (lo - row < limit)
        hi[up] += OWN_RANGE_WIDEN * (row[up] - hi[up])
        lo[down] -= OWN_RANGE_WIDEN * (lo[down] - row[down])

    def _ranges(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normal range (low, high) of each signal in ``cols``: the provider's, else the own
        learned one, else NaN (still learning)."""
        lo = np.full(len(cols), np.nan)
        hi = np.full(len(cols), np.nan)
        for j, c in enumerate(cols):
            c = int(c)
            got = self.normal_range(c) if self.normal_range is not None else None
            if got is not None and all(math.isfinite(v) for v in got):
                lo[j], hi[j] = got
            elif self._own_n[c] >= self.learn_cycles:
                lo[j], hi[j] = self._own_lo[c], self._own_hi[c]
        return lo, hi

    def _alerts_by_asset(self) -> dict[str, list[Alert]]:
        out: dict[str, list[Alert]] = {}
        if self.open_alerts is None:
            return out
        for alert in self.open_alerts():
            out.setdefault(alert.asset_id, []).append(alert)
        return out

    def _update(self) -> None:
        rows = np.vstack(self._rows)
        ts = self._row_ts[-1]
        alerts = self._alerts_by_asset()
        ids = self.index.signal_ids
        for a, _kind, model, cols in self._plan:
            st = self.state[self.index.asset_ids[a]]
            st.ts = ts
            st.cycles = len(rows)
            mine = alerts.get(st.asset_id, [])
            st.open_alerts = self._count_alerts(mine)
            # signals of open data-quality alerts, with the alert's words ("… unchanged for 360
            # samples (stuck sensor?)")
            suspect = {
                s: al.message
                for al in mine
                if al.details.get("category") == DATA_QUALITY
                for s in al.signals
            }
            dt = ts - st._level_ts if st._level_ts is not None else 0.0
            if model is not None:
                if len(rows) < model.config.min_rows:
                    continue
                used = [
                    int(c) for c, k in zip(cols, model.normalizer.informative, strict=True) if k
                ]
                held = sorted(ids[c] for c in used if c >= 0 and ids[c] in suspect)
                x = np.where(cols[None, :] >= 0, rows[:, np.maximum(cols, 0)], np.nan)
                z = model.normalizer.transform(np.zeros((len(x), 0)), x)[
                    :, model.normalizer.informative
                ]
                age = np.arange(len(z)) * self.cycle_s
                feats = unit_features(z, age, model.config.features, np.array([len(z) - 1]))
                raw = float(model.predict_features(feats.astype(np.float32))[0])
                if not held:  # a sensor fault on an input: keep the last trusted life
                    st._level = smooth_step(st._level, raw, dt, self.smooth_s)
                    st._level_ts = ts
                if st._level is None:
                    continue
                life = np.array([st._level])
                low, high = model.interval(life)
                to_h = st.time_scale / 3600.0
                st.rul, st.rul_raw = st._level * to_h, raw * to_h
                st.rul_low, st.rul_high = float(low[0]) * to_h, float(high[0]) * to_h
                st.health = float(model.health_index(life)[0])
                st.health_raw = float(model.health_index(np.array([raw]))[0])
                hz = (st.horizon or 0.0) / to_h
                st.failure_probability = float(model.failure_probability(life, hz)[0])
                st.method = "model"
                st.model = self.model_refs.get(_kind)
                st.excluded_signals = [
                    {"signal": s, "reason": f"data-quality alert ({suspect[s]}): model held"}
                    for s in held
                ]
                st.note = self._model_note(st, model, held)
            else:
                lo, hi = self._ranges(cols)
                val = rows[-1, cols]
                keep = np.isfinite(lo) & np.isfinite(val)
                out = np.array([ids[int(c)] in suspect for c in cols])
                st.excluded_signals = [
                    {
                        "signal": ids[int(c)],
                        "reason": f"data-quality alert ({suspect[ids[int(c)]]})",
                    }
                    for c in cols[out]
                ]
                use = keep & ~out
                if not keep.any():
                    continue  # no range learned yet
                width = np.maximum(hi - lo, self._width_floor[cols])
                with np.errstate(invalid="ignore"):
                    excess = np.maximum(val - hi, lo - val) / width
                excess = np.where(use, excess, -np.inf)
                raw = (
                    float(deviation_health(excess[use], self.range_margin).min())
                    if use.any()
                    else 100.0
                )
                st.health_raw = raw
                st._level = smooth_step(st._level, raw, dt, self.smooth_s)
                st._level_ts = ts
                st.health = st._level
                st.method = "deviation"
                st.model = None
                worst = int(np.argmax(excess)) if use.any() else -1
                st.note = self._deviation_note(
                    st, ids[int(cols[worst])] if worst >= 0 else None, float(excess[worst])
                )
            st.history.append((ts, float(st.health), st.rul, float(st.health_raw)))
            hist_t = [p[0] for p in st.history]
            hist_h = [p[1] for p in st.history]
            st.trend_per_hour, st.trend = health_trend(
                hist_t,
                hist_h,
                window_s=self.trend_window_s,
                stable_points=self.stable_points,
                time_scale=st.time_scale,
            )
            self._consistency(st, mine)

    # -- words ---------------------------------------------------------------------------------
    @staticmethod
    def _count_alerts(alerts: list[Alert]) -> dict[str, int]:
        cats = [str(al.details.get("category") or "") for al in alerts]
        return {
            "open": len(alerts),
            "critical": sum(str(al.severity) == "critical" for al in alerts),
            "data_quality": sum(c == DATA_QUALITY for c in cats),
            "equipment": sum(c != DATA_QUALITY for c in cats),
        }

    def _model_note(self, st: AssetHealth, model: RulModel, held: list[str]) -> str:
        used = 100.0 - float(st.health or 0.0)
        cap_h = model.config.cap * st.time_scale / 3600.0
        text = (
            f"health from the remaining-life model: {used:.0f} % of the healthy plateau "
            f"({_fmt_hours(cap_h)}) used"
        )
        if held:
            text += f"; held at the last trusted value: data-quality alert on {', '.join(held)}"
        return text

    def _deviation_note(self, st: AssetHealth, worst: str | None, excess: float) -> str:
        if worst is None:
            text = "no signal to judge: every signal is left out"
        elif excess <= 0:
            text = "health from the learned normal ranges: every signal inside its range"
        else:
            text = (
                f"health from the learned normal ranges: {worst} is {excess:.2f} range widths "
                "beyond its range"
            )
        if st.excluded_signals:
            left = ", ".join(x["signal"] for x in st.excluded_signals)
            text += f"; left out (data-quality alert, check the sensor): {left}"
        return text

    def _consistency(self, st: AssetHealth, alerts: list[Alert]) -> None:
        equipment = [al for al in alerts if al.details.get("category") != DATA_QUALITY]
        low = st.health is not None and st.health < ALARM_HEALTH
        st.alert_consistent = not low or bool(equipment)
        if equipment:
            sev = max((str(al.severity) for al in equipment), key=lambda s: s == "critical")
            st.note += f"; open {sev} alert on {', '.join(equipment[0].signals)}"
        elif low:
            if st.method == "model":
                why = (
                    "no open alert: no signal is outside its learned range; the model reads "
                    "wear from the signals' pattern before the detector's limits are crossed"
                )
            elif (st.health_raw or 100.0) >= ALARM_HEALTH:
                why = "no alert: the deviation has passed, the smoothed index is recovering"
            else:
                why = (
                    "no alert yet: the detector confirms a deviation only after it persists "
                    "(a cycle mean beyond the alarm point is not yet an alert)"
                )
            st.note += "; " + why

    # -- reading -------------------------------------------------------------------------------
    def snapshot(self) -> list[AssetHealth]:
        return list(self.state.values())

    def get(self, asset_id: str) -> AssetHealth | None:
        return self.state.get(asset_id)
