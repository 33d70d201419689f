"""Generated run-to-failure fleets with a known degradation law, for the health tests."""

from __future__ import annotations

import numpy as np

from plantmind.health.history import RunHistory
from plantmind.health.rul import RulConfig

#: a config small enough for tests (seconds on one core)
FAST = RulConfig(cap=60.0, n_folds=4, max_iter=80, learning_rate=0.1, min_samples_leaf=20)

#: three operating regimes: (settings, per-sensor offset in sensor units)
_REGIMES = [((0.0, 0.0, 100.0), 0.0), ((20.0, 0.7, 100.0), 25.0), ((42.0, 0.84, 60.0), -40.0)]


def make_fleet(
    n_units: int = 40, *, seed: int = 0, regimes: bool = False, failed: bool = True,
    min_len: int = 60, max_len: int = 140,
) -> RunHistory:  # fmt: skip
    """Units that run to failure: sensors 0-2 rise like exp(-RUL/15) near the end, sensor 3 is
    noise, sensor 4 is flat. With ``regimes``, each row runs in one of three operating
    conditions that shift every sensor far more than the wear does."""
    rng = np.random.default_rng(seed)
    assets, times, sig, sets = [], [], [], []
    for u in range(n_units):
        n = int(rng.integers(min_len, max_len))
        rul = np.arange(n - 1, -1, -1, dtype=float)
        wear = np.exp(-rul / 15.0)
        base = rng.normal(0, 0.3, 5)
        x = np.column_stack(
            [
                base[0] + 2.0 * wear + rng.normal(0, 0.25, n),
                base[1] + 1.5 * wear + rng.normal(0, 0.25, n),
                base[2] - 1.0 * wear + rng.normal(0, 0.25, n),
                rng.normal(0, 1, n),
                np.full(n, 7.0),
            ]
        )
        if regimes:
            r = rng.integers(0, len(_REGIMES), n)
            s = np.array([_REGIMES[k][0] for k in r]) + rng.normal(0, 0.002, (n, 3))
            x[:, :4] += np.array([_REGIMES[k][1] for k in r])[:, None] * np.array([1, 0.5, -1, 2])
        else:
            s = np.tile(_REGIMES[0][0], (n, 1)) + rng.normal(0, 0.002, (n, 3))
        assets.append(np.full(n, u))
        times.append(np.arange(1, n + 1, dtype=float))
        sig.append(x)
        sets.append(s)
    return RunHistory(
        assets=np.concatenate(assets),
        time=np.concatenate(times),
        signals=np.vstack(sig),
        signal_names=["a", "b", "c", "noise", "flat"],
        asset_ids=[f"u{u}" for u in range(n_units)],
        failed=np.full(n_units, failed),
        settings=np.vstack(sets),
        setting_names=["op1", "op2", "op3"],
        source="generated",
    )


def truncate(h: RunHistory, seed: int = 1) -> tuple[RunHistory, np.ndarray]:
    """Cut every unit at a random point (like C-MAPSS test units); returns the censored
    history and each unit's true remaining life."""
    rng = np.random.default_rng(seed)
    b = h.bounds()
    keep = np.zeros(len(h.time), dtype=bool)
    true = np.empty(h.n_assets)
    for a in range(h.n_assets):
        n = b[a + 1] - b[a]
        cut = int(rng.integers(10, n))
        keep[b[a] : b[a] + cut] = True
        true[a] = n - cut
    out = RunHistory(
        assets=h.assets[keep], time=h.time[keep], signals=h.signals[keep],
        signal_names=h.signal_names, asset_ids=h.asset_ids,
        failed=np.zeros(h.n_assets, dtype=bool), settings=h.settings[keep],
        setting_names=h.setting_names,
    )  # fmt: skip
    return out, true
