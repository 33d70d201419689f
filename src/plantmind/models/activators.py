"""How the edge agent puts a verified model to work: one :class:`Activator` per model kind
loads a version's files beside the running one and scores the golden inputs that ship with
it; a :class:`ModelSlot` holds the running version and swaps it atomically, so every item is
handled by exactly one complete version, never by none.

:class:`DetectorSettingsActivator` serves kind ``detector``: a settings file
(``settings.json``: ``weights``, ``bias``, ``threshold``) scoring a feature vector and raising
an alert above the threshold; the alert carries the model's name, version and digest.
:class:`HealthActivator` serves kind ``health``: a :mod:`plantmind.health.artifact` folder
(``model.json`` + ``arrays.npz``, no pickle), scored on feature rows. Adapters for the vision
station and the language models plug in the same way. :func:`golden_doc` computes a version's
golden file at the centre, from the inputs the publisher chose.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from plantmind.models.manifest import Manifest
from plantmind.models.signing import TrustError

__all__ = [
    "Activator",
    "DetectorSettings",
    "DetectorSettingsActivator",
    "HealthActivator",
    "LoadedModel",
    "ModelSlot",
    "check_golden",
    "golden_doc",
]


class Activator(Protocol):
    """What the agent needs of a model kind."""

    kind: str

    def load(self, files: dict[str, Path], manifest: Manifest | None) -> Any:
        """The model ready to serve, from its verified files (must not touch the running one);
        ``manifest`` is None when the publisher computes the golden scores."""
        ...

    def score(self, model: Any, inputs: Sequence[Any]) -> list[float]:
        """The model's scores of ``inputs`` (for the golden check)."""
        ...


@dataclass(frozen=True)
class LoadedModel:
    """One loaded version: its identity and the kind's object."""

    name: str
    version: int
    digest: str
    model: Any
    since: float = field(default_factory=time.time)


def check_golden(activator: Activator, model: Any, files: dict[str, Path], m: Manifest) -> None:
    """Refuse (:class:`TrustError` ``golden``) a model that does not reproduce the expected
    scores of its golden inputs within the manifest's tolerance."""
    if m.golden is None:
        return
    doc = json.loads(Path(files[str(m.golden["path"])]).read_text(encoding="utf-8"))
    inputs, expected = doc["inputs"], doc["expected"]
    tol = float(m.golden.get("tolerance", 1e-6))
    got = activator.score(model, inputs)
    if len(got) != len(expected):
        raise TrustError("golden", f"{m.name} v{m.version}: {len(got)} scores, not {len(expected)}")
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        if not math.isfinite(g) or abs(g - float(e)) > tol:
            raise TrustError(
                "golden",
                f"{m.name} v{m.version}: golden input {i} scores {g:.6g}, expected {e:.6g} "
                f"(tolerance {tol:g})",
            )


class _Window:
    """Counters of one version: items, errors, alerts and recent latencies."""

    def __init__(self) -> None:
        self.items = 0
        self.errors = 0
        self.alerts = 0
        self.lat: list[float] = []

    def add(self, ms: float, error: bool, alert: bool) -> None:
        self.items += 1
        self.errors += int(error)
        self.alerts += int(alert)
        self.lat.append(ms)
        if len(self.lat) > 2048:
            del self.lat[:1024]

    def summary(self) -> dict[str, float]:
        lat = sorted(self.lat)
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else 0.0
        return {"items": self.items, "errors": self.errors, "alerts": self.alerts,
                "latency_ms_p95": round(p95, 4)}  # fmt: skip


class ModelSlot:
    """The running version of one model at a site. :meth:`swap` replaces it in one step;
    :meth:`process` hands an item to whichever version is current at that instant and counts
    the result (items without a model, per-version items, errors, alerts, latency)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._current: LoadedModel | None = None
        self._previous: LoadedModel | None = None
        self._lock = threading.Lock()
        self.items_without_model = 0
        self._windows: dict[int, _Window] = {}

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def swap(self, new: LoadedModel) -> LoadedModel | None:
        """Make ``new`` current; the old one is kept as ``previous`` (for a quick way back)."""
        with self._lock:
            old, self._current = self._current, new
            self._previous = old
            self._windows[new.version] = _Window()
            return old

    def process(self, item: Any, fn: Callable[[LoadedModel, Any], tuple[Any, bool]]) -> Any:
        """``fn(model, item)`` → (result, alert) with the current model; an exception counts
        as an error and is raised again."""
        cur = self._current  # one read: the item sees one version from start to end
        if cur is None:
            with self._lock:
                self.items_without_model += 1
            return None
        t0 = time.perf_counter()
        try:
            result, alert = fn(cur, item)
        except Exception:
            self._record(cur.version, (time.perf_counter() - t0) * 1e3, True, False)
            raise
        self._record(cur.version, (time.perf_counter() - t0) * 1e3, False, bool(alert))
        return result

    def _record(self, version: int, ms: float, error: bool, alert: bool) -> None:
        with self._lock:
            self._windows.setdefault(version, _Window()).add(ms, error, alert)

    def metrics(self, version: int) -> dict[str, float]:
        with self._lock:
            w = self._windows.get(version)
            return w.summary() if w else _Window().summary()


@dataclass(frozen=True)
class DetectorSettings:
    """A linear anomaly score over a feature vector, alerting above ``threshold``; with
    ``alert_policy`` (the fields of :class:`plantmind.detect.alerts.AlertPolicy`), also the
    edge node's alert policy (see :meth:`plantmind.edge.node.EdgeNode.follow_models`)."""

    weights: tuple[float, ...]
    bias: float
    threshold: float
    alert_policy: dict[str, float] | None = None

    def score(self, x: Sequence[float]) -> float:
        return self.bias + sum(w * float(v) for w, v in zip(self.weights, x, strict=False))


class DetectorSettingsActivator:
    """Kind ``detector``: ``settings.json`` → :class:`DetectorSettings`."""

    kind = "detector"
    settings_file = "settings.json"

    def load(self, files: dict[str, Path], manifest: Manifest | None) -> DetectorSettings:
        what = f"{manifest.name} v{manifest.version}" if manifest else self.settings_file
        try:
            doc = json.loads(Path(files[self.settings_file]).read_text(encoding="utf-8"))
            policy = doc.get("alert_policy")
            if policy is not None:
                from plantmind.detect.alerts import AlertPolicy

                unknown = set(policy) - set(AlertPolicy.__dataclass_fields__)
                if unknown:
                    raise ValueError(f"alert_policy has unknown fields {sorted(unknown)}")
                policy = {k: float(v) for k, v in policy.items()}
                AlertPolicy(**policy)
            return DetectorSettings(
                tuple(float(w) for w in doc["weights"]),
                float(doc["bias"]),
                float(doc["threshold"]),
                policy,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise TrustError("load", f"{what}: {exc}") from None

    def score(self, model: Any, inputs: Sequence[Any]) -> list[float]:
        return [float(model.score(x)) for x in inputs]

    @staticmethod
    def detect(loaded: LoadedModel, x: Sequence[float]) -> tuple[dict[str, Any], bool]:
        """Score one item; the result (an alert when above the threshold) names the model's
        version and digest. For :meth:`ModelSlot.process`."""
        s = loaded.model.score(x)
        alert = s > loaded.model.threshold
        out = {"score": s, "alert": alert, "model": loaded.name, "model_version": loaded.version,
               "model_digest": loaded.digest}  # fmt: skip
        return out, alert


class HealthActivator:
    """Kind ``health``: a remaining-useful-life artifact (``model.json`` + ``arrays.npz``)."""

    kind = "health"

    def load(self, files: dict[str, Path], manifest: Manifest | None) -> Any:
        from plantmind.health.artifact import ArtifactError, load_model

        if "model.json" not in files:
            raise TrustError("load", "a health model version needs model.json")
        try:
            return load_model(Path(files["model.json"]).parent)
        except ArtifactError as exc:
            raise TrustError("load", str(exc)) from None

    def score(self, model: Any, inputs: Sequence[Any]) -> list[float]:
        import numpy as np

        x = np.asarray(inputs, dtype=float)
        return [float(v) for v in np.asarray(model.predict_features(x)).ravel()]


def golden_doc(
    activator: Activator, files: dict[str, Path], inputs: Sequence[Any]
) -> dict[str, Any]:
    """The golden file of a version: ``inputs`` and the scores this version gives them."""
    model = activator.load(files, None)
    return {"inputs": list(inputs), "expected": activator.score(model, inputs)}
