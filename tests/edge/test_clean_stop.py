"""A clean stop of ``plantmind edge run``: SIGTERM in the middle of a stream drains the
pipeline, queues what was aggregated and sends the outbox to a real hub process before the
process exits 0; the outbox's counters add up (delivered + dropped + queued = accepted) and
the hub holds every event the edge delivered."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from plantmind.core.auth import TokenStore
from plantmind.store.central import CentralStore
from plantmind.sync.outbox import read_stats


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"{url} did not answer in {seconds} s")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigterm_drains_to_the_hub_and_the_counters_add_up(tmp_path):
    hub_home, edge_home = tmp_path / "hub", tmp_path / "edge"
    hub_home.mkdir()
    token = TokenStore.in_home(hub_home).create("operator", label="site riverside")
    hub_port, edge_port = _free_port(), _free_port()
    cli = [sys.executable, "-m", "plantmind.cli"]
    hub_log, edge_log = tmp_path / "hub.log", tmp_path / "edge.log"
    hub = subprocess.Popen(
        [*cli, "central", "run", "--home", str(hub_home), "--port", str(hub_port), "--no-mqtt"],
        stdout=hub_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    edge = None
    try:
        _wait_http(f"http://127.0.0.1:{hub_port}/health", hub, hub_log)
        env = {**os.environ, "PLANTMIND_HUB_TOKEN": token}
        edge = subprocess.Popen(
            [*cli, "edge", "run", "--home", str(edge_home), "--port", str(edge_port),
             "--source", "simulator", "--speed", "300", "--hub", f"http://127.0.0.1:{hub_port}"],
            stdout=edge_log.open("wb"), stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        _wait_http(f"http://127.0.0.1:{edge_port}/health", edge, edge_log)
        time.sleep(8)  # mid-stream: health summaries flow, the outbox is busy
        edge.send_signal(signal.SIGTERM)
        assert edge.wait(timeout=60) == 0, edge_log.read_text()[-3000:]
        out = edge_log.read_text()
        assert "stopped" in out and "left queued" not in out, out[-3000:]
    finally:
        for p in (edge, hub):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    stats = read_stats(edge_home / "outbox.db").to_dict()
    dropped = sum(stats["dropped"].values())
    assert stats["queued"] == 0
    assert stats["accepted"] > 0
    assert stats["delivered"] + dropped + stats["queued"] == stats["accepted"], stats
    store = CentralStore(f"sqlite:///{hub_home / 'central.db'}")
    try:
        assert store.counts()["events"] == stats["delivered"]
    finally:
        store.close()
