"""Compact JSON for what plantmind stores and sends, numpy scalars and arrays included."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

__all__ = ["compact_json"]


def _default(obj: Any) -> Any:
    # Detector details and summaries often carry numpy scalars/arrays: plain JSON numbers.
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def compact_json(obj: Any, *, allow_nan: bool = True) -> str:
    """``obj`` as compact JSON; ``allow_nan=False`` refuses NaN/inf (for what leaves the site:
    the hub's parsers and PostgreSQL's jsonb reject them)."""
    return json.dumps(obj, default=_default, separators=(",", ":"), allow_nan=allow_nan)
