"""Token management over the hub's HTTP API, for admins: list, create, revoke, and the audit
log of those actions.

``GET /api/tokens`` lists tokens (never their hashes or secrets), ``POST /api/tokens`` creates
one and returns its secret once, ``DELETE /api/tokens/{id}`` revokes one, and
``GET /api/tokens/audit`` reads the audit log. Every one of these requests, refused revokes
included, appends a row to the audit table (``<home>/token_audit.db``, owner
``central.token_audit``): when, which admin token, what, on which token. Rows are only ever
inserted, so the log shows who could write to the hub at any time.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from plantmind.core.auth import AdminDep, Principal, TokenStore
from plantmind.store.sqlite import connect

__all__ = ["AUDIT_FILE", "MIGRATIONS", "TokenAudit", "tokens_api"]

AUDIT_FILE = "token_audit.db"

# The audit table's migrations (plantmind.store.sqlite, owner "central.token_audit"):
# append-only.
MIGRATIONS: list[str] = [
    """
CREATE TABLE IF NOT EXISTS token_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL, detail TEXT NOT NULL
);
""",
]

Action = Literal["list", "create", "revoke"]


class TokenAudit:
    """The append-only log of token management on the hub (``<home>/token_audit.db``)."""

    def __init__(self, home: Path) -> None:
        self._lock = threading.Lock()
        # check_same_thread=False: the API's worker threads share it, behind self._lock
        self._db = connect(
            Path(home) / AUDIT_FILE,
            isolation_level="",
            check_same_thread=False,
            busy_timeout_s=30,
            migrations={"central.token_audit": MIGRATIONS},
        )

    def record(
        self,
        actor: Principal,
        action: Action,
        target: str | None = None,
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one row; ``detail`` must hold no secret (role, label, site only)."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO token_audit (ts, actor, action, target, outcome, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), actor.token_id, action, target, outcome, json.dumps(detail or {})),
            )

    def rows(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` rows, newest first."""
        with self._lock:
            cur = self._db.execute(
                "SELECT id, ts, actor, action, target, outcome, detail FROM token_audit "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            )
            return [
                {
                    "id": r[0],
                    "ts": r[1],
                    "actor": r[2],
                    "action": r[3],
                    "target": r[4],
                    "outcome": r[5],
                    "detail": json.loads(r[6]),
                }
                for r in cur.fetchall()
            ]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class TokenRequest(BaseModel):
    """A token to create: its role, what it is for, and the site it may write for."""

    role: Literal["viewer", "operator", "engineer", "admin"] = "viewer"
    label: str = Field(default="", max_length=200)
    site: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="Bind the token to this site: the hub stores batches sent with it only "
        "for this site.",
    )


tokens_api = APIRouter(prefix="/api/tokens", tags=["tokens"])


def _parts(request: Request) -> tuple[TokenStore, TokenAudit]:
    audit: TokenAudit | None = getattr(request.app.state, "token_audit", None)
    if audit is None:  # an app built without an audit log must not manage tokens unlogged
        raise HTTPException(503, "token management is not enabled on this hub")
    return request.app.state.tokens, audit


@tokens_api.get("")
async def list_tokens(request: Request, who: AdminDep) -> list[dict[str, Any]]:
    """Every token: id, role, label, bound site, creation time (never a secret or hash)."""
    tokens, audit = _parts(request)

    def run() -> list[dict[str, Any]]:
        rows = tokens.list()
        audit.record(who, "list", detail={"count": len(rows)})
        return rows

    return await run_in_threadpool(run)


@tokens_api.post("", status_code=201)
async def create_token(body: TokenRequest, request: Request, who: AdminDep) -> dict[str, Any]:
    """Create a token; the answer holds its secret (``token``), shown this once only."""
    tokens, audit = _parts(request)

    def run() -> dict[str, Any]:
        secret = tokens.create(body.role, label=body.label, site=body.site)
        token_id = secret.split("_", 2)[1]
        info = {"role": body.role, "label": body.label, "site": body.site}
        audit.record(who, "create", token_id, detail=info)
        return {"id": token_id, "token": secret, **info}

    try:
        return await run_in_threadpool(run)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@tokens_api.delete("/{token_id}")
async def revoke_token(token_id: str, request: Request, who: AdminDep) -> dict[str, Any]:
    """Revoke a token by its id; 404 if there is none (the attempt is logged all the same)."""
    tokens, audit = _parts(request)

    def run() -> dict[str, Any] | None:
        entry = tokens.get(token_id)
        if entry is None or not tokens.revoke(token_id):
            audit.record(who, "revoke", token_id, outcome="not_found")
            return None
        info = {k: entry[k] for k in ("role", "label", "site")}
        audit.record(who, "revoke", token_id, detail=info)
        return {"revoked": token_id, **info}

    out = await run_in_threadpool(run)
    if out is None:
        raise HTTPException(404, f"no token with id {token_id!r}")
    return out


@tokens_api.get("/audit")
async def token_audit(
    request: Request, who: AdminDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 200
) -> list[dict[str, Any]]:
    """The token audit log, newest first: when, actor token id, action, target, outcome."""
    _, audit = _parts(request)
    return await run_in_threadpool(audit.rows, limit)
