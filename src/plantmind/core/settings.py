"""Where plantmind keeps its state: one home directory (``--home``, ``PLANTMIND_HOME``, or a
per-user data directory)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["resolve_home"]


def resolve_home(home: str | Path | None = None) -> Path:
    """The home directory, created if missing: ``home`` if given, else ``$PLANTMIND_HOME``,
    else the per-user data directory (e.g. ``~/.local/share/plantmind``)."""
    chosen = home or os.environ.get("PLANTMIND_HOME") or platformdirs.user_data_dir("plantmind")
    path = Path(chosen).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the plantmind home directory {path}: {exc}") from exc
    return path
