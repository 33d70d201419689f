"""Live asset health: turns the stream of sample batches into per-asset cycles (fixed-width
bucket means), and after each cycle the health index, remaining life with its interval and the
probability of failure within a horizon.

An asset whose kind has a trained :class:`~plantmind.health.rul.RulModel` (its signals are
matched by role) gets the model's figures; the health index is then the predicted life as a
share of the model's healthy plateau. Any other asset gets a deviation health index from the
normal ranges learned over its first cycles (no remaining life: nothing was trained for it),
and says so in ``method``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from plantmind.core.plant import Plant, PlantIndex
from plantmind.core.types import SampleBatch
from plantmind.health.features import unit_features
from plantmind.health.rul import RulModel

__all__ = ["AssetHealth", "HealthMonitor"]


@dataclass
class AssetHealth:
    """One asset's latest health; times in plant seconds, life in the model's time unit."""

    asset_id: str
    kind: str
    ts: float | None = None
    health: float | None = None  # 0 (failed) … 100 (healthy)
    rul: float | None = None
    rul_low: float | None = None
    rul_high: float | None = None
    failure_probability: float | None = None
    horizon: float | None = None
    unit: str = "s"
    method: str = "warming up"
    cycles: int = 0
    trend: deque[tuple[float, float, float | None]] = field(
        default_factory=lambda: deque(maxlen=360)
    )

    def to_dict(self, *, trend: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d.pop("trend")
        for k in ("health", "rul", "rul_low", "rul_high", "failure_probability"):
            if d[k] is not None:
                d[k] = round(float(d[k]), 4 if k == "failure_probability" else 2)
        if trend:
            d["trend"] = [
                {"ts": t, "health": round(h, 2), "rul": None if r is None else round(r, 1)}
                for t, h, r in self.trend
            ]
        return d


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
        Cycles that define an unmodelled asset's normal range.
    """

    def __init__(
        self,
        plant: Plant,
        models: dict[str, RulModel] | None = None,
        *,
        cycle_s: float = 10.0,
        keep: int = 96,
        learn_cycles: int = 90,
        horizon: float | None = None,
    ) -> None:
        self.index = PlantIndex.build(plant)
        self.models = dict(models or {})
        self.cycle_s = float(cycle_s)
        self.keep = keep
        self.learn_cycles = learn_cycles
        n = self.index.n_signals
        self._sum = np.zeros(n)
        self._count = np.zeros(n)
        self._cycle: int | None = None
        self._rows: deque[np.ndarray] = deque(maxlen=keep)
        self._row_ts: deque[float] = deque(maxlen=keep)
        self._learn: list[np.ndarray] = []
        self._normal_mean: np.ndarray | None = None
        self._normal_std: np.ndarray | None = None
        self._ew = np.full(n, np.nan)
        self.state: dict[str, AssetHealth] = {}
        self._plan: list[tuple[int, str, RulModel | None, np.ndarray]] = []
        roles_by_pos: dict[int, str] = {}
        pos = self.index.signal_position()
        for _, _, asset in plant.iter_assets():
            for sig in asset.signals:
                roles_by_pos[pos[sig.id]] = sig.role or sig.id.rsplit(".", 1)[-1]
        for a, asset_id in enumerate(self.index.asset_ids):
            kind = plant.asset(asset_id).kind
            cols = self.index.signals_of_asset(a)
            model = self.models.get(kind)
            if model is not None:
                by_role = {roles_by_pos[int(c)]: int(c) for c in cols}
                if all(r in by_role for r in model.used_signals):
                    mapped = np.array([by_role.get(r, -1) for r in model.signal_names])
                    self._plan.append((a, kind, model, mapped))
                    self.state[asset_id] = AssetHealth(
                        asset_id, kind, horizon=self._horizon(model, horizon)
                    )
                    continue
            self._plan.append((a, kind, None, cols))
            self.state[asset_id] = AssetHealth(asset_id, kind, unit="")

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
            self._update()

    def _close(self) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            row = np.where(self._count > 0, self._sum / self._count, np.nan)
        self._rows.append(row)
        self._row_ts.append((self._cycle + 1) * self.cycle_s if self._cycle is not None else 0.0)
        self._sum[:] = 0.0
        self._count[:] = 0.0
        if self._normal_mean is None:
            self._learn.append(row)
            if len(self._learn) >= self.learn_cycles:
                block = np.vstack(self._learn)
                self._normal_mean = np.nanmedian(block, axis=0)
                mad = np.nanmedian(np.abs(block - self._normal_mean), axis=0) * 1.4826
                sd = np.nanstd(block, axis=0)
                # floor: a signal that sat still while learning must not make every later
                # wobble look like a fault
                self._normal_std = np.maximum(np.nan_to_num(np.maximum(mad, 0.5 * sd)), 1e-6)
                self._learn = []
        a = 2.0 / (6 + 1.0)
        fresh = np.isfinite(row)
        first = fresh & ~np.isfinite(self._ew)
        self._ew[first] = row[first]
        upd = fresh & ~first
        self._ew[upd] += a * (row[upd] - self._ew[upd])

    def _update(self) -> None:
        rows = np.vstack(self._rows)
        ts = self._row_ts[-1]
        for a, _kind, model, cols in self._plan:
            st = self.state[self.index.asset_ids[a]]
            st.ts = ts
            st.cycles = len(rows)
            if model is not None:
                if len(rows) < model.config.min_rows:
                    continue
                x = np.where(cols[None, :] >= 0, rows[:, np.maximum(cols, 0)], np.nan)
                z = model.normalizer.transform(np.zeros((len(x), 0)), x)[
                    :, model.normalizer.informative
                ]
                age = np.arange(len(z)) * self.cycle_s
                feats = unit_features(z, age, model.config.features, np.array([len(z) - 1]))
                rul = model.predict_features(feats.astype(np.float32))
                low, high = model.interval(rul)
                st.rul, st.rul_low, st.rul_high = float(rul[0]), float(low[0]), float(high[0])
                st.health = float(model.health_index(rul)[0])
                st.failure_probability = float(model.failure_probability(rul, st.horizon or 0.0)[0])
                st.method = "model"
            elif self._normal_mean is not None and self._normal_std is not None:
                z = np.abs(self._ew[cols] - self._normal_mean[cols]) / self._normal_std[cols]
                d = float(np.nanmax(z)) if np.isfinite(z).any() else 0.0
                # 3 robust sd is still normal; beyond it the index falls, reaching 0 at 9 sd
                st.health = 100.0 * float(np.clip(1.0 - (d - 3.0) / 6.0, 0.0, 1.0))
                st.method = "deviation"
            else:
                continue
            st.trend.append((ts, float(st.health), st.rul))

    # -- reading -------------------------------------------------------------------------------
    def snapshot(self) -> list[AssetHealth]:
        return list(self.state.values())

    def get(self, asset_id: str) -> AssetHealth | None:
        return self.state.get(asset_id)
