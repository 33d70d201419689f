"""Asset health: health index, remaining useful life with intervals, and failure probability,
trained from run-to-failure histories (``history``, ``rul``, ``artifact``) and followed live
on the edge (``live``). Never imports the apps."""

from __future__ import annotations

from pathlib import Path

__all__ = ["models_dir"]


def models_dir(home: Path) -> Path:
    """Where a home keeps its health models: ``<home>/health/models/<name>``."""
    return Path(home) / "health" / "models"
