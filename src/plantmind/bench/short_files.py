"""Generated short multivariate files with labelled anomalies, in several *styles*, for
``plantmind bench short`` and the detection tests.

A historian export as a user has it: a few signals of one asset, about a thousand rows at one
sample per second, the first few hundred of them normal, then one anomaly that lasts a while
and (mostly) ends. The styles differ in what a method can lean on, so that a setting chosen on
them is not tuned to one kind of data:

``process``
    Slow, strongly coupled signals (flows, pressures, temperatures) driven by two latent
    operating variables with AR(1) dynamics and a slow load swing; one signal follows another
    with a first-order lag.
``rotating``
    A machine with noisy, weakly coupled vibration RMS, current and speed; heavy-tailed noise
    (occasional normal spikes), quantised readings.
``mixed``
    Three latent variables, some signals a non-linear function of them (square, saturation),
    a regime switch (two set-points) inside the normal part.

Anomaly kinds (one per file, placed after the normal part): ``relation`` (a signal stops
following its driver and follows its own AR process at the same level and spread), ``shift``
(one signal moves by 1.5–3 σ), ``gain`` (one signal's coupling scales by 1.6), ``variance``
(noise of two signals ×3), ``drift`` (a slow ramp of one signal to 3 σ), ``stuck`` (a sensor
freezes at its last value).

The generator is deterministic per ``(style, kind, seed)``. Nothing here is used by the
product at run time.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["KINDS", "STYLES", "ShortFile", "generate", "write_csv"]

STYLES = ("process", "rotating", "mixed")
KINDS = ("relation", "shift", "gain", "variance", "drift", "stuck")


@dataclass
class ShortFile:
    """One generated file: values (rows × signals), names, and the per-row label."""

    style: str
    kind: str
    seed: int
    names: list[str]
    values: np.ndarray
    label: np.ndarray  # 1 where the anomaly is active
    normal_rows: int  # rows at the start that are known to be normal


#: per style: the signals' names, and the offset and scale that turn a unit-free signal into
#: readings in their engineering units
_LOOK: dict[str, tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]] = {
    "process": (
        ("flow", "pressure_in", "pressure_out", "temp_in", "temp_out", "level", "temp_jacket",
         "valve_pos"),
        (120.0, 6.0, 4.5, 60.0, 72.0, 2.0, 55.0, 40.0),
        (10.0, 0.4, 0.3, 2.0, 2.5, 0.2, 1.5, 5.0),
    ),
    "rotating": (
        ("vib_de", "vib_nde", "current", "speed", "temp_bearing", "pressure", "voltage",
         "vib_axial"),
        (2.0, 1.8, 30.0, 1480.0, 45.0, 3.0, 400.0, 1.2),
        (0.3, 0.3, 2.0, 5.0, 1.0, 0.1, 2.0, 0.2),
    ),
    "mixed": (
        ("power", "flow", "temp_supply", "temp_return", "pressure", "vib", "motor_load",
         "delta_p"),
        (500.0, 80.0, 7.0, 12.0, 2.5, 1.0, 60.0, 0.8),
        (40.0, 6.0, 0.5, 0.7, 0.15, 0.1, 8.0, 0.05),
    ),
}  # fmt: skip


def _ar1(
    rng: np.random.Generator, n: int, phi: float, sd: float, heavy: bool = False
) -> np.ndarray:
    e = rng.standard_t(3, n) / np.sqrt(3.0) if heavy else rng.standard_normal(n)
    e *= sd * np.sqrt(1.0 - phi * phi)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = phi * acc + e[i]
        out[i] = acc
    return out


def _lag(x: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(x)
    acc = x[0]
    for i, v in enumerate(x):
        acc += alpha * (v - acc)
        out[i] = acc
    return out


def _latent(rng: np.random.Generator, n: int, k: int, slow: bool) -> np.ndarray:
    t = np.arange(n)
    cols = []
    for j in range(k):
        phi = rng.uniform(0.97, 0.995) if slow else rng.uniform(0.6, 0.9)
        swing = rng.uniform(0.3, 0.8) * np.sin(
            2 * np.pi * t / rng.uniform(300, 900) + rng.uniform(0, 6)
        )
        cols.append(_ar1(rng, n, phi, 1.0) + (swing if slow or j == 0 else 0.0))
    return np.column_stack(cols)


def _signals(
    style: str, rng: np.random.Generator, n: int
) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    """Normal behaviour of one asset; ``parts`` keeps what an anomaly needs to rewrite."""
    if style == "process":
        f = _latent(rng, n, 2, slow=True)
        load = rng.uniform(0.6, 1.2, (6, 2)) * rng.choice([-1, 1], (6, 2))
        base = f @ load.T
        noise = np.column_stack([_ar1(rng, n, 0.5, 0.15) for _ in range(6)])
        x = base + noise
        lagged = _lag(x[:, 0], 0.08) + 0.1 * rng.standard_normal(n)
        x = np.column_stack([x, lagged, x[:, 1] - 0.7 * x[:, 2] + 0.1 * rng.standard_normal(n)])
        drivers = base
    elif style == "rotating":
        f = _latent(rng, n, 2, slow=False)
        load = rng.uniform(0.3, 0.9, (7, 2))
        base = f @ load.T
        noise = np.column_stack([_ar1(rng, n, 0.3, 0.5, heavy=True) for _ in range(7)])
        x = base + noise
        x = np.column_stack([x, 0.8 * x[:, 0] + 0.6 * rng.standard_normal(n)])
        drivers = base
    elif style == "mixed":
        f = _latent(rng, n, 3, slow=True)
        regime = np.where((np.arange(n) // rng.integers(120, 220)) % 2 == 0, 0.0, 1.5)
        f[:, 0] += regime
        load = rng.uniform(0.5, 1.0, (5, 3)) * rng.choice([-1, 1], (5, 3))
        base = f @ load.T
        nl = np.column_stack([0.4 * f[:, 1] ** 2, np.tanh(f[:, 2] + f[:, 0])])
        base = np.column_stack([base, nl, 0.5 * f[:, 0] - 0.5 * f[:, 2]])
        noise = np.column_stack([_ar1(rng, n, 0.6, 0.2) for _ in range(8)])
        x = base + noise
        drivers = base
    else:
        raise ValueError(f"unknown style {style!r} (have: {', '.join(STYLES)})")
    names, offsets, scales = _LOOK[style]
    return (
        list(names),
        x,
        {"offsets": np.array(offsets), "scales": np.array(scales), "drivers": drivers},
    )


def generate(style: str, kind: str, seed: int, n_rows: int | None = None) -> ShortFile:
    """One file of ``style`` with one anomaly of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown anomaly kind {kind!r} (have: {', '.join(KINDS)})")
    rng = np.random.default_rng([STYLES.index(style), KINDS.index(kind), seed])
    n = int(n_rows or rng.integers(900, 1400))
    names, x, parts = _signals(style, rng, n)
    normal = int(rng.integers(int(0.3 * n), int(0.4 * n)))
    start = normal + int(rng.integers(20, 200))
    length = int(rng.integers(120, max(130, min(450, n - start - 20))))
    end = min(n, start + length)
    recover = rng.random() < 0.75  # most anomalies end; some last to the end of the file
    if not recover:
        end = n
    sd = x[:normal].std(axis=0)
    j = int(rng.integers(0, x.shape[1]))
    seg = slice(start, end)
    m = end - start
    if kind == "relation":
        own = _ar1(rng, m, 0.95, 1.0)
        x[seg, j] = x[:normal, j].mean() + sd[j] * own
    elif kind == "shift":
        x[seg, j] += rng.choice([-1, 1]) * rng.uniform(1.5, 3.0) * sd[j]
    elif kind == "gain":  # only signals with a driver of their own can change gain
        j %= parts["drivers"].shape[1]
        d = parts["drivers"][:, j]
        x[seg, j] += 0.6 * (d[seg] - d[:normal].mean())
    elif kind == "variance":
        for k in (j, (j + 3) % x.shape[1]):
            x[seg, k] += 2.8 * sd[k] * rng.standard_normal(m)
    elif kind == "drift":
        x[seg, j] += rng.choice([-1, 1]) * np.linspace(0, 3.0 * sd[j], m)
    elif kind == "stuck":
        x[seg, j] = x[start - 1, j]
    values = parts["offsets"] + parts["scales"] * x
    if style == "rotating":
        values = np.round(values, 2)
    label = np.zeros(n, np.int8)
    label[seg] = 1
    return ShortFile(style, kind, seed, names, values, label, normal)


def write_csv(f: ShortFile, path: Path, start_ts: float = 1_767_225_600.0) -> Path:
    """Write the file as a historian export: ISO timestamps at 1 s, one column per signal,
    and an ``anomaly`` label column last (drop it before scoring with ``--columns``)."""
    from datetime import UTC, datetime

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", *f.names, "anomaly"])
        for i in range(len(f.values)):
            ts = datetime.fromtimestamp(start_ts + i, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            w.writerow([ts, *(f"{v:.5g}" for v in f.values[i]), int(f.label[i])])
    return path
