"""Former home of the single writer thread and the read pool; they live in
:mod:`plantmind.store.sqlite` now, and this module only re-exports them so that existing
imports keep working."""

from __future__ import annotations

from plantmind.store.sqlite import ReadConnections, SqliteWriter, StoreClosedError

__all__ = ["ReadConnections", "SqliteWriter", "StoreClosedError"]
