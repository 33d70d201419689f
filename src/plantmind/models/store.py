"""Content-addressed file stores: each file under ``<root>/sha256/<2 hex>/<64 hex>``.

:class:`ContentStore` keeps them in a local folder, written through a temporary file and an
atomic rename, so a crash never leaves a half-written blob under its name. The edge agent uses
it (``partial/`` holds resumable downloads), and so does the hub's registry by default.

:class:`FsspecBlobStore` keeps the hub's blobs in any `fsspec <https://filesystem-spec.readthedocs.io>`_
filesystem given by URL: ``s3://bucket/prefix`` (an S3-compatible store through ``s3fs``, extra
``[s3]``), ``memory://name`` (tests), ``gs://``… Credentials and endpoint come from the
filesystem's own configuration (for ``s3fs``: the AWS environment variables or files, or
fsspec's ``FSSPEC_S3_ENDPOINT_URL`` for a MinIO or Ceph endpoint), never from plantmind's files.
An object store makes a put visible whole or not at all (an S3 PUT or a completed multipart
upload), which is what the local store's rename gives. Uploads are staged and hashed in a
local ``partial`` folder first, so a blob is only ever stored under its own hash.

:func:`open_blob_store` picks one from a location: a URL with a scheme gives
:class:`FsspecBlobStore`, anything else a folder (:class:`ContentStore`)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Protocol

__all__ = [
    "BlobStore",
    "ContentStore",
    "FsspecBlobStore",
    "atomic_write",
    "is_url",
    "open_blob_store",
]

_SHA = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def _check(sha256: str) -> str:
    if not _SHA.match(sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return sha256


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is a URL (``scheme://…``) rather than a folder."""
    return isinstance(location, str) and bool(_URL.match(location))


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


class BlobStore(Protocol):
    """What the hub's registry and routes need of a content-addressed store."""

    partial: Path

    def check(self, sha256: str) -> str: ...
    def has(self, sha256: str) -> bool: ...
    def size(self, sha256: str) -> int: ...
    def open(self, sha256: str) -> IO[bytes]: ...
    def read_bytes(self, sha256: str) -> bytes: ...
    def local_path(self, sha256: str) -> Path | None: ...
    def put_bytes(self, data: bytes) -> str: ...
    def put_chunks(self, chunks: Iterable[bytes], expect: str | None = None) -> str: ...
    def put_file(self, src: Path) -> str: ...
    def adopt(self, tmp: Path, sha256: str) -> Any: ...
    def copy_out(self, sha256: str, dest: Path) -> None: ...
    def remove(self, sha256: str) -> None: ...


def _stage(partial: Path, chunks: Iterable[bytes]) -> tuple[Path, str]:
    """Write ``chunks`` to a new file under ``partial``, fsynced: (the file, its SHA-256)."""
    h = hashlib.sha256()
    tmp = partial / f"upload-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                h.update(c)
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest()


class ContentStore:
    """Files by SHA-256 under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)
        self.partial = self.root / "partial"
        self.partial.mkdir(exist_ok=True)

    def check(self, sha256: str) -> str:
        """``sha256`` if it is one (64 lower-case hex digits), else ValueError."""
        return _check(sha256)

    def path(self, sha256: str) -> Path:
        return self.root / "sha256" / _check(sha256)[:2] / sha256

    def local_path(self, sha256: str) -> Path | None:
        return self.path(sha256)

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        return self.path(sha256).stat().st_size

    def open(self, sha256: str) -> IO[bytes]:
        """The blob for reading (the caller closes it)."""
        return open(self.path(sha256), "rb")

    def read_bytes(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            atomic_write(self.path(sha), data)
        return sha

    def put_chunks(self, chunks: Iterable[bytes], expect: str | None = None) -> str:
        """Store a stream; with ``expect``, refuse (ValueError) a stream of another hash."""
        tmp, sha = _stage(self.partial, chunks)
        try:
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


class FsspecBlobStore:
    """Files by SHA-256 under ``url`` in an fsspec filesystem (see the module docstring);
    ``partial`` is a local folder where uploads are staged and hashed. ``options`` go to the
    filesystem (e.g. ``anon=True``); ImportError naming the extra without fsspec."""

    def __init__(self, url: str, partial: Path, **options: Any) -> None:
        try:
            import fsspec  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError(
                f"a blob store at {url} needs fsspec (and s3fs for s3://): "
                "pip install 'plantmind[s3]'"
            ) from None
        self.url = url.rstrip("/")
        self.fs, self.base = fsspec.core.url_to_fs(self.url, **options)
        self.base = str(self.base).rstrip("/")
        self.partial = Path(partial)
        self.partial.mkdir(parents=True, exist_ok=True)

    def check(self, sha256: str) -> str:
        return _check(sha256)

    def key(self, sha256: str) -> str:
        """The object's path inside the filesystem."""
        return f"{self.base}/sha256/{_check(sha256)[:2]}/{sha256}"

    def local_path(self, sha256: str) -> Path | None:
        _check(sha256)
        return None

    def has(self, sha256: str) -> bool:
        return bool(self.fs.exists(self.key(sha256)))

    def size(self, sha256: str) -> int:
        return int(self.fs.size(self.key(sha256)))

    def open(self, sha256: str) -> IO[bytes]:
        f: IO[bytes] = self.fs.open(self.key(sha256), "rb")
        return f

    def read_bytes(self, sha256: str) -> bytes:
        return bytes(self.fs.cat_file(self.key(sha256)))

    def _upload(self, src: Path, sha256: str) -> None:
        key = self.key(sha256)
        parent = key.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        self.fs.put_file(str(src), key)

    def put_bytes(self, data: bytes) -> str:
        return self.put_chunks([data])

    def put_chunks(self, chunks: Iterable[bytes], expect: str | None = None) -> str:
        """Store a stream (staged locally and hashed first); with ``expect``, refuse
        (ValueError) a stream of another hash."""
        tmp, sha = _stage(self.partial, chunks)
        try:
            if expect is not None and sha != expect:
                raise ValueError(f"content has SHA-256 {sha[:12]}…, not {expect[:12]}…")
            if not self.has(sha):
                self._upload(tmp, sha)
            return sha
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, src: Path) -> str:
        h = hashlib.sha256()
        with open(src, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        sha = h.hexdigest()
        if not self.has(sha):
            self._upload(Path(src), sha)
        return sha

    def adopt(self, tmp: Path, sha256: str) -> str:
        """Upload a local file already checked to hash ``sha256``, then remove it."""
        try:
            if not self.has(sha256):
                self._upload(tmp, sha256)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return self.key(sha256)

    def copy_out(self, sha256: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.fs.get_file(self.key(sha256), str(dest))

    def remove(self, sha256: str) -> None:
        key = self.key(sha256)
        if self.fs.exists(key):
            self.fs.rm_file(key)


def open_blob_store(location: str | Path, partial: Path, **options: Any) -> BlobStore:
    """:class:`FsspecBlobStore` for a URL, else :class:`ContentStore` in the folder."""
    if is_url(location):
        return FsspecBlobStore(str(location), partial, **options)
    return ContentStore(Path(location))
