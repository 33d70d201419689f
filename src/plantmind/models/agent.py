"""The edge agent: it asks the hub what this site should run (outbound only, on an interval,
with an ETag), downloads what is missing (resuming cut downloads with HTTP Range), verifies
everything before use, loads the new version beside the running one, checks it on its golden
inputs, swaps it in atomically and reports what it runs, and every refusal, to the hub.

This module owns the site's model folder (``<home>``):

* ``trust/root.json`` (the trusted root, rotated by :meth:`TrustedRoot.update` only) and
  ``trust/state.json`` (the high-water version of each model: an older one needs a signed
  rollback statement);
* ``blobs/`` (content-addressed files; ``blobs/partial/<sha>.part`` are downloads in flight);
* ``installed/<name>/<version>/`` (complete versions only: assembled in a temporary folder,
  checked, then renamed; the current and the previous version are kept, older ones pruned);
* ``current.json``: which version of each model runs — the single commit point of a swap,
  replaced atomically, so after a crash the site runs the old or the new version, never a
  mix; on start every file of that version is checked again before it is loaded.

Deployment states: ``pending → downloading → verifying → active → healthy``, or ``failed``,
``rolled_back`` (a rollback statement brought an older version) and ``timed_out``
(``deploy_timeout_s``); :class:`SiteModels` also serves ``plantmind models import``, with the
same checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from plantmind.models.activators import (
    Activator,
    AdapterActivator,
    DetectorSettingsActivator,
    HealthActivator,
    LanguageModelActivator,
    LoadedModel,
    ModelSlot,
    VisionStationActivator,
    check_golden,
)
from plantmind.models.manifest import FileEntry, Manifest, check_files, check_manifest
from plantmind.models.signing import TrustedRoot, TrustError, canonical_json
from plantmind.models.store import ContentStore, atomic_write

__all__ = ["EdgeAgent", "SiteModels", "default_activators", "llm_activators", "main"]

log = logging.getLogger("plantmind.models.agent")

KEEP_VERSIONS = 2
MAX_REFUSALS = 50


def default_activators() -> dict[str, Activator]:
    """The activators a site uses unless told otherwise (kind → activator): the kinds the
    edge service puts to work. The language model kinds are not among them: loading a GGUF
    that no router tier answers with would only hold memory (see :func:`llm_activators`)."""
    return {
        "detector": DetectorSettingsActivator(),
        "health": HealthActivator(),
        "vision-station": VisionStationActivator(),
    }


def llm_activators() -> dict[str, Activator]:
    """The language model kinds (``llm-base``, ``llm-adapter``), for a site whose router
    follows them (:meth:`plantmind.llm.router.Router.follow_models`):
    ``SiteModels(..., activators={**default_activators(), **llm_activators()})``."""
    return {"llm-base": LanguageModelActivator(), "llm-adapter": AdapterActivator()}


def _read(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


class SiteModels:
    """The site's verified models on disk and in memory (no network: see :class:`EdgeAgent`).

    ``pause_before_commit_s`` only serves the crash tests (a window to kill the process in
    the middle of a swap)."""

    def __init__(
        self,
        home: Path,
        *,
        root: dict[str, Any] | None = None,
        activators: dict[str, Activator] | None = None,
        healthy_after_s: float = 10.0,
        deploy_timeout_s: float = 600.0,
        pause_before_commit_s: float = 0.0,
    ) -> None:
        self.home = Path(home)
        self.blobs = ContentStore(self.home / "blobs")
        self.activators = activators if activators is not None else default_activators()
        self.healthy_after_s = healthy_after_s
        self.deploy_timeout_s = deploy_timeout_s
        self.pause_before_commit_s = pause_before_commit_s
        self.lock = threading.RLock()
        trust = self.home / "trust" / "root.json"
        if not trust.is_file():
            if root is None:
                raise TrustError("no-root", f"{trust}: no trusted root (give one at install)")
            TrustedRoot(root)  # refuse a bad first root before keeping it
            atomic_write(trust, canonical_json(root))
        self.root = TrustedRoot.load(trust)
        st = _read(self.home / "trust" / "state.json", {})
        self.high_water: dict[str, int] = {k: int(v) for k, v in st.get("high_water", {}).items()}
        self.slots: dict[str, ModelSlot] = {}
        self.deployments: dict[str, dict[str, Any]] = _read(self.home / "deployments.json", {})
        self.refusals: list[dict[str, Any]] = []
        self.changed = threading.Event()
        #: called with every version put into service (activation, rollback, restore at
        #: start): what uses the model learns its identity here, e.g. the edge node stamps
        #: the detector's version on its alerts
        self.listeners: list[Callable[[LoadedModel, str], None]] = []
        #: called with every version loaded beside the running one, before the swap: what
        #: will use the model refuses one it cannot serve by raising ``TrustError`` (reason
        #: ``incompatible``), so the site keeps the running version and reports the failure
        self.checks: list[Callable[[LoadedModel, str], None]] = []
        for d in self.deployments.values():  # a restart ends nothing in progress silently
            if d["state"] in ("pending", "downloading", "verifying"):
                late = time.time() - float(d.get("started", 0)) > self.deploy_timeout_s
                d["state"] = "timed_out" if late else "pending"

    # ---- persistent state --------------------------------------------------------------
    def current_doc(self) -> dict[str, dict[str, Any]]:
        return dict(_read(self.home / "current.json", {}))

    def _save_state(self) -> None:
        atomic_write(
            self.home / "trust" / "state.json",
            json.dumps({"high_water": self.high_water}).encode(),
        )
        atomic_write(self.home / "deployments.json", json.dumps(self.deployments).encode())

    def set_state(self, m_name: str, version: int, state: str, reason: str = "") -> None:
        with self.lock:
            d = self.deployments.get(m_name)
            if d is None or d["version"] != version or state == "pending":
                d = {"name": m_name, "version": version, "started": time.time()}
                self.deployments[m_name] = d
            d.update(state=state, reason=reason, updated=time.time())
            self._save_state()
        self.changed.set()

    def refuse(self, name: str, version: Any, exc: TrustError) -> None:
        log.warning("refused %s v%s: %s", name, version, exc)
        with self.lock:
            self.refusals.append({"name": name, "version": version, "reason": exc.reason,
                                  "message": str(exc), "ts": time.time()})  # fmt: skip
            del self.refusals[:-MAX_REFUSALS]
        self.changed.set()

    def update_root(self, envelope: dict[str, Any]) -> None:
        """Take the next root of the chain (signed by the current root keys and its own)."""
        with self.lock:
            new = self.root.update(envelope)
            atomic_write(self.home / "trust" / "root.json", canonical_json(envelope))
            self.root = new

    # ---- checking and installing ---------------------------------------------------------
    def check_offer(self, envelope: Any, rollback: Any = None) -> Manifest:
        """The manifest, if it may be installed here (signature, expiry, version)."""
        signed = envelope.get("signed", {}) if isinstance(envelope, dict) else {}
        name = str(signed.get("name", ""))
        return check_manifest(
            self.root, envelope, high_water=self.high_water.get(name, 0), rollback=rollback
        )

    def version_dir(self, name: str, version: int) -> Path:
        return self.home / "installed" / name / str(version)

    def installed_files(self, m: Manifest, where: Path) -> dict[str, Path]:
        return {f.path: where / f.path for f in m.files}

    def verified_install(self, m: Manifest) -> Path | None:
        """The version's folder when it is complete and every file checks out."""
        d = self.version_dir(m.name, m.version)
        if not d.is_dir():
            return None
        try:
            check_files(m, self.installed_files(m, d))
        except TrustError:
            shutil.rmtree(d, ignore_errors=True)
            return None
        return d

    def install(
        self, m: Manifest, envelope: dict[str, Any], fetch: Callable[[FileEntry], None]
    ) -> Path:
        """Assemble ``m``'s folder from the blob store, ``fetch``-ing missing blobs (which
        must leave the checked blob in :attr:`blobs`), and check it."""
        done = self.verified_install(m)
        if done is not None:
            return done
        for f in m.files:
            if not self.blobs.has(f.sha256):
                self.set_state(m.name, m.version, "downloading")
                fetch(f)
        self.set_state(m.name, m.version, "verifying")
        parent = self.home / "installed" / m.name
        tmp = parent / f".tmp-{uuid.uuid4().hex}"
        try:
            for f in m.files:
                self.blobs.copy_out(f.sha256, tmp / f.path)
            atomic_write(tmp / "manifest.json", canonical_json(envelope))
            check_files(m, self.installed_files(m, tmp))
            final = self.version_dir(m.name, m.version)
            shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
            return final
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def load_beside(self, m: Manifest, where: Path) -> LoadedModel:
        """Load ``m`` without touching the running version and check its golden inputs."""
        act = self.activators.get(m.kind)
        if act is None:
            raise TrustError("no-activator", f"this site cannot run models of kind {m.kind!r}")
        files = self.installed_files(m, where)
        model = act.load(files, m)
        check_golden(act, model, files, m)
        loaded = LoadedModel(m.name, m.version, m.digest, model)
        for check in list(self.checks):
            try:
                check(loaded, m.kind)
            except TrustError:
                raise
            except Exception as exc:  # a check that fails is a refusal, not a crash
                raise TrustError("incompatible", f"{m.name} v{m.version}: {exc}") from None
        return loaded

    def activate(self, m: Manifest, where: Path, *, rollback: bool = False) -> None:
        """Load beside, check, commit ``current.json``, swap, prune."""
        loaded = self.load_beside(m, where)
        with self.lock:
            cur = self.current_doc()
            prev = cur.get(m.name, {}).get("version")
            if self.pause_before_commit_s:
                (self.home / "swapping").write_text(f"{m.name} {m.version}\n")
                time.sleep(self.pause_before_commit_s)
            cur[m.name] = {"version": m.version, "digest": m.digest, "since": time.time(),
                           "previous": prev if prev != m.version else None}  # fmt: skip
            atomic_write(self.home / "current.json", json.dumps(cur).encode())  # commit point
            self.slots.setdefault(m.name, ModelSlot(m.name)).swap(loaded)
            self.high_water[m.name] = max(self.high_water.get(m.name, 0), m.version)
            self.set_state(m.name, m.version, "rolled_back" if rollback else "active")
            self._prune(m.name, {m.version, prev})
        self._announce(loaded, m.kind)

    def _announce(self, loaded: LoadedModel, kind: str) -> None:
        for listener in list(self.listeners):
            try:
                listener(loaded, kind)
            except Exception:  # a listener's failure must not undo a verified swap
                log.exception("model listener failed on %s v%s", loaded.name, loaded.version)

    def _prune(self, name: str, keep: set[Any]) -> None:
        parent = self.home / "installed" / name
        keep_v = {str(v) for v in keep if v is not None}
        for d in parent.iterdir() if parent.is_dir() else []:
            if d.name not in keep_v:
                shutil.rmtree(d, ignore_errors=True)
        wanted: set[str] = set()
        for n in (self.home / "installed").iterdir():
            for v in n.iterdir() if n.is_dir() else []:
                env = _read(v / "manifest.json", None)
                if env is not None:
                    wanted.update(str(f["sha256"]) for f in env["signed"]["files"])
        for p in (self.blobs.root / "sha256").glob("*/*"):
            if p.name not in wanted:
                p.unlink(missing_ok=True)

    def apply(
        self,
        envelope: dict[str, Any],
        rollback: Any,
        fetch: Callable[[FileEntry], None],
    ) -> bool:
        """Bring one offered version into service; False (and the refusal recorded) if
        refused, the running version untouched."""
        signed = envelope.get("signed", {}) if isinstance(envelope, dict) else {}
        name, version = str(signed.get("name", "?")), signed.get("version", "?")
        try:
            m = self.check_offer(envelope, rollback)
        except TrustError as exc:
            self.refuse(name, version, exc)
            if isinstance(version, int):
                self.set_state(name, version, "failed", str(exc))
            return False
        cur = self.current_doc().get(m.name)
        if cur and cur["version"] == m.version and cur["digest"] == m.digest:
            return True
        older = m.version < self.high_water.get(m.name, 0)
        self.set_state(m.name, m.version, "pending")
        try:
            where = self.install(m, envelope, fetch)
            self.activate(m, where, rollback=older)
        except TrustError as exc:
            self.refuse(m.name, m.version, exc)
            self.set_state(m.name, m.version, "failed", str(exc))
            return False
        except TimeoutError as exc:
            self.set_state(m.name, m.version, "timed_out", str(exc))
            return False
        return True

    def restore(self) -> None:
        """On start: load what ``current.json`` names, each file checked again (falling back
        to the previous version if the current one does not check out)."""
        for name, cur in self.current_doc().items():
            for v in (cur.get("version"), cur.get("previous")):
                if v is None:
                    continue
                d = self.version_dir(name, int(v))
                try:
                    env = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
                    m = Manifest.from_signed(self.root.verify(env, "targets", "manifest"))
                    if (m.name, m.version) != (name, int(v)):
                        raise TrustError("malformed", f"{d} holds {m.name} v{m.version}")
                    check_files(m, self.installed_files(m, d))
                    loaded = self.load_beside(m, d)
                except (OSError, ValueError, KeyError) as exc:
                    err = exc if isinstance(exc, TrustError) else TrustError("missing", str(exc))
                    self.refuse(name, v, err)
                    continue
                self.slots.setdefault(name, ModelSlot(name)).swap(loaded)
                self._announce(loaded, m.kind)
                if v != cur.get("version"):
                    doc = self.current_doc()
                    doc[name] = {"version": int(v), "digest": m.digest, "since": time.time(),
                                 "previous": None}  # fmt: skip
                    atomic_write(self.home / "current.json", json.dumps(doc).encode())
                break

    # ---- reporting ---------------------------------------------------------------------
    def mark_healthy(self) -> None:
        now = time.time()
        for name, d in list(self.deployments.items()):
            slot = self.slots.get(name)
            cur = slot.current if slot else None
            if d["state"] in ("active", "rolled_back") and cur and cur.version == d["version"]:
                m = slot.metrics(cur.version) if slot else {}
                if now - float(d["updated"]) >= self.healthy_after_s and not m.get("errors"):
                    self.set_state(name, d["version"], "healthy")

    def report(self) -> dict[str, Any]:
        """What the site runs (name, version, digest, since, state, metrics), its deployments
        and its recent refusals."""
        cur = self.current_doc()
        models = []
        for name, slot in sorted(self.slots.items()):
            lm = slot.current
            if lm is None:
                continue
            d = self.deployments.get(name, {})
            state = d.get("state", "active") if d.get("version") == lm.version else "active"
            if state not in ("active", "healthy", "rolled_back"):
                state = "active"  # the deployment of another version is what is in progress
            models.append({"name": name, "version": lm.version, "digest": lm.digest,
                           "since": cur.get(name, {}).get("since", lm.since),
                           "previous": cur.get(name, {}).get("previous"),
                           "state": "active" if state == "rolled_back" else state,
                           "metrics": slot.metrics(lm.version),
                           "items_without_model": slot.items_without_model})  # fmt: skip
        with self.lock:
            return {
                "root_version": self.root.version,
                "models": models,
                "deployments": list(self.deployments.values()),
                "refusals": list(self.refusals[-20:]),
                "ts": time.time(),
            }


class EdgeAgent(SiteModels):
    """:class:`SiteModels` fed by the hub over HTTP: :meth:`sync_once` or :meth:`run`."""

    def __init__(
        self,
        hub_url: str,
        site: str,
        token: str,
        home: Path,
        *,
        interval_s: float = 30.0,
        heartbeat_s: float = 300.0,
        chunk_pause_s: float = 0.0,
        chunk_bytes: int = 1 << 16,
        transport: httpx.BaseTransport | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(home, **kw)
        self.site = site
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self.chunk_pause_s = chunk_pause_s
        self.chunk_bytes = chunk_bytes
        self.client = httpx.Client(
            base_url=hub_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
            transport=transport,
        )
        self._etag: str | None = None
        self._last_report = 0.0
        self._tried: set[str] = set()
        self._stop = threading.Event()

    def close(self) -> None:
        self._stop.set()
        self.client.close()

    def stop(self) -> None:
        self._stop.set()

    def fetch(self, f: FileEntry) -> None:
        """Download one blob, resuming a partial download; checked before it is kept."""
        part = self.blobs.partial / f"{f.sha256}.part"
        started = time.time()
        have = part.stat().st_size if part.exists() else 0
        if have > f.size:
            part.unlink()
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        if have < f.size or f.size == 0:
            with self.client.stream("GET", f"/api/models/blobs/{f.sha256}", headers=headers) as r:
                if r.status_code == 200:
                    have = 0  # the hub sent it whole
                elif r.status_code != 206:
                    r.read()
                    raise TrustError("download", f"{f.path}: HTTP {r.status_code}")
                with open(part, "ab" if have else "wb") as out:
                    for chunk in r.iter_bytes(self.chunk_bytes):
                        out.write(chunk)
                        out.flush()
                        if self.chunk_pause_s:
                            time.sleep(self.chunk_pause_s)
                        if time.time() - started > self.deploy_timeout_s:
                            raise TimeoutError(f"download of {f.path} ran past the timeout")
        size = part.stat().st_size
        h = hashlib.sha256()
        with open(part, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        if size != f.size or h.hexdigest() != f.sha256:
            part.unlink(missing_ok=True)
            raise TrustError(
                "bad-hash" if size == f.size else "bad-size",
                f"{f.path}: the downloaded file does not match the manifest "
                f"({size} bytes, SHA-256 {h.hexdigest()[:12]}…)",
            )
        self.blobs.adopt(part, f.sha256)

    def _follow_roots(self, target: int) -> None:
        while self.root.version < target:
            r = self.client.get(f"/api/models/roots/{self.root.version + 1}")
            r.raise_for_status()
            try:
                self.update_root(r.json())
            except TrustError as exc:
                self.refuse("root", self.root.version + 1, exc)
                return

    def sync_once(self) -> bool:
        """One poll: desired state, apply what changed, report. True if something changed."""
        headers = {"If-None-Match": self._etag} if self._etag else {}
        r = self.client.get(f"/api/sites/{self.site}/desired", headers=headers)
        changed = False
        if r.status_code == 200:
            doc = r.json()
            if int(doc.get("root_version", 0)) > self.root.version:
                self._follow_roots(int(doc["root_version"]))
            all_ok = True
            for entry in doc.get("models", []):
                env = entry.get("manifest", {})
                key = hashlib.sha256(canonical_json(entry)).hexdigest()
                if key in self._tried:
                    continue  # refused before: the same offer is refused again, not retried
                cur = self.current_doc().get(str(entry.get("name")))
                if cur and cur.get("version") == entry.get("version"):
                    continue
                try:
                    ok = self.apply(env, entry.get("rollback"), self.fetch)
                except httpx.HTTPError as exc:
                    log.warning("download failed, will resume: %s", exc)
                    all_ok = False
                    continue
                changed = True
                if not ok:
                    self._tried.add(key)
            if all_ok:
                self._etag = r.headers.get("etag")
        elif r.status_code != 304:
            r.raise_for_status()
        self.mark_healthy()
        if changed or self.changed.is_set() or time.time() - self._last_report > self.heartbeat_s:
            self.send_report()
        return changed

    def send_report(self) -> None:
        self.changed.clear()
        body = self.report()
        r = self.client.post(f"/api/sites/{self.site}/models/status", json=body)
        r.raise_for_status()
        self._last_report = time.time()

    def run(self, stop: threading.Event | None = None) -> None:
        """Poll until ``stop`` (or :meth:`stop`): restore, report on start, then every
        ``interval_s``; errors are logged and retried at the next poll."""
        stop = stop or self._stop
        self.restore()
        self._last_report = 0.0
        while not stop.is_set() and not self._stop.is_set():
            try:
                self.sync_once()
            except (httpx.HTTPError, OSError, ValueError) as exc:
                log.warning("sync with the hub failed: %s", exc)
            stop.wait(self.interval_s)


def main(argv: list[str] | None = None) -> int:
    """``python -m plantmind.models.agent``: run one agent (the crash tests use it)."""
    p = argparse.ArgumentParser(prog="plantmind-models-agent")
    p.add_argument("--hub", required=True)
    p.add_argument("--site", required=True)
    p.add_argument("--home", required=True, type=Path)
    p.add_argument("--token", default=os.environ.get("PLANTMIND_TOKEN", ""))
    p.add_argument("--root", type=Path, help="The trusted root (first start only).")
    p.add_argument("--interval", type=float, default=30.0)
    p.add_argument("--once", action="store_true", help="Restore, one sync, print the state.")
    p.add_argument("--restore-only", action="store_true", help="Restore, print the state.")
    p.add_argument("--chunk-pause", type=float, default=0.0)
    p.add_argument("--chunk-bytes", type=int, default=1 << 16)
    p.add_argument("--pause-before-commit", type=float, default=0.0)
    a = p.parse_args(argv)
    root = json.loads(a.root.read_text(encoding="utf-8")) if a.root else None
    agent = EdgeAgent(
        a.hub, a.site, a.token, a.home, root=root, interval_s=a.interval,
        chunk_pause_s=a.chunk_pause, chunk_bytes=a.chunk_bytes,
        pause_before_commit_s=a.pause_before_commit,
    )  # fmt: skip
    try:
        if a.once or a.restore_only:
            agent.restore()
            if a.once:
                agent.sync_once()
            print(json.dumps(agent.report()))
        else:
            agent.run()
    finally:
        agent.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
