"""The fault test: 100,000 events from a site process to a hub process while the hub is
stopped and restarted twice (once killed, once terminated) and the site process is killed
with SIGKILL and restarted once. Afterwards the hub holds every event exactly once, in the
site's order. Against SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from plantmind.core.auth import TokenStore
from plantmind.sync.audit import read_audit

N = 100_000
SITE = "site-fault"
HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_hub(db: str, home: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plantmind.cli",
            "central",
            "run",
            "--db",
            db,
            "--home",
            str(home),
            "--port",
            str(port),
            "--no-mqtt",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"hub exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("hub did not start in 30 s")


def _start_edge(home: Path, port: int, token: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "_edge_proc.py"),
            "--home",
            str(home),
            "--site",
            SITE,
            "--hub",
            f"http://127.0.0.1:{port}",
            "--token",
            token,
            "--n",
            str(N),
            "--rate",
            "6000",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _stored(engine: sa.Engine) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
    except sa.exc.DBAPIError:
        return 0  # tables not created yet


def _wait_for(engine: sa.Engine, n: int, deadline: float, procs: list) -> None:
    while _stored(engine) < n:
        for p in procs:
            if p.poll() not in (None, 0):
                raise AssertionError(f"a process died unexpectedly with {p.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"hub did not reach {n} events in time (has {_stored(engine)})")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_nothing_lost_nothing_duplicated_across_crashes(tmp_path, db_url):
    hub_home, edge_home = tmp_path / "hub", tmp_path / "edge"
    token = TokenStore.in_home(hub_home).create("operator", label="fault test site")
    port = free_port()
    log = tmp_path / "procs.log"
    engine = sa.create_engine(db_url)
    deadline = time.monotonic() + 170  # the whole scenario must end within ~3 minutes
    t0 = time.monotonic()
    hub = _start_hub(db_url, hub_home, port, log)
    edge = _start_edge(edge_home, port, token, log)
    procs = [hub, edge]
    try:
        # 1. the hub dies hard mid-stream and comes back
        _wait_for(engine, 15_000, deadline, procs)
        hub.send_signal(signal.SIGKILL)
        hub.wait()
        time.sleep(1.5)
        hub = _start_hub(db_url, hub_home, port, log)
        procs = [hub, edge]
        # 2. the site process dies hard mid-stream and comes back
        _wait_for(engine, 40_000, deadline, procs)
        edge.send_signal(signal.SIGKILL)
        edge.wait()
        time.sleep(0.5)
        edge = _start_edge(edge_home, port, token, log)
        procs = [hub, edge]
        # 3. the hub is stopped (SIGTERM) and comes back
        _wait_for(engine, 65_000, deadline, procs)
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=20)
        time.sleep(1.5)
        hub = _start_hub(db_url, hub_home, port, log)
        procs = [hub, edge]
        rc = edge.wait(timeout=max(deadline - time.monotonic(), 1))
        assert rc == 0, log.read_text()[-3000:]
    finally:
        for p in (hub, edge):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
    elapsed = time.monotonic() - t0

    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT seq, data FROM inbox WHERE site_id = :s ORDER BY id"), {"s": SITE}
        ).all()
        total = conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
    engine.dispose()
    seqs = [r[0] for r in rows]
    numbers = [json.loads(r[1])["i"] for r in rows]
    assert total == N, f"hub holds {total} events, expected {N}"
    assert len(set(seqs)) == N  # exactly once by idempotency key
    assert all(a < b for a, b in itertools.pairwise(seqs))  # per-site order kept
    assert numbers == list(range(N))  # every produced event, once, in production order
    failed = read_audit(edge_home / "outbox.db", limit=100_000, outcome="failed")
    assert failed, "the hub outages should show up as failed sends in the audit log"
    print(f"fault test on {db_url.split(':')[0]}: {elapsed:.1f} s, {len(failed)} failed sends")
    assert elapsed < 180
    assert os.path.exists(edge_home / "outbox.db")
