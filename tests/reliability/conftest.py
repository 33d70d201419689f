"""Fixtures for the reliability tests: the service fixtures of ``tests/sync`` (PostgreSQL
schema, Mosquitto), and real server processes (hub, edge) on free ports whose memory the
tests can read."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

_spec = importlib.util.spec_from_file_location(
    "_sync_service_fixtures_reliability", Path(__file__).parents[1] / "sync" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)

db_url = _mod.db_url
pg_url = _mod.pg_url
mqtt_broker = _mod.mqtt_broker

SERVE = Path(__file__).with_name("_serve.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process started by ``_serve.py``: its pid and base URL."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def memory(self, field: str = "VmRSS") -> int:
        """Bytes of ``field`` (VmRSS: resident now, VmHWM: the peak) of the process."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")


def start_server(kind: str, home: Path, log: Path, *args: str) -> Server:
    """Start ``_serve.py kind`` on a free port and wait for its /health."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVE), kind, "--home", str(home), "--port", str(port), *args],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{kind} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return Server(proc, port, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"{kind} did not start in 60 s: {log.read_text()[-2000:]}")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    """``serve(kind, home, *args) -> Server``; every server started is stopped afterwards."""
    started: list[Server] = []

    def _serve(kind: str, home: Path, *args: str) -> Server:
        server = start_server(kind, home, tmp_path / f"{kind}.log", *args)
        started.append(server)
        return server

    yield _serve
    for server in started:
        stop_server(server)
