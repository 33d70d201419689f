"""The hub's model routes from the publisher's side (``plantmind models ...`` and the
rollout bench): upload a version's files and its signed manifest, deploy, roll back, read
the registry, the deployments and the sites' inventory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from plantmind.models.manifest import Manifest

__all__ = ["HubClient", "HubError"]


class HubError(RuntimeError):
    """The hub refused a request; the message is its answer."""


class HubClient:
    """An engineer's (or viewer's) client of one hub."""

    def __init__(
        self, url: str, token: str, *, timeout_s: float = 60.0, transport: Any = None
    ) -> None:
        self.client = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ok(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            raise HubError(f"HTTP {r.status_code}: {detail}")
        return r.json() if r.content else None

    def publish(
        self,
        manifest: dict[str, Any],
        files: dict[str, Path],
        rollback: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Upload every file of ``manifest`` (from ``files``: path → file) and register it."""
        m = Manifest.from_signed(manifest["signed"])
        for f in m.files:
            path = Path(files[f.path])

            def chunks(path: Path = path) -> Iterator[bytes]:
                with open(path, "rb") as fh:
                    while block := fh.read(1 << 20):
                        yield block

            headers = {"Content-Length": str(path.stat().st_size)}
            r = self.client.put(f"/api/models/blobs/{f.sha256}", content=chunks(), headers=headers)
            self._ok(r)
        body = {"manifest": manifest, "rollback": rollback}
        return dict(self._ok(self.client.post("/api/models", json=body)))

    def deploy(self, name: str, version: int, sites: list[str], **kw: Any) -> dict[str, Any]:
        body = {"name": name, "version": version, "sites": sites, **kw}
        return dict(self._ok(self.client.post("/api/models/deployments", json=body)))

    def rollback(
        self,
        name: str,
        *,
        group: str = "default",
        to_version: int | None = None,
        statement: dict[str, Any] | None = None,
    ) -> str:
        body = {"name": name, "group": group, "to_version": to_version, "statement": statement}
        return str(self._ok(self.client.post("/api/models/rollback", json=body))["result"])

    def models(self) -> list[dict[str, Any]]:
        return list(self._ok(self.client.get("/api/models")))

    def manifest(self, name: str, version: int) -> dict[str, Any]:
        return dict(self._ok(self.client.get(f"/api/models/{name}/{version}")))

    def deployments(self) -> list[dict[str, Any]]:
        return list(self._ok(self.client.get("/api/models/deployments")))

    def inventory(self) -> list[dict[str, Any]]:
        return list(self._ok(self.client.get("/api/models/inventory")))

    def add_root(self, envelope: dict[str, Any]) -> int:
        return int(self._ok(self.client.post("/api/models/roots", json=envelope))["version"])
