"""The hub's model registry: signed manifests, their files (content-addressed), aliases per
site group (``champion``: what runs; ``candidate``: what is being tried, on
``candidate_sites``), each site's desired state and its reported inventory.

Layout under ``<home>``: ``roots/<version>.json`` (the trust chain), ``blobs/`` (a
:class:`~plantmind.models.store.ContentStore`; or, when ``config.json`` names a URL as
``blobs``, a :class:`~plantmind.models.store.FsspecBlobStore` there, e.g. ``s3://bucket/models``,
with ``blobs/partial/`` staging uploads), ``manifests/<name>/<version>.json``,
``rollbacks/<name>/<from_version>.json``, ``state.json`` (aliases, site groups, deployments)
and ``sites/<site>.json`` (the last status report of each site). Every write goes through an
atomic rename. The registry checks every signature when something is published, but sites
never rely on that: they check again (see :mod:`plantmind.models.agent`).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from plantmind.models.manifest import Manifest, check_manifest
from plantmind.models.signing import TrustedRoot, TrustError, canonical_json
from plantmind.models.store import BlobStore, ContentStore, atomic_write, is_url, open_blob_store

__all__ = ["DEFAULT_GROUP", "Registry", "RegistryError", "blob_location"]

DEFAULT_GROUP = "default"
_SITE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")


class RegistryError(ValueError):
    """A request the registry refuses: ``status`` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 422) -> None:
        self.status = status
        super().__init__(message)


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def blob_location(home: Path, where: str | None) -> str | Path:
    """Where a registry in ``home`` keeps its files, given the ``blobs`` of its
    ``config.json``: a URL as it is, a folder (a relative one under ``home``, not the
    working directory, so the hub finds it wherever it is started), or ``<home>/blobs``."""
    if where and is_url(str(where)):
        return str(where)
    if where:
        folder = Path(str(where)).expanduser()
        return folder if folder.is_absolute() else Path(home) / folder
    return Path(home) / "blobs"


class Registry:
    """The registry in ``home``; ``root`` (a root envelope) is needed the first time.
    ``blobs``: where the files live, a folder (default ``<home>/blobs``; a relative one is
    under ``home``) or an fsspec URL (``s3://…``, ``memory://…``); given once, it is kept in
    ``<home>/config.json`` (with ``blob_options``, the filesystem's non-secret options) and
    used from then on."""

    def __init__(
        self,
        home: Path,
        root: dict[str, Any] | None = None,
        *,
        blobs: str | None = None,
        blob_options: dict[str, Any] | None = None,
    ) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        cfg_path = self.home / "config.json"
        cfg: dict[str, Any] = _read_json(cfg_path, {})
        if blobs is not None:
            cfg = {**cfg, "blobs": blobs, "blob_options": dict(blob_options or {})}
            atomic_write(cfg_path, json.dumps(cfg, indent=1).encode())
        where = blob_location(self.home, cfg.get("blobs"))
        self.blobs: BlobStore
        if isinstance(where, str):
            self.blobs = open_blob_store(
                where, self.home / "blobs" / "partial", **dict(cfg.get("blob_options") or {})
            )
        else:
            self.blobs = ContentStore(where)
        self.lock = threading.RLock()
        if root is not None and not self.roots():
            self.add_root(root)
        if not self.roots():
            raise RegistryError("the registry has no trust root (give root.json)", 503)
        self.state: dict[str, Any] = _read_json(
            self.home / "state.json", {"aliases": {}, "groups": {}, "deployments": []}
        )

    # ---- trust chain -------------------------------------------------------------------
    def roots(self) -> list[int]:
        d = self.home / "roots"
        return sorted(int(p.stem) for p in d.glob("*.json")) if d.is_dir() else []

    def root_envelope(self, version: int | None = None) -> dict[str, Any]:
        v = version if version is not None else self.roots()[-1]
        path = self.home / "roots" / f"{v}.json"
        if not path.is_file():
            raise RegistryError(f"no root version {v}", 404)
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def trusted(self) -> TrustedRoot:
        return TrustedRoot(self.root_envelope())

    def add_root(self, envelope: dict[str, Any]) -> int:
        """Add the first root, or the next one of the chain (checked as a site would)."""
        with self.lock:
            try:
                new = TrustedRoot(envelope)
                if self.roots():
                    new = self.trusted().update(envelope)
            except TrustError as exc:
                raise RegistryError(f"root refused: {exc}") from None
            atomic_write(self.home / "roots" / f"{new.version}.json", canonical_json(envelope))
            return new.version

    # ---- publishing --------------------------------------------------------------------
    def put_blob(self, data: bytes, expect: str | None = None) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if expect is not None and sha != expect:
            raise RegistryError(f"the upload has SHA-256 {sha}, not {expect}")
        return self.blobs.put_bytes(data)

    def publish(self, envelope: dict[str, Any], rollback: dict[str, Any] | None = None) -> Manifest:
        """Store a signed manifest whose files are all uploaded (and its rollback statement)."""
        with self.lock:
            root = self.trusted()
            try:
                m = check_manifest(root, envelope)
                if rollback is not None:
                    st = root.verify(rollback, "targets", "rollback statement")
                    if st.get("name") != m.name or st.get("from_version") != m.version:
                        raise TrustError(
                            "rollback", "the rollback statement is for another version"
                        )
            except TrustError as exc:
                raise RegistryError(f"refused: {exc}") from None
            missing = [f.path for f in m.files if not self.blobs.has(f.sha256)]
            if missing:
                raise RegistryError(f"upload these files first: {', '.join(missing)}", 409)
            path = self.home / "manifests" / m.name / f"{m.version}.json"
            if path.is_file():
                old = json.loads(path.read_text(encoding="utf-8"))
                if canonical_json(old["signed"]) != canonical_json(envelope["signed"]):
                    raise RegistryError(f"{m.name} v{m.version} exists with other content", 409)
            atomic_write(path, canonical_json(envelope))
            if rollback is not None:
                atomic_write(
                    self.home / "rollbacks" / m.name / f"{m.version}.json", canonical_json(rollback)
                )
            return m

    def add_rollback(self, statement: dict[str, Any]) -> None:
        """Store a rollback statement signed later (a manual rollback to an older floor)."""
        with self.lock:
            try:
                st = self.trusted().verify(statement, "targets", "rollback statement")
            except TrustError as exc:
                raise RegistryError(f"refused: {exc}") from None
            atomic_write(
                self.home / "rollbacks" / str(st["name"]) / f"{int(st['from_version'])}.json",
                canonical_json(statement),
            )

    def manifest(self, name: str, version: int) -> dict[str, Any]:
        path = self.home / "manifests" / name / f"{int(version)}.json"
        if not _NAME.match(name) or not path.is_file():
            raise RegistryError(f"no model {name} v{version}", 404)
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def versions(self, name: str) -> list[int]:
        d = self.home / "manifests" / name
        return sorted(int(p.stem) for p in d.glob("*.json")) if d.is_dir() else []

    def names(self) -> list[str]:
        d = self.home / "manifests"
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []

    def rollback_for(self, name: str, to_version: int) -> dict[str, Any] | None:
        """The newest stored rollback statement of ``name`` whose floor allows ``to_version``."""
        d = self.home / "rollbacks" / name
        best: tuple[int, dict[str, Any]] | None = None
        for p in d.glob("*.json") if d.is_dir() else []:
            env = json.loads(p.read_text(encoding="utf-8"))
            s = env.get("signed", {})
            covers = int(s.get("floor", 1 << 62)) <= to_version < int(s.get("from_version", 0))
            if covers and (best is None or int(s["from_version"]) > best[0]):
                best = (int(s["from_version"]), env)
        return best[1] if best else None

    def listing(self) -> list[dict[str, Any]]:
        """Every model: its versions (kind, digest, expiry) and its aliases per group."""
        out = []
        for name in self.names():
            versions = []
            for v in self.versions(name):
                m = Manifest.from_signed(self.manifest(name, v)["signed"])
                versions.append(
                    {"version": v, "kind": m.kind, "digest": m.digest, "expires": m.expires,
                     "metrics": m.doc.get("metrics", {})}
                )  # fmt: skip
            aliases = {g: dict(a[name]) for g, a in self.state["aliases"].items() if name in a}
            out.append({"name": name, "versions": versions, "aliases": aliases})
        return out

    # ---- aliases, groups, desired state ----------------------------------------------------
    def save(self) -> None:
        with self.lock:
            atomic_write(self.home / "state.json", json.dumps(self.state, indent=1).encode())

    def group_of(self, site: str) -> str:
        return str(self.state["groups"].get(site, DEFAULT_GROUP))

    def set_group(self, site: str, group: str) -> None:
        with self.lock:
            self.state["groups"][site] = group
            self.save()

    def alias(self, group: str, name: str) -> dict[str, Any]:
        with self.lock:
            return dict(
                self.state["aliases"]
                .setdefault(group, {})
                .setdefault(name, {"champion": None, "candidate": None, "candidate_sites": []})
            )

    def set_alias(self, group: str, name: str, **fields: Any) -> None:
        with self.lock:
            a = (
                self.state["aliases"]
                .setdefault(group, {})
                .setdefault(name, {"champion": None, "candidate": None, "candidate_sites": []})
            )
            for k, v in fields.items():
                if k in ("champion", "candidate") and v is not None:
                    self.manifest(name, int(v))  # 404 for an unknown version
                a[k] = v
            self.save()

    def desired(self, site: str) -> tuple[dict[str, Any], str]:
        """What ``site`` should run, with the manifests (and rollback statements) it needs to
        check that, and the document's ETag."""
        if not _SITE.match(site):
            raise RegistryError(f"bad site id {site!r}")
        with self.lock:
            group = self.group_of(site)
            models = []
            for name, a in sorted(self.state["aliases"].get(group, {}).items()):
                on_candidate = a.get("candidate") is not None and site in a.get(
                    "candidate_sites", []
                )
                version = a["candidate"] if on_candidate else a.get("champion")
                if version is None:
                    continue
                entry = {
                    "name": name,
                    "version": int(version),
                    "alias": "candidate" if on_candidate else "champion",
                    "manifest": self.manifest(name, int(version)),
                    "rollback": self.rollback_for(name, int(version)),
                }
                models.append(entry)
            doc = {"site": site, "group": group, "root_version": self.roots()[-1], "models": models}
        etag = '"' + hashlib.sha256(canonical_json(doc)).hexdigest()[:32] + '"'
        return doc, etag

    # ---- inventory ---------------------------------------------------------------------
    def report(self, site: str, report: dict[str, Any]) -> None:
        """Keep a site's status report (what it runs, deployment states, metrics)."""
        if not _SITE.match(site):
            raise RegistryError(f"bad site id {site!r}")
        report = dict(report)
        report["site"] = site
        report["received"] = time.time()
        atomic_write(self.home / "sites" / f"{site}.json", json.dumps(report).encode())

    def site_report(self, site: str) -> dict[str, Any] | None:
        r = _read_json(self.home / "sites" / f"{site}.json", None)
        return dict(r) if r is not None else None

    def inventory(self) -> list[dict[str, Any]]:
        """The last report of every site: its models (name, version, digest, since, state)."""
        d = self.home / "sites"
        reports = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(d.glob("*.json"))]
        return reports if d.is_dir() else []
