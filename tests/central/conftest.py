"""The service fixtures of ``tests/sync`` (PostgreSQL schema, broker, free ports), shared."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_sync_service_fixtures", Path(__file__).parents[1] / "sync" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)

db_url = _mod.db_url
pg_url = _mod.pg_url
mqtt_broker = _mod.mqtt_broker
