"""Queued model tasks survive a SIGKILL of the edge process: ``plantmind edge run`` (a real
subprocess) queues tasks while the centre is down, is killed, and after the centre and the
node come back every task reaches the centre exactly once (by its idempotency key) and is
done exactly once."""

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
import yaml

from plantmind.core.auth import TokenStore
from plantmind.core.plant import example_plant_path

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_edge(plant: Path, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANTMIND_LLM")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "plantmind.cli", "edge", "run", "--source", "none",
         "--plant", str(plant), "--home", str(home), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"edge process exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the edge process did not come up within 60 s")


def test_queued_tasks_run_exactly_once_across_a_sigkill(tmp_path, edge_server, central_server):
    edge_server.echo()
    central_server.echo()
    central_server.stop()  # the centre is down from the start
    doc = yaml.safe_load(example_plant_path().read_text(encoding="utf-8"))
    fast = {"timeout_s": 2.0, "retries": 0, "backoff_s": 0.01}
    doc["llm"] = {
        "endpoints": {
            "edge": {"url": edge_server.url, "model": "edge-small", **fast},
            "central": {"url": central_server.url, "model": "central-large", **fast},
        },
        "rules": [{"name": "judge-central", "when": {"kinds": ["comply.judge"],
                   "sensitivities": ["public", "internal"]}, "place": "central",
                   "on_unreachable": "queue"}],
        "reconnect_after_s": 0.3,
    }  # fmt: skip
    plant = tmp_path / "plant.yaml"
    plant.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    home = tmp_path / "home"
    token = TokenStore.in_home(home).create("viewer", label="test")
    headers = {"Authorization": f"Bearer {token}", "X-Plantmind-Can-Wait": "true"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"

    proc = _start_edge(plant, home, port)
    try:
        ids = []
        for i in range(5):
            body = {"model": "comply.judge", "messages": [{"role": "user", "content": f"c{i}"}]}
            r = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=10)
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        # the edge model still answers what the policy places there
        body = {"model": "assist.answer", "messages": [{"role": "user", "content": "oil?"}]}
        r = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=10)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "edge: oil?"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert central_server.requests == []

    central_server.start()  # the centre comes back, on the same address
    proc = _start_edge(plant, home, port)  # and so does the node, with no request to wake it
    try:
        deadline = time.monotonic() + 20
        while len(set(central_server.idempotency_keys())) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # would anything run twice?
        assert sorted(central_server.idempotency_keys()) == sorted(ids)
        for i, task_id in enumerate(ids):
            t = httpx.get(f"{url}/v1/plantmind/tasks/{task_id}", headers=headers).json()
            assert t["state"] == "done" and t["result"]["text"] == f"central: c{i}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
