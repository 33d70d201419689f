"""Which model serves each tier, as ``route explain`` and ``/v1/models`` show it: the backend,
the model's name and where it is (server URL or file), and for a model file its sha256 and,
when it was delivered by the model agent (``<home>/models/installed/<name>/<version>/``), the
registry name and version. A server's model is known by its name only: plantmind cannot see
its weights, and says so."""

from __future__ import annotations

import contextlib
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from plantmind.core.routing import LlmSettings

__all__ = ["file_sha256", "tier_models"]


@lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a model file (cached per size and modification time: a GGUF is large)."""
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


def _delivered(path: Path) -> dict[str, Any] | None:
    """Registry name and version of a file under ``.../installed/<name>/<version>/``."""
    parts = path.resolve().parts
    if "installed" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("installed")
    if len(parts) < i + 3 or not parts[i + 2].isdigit():
        return None
    out: dict[str, Any] = {"name": parts[i + 1], "version": int(parts[i + 2])}
    manifest = Path(*parts[: i + 3]) / "manifest.json"
    if manifest.is_file():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            out["kind"] = json.loads(manifest.read_text(encoding="utf-8"))["signed"]["kind"]
    return out


def tier_models(settings: LlmSettings, base_dir: Path | None = None) -> dict[str, Any]:
    """Per tier (edge, central): None when no model is configured, else its identity."""
    out: dict[str, Any] = {}
    for tier in ("edge", "central"):
        ep = getattr(settings.endpoints, tier)
        if ep is None:
            out[tier] = None
            continue
        row: dict[str, Any] = {"backend": ep.backend, "model": ep.model}
        if ep.model_path:
            p = Path(ep.model_path).expanduser()
            if not p.is_absolute() and base_dir is not None:
                p = base_dir / p
            row["path"] = str(p)
            row["model"] = ep.model or p.name
            if p.is_file():
                row["sha256"] = file_sha256(p)
                row["delivered"] = _delivered(p)
            else:
                row["problem"] = f"no such model file: {p}"
        else:
            row["url"] = ep.url
            row["sha256"] = None  # a server's weights are not visible from here
        out[tier] = row
    return out
