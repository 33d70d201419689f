"""A content-addressed file store in a local folder: each file under
``<root>/sha256/<2 hex>/<64 hex>``, written through a temporary file and an atomic rename, so a
crash never leaves a half-written blob under its name. Used by the hub's registry and by the
edge agent (where ``partial/`` holds resumable downloads)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ContentStore", "atomic_write"]

_SHA = re.compile(r"^[0-9a-f]{64}$")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ContentStore:
    """Files by SHA-256 under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)
        self.partial = self.root / "partial"
        self.partial.mkdir(exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not _SHA.match(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            atomic_write(self.path(sha), data)
        return sha

    def put_chunks(self, chunks: Iterable[bytes], expect: str | None = None) -> str:
        """Store a stream; with ``expect``, refuse (ValueError) a stream of another hash."""
        h = hashlib.sha256()
        tmp = self.partial / f"upload-{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as f:
                for c in chunks:
                    h.update(c)
                    f.write(c)
                f.flush()
                os.fsync(f.fileno())
            sha = h.hexdigest()
            if expect is not None and sha != expect:
                raise ValueError(f"content has SHA-256 {sha[:12]}…, not {expect[:12]}…")
            dest = self.path(sha)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
            return sha
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, src: Path) -> str:
        with open(src, "rb") as f:
            return self.put_chunks(iter(lambda: f.read(1 << 20), b""))

    def adopt(self, tmp: Path, sha256: str) -> Path:
        """Move a file already checked to hash ``sha256`` into the store."""
        dest = self.path(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        return dest

    def copy_out(self, sha256: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path(sha256), dest)

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)
