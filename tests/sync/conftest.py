"""Fixtures for the sync and hub tests: free ports, PostgreSQL schemas, the Mosquitto broker."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    import sqlalchemy as sa

    schema = f"pm_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_BASE)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 refused the test database: {exc}")
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Parametrise with ``indirect=True``: "sqlite" or "postgresql"."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    if not reachable(MQTT_HOST, MQTT_PORT):
        pytest.skip(f"no MQTT broker at {MQTT_HOST}:{MQTT_PORT}")
    return MQTT_HOST, MQTT_PORT
