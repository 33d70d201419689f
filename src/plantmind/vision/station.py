"""Inspection stations at an edge node: their models, results and review queue under
``<home>/vision/``.

Layout: ``stations.json`` (stations created locally, beside those in plant.yaml),
``<station>/model/`` (the current model: ``model.onnx`` + ``model.json``), ``inspections.db``
(SQLite: one row per inspected image, with verdict, score and review state) and
``overlays/<id>.png`` (heatmap over the image; the newest :data:`KEEP_OVERLAYS` are kept).

Uncertain verdicts are queued for an operator; a review (good or defect) is stored and refits the
station's thresholds (:class:`~plantmind.vision.threshold.Thresholds`) from the held-out good
scores plus every reviewed score of the current model.

A station model may also come from the signed model registry (:meth:`VisionStations.follow_models`):
the verified version is copied into ``<station>/model/`` with ``registry.json`` naming it, and
every inspection it scores carries ``model`` = ``{"name", "version", "digest"}`` (``None`` for
a model trained here, which is named by its ``model_id`` alone). ``<station>/installed.json``
records the last version installed so (with ``installed_at``, wall time) and outlives a retrain
here: the site announces its current version at every start, and a version the station already
runs, or one a model trained here since its install superseded, is not installed again (its
refitted thresholds and the operator's model are kept); a different version is.

Results and reviews are stamped by the stations' clock: wall time by default, or the node's
plant time when the edge service gives its clock (a simulator's or a replay's time), so that
inspections and alerts are on one clock. ``ts`` is epoch seconds either way, and the table
is unchanged: databases written before read as they did.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from plantmind.core.plant import Station
from plantmind.store.sqlite import connect
from plantmind.vision.images import ImageError, load_image
from plantmind.vision.runtime import META_FILE, REGISTRY_FILE, InspectionModel
from plantmind.vision.threshold import Thresholds, Verdict

__all__ = [
    "KEEP_OVERLAYS",
    "Inspection",
    "StationNotTrained",
    "UnknownStation",
    "VisionStations",
    "overlay_png",
]

log = logging.getLogger("plantmind.vision")

KEEP_OVERLAYS = 2000
#: beside a station's model/: the last registry version installed there, and when
INSTALLED_FILE = "installed.json"
Label = Literal["good", "defect"]

# The inspection table's migrations (plantmind.store.sqlite, owner "vision.station"):
# append-only. 1 is exactly what the stations created on every start before versioning, so
# their files upgrade in place.
MIGRATIONS: list[str] = [
    """
CREATE TABLE IF NOT EXISTS inspections (
    id TEXT PRIMARY KEY,
    station TEXT NOT NULL,
    model_id TEXT NOT NULL,
    ts REAL NOT NULL,
    source TEXT NOT NULL,
    score REAL NOT NULL,
    verdict TEXT NOT NULL,
    review TEXT NOT NULL DEFAULT 'none',   -- none | pending | done
    label TEXT,                            -- good | defect, after review
    reviewed_by TEXT,
    reviewed_at REAL
);
CREATE INDEX IF NOT EXISTS inspections_station_ts ON inspections (station, ts);
CREATE INDEX IF NOT EXISTS inspections_review ON inspections (review, ts);
""",
    # 2: the registry version (JSON {"name", "version", "digest"}) that scored the image
    "ALTER TABLE inspections ADD COLUMN model TEXT;",
]


class UnknownStation(KeyError):
    """No station of that id in plant.yaml or the local store."""

    def __str__(self) -> str:
        return str(self.args[0])


class StationNotTrained(RuntimeError):
    """The station has no model yet (``plantmind inspect train``)."""


@dataclass(frozen=True)
class Inspection:
    """One inspected image."""

    id: str
    station: str
    model_id: str
    ts: float
    source: str
    score: float
    verdict: Verdict
    review: str = "none"
    label: str | None = None
    reviewed_by: str | None = None
    reviewed_at: float | None = None
    fail_threshold: float | None = None
    review_threshold: float | None = None
    #: the signed registry version that scored it (``{"name", "version", "digest"}``), or
    #: None for a model trained at this node
    model: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def overlay_png(img: np.ndarray, heatmap: np.ndarray, max_side: int = 512) -> bytes:
    """The image in grey with the heatmap in red over it, as PNG (longest side ≤ ``max_side``)."""
    h, w = img.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    ow, oh = max(1, int(w * scale)), max(1, int(h * scale))
    grey = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).convert("L")
    g = np.asarray(grey.resize((ow, oh), Image.Resampling.BILINEAR), dtype=np.float32)
    hm = Image.fromarray(np.clip(heatmap * 255, 0, 255).astype(np.uint8))
    a = np.asarray(hm.resize((ow, oh), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    a = np.clip(a * 1.2, 0, 0.85)
    rgb = np.stack([g * (1 - a) + 255 * a, g * (1 - a), g * (1 - a)], axis=2)
    buf = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _replace_folder(staging: Path, final: Path) -> None:
    """Put ``staging`` in ``final``'s place (the old folder moved aside, then removed)."""
    old = final.with_name("model.old")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


class VisionStations:
    """The inspection stations of one node: train, inspect, review. Thread-safe."""

    def __init__(
        self,
        home: str | Path,
        stations: Sequence[Station] = (),
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock``: the time results and reviews are stamped with, epoch seconds (default:
        wall time, :func:`time.time`)."""
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning epoch seconds, got {clock!r}")
        self.clock: Callable[[], float] = clock or time.time
        self.root = Path(home) / "vision"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "overlays").mkdir(exist_ok=True)
        self._configured = {s.id: s for s in stations}
        self._lock = threading.RLock()
        self._models: dict[str, tuple[float, InspectionModel]] = {}
        # isolation_level="": writes commit explicitly (self._db.commit()) under self._lock,
        # which also lets the API's threads share the connection (check_same_thread=False).
        self._db = connect(
            self.root / "inspections.db",
            isolation_level="",
            check_same_thread=False,
            migrations={"vision.station": MIGRATIONS},
        )

    # -- stations ---------------------------------------------------------------------------
    def _local(self) -> dict[str, Station]:
        path = self.root / "stations.json"
        if not path.is_file():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return {d["id"]: Station.model_validate(d) for d in data}

    def stations(self) -> list[Station]:
        return list({**self._local(), **self._configured}.values())

    def station(self, station_id: str) -> Station:
        st = self._configured.get(station_id) or self._local().get(station_id)
        if st is None:
            raise UnknownStation(f"unknown inspection station {station_id!r}")
        return st

    def ensure_station(self, station_id: str, false_reject_rate: float = 0.01) -> Station:
        """The station, created in the local store if neither plant.yaml nor it has one."""
        with self._lock:
            try:
                return self.station(station_id)
            except UnknownStation:
                st = Station(id=station_id, name=station_id, false_reject_rate=false_reject_rate)
                local = self._local()
                local[st.id] = st
                path = self.root / "stations.json"
                tmp = path.with_suffix(".tmp")
                tmp.write_text(
                    json.dumps([s.model_dump(mode="json") for s in local.values()], indent=1),
                    encoding="utf-8",
                )
                os.replace(tmp, path)
                return st

    def model_dir(self, station_id: str) -> Path:
        return self.root / station_id / "model"

    def model(self, station_id: str) -> InspectionModel:
        """The station's current model (reloaded when it was retrained)."""
        self.station(station_id)
        meta = self.model_dir(station_id) / META_FILE
        with self._lock:  # a swap holds the lock: the folder is never seen half-renamed
            try:
                mtime = meta.stat().st_mtime_ns
            except FileNotFoundError:
                raise StationNotTrained(
                    f"station {station_id!r} has no model yet: run `plantmind inspect train "
                    f"--station {station_id} --good DIR`"
                ) from None
            cached = self._models.get(station_id)
            if cached is None or cached[0] != mtime:
                self._models[station_id] = (mtime, InspectionModel(self.model_dir(station_id)))
            return self._models[station_id][1]

    def train(
        self,
        station_id: str,
        good: Sequence[str | Path],
        cfg: Any = None,
        progress: Callable[[str, int, int], None] | None = None,
        backbone: str | Path | None = None,
    ) -> Any:
        """Train the station's model on good images (needs torch; with ``backbone``, an ONNX
        feature extractor, only onnxruntime and onnx); the new model replaces the old one only
        once it is complete. Returns the :class:`~.train.TrainResult`."""
        from plantmind.vision.train import TrainConfig, TrainResult, train_model

        st = self.ensure_station(station_id)
        cfg = cfg or TrainConfig()
        cfg.false_reject_rate = st.false_reject_rate
        cfg.aligned = cfg.aligned and st.fixed_position
        final = self.model_dir(station_id)
        staging = final.with_name(f"model.new-{uuid.uuid4().hex[:6]}")
        try:
            if backbone is None and getattr(cfg, "auto", False):
                from plantmind.vision.auto import train_auto

                result = train_auto(good, staging, station_id, cfg, progress, self.root)
            elif backbone is None:
                result = train_model(good, staging, station_id, cfg, progress, self.root)
            else:
                from plantmind.vision.backbone import train_backbone_model

                meta = train_backbone_model(
                    good, staging, backbone, station_id, cfg.size, cfg.holdout,
                    cfg.false_reject_rate, cfg.topk, cfg.seed, progress,
                )  # fmt: skip
                skipped = [(p, why) for p, why in meta.extra["skipped"]]
                result = TrainResult(staging, meta, skipped, seconds=meta.train_seconds)
            with self._lock:
                _replace_folder(staging, final)
                self._models.pop(station_id, None)
            result.directory = final
            return result
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def follow_models(self, models: Any, kind: str = "vision-station") -> None:
        """Put every ``kind`` version the site's verified models bring into service
        (``models``: a :class:`plantmind.models.agent.SiteModels`, or anything with its
        ``listeners``; attach before its ``restore()``). The station is the one the model
        was trained for (``model.json``'s ``station``), else the one named like the model;
        a version for a station this node does not have is logged and left alone."""

        def on_model(loaded: Any, k: str) -> None:
            if k != kind:
                return
            directory = Path(getattr(loaded.model, "directory", ""))
            known = {st.id for st in self.stations()}
            station = getattr(getattr(loaded.model, "meta", None), "station", None)
            target = station if station in known else loaded.name if loaded.name in known else None
            if target is None:
                log.warning("station model %s v%s is for station %r, not at this node",
                            loaded.name, loaded.version, station)  # fmt: skip
                return
            ident = {"name": loaded.name, "version": loaded.version, "digest": loaded.digest}
            why = self._keep_current(target, ident)
            if why is not None:
                log.info("station %s: not installing %s v%s again: %s",
                         target, loaded.name, loaded.version, why)  # fmt: skip
                return
            self.install_model(target, directory, ident)

        models.listeners.append(on_model)

    def installed(self, station_id: str) -> dict[str, Any] | None:
        """The last registry version :meth:`install_model` put in (``name``, ``version``,
        ``digest``, ``installed_at``), even if a model trained here has replaced it since."""
        path = self.root / station_id / INSTALLED_FILE
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def _keep_current(self, station_id: str, registry: dict[str, Any]) -> str | None:
        """Why the station's current model stays rather than ``registry``'s version being
        installed (None: install it). Kept: the current model is that version (the same
        name, version and digest in its ``registry.json``), or it was trained here (no
        ``registry.json``) after that very version was installed (its ``trained_at`` not before
        the install's ``installed_at``, both wall time). Any other version is installed, even
        one of the same files (digest) under another version number: inspections name it."""
        try:
            current = self.model(station_id)
        except Exception:  # no model yet, or one that does not load: install
            return None
        ident = {k: registry[k] for k in ("name", "version", "digest")}
        if current.registry is not None:
            return "the station already runs it" if current.registry == ident else None
        last = self.installed(station_id)
        if last is None or {k: last.get(k) for k in ident} != ident:
            return None
        try:
            newer = float(current.meta.trained_at) >= float(last.get("installed_at", math.inf))
        except (TypeError, ValueError):
            return None
        if newer:
            return f"model {current.meta.model_id!r}, trained here after its install, replaced it"
        return None

    def install_model(self, station_id: str, source: Path, registry: dict[str, Any]) -> Path:
        """Copy a verified registry version's folder ``source`` to be the station's model,
        with ``registry.json`` naming it (the copy is the station's own: a review refits its
        thresholds there, never in the verified folder). Swapped in like a training result;
        ``<station>/installed.json`` records it, with the time (see :meth:`installed`)."""
        self.station(station_id)
        final = self.model_dir(station_id)
        staging = final.with_name(f"model.new-{uuid.uuid4().hex[:6]}")
        try:
            shutil.copytree(
                source, staging, ignore=shutil.ignore_patterns("manifest.json", REGISTRY_FILE)
            )
            (staging / REGISTRY_FILE).write_text(json.dumps(registry), encoding="utf-8")
            model = InspectionModel(staging)  # loaded beside the running one, before the swap
            with self._lock:
                _replace_folder(staging, final)
                model.directory = final  # its sessions are in memory; later writes go here
                self._models[station_id] = ((final / META_FILE).stat().st_mtime_ns, model)
                rec = final.parent / INSTALLED_FILE
                tmp = rec.with_suffix(".tmp")
                # wall time, like a training's trained_at (not the stations' plant clock)
                tmp.write_text(json.dumps({**registry, "installed_at": time.time()}),
                               encoding="utf-8")  # fmt: skip
                os.replace(tmp, rec)
            return final
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # -- inspection -------------------------------------------------------------------------
    def inspect(
        self, station_id: str, data: bytes | str | Path, source: str | None = None
    ) -> tuple[Inspection, np.ndarray]:
        """Score one image, store the result (and its overlay); returns it with the heatmap.
        Raises :class:`ImageError` for an unusable image (nothing is stored)."""
        st = self.station(station_id)
        model = self.model(station_id)
        src = source or (str(data) if isinstance(data, str | Path) else "<upload>")
        img = load_image(data, channels=model.meta.channels, source=src)
        scored = model.score_array(img, st.regions_of_interest, st.excluded_regions)
        thr = model.thresholds
        verdict = thr.verdict(scored.score)
        rec = Inspection(
            id=f"{time.time_ns():x}-{uuid.uuid4().hex[:6]}",
            station=station_id,
            model_id=model.meta.model_id,
            ts=self._now(),
            source=src[-300:],
            score=scored.score,
            verdict=verdict,
            review="pending" if verdict == "uncertain" else "none",
            fail_threshold=thr.fail,
            review_threshold=thr.review,
            model=model.registry,
        )
        (self.root / "overlays" / f"{rec.id}.png").write_bytes(overlay_png(img, scored.heatmap))
        with self._lock:
            self._db.execute(
                "INSERT INTO inspections (id, station, model_id, ts, source, score, verdict, "
                "review, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.id,
                    rec.station,
                    rec.model_id,
                    rec.ts,
                    rec.source,
                    rec.score,
                    verdict,
                    rec.review,
                    None if rec.model is None else json.dumps(rec.model),
                ),
            )
            self._db.commit()
            self._prune_overlays()
        return rec, scored.heatmap

    def _now(self) -> float:
        ts = float(self.clock())
        if not math.isfinite(ts):
            raise ValueError(f"the stations' clock gave {ts!r}, not a time in epoch seconds")
        return ts

    def _prune_overlays(self) -> None:
        rows = self._db.execute(
            "SELECT id FROM inspections ORDER BY ts DESC LIMIT -1 OFFSET ?", (KEEP_OVERLAYS,)
        ).fetchall()
        for (rid,) in rows[:200]:
            (self.root / "overlays" / f"{rid}.png").unlink(missing_ok=True)

    def overlay(self, inspection_id: str) -> bytes | None:
        p = self.root / "overlays" / f"{inspection_id}.png"
        return p.read_bytes() if p.is_file() else None

    _NAMES = (
        "id", "station", "model_id", "ts", "source", "score", "verdict", "review", "label",
        "reviewed_by", "reviewed_at", "model",
    )  # fmt: skip
    _COLS = ", ".join(_NAMES)

    def _row(self, r: tuple[Any, ...]) -> Inspection:
        d = dict(zip(self._NAMES, r, strict=True))
        if d["model"] is not None:
            d["model"] = json.loads(d["model"])
        return Inspection(**d)

    def get(self, inspection_id: str) -> Inspection | None:
        with self._lock:
            r = self._db.execute(
                f"SELECT {self._COLS} FROM inspections WHERE id = ?", (inspection_id,)
            ).fetchone()
        return self._row(r) if r else None

    def results(
        self, station_id: str | None = None, limit: int = 100, pending_only: bool = False
    ) -> list[Inspection]:
        """Newest first; ``pending_only``: the review queue."""
        where, args = [], []
        if station_id is not None:
            where.append("station = ?")
            args.append(station_id)
        if pending_only:
            where.append("review = 'pending'")
        sql = f"SELECT {self._COLS} FROM inspections"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
        return [self._row(r) for r in rows]

    def review(self, inspection_id: str, label: Label, who: str = "") -> Inspection:
        """Record an operator's verdict on an inspection (any, not only queued ones) and refit
        the station's thresholds."""
        if label not in ("good", "defect"):
            raise ValueError(f"label must be 'good' or 'defect', got {label!r}")
        rec = self.get(inspection_id)
        if rec is None:
            raise KeyError(f"no inspection with id {inspection_id!r}")
        with self._lock:
            self._db.execute(
                "UPDATE inspections SET review = 'done', label = ?, reviewed_by = ?, reviewed_at = ?"
                " WHERE id = ?",
                (label, who, self._now(), inspection_id),
            )
            self._db.commit()
        self.refit_thresholds(rec.station)
        out = self.get(inspection_id)
        assert out is not None
        return out

    def refit_thresholds(self, station_id: str) -> Thresholds:
        """Thresholds from the held-out good scores plus the reviewed scores of this model."""
        st = self.station(station_id)
        model = self.model(station_id)
        thresholds = self._fit(st, model)
        with self._lock:
            cached = self._models.get(station_id)
            if cached is None or cached[1] is not model:
                # another version was swapped in meanwhile (install_model, train): this
                # instance's folder is now the new model's, so it must not write there. Fit the
                # current model instead, under the lock, so that it cannot change again.
                log.info("station %s: its model changed during the refit; refitting the new one",
                         station_id)  # fmt: skip
                model = self.model(station_id)
                thresholds = self._fit(st, model)
            model.thresholds = thresholds
            model.save_meta()
            # the file changed under the cache: keep this instance, with its new mtime
            mtime = (self.model_dir(station_id) / META_FILE).stat().st_mtime_ns
            self._models[station_id] = (mtime, model)
        return model.thresholds

    def _fit(self, st: Station, model: InspectionModel) -> Thresholds:
        hold = list(model.meta.extra.get("holdout_scores", []))
        with self._lock:
            rows = self._db.execute(
                "SELECT score, label FROM inspections WHERE station = ? AND model_id = ? "
                "AND review = 'done' ORDER BY ts DESC LIMIT 5000",
                (st.id, model.meta.model_id),
            ).fetchall()
        good = hold + [s for s, lab in rows if lab == "good"]
        bad = [s for s, lab in rows if lab == "defect"]
        return Thresholds.fit(good, st.false_reject_rate, bad)

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ += ["ImageError"]
