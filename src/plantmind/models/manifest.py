"""Model manifests and rollback statements: what a model version is, and the checks a site
makes before it uses one.

A manifest (signed by the targets role, see :mod:`.signing`) names a model version::

    {"type": "manifest", "name": "line1-detector", "kind": "detector", "version": 3,
     "created": 1.7e9, "expires": 1.8e9, "compat": {"plantmind": ">=0.1"},
     "metrics": {...}, "data_fingerprint": "sha256:...",
     "files": [{"path": "settings.json", "sha256": "...", "size": 123}, ...],
     "golden": {"path": "golden.json", "tolerance": 1e-6}}

``version`` only increases per name: a site keeps the highest version it ever accepted (its
high-water mark) and refuses an older one, unless a **rollback statement** signed by the
targets role allows it (``{"type": "rollback", "name", "from_version", "floor",
"expires"}``: from ``from_version`` back to any version ≥ ``floor``). The publisher signs one
with each new version, so the hub can roll back automatically without holding a key.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantmind.models.signing import SigningKey, TrustedRoot, TrustError, sign_envelope

__all__ = [
    "KINDS",
    "FileEntry",
    "Manifest",
    "build_manifest",
    "build_rollback",
    "check_files",
    "check_manifest",
    "check_rollback",
    "sha256_file",
]

KINDS: tuple[str, ...] = (
    "detector",
    "health",
    "vision-station",
    "embedder",
    "llm-base",
    "llm-adapter",
    "routing-policy",
)

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
# no component starts with a dot: no "..", no hidden files, nothing outside the version
_PATH = re.compile(
    r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}(/[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}){0,8}$"
)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class FileEntry:
    """One file of a model version: its path inside the version, SHA-256 and size."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """The signed fields of a manifest, checked for shape (:meth:`from_signed`)."""

    name: str
    kind: str
    version: int
    expires: float
    files: tuple[FileEntry, ...]
    golden: dict[str, Any] | None
    doc: dict[str, Any]

    @property
    def digest(self) -> str:
        """The version's identity: SHA-256 over its files' sorted (path, sha256) pairs."""
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda e: e.path):
            h.update(f"{f.path}\0{f.sha256}\n".encode())
        return h.hexdigest()

    @classmethod
    def from_signed(cls, doc: dict[str, Any]) -> Manifest:
        try:
            if doc.get("type") != "manifest":
                raise ValueError("type is not 'manifest'")
            name, kind = str(doc["name"]), str(doc["kind"])
            if not _NAME.match(name):
                raise ValueError(f"bad name {name!r}")
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}")
            version = doc["version"]
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise ValueError("version must be a positive integer")
            files = []
            for e in doc["files"]:
                path, sha, size = str(e["path"]), str(e["sha256"]), e["size"]
                if not _PATH.match(path) or path == "manifest.json":  # the site keeps that name
                    raise ValueError(f"bad file path {path!r}")
                if not _SHA.match(sha) or not isinstance(size, int) or size < 0:
                    raise ValueError(f"bad hash or size for {path!r}")
                files.append(FileEntry(path, sha, size))
            if not files or len({f.path for f in files}) != len(files):
                raise ValueError("files must be non-empty and distinct")
            golden = doc.get("golden")
            if golden is not None and golden.get("path") not in {f.path for f in files}:
                raise ValueError("golden.path is not one of the files")
            return cls(name, kind, version, float(doc["expires"]), tuple(files), golden, doc)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise TrustError("malformed", f"manifest: {exc}") from None


def build_manifest(
    name: str,
    kind: str,
    version: int,
    files: dict[str, Path],
    keys: list[SigningKey],
    *,
    expires_s: float = 365 * 86400,
    golden: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    compat: dict[str, Any] | None = None,
    data_fingerprint: str = "",
    now: float | None = None,
) -> dict[str, Any]:
    """A signed manifest over ``files`` (path inside the version → file on disk)."""
    now = time.time() if now is None else now
    doc: dict[str, Any] = {
        "type": "manifest",
        "name": name,
        "kind": kind,
        "version": int(version),
        "created": now,
        "expires": now + expires_s,
        "compat": compat or {},
        "metrics": metrics or {},
        "data_fingerprint": data_fingerprint,
        "files": [
            {"path": p, "sha256": sha256_file(f), "size": Path(f).stat().st_size}
            for p, f in sorted(files.items())
        ],
    }
    if golden is not None:
        doc["golden"] = golden
    Manifest.from_signed(doc)  # refuse a shape the sites would refuse
    return sign_envelope(doc, keys)


def build_rollback(
    name: str,
    from_version: int,
    floor: int,
    keys: list[SigningKey],
    *,
    expires_s: float = 365 * 86400,
    now: float | None = None,
) -> dict[str, Any]:
    """A signed statement letting sites go back from ``from_version`` to any version ≥
    ``floor`` of model ``name``."""
    now = time.time() if now is None else now
    doc = {
        "type": "rollback",
        "name": name,
        "from_version": int(from_version),
        "floor": int(floor),
        "expires": now + expires_s,
    }
    return sign_envelope(doc, keys)


def check_manifest(
    root: TrustedRoot,
    envelope: Any,
    *,
    high_water: int = 0,
    rollback: Any = None,
    now: float | None = None,
) -> Manifest:
    """The manifest of ``envelope`` once it is signed by the targets role, not expired and
    not older than ``high_water`` (the highest version of its name this site accepted), or
    older but covered by a valid signed ``rollback`` statement; :class:`TrustError`
    otherwise."""
    now = time.time() if now is None else now
    signed = root.verify(envelope, "targets", "manifest")
    m = Manifest.from_signed(signed)
    if m.expires < now:
        raise TrustError("expired", f"{m.name} v{m.version} expired {now - m.expires:.0f} s ago")
    if m.version < high_water:
        if rollback is None:
            raise TrustError(
                "rollback",
                f"{m.name} v{m.version} is older than v{high_water}, already accepted here, "
                "and no signed rollback allows it",
            )
        check_rollback(root, rollback, m.name, m.version, high_water, now=now)
    return m


def check_rollback(
    root: TrustedRoot,
    envelope: Any,
    name: str,
    to_version: int,
    high_water: int,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """The signed rollback statement if it lets ``name`` go from ``high_water`` back to
    ``to_version``; :class:`TrustError` naming why not otherwise."""
    now = time.time() if now is None else now
    st = root.verify(envelope, "targets", "rollback statement")
    if st.get("type") != "rollback" or st.get("name") != name:
        raise TrustError("rollback", f"the rollback statement is not one for {name}")
    if float(st.get("expires", 0)) < now:
        raise TrustError("expired", f"the rollback statement for {name} has expired")
    if int(st["from_version"]) < high_water or not int(st["floor"]) <= to_version:
        raise TrustError(
            "rollback",
            f"the signed rollback of {name} covers v{st['from_version']} → ≥v{st['floor']}, "
            f"not v{high_water} → v{to_version}",
        )
    return st


def check_files(m: Manifest, paths: dict[str, Path] | Iterable[tuple[str, Path]]) -> None:
    """Every file of ``m`` present with its size and SHA-256; :class:`TrustError` otherwise."""
    got = dict(paths)
    for f in m.files:
        p = got.get(f.path)
        if p is None or not Path(p).is_file():
            raise TrustError("missing-file", f"{m.name} v{m.version}: {f.path} is missing")
        size = Path(p).stat().st_size
        if size != f.size:
            raise TrustError(
                "bad-size", f"{m.name} v{m.version}: {f.path} has {size} bytes, not {f.size}"
            )
        if sha256_file(Path(p)) != f.sha256:
            raise TrustError(
                "bad-hash", f"{m.name} v{m.version}: {f.path} does not match its SHA-256"
            )
