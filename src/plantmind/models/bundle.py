"""Air-gap bundles: ``plantmind models export --bundle FILE`` at the centre writes one tar
file with the trust chain, the chosen manifests with their rollback statements and every file
they name; ``plantmind models import FILE`` at the site takes it through exactly the checks
of a pull (:meth:`plantmind.models.agent.SiteModels.apply`).

The first member, ``bundle.json``, lists every other member with its size and SHA-256, so a
bundle cut short (even at a member boundary, where tar itself sees a clean end) is refused as
``truncated``, naming what is missing, before anything is installed.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from plantmind.models.agent import SiteModels
from plantmind.models.manifest import FileEntry, Manifest
from plantmind.models.registry import Registry
from plantmind.models.signing import TrustError, canonical_json

__all__ = ["export_bundle", "import_bundle", "read_bundle"]

FORMAT = 1


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


def export_bundle(registry: Registry, out: Path, models: list[tuple[str, int | None]]) -> Path:
    """Write a bundle of ``models`` ((name, version); version None: the newest) to ``out``."""
    members: dict[str, bytes] = {}
    for v in registry.roots():
        members[f"roots/{v}.json"] = canonical_json(registry.root_envelope(v))
    entries = []
    for name, version in models:
        versions = registry.versions(name)
        if not versions:
            raise ValueError(f"the registry has no model {name!r}")
        ver = versions[-1] if version is None else int(version)
        env = registry.manifest(name, ver)
        m = Manifest.from_signed(env["signed"])
        members[f"manifests/{name}/{ver}.json"] = canonical_json(env)
        rb = registry.rollback_for(name, ver)
        if rb is not None:
            members[f"rollbacks/{name}/{ver}.json"] = canonical_json(rb)
        for f in m.files:
            members[f"blobs/{f.sha256}"] = registry.blobs.read_bytes(f.sha256)
        entries.append({"name": name, "version": ver, "rollback": rb is not None})
    index = {
        "format": FORMAT,
        "created": time.time(),
        "models": entries,
        "members": {
            n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in members.items()
        },
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w") as tar:
        _add(tar, "bundle.json", json.dumps(index, indent=1).encode())
        for n, d in members.items():
            _add(tar, n, d)
    return out


def read_bundle(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The index and members of a bundle, each member checked against the index;
    :class:`TrustError` (``truncated``, ``bad-hash``, ``malformed``) otherwise."""
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                f = tar.extractfile(info)
                if f is None:
                    continue
                members[info.name] = f.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise TrustError(
            "truncated", f"{path}: the bundle is cut short or damaged ({exc})"
        ) from None
    if "bundle.json" not in members:
        raise TrustError("truncated", f"{path}: no bundle.json (cut short, or not a bundle)")
    try:
        index = json.loads(members.pop("bundle.json"))
        listed = dict(index["members"])
    except (ValueError, KeyError, TypeError):
        raise TrustError("malformed", f"{path}: bundle.json is not a bundle index") from None
    for name, meta in listed.items():
        data = members.get(name)
        if data is None:
            raise TrustError(
                "truncated", f"{path}: the bundle is cut short ({name} and maybe more missing)"
            )
        if len(data) != meta["size"] or hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise TrustError("bad-hash", f"{path}: {name} does not match the bundle's index")
    extra = set(members) - set(listed)
    if extra:
        raise TrustError("malformed", f"{path}: members not in the index: {sorted(extra)[:3]}")
    return index, members


def import_bundle(path: Path, site: SiteModels) -> list[dict[str, Any]]:
    """Install a bundle at a site with the checks of a pull; one row per model: name,
    version, ``ok`` and, when refused, the reason."""
    index, members = read_bundle(path)
    roots = sorted(int(n[6:-5]) for n in members if n.startswith("roots/"))
    for v in roots:
        if v > site.root.version:
            site.update_root(json.loads(members[f"roots/{v}.json"]))
    out = []
    for e in index["models"]:
        name, ver = str(e["name"]), int(e["version"])
        env = json.loads(members[f"manifests/{name}/{ver}.json"])
        rb_name = f"rollbacks/{name}/{ver}.json"
        rb = json.loads(members[rb_name]) if rb_name in members else None

        def fetch(f: FileEntry) -> None:
            data = members.get(f"blobs/{f.sha256}")
            if data is None:
                raise TrustError("missing-file", f"the bundle lacks {f.path}")
            if site.blobs.put_bytes(data) != f.sha256:  # the store keys by content
                raise TrustError("bad-hash", f"{f.path} does not match its SHA-256")

        ok = site.apply(env, rb, fetch)
        row: dict[str, Any] = {"name": name, "version": ver, "ok": ok}
        if not ok and site.refusals:
            row["reason"] = site.refusals[-1]["message"]
        out.append(row)
    return out
