"""How the edge agent puts a verified model to work: one :class:`Activator` per model kind
loads a version's files beside the running one and scores the golden inputs that ship with
it; a :class:`ModelSlot` holds the running version and swaps it atomically, so every item is
handled by exactly one complete version, never by none.

:class:`DetectorSettingsActivator` serves kind ``detector``: a settings file
(``settings.json``: ``weights``, ``bias``, ``threshold``) scoring a feature vector and raising
an alert above the threshold; the alert carries the model's name, version and digest.
:class:`HealthActivator` serves kind ``health``: a :mod:`plantmind.health.artifact` folder
(``model.json`` + ``arrays.npz``, no pickle), scored on feature rows.
:class:`VisionStationActivator` serves kind ``vision-station``: a station model folder as
:mod:`plantmind.vision.station` saves it (``model.json`` + ``model.onnx`` and what its kind
needs beside), scored on golden images carried inside the golden file itself (base64, see
:func:`golden_images`), so the check needs nothing but the version's own files.
:class:`LanguageModelActivator` serves kind ``llm-base``: one GGUF file opened in-process
(:mod:`plantmind.llm.local`), its golden inputs prompts whose greedy continuations must come
back the same (the score is a hash of the continuation). :class:`AdapterActivator` serves
kind ``llm-adapter``: one LoRA adapter GGUF, opened in-process on the base GGUF whose sha256
its manifest names (``compat.base_sha256``), scored like a base. :func:`golden_doc` computes a
version's golden file at the centre, from the inputs the publisher chose.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from plantmind.models.manifest import Manifest
from plantmind.models.signing import TrustError

__all__ = [
    "Activator",
    "AdapterActivator",
    "DetectorSettings",
    "DetectorSettingsActivator",
    "HealthActivator",
    "LanguageModelActivator",
    "LoadedModel",
    "ModelSlot",
    "VisionStationActivator",
    "check_golden",
    "continuation_score",
    "golden_doc",
    "golden_images",
    "site_llm_bases",
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


class VisionStationActivator:
    """Kind ``vision-station``: an inspection station's model folder (``model.json`` +
    ``model.onnx``, or an ``auto`` ensemble's files), loaded as
    :class:`plantmind.vision.runtime.InspectionModel` (onnxruntime, one thread, no torch).

    Golden inputs are images inside the golden file: each input is ``{"image_b64": "..."}``,
    the base64 of an image file (any format :func:`plantmind.vision.images.load_image`
    reads; :func:`golden_images` writes small PNGs). Their scores are the anomaly scores of
    the whole image (no regions), as :meth:`InspectionModel.score_array` gives them."""

    kind = "vision-station"

    def load(self, files: dict[str, Path], manifest: Manifest | None) -> Any:
        what = f"{manifest.name} v{manifest.version}" if manifest else "station model"
        if "model.json" not in files:
            raise TrustError("load", f"{what}: a station model version needs model.json")
        try:
            from plantmind.vision.runtime import InspectionModel

            return InspectionModel(Path(files["model.json"]).parent)
        except ImportError as exc:
            raise TrustError("load", f"{what}: needs the [vision] extra ({exc})") from None
        except Exception as exc:  # onnxruntime raises its own types for a damaged graph
            raise TrustError("load", f"{what}: {type(exc).__name__}: {exc}") from None

    def score(self, model: Any, inputs: Sequence[Any]) -> list[float]:
        from plantmind.vision.images import ImageError, load_image

        out: list[float] = []
        for i, item in enumerate(inputs):
            try:
                data = base64.b64decode(str(item["image_b64"]), validate=True)
                img = load_image(data, channels=model.meta.channels, source=f"golden input {i}")
            except (KeyError, TypeError, binascii.Error, ImageError) as exc:
                raise TrustError(
                    "golden", f"golden input {i} is not a usable image: {exc}"
                ) from None
            out.append(float(model.score_array(img).score))
        return out


def golden_images(paths: Sequence[Path | str], max_side: int = 256) -> list[dict[str, str]]:
    """Golden inputs for :class:`VisionStationActivator` from image files: each decoded,
    shrunk so its longest side is at most ``max_side`` (a small golden file), and stored as
    PNG (lossless, so the site decodes exactly the pixels that were scored)."""
    from PIL import Image

    out: list[dict[str, str]] = []
    for p in paths:
        with Image.open(p) as im:
            im.load()
            img = im.convert("L") if im.mode in ("L", "I;16", "I", "1") else im.convert("RGB")
        scale = min(1.0, max_side / max(img.size))
        if scale < 1.0:
            size = (max(8, round(img.size[0] * scale)), max(8, round(img.size[1] * scale)))
            img = img.resize(size, Image.Resampling.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        out.append({"image_b64": base64.b64encode(buf.getvalue()).decode("ascii")})
    return out


def continuation_score(text: str) -> float:
    """A golden "score" of a generated text: its SHA-256's first 48 bits as a float (exact:
    below 2**53), so any other continuation is off by at least 1, far past any tolerance."""
    return float(int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:6], "big"))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _one_gguf(files: dict[str, Path], what: str) -> tuple[str, Path]:
    """The one ``.gguf`` file of a language model version (its name and path); ``load``
    refusal otherwise."""
    ggufs = sorted(k for k in files if k.lower().endswith(".gguf"))
    if len(ggufs) != 1:
        raise TrustError("load", f"{what}: needs exactly one .gguf file, has {len(ggufs)}")
    return ggufs[0], Path(files[ggufs[0]])


def _check_signed(path: Path, key: str, manifest: Manifest | None, what: str) -> None:
    """Hash ``path`` again against the manifest's entry ``key`` (``bad-hash``): the file a
    backend opens is the signed one, even after the agent's own check."""
    if manifest is None:
        return
    entry = next((f for f in manifest.files if f.path == key), None)
    if entry is None or _sha256_file(path) != entry.sha256:
        raise TrustError("bad-hash", f"{what}: {key} is not the signed file")


class LanguageModelActivator:
    """Kind ``llm-base``: a version with one ``.gguf`` file, loaded in-process as
    :class:`plantmind.llm.local.LocalChatBackend` (the object a router tier answers with,
    see :meth:`plantmind.llm.router.Router.follow_models`).

    ``load`` hashes the GGUF file again against the manifest (``bad-hash``: the file the
    backend opens is the signed one, even after the agent's own check) and opens it
    (``load``: llama-cpp-python missing, not a model llama.cpp can open). Golden inputs are
    prompts (a string: one user message; or a list of role/content messages); the score of
    each is :func:`continuation_score` of the greedy continuation (temperature 0) of at most
    ``max_tokens`` tokens. Greedy decoding on the CPU is deterministic on one machine; two
    CPUs with other vector units may, rarely, differ in a near tie: a site refusing a good
    version with ``golden`` after such a tie needs golden prompts with clearer answers."""

    kind = "llm-base"

    def __init__(self, *, max_tokens: int = 8, n_ctx: int = 512, threads: int | None = None,
                 ) -> None:  # fmt: skip
        self.max_tokens = max_tokens
        self.n_ctx = n_ctx
        self.threads = threads

    def load(self, files: dict[str, Path], manifest: Manifest | None) -> Any:
        from plantmind.llm.client import LLMError
        from plantmind.llm.local import open_local_model

        what = f"{manifest.name} v{manifest.version}" if manifest else "language model"
        name, path = _one_gguf(files, what)
        _check_signed(path, name, manifest, what)
        try:
            return open_local_model(
                path, max_tokens=self.max_tokens, n_ctx=self.n_ctx, temperature=0.0,
                name=manifest.name if manifest else path.stem, threads=self.threads,
            )  # fmt: skip
        except LLMError as exc:
            raise TrustError("load", f"{what}: {exc}") from None

    def score(self, model: Any, inputs: Sequence[Any]) -> list[float]:
        from plantmind.llm.client import LLMError

        out: list[float] = []
        for i, item in enumerate(inputs):
            if isinstance(item, str):
                messages = [{"role": "user", "content": item}]
            elif isinstance(item, list) and all(isinstance(m, dict) for m in item):
                messages = [dict(m) for m in item]
            else:
                raise TrustError("golden", f"golden input {i} is not a prompt")
            try:
                res = model.chat(messages, max_tokens=self.max_tokens, temperature=0.0)
            except LLMError as exc:
                raise TrustError("golden", f"golden input {i}: {exc}") from None
            out.append(continuation_score(res.text))
        return out


def site_llm_bases(files: Mapping[str, Path]) -> list[Path]:
    """The base GGUFs an adapter may run on, by default: the ``.gguf`` files of the
    ``llm-base`` versions installed at the site ``files`` belong to (a site keeps each
    version in ``<home>/installed/<name>/<version>/`` beside its ``manifest.json``), then
    :func:`plantmind.llm.local.packaged_gguf_models`. Any candidate serves only when its
    sha256 is the one the adapter's signed manifest names, so the installed manifests are
    read for their file lists only, not trusted."""
    from plantmind.llm.local import packaged_gguf_models

    out: list[Path] = []
    key, path = next(iter(files.items()), ("", None))
    if path is not None:
        version_dir = Path(path).parents[len(PurePosixPath(key).parts) - 1]
        installed = version_dir.parent.parent
        if installed.name == "installed" and (version_dir / "manifest.json").is_file():
            for mf in sorted(installed.glob("*/*/manifest.json")):
                if mf.parent.name.startswith("."):  # a version being assembled
                    continue
                try:
                    signed = json.loads(mf.read_text(encoding="utf-8"))["signed"]
                    if signed.get("kind") != "llm-base":
                        continue
                    out.extend(mf.parent / str(f["path"]) for f in signed["files"]
                               if str(f["path"]).lower().endswith(".gguf"))  # fmt: skip
                except (OSError, ValueError, KeyError, TypeError):
                    continue
    return [*out, *packaged_gguf_models()]


class AdapterActivator(LanguageModelActivator):
    """Kind ``llm-adapter``: a version with one LoRA adapter ``.gguf`` (llama.cpp's LoRA
    format, as ``plantmind tune export`` writes it), loaded in-process on its base model as
    a :class:`plantmind.llm.local.LocalChatBackend` (``lora_path``).

    The base is the GGUF whose sha256 is the manifest's ``compat.base_sha256`` (what
    ``tune export --publish`` signs), found among ``bases(files)`` (default
    :func:`site_llm_bases`: the site's installed ``llm-base`` versions, then the packaged
    fixture models); no such file on the site is refused ``load`` naming the digest. The
    adapter file is hashed again against the manifest (``bad-hash``) and a pair llama.cpp
    cannot open together is refused ``load``. At the centre (no manifest) the base is the
    one ``model_card.json`` among the files names, else the only candidate ``bases`` gives.
    Golden prompts are scored like a base's (:func:`continuation_score` of the greedy
    continuation): the site must produce, with the adapter on that base, exactly the
    continuations the centre did."""

    kind = "llm-adapter"

    def __init__(
        self,
        *,
        bases: Callable[[Mapping[str, Path]], Iterable[Path]] | None = None,
        lora_scale: float = 1.0,
        max_tokens: int = 8,
        n_ctx: int = 512,
        threads: int | None = None,
    ) -> None:
        super().__init__(max_tokens=max_tokens, n_ctx=n_ctx, threads=threads)
        self.bases = bases if bases is not None else site_llm_bases
        self.lora_scale = lora_scale
        self._digests: dict[tuple[str, int, int], str] = {}

    def _digest(self, path: Path) -> str:
        """sha256 of a candidate base, remembered by (path, size, mtime)."""
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in self._digests:
            self._digests[key] = _sha256_file(path)
        return self._digests[key]

    def _wanted_base(self, files: dict[str, Path], manifest: Manifest | None) -> str | None:
        if manifest is not None:
            compat = manifest.doc.get("compat")
            return str(compat.get("base_sha256") or "") if isinstance(compat, dict) else ""
        card = files.get("model_card.json")
        if card is not None:
            try:
                return str(json.loads(Path(card).read_text(encoding="utf-8"))["base"]["sha256"])
            except (OSError, ValueError, KeyError, TypeError):
                return ""
        return None  # the centre without a card: the only candidate

    def base_for(self, files: dict[str, Path], manifest: Manifest | None) -> Path:
        """The base GGUF this adapter version runs on (:class:`TrustError` ``load`` if the
        site has none with the digest its manifest names)."""
        what = f"{manifest.name} v{manifest.version}" if manifest else "adapter"
        wanted = self._wanted_base(files, manifest)
        if wanted == "":
            raise TrustError("load", f"{what}: names no base model (compat.base_sha256)")
        candidates: list[Path] = []
        for p in self.bases(files):
            path = Path(p)
            if path.is_file() and path.resolve() not in {c.resolve() for c in candidates}:
                candidates.append(path)
        if wanted is None:
            if len(candidates) != 1:
                raise TrustError(
                    "load",
                    f"{what}: no model_card.json names the base and {len(candidates)} base "
                    f"models are candidates",
                )
            return candidates[0]
        for path in candidates:
            try:
                if self._digest(path) == wanted:
                    return path
            except OSError:
                continue
        raise TrustError("load", f"{what}: its base model (sha256 {wanted}) is not on this site")

    def load(self, files: dict[str, Path], manifest: Manifest | None) -> Any:
        from plantmind.llm.client import LLMError
        from plantmind.llm.local import open_local_model

        what = f"{manifest.name} v{manifest.version}" if manifest else "adapter"
        name, adapter = _one_gguf(files, what)
        base = self.base_for(files, manifest)
        _check_signed(adapter, name, manifest, what)
        try:
            return open_local_model(
                base, max_tokens=self.max_tokens, n_ctx=self.n_ctx, temperature=0.0,
                name=manifest.name if manifest else adapter.stem, threads=self.threads,
                lora_path=adapter, lora_scale=self.lora_scale,
            )  # fmt: skip
        except LLMError as exc:
            raise TrustError("load", f"{what}: {exc}") from None


def golden_doc(
    activator: Activator, files: dict[str, Path], inputs: Sequence[Any]
) -> dict[str, Any]:
    """The golden file of a version: ``inputs`` and the scores this version gives them."""
    model = activator.load(files, None)
    return {"inputs": list(inputs), "expected": activator.score(model, inputs)}
