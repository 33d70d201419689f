"""The hub's model routes (:mod:`plantmind.models`): publish signed model versions, list
them, deploy them to sites in stages and roll them back; each site's desired state (with an
ETag, polled by the site's agent), resumable file downloads (HTTP Range) and the sites' status
and inventory reports.

Publishing and deploying need an engineer token; a site reads its desired state and files
with its own token (a token bound to another site gets 403) and reports with a site-writer
token; reading lists needs a viewer token. The registry is ``app.state.models`` (a
:class:`~plantmind.models.registry.Registry`) with its controller ``app.state.rollout``; a hub
without one answers 503.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from plantmind.core.auth import EngineerDep, Principal, SiteWriterDep, ViewerDep
from plantmind.models.registry import DEFAULT_GROUP, Registry, RegistryError
from plantmind.models.rollout import Gate, RolloutController

__all__ = ["MAX_BLOB_BYTES", "attach_models", "models_api"]

MAX_BLOB_BYTES = 256 * 2**30

models_api = APIRouter(tags=["models"])


def attach_models(app: Any, registry: Registry, *, tick_s: float = 1.0) -> RolloutController:
    """Serve ``registry`` from ``app`` (a hub app) with a rollout controller ticking every
    ``tick_s`` (0: only on site reports)."""
    ctl = RolloutController(registry)
    app.state.models = registry
    app.state.rollout = ctl
    if tick_s > 0:
        ctl.start(tick_s)
    return ctl


def _reg(request: Request) -> tuple[Registry, RolloutController]:
    reg = getattr(request.app.state, "models", None)
    if reg is None:
        raise HTTPException(
            503,
            "this hub runs without a model registry: make one with "
            "`plantmind models init --root root.json --home HUB_HOME` and restart the hub",
        )
    return reg, request.app.state.rollout


def _own_site(who: Principal, site: str) -> None:
    if who.site is not None and who.site != site:
        raise HTTPException(403, f"this token is bound to site {who.site!r}, not {site!r}")


async def _call(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return await run_in_threadpool(fn, *args, **kw)
    except RegistryError as exc:
        raise HTTPException(exc.status, str(exc)) from None


class PublishRequest(BaseModel):
    manifest: dict[str, Any] = Field(description="The signed manifest envelope.")
    rollback: dict[str, Any] | None = Field(
        default=None, description="The signed rollback statement from this version."
    )


class DeployRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    sites: list[str] = Field(min_length=1)
    canary: int = Field(default=1, ge=0)
    bake_s: float = Field(default=60.0, ge=0)
    batch: int = Field(default=0, ge=0, description="Sites per step after the bake (0: all).")
    group: str = DEFAULT_GROUP
    activate_timeout_s: float = Field(default=300.0, gt=0)
    max_failures: int = Field(default=0, ge=0)
    gate: dict[str, Any] | None = Field(default=None, description="Gate fields to change.")


class RollbackRequest(BaseModel):
    name: str
    group: str = DEFAULT_GROUP
    to_version: int | None = None
    statement: dict[str, Any] | None = Field(default=None, description="A signed rollback.")


@models_api.put("/api/models/blobs/{sha256}", status_code=201)
async def put_blob(sha256: str, request: Request, who: EngineerDep) -> dict[str, Any]:
    """Upload one file of a model version, streamed to disk (a language model's gigabytes
    are never held in memory); refused (422) unless its SHA-256 is ``sha256``."""
    reg, _ = _reg(request)
    sha256 = sha256.lower()
    try:
        reg.blobs.check(sha256)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if await run_in_threadpool(reg.blobs.has, sha256):  # a network round trip with s3fs
        return {"sha256": sha256, "stored": "already"}
    tmp = reg.blobs.partial / f"upload-{uuid.uuid4().hex}"
    h = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BLOB_BYTES:
                    raise HTTPException(413, f"file larger than {MAX_BLOB_BYTES // 2**30} GiB")
                h.update(chunk)
                out.write(chunk)
            out.flush()
            await run_in_threadpool(os.fsync, out.fileno())
        if h.hexdigest() != sha256:
            raise HTTPException(422, f"the upload has SHA-256 {h.hexdigest()}, not {sha256}")
        await run_in_threadpool(reg.blobs.adopt, tmp, sha256)
    finally:
        tmp.unlink(missing_ok=True)
    return {"sha256": sha256, "size": size}


@models_api.post("/api/models", status_code=201)
async def publish(body: PublishRequest, request: Request, who: EngineerDep) -> dict[str, Any]:
    """Register a signed manifest whose files are uploaded (409 names the missing ones)."""
    reg, _ = _reg(request)
    m = await _call(reg.publish, body.manifest, body.rollback)
    return {"name": m.name, "version": m.version, "digest": m.digest}


@models_api.get("/api/models")
async def list_models(request: Request, who: ViewerDep) -> list[dict[str, Any]]:
    """Every model with its versions and aliases (champion, candidate) per site group."""
    reg, _ = _reg(request)
    return list(await _call(reg.listing))


@models_api.get("/api/models/inventory")
async def inventory(request: Request, who: ViewerDep) -> list[dict[str, Any]]:
    """What each site last reported running: name, version, digest, since, state."""
    reg, _ = _reg(request)
    return list(await _call(reg.inventory))


@models_api.get("/api/models/deployments")
async def deployments(
    request: Request, who: ViewerDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[dict[str, Any]]:
    """Deployments, newest first, with their state and reason."""
    _, ctl = _reg(request)
    await _call(ctl.tick)
    return list(await _call(ctl.deployments, limit))


@models_api.post("/api/models/deployments", status_code=201)
async def deploy(body: DeployRequest, request: Request, who: EngineerDep) -> dict[str, Any]:
    """Start a staged rollout: canary, bake with the health gate, then the rest."""
    _, ctl = _reg(request)
    try:
        gate = Gate(**body.gate) if body.gate else None
    except TypeError as exc:
        raise HTTPException(422, f"bad gate: {exc}") from None
    kw = {"canary": body.canary, "bake_s": body.bake_s, "batch": body.batch,
          "group": body.group, "gate": gate, "activate_timeout_s": body.activate_timeout_s,
          "max_failures": body.max_failures}  # fmt: skip
    return dict(await _call(ctl.deploy, body.name, body.version, body.sites, **kw))


@models_api.post("/api/models/rollback")
async def rollback(body: RollbackRequest, request: Request, who: EngineerDep) -> dict[str, Any]:
    """Stop a rollout in progress, or make an earlier version the champion again."""
    reg, ctl = _reg(request)
    if body.statement is not None:
        await _call(reg.add_rollback, body.statement)
    return {"result": await _call(ctl.rollback, body.name, body.group, body.to_version)}


@models_api.get("/api/models/roots/{version}")
async def root(version: int, request: Request, who: ViewerDep) -> dict[str, Any]:
    """Root ``version`` of the trust chain (sites walk it one version at a time)."""
    reg, _ = _reg(request)
    return dict(await _call(reg.root_envelope, version))


@models_api.post("/api/models/roots", status_code=201)
async def add_root(envelope: dict[str, Any], request: Request, who: EngineerDep) -> dict[str, Any]:
    """Add the next root (key rotation): signed by the current root keys and its own."""
    reg, _ = _reg(request)
    return {"version": await _call(reg.add_root, envelope)}


@models_api.get("/api/models/blobs/{sha256}")
async def get_blob(sha256: str, request: Request, who: ViewerDep) -> Response:
    """One file by SHA-256; honours one ``Range: bytes=a-[b]`` or ``bytes=-n`` (206), so a
    cut download resumes; 416 (with ``Content-Range: bytes */size``) for a range past the
    end, ``start > end`` or ``bytes=-0``; any other Range (several ranges, another unit, not
    a byte range) is ignored and the whole file sent (RFC 9110 §14.2). A blob in a local
    folder and one at a URL answer alike."""
    reg, _ = _reg(request)
    sha256 = sha256.lower()
    try:
        path = reg.blobs.local_path(sha256)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    header = request.headers.get("range")
    if path is not None:
        try:
            st = await run_in_threadpool(os.stat, path)
        except FileNotFoundError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            raise HTTPException(404, f"no file {sha256}")
        byte_range = _byte_range(header, st.st_size)
        return _LocalFile(path, byte_range, stat_result=st, media_type="application/octet-stream")
    # a blob store at a URL (fsspec): stream it
    if not await run_in_threadpool(reg.blobs.has, sha256):
        raise HTTPException(404, f"no file {sha256}")
    size = await run_in_threadpool(reg.blobs.size, sha256)
    byte_range = _byte_range(header, size)
    start, end = byte_range if byte_range is not None else (0, size)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start)}
    status = 200
    if byte_range is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(
        _read_range(reg, sha256, start, end), status_code=status, headers=headers,
        media_type="application/octet-stream",
    )  # fmt: skip


# one range of bytes, ASCII digits only (no sign, "_", spaces or other scripts' digits)
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)
_HUGE = 1 << 62  # a number of more digits than any file's size needs


def _num(digits: str) -> int:
    """``digits`` as an int, saturated at ``_HUGE`` (no ValueError past int()'s digit limit)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _HUGE


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a ``Range: bytes=a-[b]`` or ``bytes=-n`` header for a file of
    ``size`` bytes; None to send the whole file (no Range, or one that is not a single byte
    range: RFC 9110 lets a server ignore it); 416 with ``Content-Range: bytes */size`` for
    an unsatisfiable range (start at or past the end, start after end, a suffix of 0 bytes,
    or any range of an empty file)."""
    if header is None:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None or m.group(1) == m.group(2) == "":
        return None
    first, last = m.groups()
    if first == "":  # the last N bytes
        n = _num(last)
        if n > 0 and size > 0:
            return max(0, size - n), size
    else:
        start = _num(first)
        end = min(size, _num(last) + 1) if last else size
        if start < size and (not last or _num(last) >= start):
            return start, end
    raise HTTPException(
        416, f"range {header!r} outside 0-{size}", {"Content-Range": f"bytes */{size}"}
    )


class _LocalFile(FileResponse):
    """A file from the local blob folder, sent whole (``byte_range`` None) or one range
    already checked by :func:`_byte_range`: Starlette's own Range handling only ever sees
    that range, so a local folder answers exactly as a store at a URL does."""

    def __init__(self, path: Path, byte_range: tuple[int, int] | None, **kw: Any) -> None:
        super().__init__(path, **kw)
        self.byte_range = byte_range

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"range"]
        if self.byte_range is not None:
            start, end = self.byte_range
            headers.append((b"range", f"bytes={start}-{end - 1}".encode()))
        await super().__call__({**scope, "headers": headers}, receive, send)


def _read_range(reg: Registry, sha256: str, start: int, end: int) -> Any:
    """The bytes ``[start, end)`` of a blob in 1 MiB chunks (a sync generator: Starlette
    runs it in its thread pool)."""
    with reg.blobs.open(sha256) as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(1 << 20, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


@models_api.get("/api/models/{name}/{version}")
async def show(name: str, version: int, request: Request, who: ViewerDep) -> dict[str, Any]:
    """The signed manifest of ``name`` v``version``."""
    reg, _ = _reg(request)
    return dict(await _call(reg.manifest, name, version))


@models_api.get("/api/sites/{site}/desired")
async def desired(site: str, request: Request, response: Response, who: ViewerDep) -> Any:
    """What ``site`` should run, with the signed manifests; 304 if ``If-None-Match`` holds
    the current ETag."""
    _own_site(who, site)
    reg, _ = _reg(request)
    doc, etag = await _call(reg.desired, site)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return doc


@models_api.post("/api/sites/{site}/models/status")
async def status(
    site: str, report: dict[str, Any], request: Request, who: SiteWriterDep
) -> dict[str, Any]:
    """A site's report: what it runs (name, version, digest, since, state, metrics), its
    deployments' states and its refusals. Moves the rollouts on."""
    _own_site(who, site)
    reg, ctl = _reg(request)
    await _call(reg.report, site, report)
    await _call(ctl.tick)
    return {"ok": True}
