"""Fixtures for the reliability tests: the service fixtures of ``tests/sync`` (PostgreSQL
schema, Mosquitto), and real server processes (hub, edge) on free ports whose memory the
tests can read."""

from __future__ import annotations

import importlib.util
import os
import shutil
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


MOSQUITTO = Path("/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = Path("/usr/bin/mosquitto_passwd")


class AclBroker:
    """A private Mosquitto with a password file and an ACL: its plain port and, when started
    with TLS, its TLS port and the CA that signed its certificate."""

    def __init__(
        self, proc: subprocess.Popen[bytes], port: int, tls_port: int | None, ca: Path | None
    ) -> None:
        self.proc = proc
        self.host = "127.0.0.1"
        self.port = port
        self.tls_port = tls_port
        self.ca = ca


def _make_tls_files(where: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost signed by it."""
    ca_key, ca, key, csr, cert = (where / n for n in ("ca.key", "ca.pem", "server.key",
                                                      "server.csr", "server.pem"))  # fmt: skip
    ext = where / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
            "-out", str(ca), "-days", "2", "-subj", "/CN=plantmind test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", "/CN=localhost")  # fmt: skip
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[object]:
    """``acl_broker(acl_text, {user: password}, tls=False) -> AclBroker``: a Mosquitto of its
    own (not the shared one on 1883, whose anonymous access the other tests rely on) on free
    ports, with ``allow_anonymous false``; stopped afterwards. Skips without Mosquitto."""
    if not MOSQUITTO.exists() or not MOSQUITTO_PASSWD.exists():
        pytest.skip(f"Mosquitto is not installed ({MOSQUITTO}, {MOSQUITTO_PASSWD})")
    started: list[subprocess.Popen[bytes]] = []
    where = tmp_path / "mosquitto"
    where.mkdir()

    def _start(acl: str, users: dict[str, str], tls: bool = False) -> AclBroker:
        (where / "acl.conf").write_text(acl)
        passwd = where / "passwd"
        for i, (user, password) in enumerate(users.items()):
            create = ["-c"] if i == 0 else []
            subprocess.run([str(MOSQUITTO_PASSWD), "-b", *create, str(passwd), user, password],
                           check=True, capture_output=True)  # fmt: skip
        port = free_port()
        conf = [
            f"listener {port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {passwd}",
            f"acl_file {where / 'acl.conf'}",
            "persistence false",
            "log_dest stderr",
            "log_type all",
        ]
        tls_port = ca = None
        if tls:
            if shutil.which("openssl") is None:
                pytest.skip("openssl is not installed: no certificate for the TLS listener")
            ca, cert, key = _make_tls_files(where)
            tls_port = free_port()
            conf += [f"listener {tls_port} 127.0.0.1", f"cafile {ca}", f"certfile {cert}",
                     f"keyfile {key}"]  # fmt: skip
        if os.geteuid() == 0:
            # as root Mosquitto would switch to the `mosquitto` user, who cannot read tmp_path
            conf.append("user root")
        (where / "mosquitto.conf").write_text("\n".join(conf) + "\n")
        log = where / "mosquitto.log"
        proc = subprocess.Popen([str(MOSQUITTO), "-c", str(where / "mosquitto.conf")],
                                stdout=log.open("ab"), stderr=subprocess.STDOUT)  # fmt: skip
        started.append(proc)
        deadline = time.monotonic() + 15
        ports = [port] + ([tls_port] if tls_port else [])
        while not all(_mod.reachable("127.0.0.1", p) for p in ports):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Mosquitto did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        return AclBroker(proc, port, tls_port, ca)

    yield _start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
