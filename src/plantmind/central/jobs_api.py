"""The hub's job routes: submit a compliance check or a message check, follow its progress,
fetch its result and its files. Submitting needs an operator token, reading a viewer token.

Files travel inside the JSON body, base64-encoded (``{"name": ..., "content_b64": ...}``), so
no multipart parser is needed and a submission is one request that is accepted whole or not
at all.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from plantmind.central.jobs import JobError, JobRunner
from plantmind.core.auth import OperatorDep, ViewerDep

__all__ = ["jobs_api"]

MAX_FILE_BYTES = 200 * 2**20

jobs_api = APIRouter(prefix="/api/jobs", tags=["jobs"])


class UploadedFile(BaseModel):
    name: str = Field(min_length=1, max_length=255, description="File name, with its suffix.")
    content_b64: str = Field(description="The file's bytes, base64-encoded.")


class ComplySubmission(BaseModel):
    standard: UploadedFile = Field(description="The standard or regulation (PDF, md, txt).")
    procedures: list[UploadedFile] = Field(
        min_length=1, description="The plant's procedures to check against it."
    )


class LanguageSubmission(BaseModel):
    message: str = Field(min_length=1, max_length=200_000)
    spec: dict[str, Any] | None = Field(default=None, description="The specification (items).")
    glossary_csv: str | None = Field(default=None, description="Glossary CSV text.")
    locale: str | None = Field(default=None, description="The sender's locale, e.g. de-DE.")


def _runner(request: Request) -> JobRunner:
    runner = getattr(request.app.state, "jobs", None)
    if runner is None:
        raise HTTPException(503, "this hub runs without a job runner")
    return runner


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in (".", ".."):
        raise HTTPException(422, f"bad file name {name!r}")
    return base


def _decode(f: UploadedFile) -> bytes:
    try:
        data = base64.b64decode(f.content_b64, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422, f"{f.name}: content_b64 is not valid base64") from None
    if not data:
        raise HTTPException(422, f"{f.name}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise HTTPException(413, f"{f.name}: over {MAX_FILE_BYTES} bytes")
    return data


@jobs_api.post("/comply", status_code=202)
async def submit_comply(
    body: ComplySubmission, request: Request, who: OperatorDep
) -> dict[str, Any]:
    """Check a standard against procedures; answers with the job id to follow."""
    runner = _runner(request)
    files = {f"standard/{_safe_name(body.standard.name)}": _decode(body.standard)}
    for p in body.procedures:
        key = f"procedures/{_safe_name(p.name)}"
        if key in files:
            raise HTTPException(422, f"two procedures named {p.name!r}")
        files[key] = _decode(p)
    params = {"standard": _safe_name(body.standard.name)}
    job_id = await run_in_threadpool(
        runner.submit, "comply.check", params, files, submitted_by=who.label or who.token_id
    )
    return {"id": job_id, "status": "queued", "url": f"/api/jobs/{job_id}"}


@jobs_api.post("/language", status_code=202)
async def submit_language(
    body: LanguageSubmission, request: Request, who: OperatorDep
) -> dict[str, Any]:
    """Check a supplier or regional message (against a spec and glossary when given)."""
    runner = _runner(request)
    try:
        job_id = await run_in_threadpool(
            runner.submit,
            "language.check",
            body.model_dump(),
            None,
            submitted_by=who.label or who.token_id,
        )
    except JobError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"id": job_id, "status": "queued", "url": f"/api/jobs/{job_id}"}


@jobs_api.get("")
async def list_jobs(
    request: Request,
    who: ViewerDep,
    kind: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Jobs, newest first, without their results."""
    runner = _runner(request)
    return await run_in_threadpool(lambda: runner.store.list(kind=kind, status=status, limit=limit))


@jobs_api.get("/{job_id}")
async def get_job(job_id: str, request: Request, who: ViewerDep) -> dict[str, Any]:
    """One job: status (queued, running, done, failed), progress, result when done, error
    when failed, and the names of its result files."""
    runner = _runner(request)
    job = await run_in_threadpool(runner.store.get, job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return job


@jobs_api.get("/{job_id}/files/{name:path}")
async def get_job_file(job_id: str, name: str, request: Request, who: ViewerDep) -> FileResponse:
    """A result file of a job (e.g. ``matrix.csv``, ``report.html``)."""
    runner = _runner(request)
    path = await run_in_threadpool(runner.store.file_path, job_id, name)
    if path is None:
        raise HTTPException(404, f"job {job_id!r} has no file {name!r}")
    return FileResponse(path)
