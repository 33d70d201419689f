"""NAB corpus loading: the data files, the combined anomaly windows and the scoring profiles
of a local copy of the Numenta Anomaly Benchmark.

This module owns reading and validating a NAB checkout laid out as upstream
(github.com/numenta/NAB, v1.1)::

    <root>/data/<category>/<file>.csv          timestamp,value
    <root>/labels/combined_windows.json        {"<category>/<file>.csv": [[start, end], ...]}
    <root>/config/profiles.json                {"standard": {"CostMatrix": {...}}, ...}

The scoring rules live in :mod:`plantmind.bench.nab_scoring`. The data are not
redistributed with plantmind (they carry their own licence); point :func:`load_corpus` at a
checkout, or set ``PLANTMIND_NAB_ROOT``. Reference: A. Lavin and S. Ahmad, "Evaluating
Real-time Anomaly Detection Algorithms – the Numenta Anomaly Benchmark", IEEE ICMLA 2015;
file layout as read by ``nab/corpus.py`` and ``nab/labeler.py`` (``CorpusLabel``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from plantmind.bench.nab_scoring import (
    NAB_PROFILES,
    PROBATIONARY_PERCENT,
    CostMatrix,
    LabelledCorpus,
    prepare_corpus,
)

__all__ = [
    "NAB_ROOT_ENV",
    "NabCorpus",
    "NabDataError",
    "NabSeries",
    "Window",
    "load_corpus",
    "load_profiles",
    "load_windows",
    "read_series",
    "resolve_root",
]

NAB_ROOT_ENV = "PLANTMIND_NAB_ROOT"

Window = tuple[np.datetime64, np.datetime64]
"""An anomaly window: first and last timestamp, both inclusive."""


class NabDataError(Exception):
    """The NAB root is missing, incomplete or malformed."""


@dataclass(frozen=True, slots=True)
class NabSeries:
    """One NAB data file."""

    name: str  # NAB's relative path, e.g. "realKnownCause/nyc_taxi.csv" (the label key)
    category: str  # e.g. "realKnownCause"
    timestamps: NDArray[np.datetime64]  # datetime64[s] (datetime64[us] if sub-second)
    values: NDArray[np.float64]

    @property
    def epoch_seconds(self) -> NDArray[np.float64]:
        """Timestamps as seconds since the Unix epoch (NAB timestamps are naive; read as UTC)."""
        return (self.timestamps - np.datetime64(0, "s")) / np.timedelta64(1, "s")

    def __len__(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True, slots=True)
class NabCorpus:
    """A loaded NAB corpus: series, windows and profiles, validated against each other."""

    root: Path
    series: dict[str, NabSeries]
    windows: dict[str, list[Window]]
    profiles: dict[str, CostMatrix]
    labelled: LabelledCorpus  # window row ranges and probationary rows, ready for scoring

    @property
    def timestamps(self) -> dict[str, NDArray[np.datetime64]]:
        return {name: s.timestamps for name, s in self.series.items()}

    @property
    def n_rows(self) -> int:
        return sum(len(s) for s in self.series.values())


def resolve_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The NAB root: ``root`` if given, else ``$PLANTMIND_NAB_ROOT``; it must exist."""
    if root is None:
        env = os.environ.get(NAB_ROOT_ENV)
        if not env:
            raise NabDataError(
                f"no NAB root given and {NAB_ROOT_ENV} is not set; point it at a checkout of "
                "github.com/numenta/NAB (the folder holding data/ and labels/)"
            )
        root = env
    path = Path(root).expanduser()
    if not path.is_dir():
        raise NabDataError(f"NAB root {path} does not exist or is not a directory")
    for sub in ("data", "labels"):
        if not (path / sub).is_dir():
            raise NabDataError(f"NAB root {path} has no {sub}/ folder; is it a NAB checkout?")
    return path


def _parse_timestamps(texts: Sequence[str], where: str) -> NDArray[np.datetime64]:
    try:
        ts = np.array(texts, dtype="datetime64[us]")
    except ValueError:
        for i, t in enumerate(texts):
            try:
                np.datetime64(t)
            except ValueError:
                raise NabDataError(f"{where}, row {i + 2}: bad timestamp {t!r}") from None
        raise
    if np.isnat(ts).any():
        i = int(np.flatnonzero(np.isnat(ts))[0])
        raise NabDataError(f"{where}, row {i + 2}: empty or NaT timestamp")
    whole = ts.astype("datetime64[s]")
    return whole if np.array_equal(whole.astype("datetime64[us]"), ts) else ts


def read_series(path: str | os.PathLike[str], name: str | None = None) -> NabSeries:
    """Read one ``timestamp,value`` CSV file. ``name`` defaults to ``<category>/<file>``."""
    p = Path(path)
    if name is None:
        name = f"{p.parent.name}/{p.name}"
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NabDataError(f"cannot read {p}: {exc}") from exc
    if not lines or [h.strip() for h in lines[0].split(",")] != ["timestamp", "value"]:
        raise NabDataError(f"{p}: expected the header 'timestamp,value'")
    rows = [ln for ln in lines[1:] if ln.strip()]
    if not rows:
        raise NabDataError(f"{p}: no data rows")
    stamps: list[str] = []
    texts: list[str] = []
    for i, ln in enumerate(rows):
        parts = ln.split(",")
        if len(parts) != 2:
            raise NabDataError(f"{p}, row {i + 2}: expected 2 fields, got {len(parts)}")
        stamps.append(parts[0].strip())
        texts.append(parts[1].strip())
    try:
        values = np.array(texts, dtype=np.float64)
    except ValueError:
        bad = next(i for i, t in enumerate(texts) if not _is_float(t))
        raise NabDataError(f"{p}, row {bad + 2}: bad value {texts[bad]!r}") from None
    return NabSeries(
        name=name,
        category=name.split("/", 1)[0],
        timestamps=_parse_timestamps(stamps, str(p)),
        values=values,
    )


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise NabDataError(f"cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise NabDataError(f"{path}: invalid JSON ({exc})") from exc


def load_windows(path: str | os.PathLike[str]) -> dict[str, list[Window]]:
    """Read ``combined_windows.json``: file → list of (start, end) timestamps, inclusive."""
    p = Path(path)
    raw = _read_json(p)
    if not isinstance(raw, dict):
        raise NabDataError(f"{p}: expected an object mapping file names to window lists")
    out: dict[str, list[Window]] = {}
    for name, wins in raw.items():
        if not isinstance(wins, list):
            raise NabDataError(f"{p}: windows of {name!r} are not a list")
        parsed: list[Window] = []
        for k, w in enumerate(wins):
            if not (isinstance(w, list) and len(w) == 2 and all(isinstance(v, str) for v in w)):
                raise NabDataError(f"{p}: window {k} of {name!r} is not a [start, end] pair")
            try:
                start, end = np.datetime64(w[0], "us"), np.datetime64(w[1], "us")
            except ValueError as exc:
                raise NabDataError(f"{p}: window {k} of {name!r}: {exc}") from None
            if end < start:
                raise NabDataError(f"{p}: window {k} of {name!r} ends before it starts")
            parsed.append((start, end))
        out[name] = parsed
    return out


def load_profiles(path: str | os.PathLike[str]) -> dict[str, CostMatrix]:
    """Read ``config/profiles.json`` into cost matrices."""
    p = Path(path)
    raw = _read_json(p)
    if not isinstance(raw, dict) or not raw:
        raise NabDataError(f"{p}: expected a non-empty object of profiles")
    out: dict[str, CostMatrix] = {}
    for name, prof in raw.items():
        cm = prof.get("CostMatrix") if isinstance(prof, dict) else None
        if not isinstance(cm, dict):
            raise NabDataError(f"{p}: profile {name!r} has no CostMatrix object")
        try:
            out[name] = CostMatrix(
                tp=float(cm["tpWeight"]),
                fp=float(cm["fpWeight"]),
                fn=float(cm["fnWeight"]),
                tn=float(cm.get("tnWeight", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NabDataError(
                f"{p}: profile {name!r} has a bad or missing weight ({exc})"
            ) from None
    return out


def load_corpus(
    root: str | os.PathLike[str] | None = None,
    categories: Sequence[str] | None = None,
    probationary_percent: float = PROBATIONARY_PERCENT,
) -> NabCorpus:
    """Load every data file (optionally only some categories), its windows and the profiles.

    Every loaded file must have an entry in ``combined_windows.json`` (possibly empty) and
    every window limit must be a timestamp of its file, as NAB requires. Without
    ``config/profiles.json`` the three published profiles are used.
    """
    base = resolve_root(root)
    data_dir = base / "data"
    paths = sorted(data_dir.glob("*/*.csv"))
    if categories is not None:
        wanted = set(categories)
        unknown = wanted - {p.parent.name for p in paths}
        if unknown:
            raise NabDataError(f"no data for categories {sorted(unknown)} under {data_dir}")
        paths = [p for p in paths if p.parent.name in wanted]
    if not paths:
        raise NabDataError(f"no <category>/<file>.csv data files under {data_dir}")
    series = {s.name: s for s in (read_series(p) for p in paths)}

    windows_path = base / "labels" / "combined_windows.json"
    if not windows_path.is_file():
        raise NabDataError(f"missing {windows_path}")
    all_windows = load_windows(windows_path)
    unlabelled = [name for name in series if name not in all_windows]
    if unlabelled:
        raise NabDataError(
            f"{windows_path} has no entry for {len(unlabelled)} file(s): {unlabelled[:5]}"
        )
    if categories is None:
        orphans = [name for name in all_windows if name not in series]
        if orphans:
            raise NabDataError(
                f"{windows_path} names files missing under {data_dir}: {orphans[:5]}"
            )
    windows = {name: all_windows[name] for name in series}

    profiles_path = base / "config" / "profiles.json"
    profiles = load_profiles(profiles_path) if profiles_path.is_file() else dict(NAB_PROFILES)

    try:
        labelled = prepare_corpus(
            windows, {n: s.timestamps for n, s in series.items()}, probationary_percent
        )
    except ValueError as exc:
        raise NabDataError(f"{windows_path}: {exc}") from exc
    return NabCorpus(
        root=base, series=series, windows=windows, profiles=profiles, labelled=labelled
    )
