"""Time and identifier helpers: UTC epoch seconds, ISO formatting, sortable unique ids."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

__all__ = ["iso", "new_id", "now"]


def now() -> float:
    """Seconds since the Unix epoch, UTC."""
    return time.time()


def iso(ts: float) -> str:
    """ISO 8601 UTC text for an epoch timestamp, to the millisecond."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id(prefix: str = "") -> str:
    """A unique id that sorts by creation time (48-bit milliseconds + 64 random bits)."""
    ms = int(time.time() * 1000)
    return f"{prefix}{ms:012x}{os.urandom(8).hex()}"
