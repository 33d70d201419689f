"""Run-to-failure histories from the built-in simulator: a pump's bearing wears until it fails
(the end of the simulator's ``bearing_wear`` window is taken as the failure), with varied
healthy time before, wear duration, severity and time of day. These train the demo's live
remaining-life model (:func:`pump_model`, cached in the demo's home); the model has only seen
simulated wear, and says so in its metadata.

Time basis. The simulator wears a bearing out in 8–16 simulated minutes (so that a one-hour
demo shows a whole failure); a real bearing takes days to weeks from the first symptoms in
temperature and vibration to failure. Read on the simulator's clock, the remaining life would
be capped at minutes (the plateau is 600 s). The model therefore declares a time basis
(``trained_on["time_scale"]`` = :data:`DEMO_TIME_SCALE`, ``trained_on["rul_basis"]``): one
simulated minute of wear is read as one operating day, a typical late-stage P-F interval of a
rolling bearing. That is a convention of the demo, not a measurement, and the live health
(``rul_basis``) says so. It is independent of the demo's ``--speed``, which only maps plant
time to wall-clock time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from plantmind.connectors.simulator import Fault, PlantSimulator
from plantmind.core.plant import Plant, PlantIndex, example_plant_path, load_plant
from plantmind.health import models_dir
from plantmind.health.artifact import ArtifactError, load_model, save_model
from plantmind.health.features import FeatureSpec
from plantmind.health.history import RunHistory
from plantmind.health.rul import RulConfig, RulModel

__all__ = [
    "DEMO_RUL_BASIS",
    "DEMO_TIME_SCALE",
    "PUMP_MODEL_CONFIG",
    "pump_model",
    "simulate_bearing_histories",
    "train_pump_model",
]

log = logging.getLogger("plantmind.demo")

#: the live pump model: cycles of 10 s, life in seconds, plateau 600 s. No age and no drift
#: feature: a live asset's history starts when monitoring started, not when it was new.
PUMP_MODEL_CONFIG = RulConfig(
    cap=600.0,
    n_folds=4,
    max_iter=150,
    learning_rate=0.08,
    min_samples_leaf=20,
    calib_points=30,
    calib_bins=3,
    features=FeatureSpec(
        mean_windows=(3, 6, 12),
        slope_windows=(6, 12, 24),
        ew_spans=(3, 8),
        std_window=6,
        baseline=0,
        use_age=False,
    ),
)


#: operating seconds per simulated second of bearing wear (1 simulated minute = 1 day)
DEMO_TIME_SCALE = 1440.0
DEMO_RUL_BASIS = (
    "simulated bearing wear read at 1 simulated minute = 1 operating day (×1440, a demo "
    "convention: the simulator wears a bearing out in 8–16 min)"
)


def _declare_time_basis(model: RulModel) -> RulModel:
    model.trained_on["time_scale"] = DEMO_TIME_SCALE
    model.trained_on["rul_basis"] = DEMO_RUL_BASIS
    return model


def _role(plant: Plant, signal_id: str) -> str:
    for _, _, asset in plant.iter_assets():
        for s in asset.signals:
            if s.id == signal_id:
                return s.role or s.id.rsplit(".", 1)[-1]
    return signal_id


def simulate_bearing_histories(
    plant: Plant | None = None,
    *,
    asset_id: str | tuple[str, ...] = ("P-101", "P-102"),
    n_runs: int = 16,
    seed: int = 0,
    cycle_s: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> RunHistory:
    """``n_runs`` runs from healthy to bearing failure, as ``cycle_s`` bucket means of the
    asset's signals (named by role). Several ``asset_id`` take turns: the example plant's duty
    pump always runs, its standby pump starts and stops, and a model must know both as
    healthy."""
    plant = plant or load_plant(example_plant_path())
    index = PlantIndex.build(plant)
    ids = (asset_id,) if isinstance(asset_id, str) else tuple(asset_id)
    names: list[str] = []
    rng = np.random.default_rng(seed)
    assets, times, rows = [], [], []
    for r in range(n_runs):
        this = ids[r % len(ids)]
        cols = index.signals_of_asset(index.asset_ids.index(this))
        run_names = [_role(plant, index.signal_ids[c]) for c in cols]
        if names and run_names != names:
            raise ValueError(f"{this}: signal roles {run_names} differ from {names}")
        names = run_names
        healthy = float(rng.uniform(300.0, 1800.0))
        wear = float(rng.uniform(480.0, 960.0))
        severity = float(rng.uniform(0.8, 1.3))
        start = 1_767_571_200.0 + float(rng.uniform(0.0, 86_400.0))
        sim = PlantSimulator(
            plant,
            seed=seed * 1000 + r,
            start_ts=start,
            faults=[Fault("bearing_wear", this, healthy, wear, severity=severity)],
        )
        batch = sim.step(int(np.ceil((healthy + wear) / sim.tick_s)))
        keep = np.isin(batch.signal, cols) & (batch.ts < start + healthy + wear)
        sig, ts, val = batch.signal[keep], batch.ts[keep], batch.value[keep]
        cyc = np.floor((ts - start) / cycle_s).astype(np.int64)
        n_cyc = int(cyc.max()) + 1
        col_of = np.full(index.n_signals, -1)
        col_of[cols] = np.arange(len(cols))
        flat = cyc * len(cols) + col_of[sig]
        s = np.bincount(flat, val, minlength=n_cyc * len(cols)).reshape(n_cyc, len(cols))
        n = np.bincount(flat, minlength=n_cyc * len(cols)).reshape(n_cyc, len(cols))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(n > 0, s / n, np.nan)
        assets.append(np.full(n_cyc, r))
        # each row's time is its cycle's end, as the live monitor stamps it
        times.append((np.arange(n_cyc) + 1) * cycle_s)
        rows.append(means)
        if progress is not None:
            progress(r + 1, n_runs)
    return RunHistory(
        assets=np.concatenate(assets),
        time=np.concatenate(times),
        signals=np.vstack(rows),
        signal_names=names,
        asset_ids=[f"sim-{ids[r % len(ids)]}-{r}" for r in range(n_runs)],
        failed=np.ones(n_runs, dtype=bool),
        source=f"simulator: {n_runs} bearing-wear runs of {', '.join(ids)} (seed {seed})",
    )


def train_pump_model(
    plant: Plant | None = None, *, n_runs: int = 16, seed: int = 0, cycle_s: float = 10.0
) -> RulModel:
    """The demo's live model for pumps (see the module docstring)."""
    history = simulate_bearing_histories(plant, n_runs=n_runs, seed=seed, cycle_s=cycle_s)
    model = RulModel(PUMP_MODEL_CONFIG).fit(history)
    model.trained_on["cycle_s"] = cycle_s
    model.trained_on["asset_kind"] = "centrifugal_pump"
    model.trained_on["note"] = "simulated bearing wear only (the simulator's bearing_wear fault)"
    return _declare_time_basis(model)


def pump_model(home: Path, plant: Plant | None = None) -> RulModel:
    """The demo's pump model: loaded from ``<home>/health/models/centrifugal_pump`` or trained
    on simulated bearing-wear runs (seconds on one core) and saved there. A model cached before
    the time basis existed gets it declared (metadata only, the same trees)."""
    path = models_dir(home) / "centrifugal_pump"
    if (path / "model.json").is_file():
        try:
            return _declare_time_basis(load_model(path))
        except ArtifactError as exc:
            log.warning("%s: %s; training again", path, exc)
    model = _declare_time_basis(train_pump_model(plant))
    save_model(model, path)
    return model
