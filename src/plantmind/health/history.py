"""Run-to-failure histories: the table every health model trains on, its readers (the C-MAPSS
text layout and a generic CSV) and the checks that turn bad input into a clear error."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "CMAPSS_SENSORS",
    "CMAPSS_SETTINGS",
    "HistoryError",
    "RunHistory",
    "read_cmapss",
    "read_history",
    "read_history_csv",
]

CMAPSS_SETTINGS = ("setting_1", "setting_2", "setting_3")
CMAPSS_SENSORS = tuple(f"s{i}" for i in range(1, 22))

#: columns of the generic CSV that are not signals
_ASSET_COLS = ("asset", "unit", "asset_id")
_TIME_COLS = ("time", "cycle", "ts", "timestamp")
_FAIL_COLS = ("failed", "failure", "eol", "end_of_life")


class HistoryError(ValueError):
    """A history that cannot train or feed a model; the message says what to fix."""


@dataclass
class RunHistory:
    """Rows of (asset, time, settings, signals), sorted by asset then time.

    ``failed[a]`` says whether asset ``a``'s last row is its end of life (run to failure); a
    censored asset (still running, or a test unit) has ``False``. ``settings`` are the operating
    conditions (may have zero columns) used only to find operating regimes.
    """

    assets: np.ndarray  # (n,) asset index into ``asset_ids``
    time: np.ndarray  # (n,) float
    signals: np.ndarray  # (n, s) float
    signal_names: list[str]
    asset_ids: list[str]
    failed: np.ndarray  # (n_assets,) bool
    settings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    setting_names: list[str] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        if self.settings.size == 0:
            self.settings = np.zeros((len(self.assets), 0))
        order = np.lexsort((self.time, self.assets))
        if not np.all(order == np.arange(len(order))):
            self.assets = self.assets[order]
            self.time = self.time[order]
            self.signals = self.signals[order]
            self.settings = self.settings[order]

    @property
    def n_assets(self) -> int:
        return len(self.asset_ids)

    def bounds(self) -> np.ndarray:
        """Row offsets: asset ``a`` holds rows ``bounds[a]:bounds[a+1]``."""
        counts = np.bincount(self.assets, minlength=self.n_assets)
        return np.concatenate([[0], np.cumsum(counts)])

    def rul(self) -> np.ndarray:
        """Remaining life per row (time to the asset's last row); NaN for censored assets."""
        b = self.bounds()
        out = np.full(len(self.time), np.nan)
        for a in range(self.n_assets):
            if self.failed[a] and b[a + 1] > b[a]:
                sl = slice(b[a], b[a + 1])
                out[sl] = self.time[b[a + 1] - 1] - self.time[sl]
        return out

    def subset(self, asset_idx: Sequence[int] | np.ndarray) -> RunHistory:
        """The history of some assets only (renumbered)."""
        keep = np.asarray(asset_idx, dtype=np.int64)
        remap = np.full(self.n_assets, -1)
        remap[keep] = np.arange(len(keep))
        rows = remap[self.assets] >= 0
        return RunHistory(
            assets=remap[self.assets[rows]],
            time=self.time[rows],
            signals=self.signals[rows],
            signal_names=list(self.signal_names),
            asset_ids=[self.asset_ids[i] for i in keep],
            failed=self.failed[keep],
            settings=self.settings[rows],
            setting_names=list(self.setting_names),
            source=self.source,
        )

    def validate(self, *, for_training: bool, min_rows: int = 5) -> None:
        """Raise :class:`HistoryError` for a history a model cannot use.

        NaN values inside a run are allowed (they are carried forward from the last finite
        value, see :func:`plantmind.health.features.fill_gaps`); a signal that is NaN in every
        row is not.
        """
        if len(self.time) == 0 or self.n_assets == 0:
            raise HistoryError(f"{self.source or 'history'}: no rows")
        if self.signals.shape[1] == 0:
            raise HistoryError(f"{self.source or 'history'}: no signal columns")
        all_nan = np.all(~np.isfinite(self.signals), axis=0)
        if all_nan.any():
            names = [n for n, bad in zip(self.signal_names, all_nan, strict=True) if bad]
            raise HistoryError(f"signal(s) with no finite value: {', '.join(names)}")
        if not np.all(np.isfinite(self.time)):
            raise HistoryError("time column has missing or non-numeric values")
        if for_training:
            if not self.failed.any():
                raise HistoryError(
                    "no asset in the history ends in a failure: a remaining-life model needs "
                    "run-to-failure histories (mark end of life with a 'failed' column = 1 on "
                    "the last row, or use the C-MAPSS train_ layout)"
                )
            n_fail = int(self.failed.sum())
            if n_fail < 4:
                raise HistoryError(
                    f"only {n_fail} run(s) to failure; at least 4 are needed to calibrate "
                    "intervals on held-out assets"
                )
            lengths = np.diff(self.bounds())[self.failed]
            if np.median(lengths) < min_rows:
                raise HistoryError(
                    f"runs to failure are too short (median {np.median(lengths):.0f} rows, "
                    f"need ≥ {min_rows})"
                )


def read_cmapss(path: Path | str, *, failed: bool | None = None) -> RunHistory:
    """Read a C-MAPSS text file (unit, cycle, 3 settings, 21 sensors; space separated).

    ``train_*`` files are runs to failure, ``test_*`` files are censored; ``failed`` overrides
    what the file name says.
    """
    path = Path(path)
    try:
        raw = np.loadtxt(path, dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise HistoryError(f"{path}: not a C-MAPSS text file ({exc})") from None
    if raw.ndim != 2 or raw.shape[1] != 26:
        raise HistoryError(f"{path}: expected 26 columns (unit, cycle, 3 settings, 21 sensors)")
    if failed is None:
        failed = not path.name.lower().startswith("test")
    units = raw[:, 0].astype(np.int64)
    ids, inv = np.unique(units, return_inverse=True)
    return RunHistory(
        assets=inv.astype(np.int64),
        time=raw[:, 1],
        signals=raw[:, 5:],
        signal_names=list(CMAPSS_SENSORS),
        asset_ids=[str(u) for u in ids],
        failed=np.full(len(ids), bool(failed)),
        settings=raw[:, 2:5],
        setting_names=list(CMAPSS_SETTINGS),
        source=str(path),
    )


def _pick(header: list[str], names: Sequence[str], given: str | None) -> str | None:
    if given is not None:
        if given not in header:
            raise HistoryError(f"column {given!r} not in the header ({', '.join(header)})")
        return given
    low = {h.lower(): h for h in header}
    for n in names:
        if n in low:
            return low[n]
    return None


def read_history_csv(
    path: Path | str,
    *,
    asset_col: str | None = None,
    time_col: str | None = None,
    failure_col: str | None = None,
    settings: Sequence[str] = (),
    signals: Sequence[str] | None = None,
    all_failed: bool = False,
    require_marker: bool = True,
) -> RunHistory:
    """Read a generic CSV: one row per (asset, time), one column per signal, and an end-of-life
    marker.

    The marker column (``failed``/``failure``/``eol`` by default) is 1 on the row where the
    asset failed; an asset without a marked row is censored. ``all_failed`` says instead that
    every asset ran to failure at its last row. For prediction (``require_marker=False``) a
    history without the marker is read as censored. ``settings`` name operating-condition columns
    (used for regimes); ``signals`` restricts the signal columns (default: every other numeric
    column). Unknown names raise :class:`HistoryError`.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise HistoryError(f"{path}: {exc}") from None
    if len(rows) < 2:
        raise HistoryError(f"{path}: needs a header and at least one row")
    header = [h.strip() for h in rows[0]]
    a_col = _pick(header, _ASSET_COLS, asset_col)
    t_col = _pick(header, _TIME_COLS, time_col)
    f_col = _pick(header, _FAIL_COLS, failure_col)
    if a_col is None or t_col is None:
        raise HistoryError(
            f"{path}: need an asset column ({'/'.join(_ASSET_COLS)}) and a time column "
            f"({'/'.join(_TIME_COLS)}); header is {', '.join(header)}"
        )
    if f_col is None and not all_failed and require_marker:
        raise HistoryError(
            f"{path}: no end-of-life column ({'/'.join(_FAIL_COLS)}); add one (1 on the row "
            "where the asset failed) or say that every asset ran to failure (--all-failed)"
        )
    unknown = [c for c in [*settings, *(signals or [])] if c not in header]
    if unknown:
        raise HistoryError(f"{path}: unknown column(s) {', '.join(unknown)}")
    reserved = {a_col, t_col, f_col, *settings}
    sig_cols = list(signals) if signals is not None else [h for h in header if h not in reserved]
    if not sig_cols:
        raise HistoryError(f"{path}: no signal columns")
    col = {h: i for i, h in enumerate(header)}
    body = [r for r in rows[1:] if r and any(x.strip() for x in r)]

    def num(name: str) -> np.ndarray:
        out = np.empty(len(body))
        j = col[name]
        for i, r in enumerate(body):
            v = r[j].strip() if j < len(r) else ""
            try:
                out[i] = float(v) if v else np.nan
            except ValueError:
                raise HistoryError(
                    f"{path}: row {i + 2}, column {name!r}: {v!r} is not a number"
                ) from None
        return out

    asset_raw = [r[col[a_col]].strip() for r in body]
    ids = sorted(set(asset_raw))
    pos = {a: i for i, a in enumerate(ids)}
    assets = np.array([pos[a] for a in asset_raw], dtype=np.int64)
    time = num(t_col)
    sig = np.column_stack([num(c) for c in sig_cols])
    sets = np.column_stack([num(c) for c in settings]) if settings else np.zeros((len(body), 0))
    failed = np.zeros(len(ids), dtype=bool)
    if all_failed:
        failed[:] = True
    keep = np.ones(len(body), dtype=bool)
    if f_col is not None:
        marker = np.nan_to_num(num(f_col)) > 0
        # rows after an asset's failure belong to a repaired or replaced unit: we cut them off
        # rather than guess, and say so in the run's length
        for a in np.unique(assets[marker]):
            rows_a = np.flatnonzero(assets == a)
            t_fail = time[rows_a][marker[rows_a]].min()
            keep[rows_a[time[rows_a] > t_fail]] = False
            failed[a] = True
    return RunHistory(
        assets=assets[keep],
        time=time[keep],
        signals=sig[keep],
        signal_names=sig_cols,
        asset_ids=ids,
        failed=failed,
        settings=sets[keep],
        setting_names=list(settings),
        source=str(path),
    )


def read_history(path: Path | str, **kwargs: object) -> RunHistory:
    """Read a C-MAPSS ``.txt`` file or a generic ``.csv`` (see the two readers)."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        return read_cmapss(path)
    return read_history_csv(path, **kwargs)  # type: ignore[arg-type]
