"""Bearer tokens with roles for the edge and hub APIs.

This module owns the token file (``<home>/tokens.json``), the roles and the FastAPI
dependencies that check them. A token is ``pm_<id>_<secret>`` with 256 random bits of secret;
only its SHA-256 is stored (a slow password hash buys nothing for a random 256-bit secret), so
reading the file does not give a usable token. The token is shown once, when created.

Roles are ordered, each including the ones below: viewer (read) < operator (acknowledge,
resolve, false alarm; sites pushing data to the hub) < engineer < admin. A request without a
valid token gets 401; a valid token whose role is too low gets 403. Tokens never appear in
logs: only their id (the part before the secret) is ever logged.

A token can be bound to one site (``create(..., site="riverside")``): the hub then stores
batches sent with it only for that site (:data:`SiteWriterDep`). A site-less operator token is
still accepted as a site writer, for the tokens made before binding existed, with a warning
logged once per token; a site-less engineer or admin token is not a site writer.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

__all__ = [
    "AdminDep",
    "EngineerDep",
    "OperatorDep",
    "Principal",
    "Role",
    "SiteWriterDep",
    "TokenStore",
    "ViewerDep",
    "require_role",
    "require_site_writer",
]

log = logging.getLogger(__name__)

TOKEN_FILE = "tokens.json"

# The plant model's identifier rule (plantmind.core.plant.Identifier), repeated here so that
# this module, which every API imports, does not pull in the plant model and numpy.
_SITE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


class Role(enum.IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ENGINEER = 3
    ADMIN = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            names = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"unknown role {name!r}; choose one of {names}") from None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the token's id, role, label and bound site (never the secret).
    ``site`` is None for a token not bound to a site."""

    token_id: str
    role: Role
    label: str
    site: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """The hashed tokens of one node or hub, in ``path`` (conventionally
    ``<home>/tokens.json``). Re-read when the file changes, so a token created with
    ``plantmind token create`` works on a running service without a restart."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._entries: dict[str, dict[str, object]] = {}
        # ids of site-less operator tokens already warned about: once per token, not per batch
        self._warned_unbound: set[str] = set()

    @classmethod
    def in_home(cls, home: str | Path) -> TokenStore:
        return cls(Path(home) / TOKEN_FILE)

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._entries, self._mtime = {}, None
            return self._entries
        if mtime != self._mtime:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            self._entries = dict(data.get("tokens", {}))
            self._mtime = mtime
        return self._entries

    def create(self, role: Role | str, label: str = "", site: str | None = None) -> str:
        """Make a new token with ``role``, bound to ``site`` if given (a site id as in
        plant.yaml); returns it (the only time it is visible). Raises ``ValueError`` for an
        unknown role or a malformed site id."""
        role = Role.parse(role) if isinstance(role, str) else Role(role)
        if site is not None and not _SITE_ID.match(site):
            raise ValueError(
                f"site id {site!r} must be 1-128 letters, digits or _ . : - (as in plant.yaml)"
            )
        token_id = secrets.token_hex(4)
        token = f"pm_{token_id}_{secrets.token_urlsafe(32)}"
        with self._lock:
            entries = dict(self._load())
            entries[token_id] = {
                "sha256": _digest(token),
                "role": role.name.lower(),
                "label": label,
                "site": site,
                "created_at": time.time(),
            }
            self._write(entries)
        log.info(
            "created %s token %s%s",
            role.name.lower(),
            token_id,
            f" for site {site}" if site else "",
        )
        return token

    def get(self, token_id: str) -> dict[str, object] | None:
        """One token's entry as :meth:`list` shows it (no hash), or None if unknown."""
        return next((t for t in self.list() if t["id"] == token_id), None)

    def revoke(self, token_id: str) -> bool:
        with self._lock:
            entries = dict(self._load())
            if entries.pop(token_id, None) is None:
                return False
            self._write(entries)
            return True

    def list(self) -> list[dict[str, object]]:
        """Token ids with role, label, bound site (None if none) and creation time (no
        hashes)."""
        with self._lock:
            return [
                {
                    "id": k,
                    "role": v["role"],
                    "label": v.get("label", ""),
                    # files written before site binding have no "site": such tokens are unbound
                    "site": v.get("site"),
                    "created_at": v.get("created_at"),
                }
                for k, v in sorted(self._load().items())
            ]

    def _write(self, entries: dict[str, dict[str, object]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        # Owner-only from the first byte, then an atomic rename: a crash never leaves a
        # half-written token file, and other users never see the hashes.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "tokens": entries}, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._mtime = None

    def verify(self, token: str) -> Principal | None:
        """The principal of ``token``, or None if it is unknown or malformed."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "pm":
            return None
        with self._lock:
            entry = self._load().get(parts[1])
        if entry is None:
            return None
        if not hmac.compare_digest(str(entry["sha256"]), _digest(token)):
            return None
        site = entry.get("site")
        return Principal(
            parts[1],
            Role.parse(str(entry["role"])),
            str(entry.get("label", "")),
            str(site) if site else None,
        )

    def warn_unbound_once(self, principal: Principal) -> None:
        """Log, once per token, that a site-less token pushed a batch (accepted for backward
        compatibility; it could write any site's data)."""
        with self._lock:
            if principal.token_id in self._warned_unbound:
                return
            self._warned_unbound.add(principal.token_id)
        log.warning(
            "token %s (%s) sends batches but is not bound to a site, so it could write any "
            "site's data; replace it with `plantmind token create --role operator --site ID`",
            principal.token_id,
            principal.label or "no label",
        )


_bearer = HTTPBearer(auto_error=False, description="A plantmind token: `plantmind token create`.")


def require_role(role: Role):
    """A FastAPI dependency that admits tokens of ``role`` or higher. The app must hold its
    :class:`TokenStore` in ``app.state.tokens``."""

    async def check(
        request: Request,
        cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        store: TokenStore = request.app.state.tokens
        principal = store.verify(cred.credentials) if cred is not None else None
        if principal is None:
            raise HTTPException(
                401,
                "a valid bearer token is required (create one with `plantmind token create`)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if principal.role < role:
            raise HTTPException(
                403,
                f"this needs the {role.name.lower()} role; the token has {principal.role.name.lower()}",
            )
        return principal

    check.__name__ = f"require_{role.name.lower()}"
    return check


async def require_site_writer(
    request: Request, principal: Annotated[Principal, Depends(require_role(Role.OPERATOR))]
) -> Principal:
    """A FastAPI dependency for the routes that store a site's batches: an operator (or higher)
    token bound to a site, or, for backward compatibility, a site-less operator token (warned
    about once). A site-less engineer or admin token is refused with 403: a person's token is
    not a site's. The route must still check that the batch's site is ``principal.site``."""
    if principal.site is not None:
        return principal
    if principal.role == Role.OPERATOR:
        store: TokenStore = request.app.state.tokens
        store.warn_unbound_once(principal)
        return principal
    raise HTTPException(
        403,
        f"an {principal.role.name.lower()} token not bound to a site cannot send batches; "
        "use the site's token (`plantmind token create --role operator --site ID`)",
    )


ViewerDep = Annotated[Principal, Depends(require_role(Role.VIEWER))]
OperatorDep = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
EngineerDep = Annotated[Principal, Depends(require_role(Role.ENGINEER))]
AdminDep = Annotated[Principal, Depends(require_role(Role.ADMIN))]
SiteWriterDep = Annotated[Principal, Depends(require_site_writer)]
