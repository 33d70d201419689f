"""A clean stop of ``plantmind edge run``: SIGTERM in the middle of a stream drains the
pipeline, queues what was aggregated and sends the outbox to a real hub process before the
process exits 0; the outbox's counters add up (delivered + dropped + queued = accepted) and
the hub holds every event the edge delivered. And a stop that cannot reach the hub (it
crashed), then a restart on the same home: nothing aggregated before the signal is lost,
nothing reaches the hub twice."""

from __future__ import annotations

import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from plantmind.core.auth import TokenStore
from plantmind.core.plant import example_plant_path
from plantmind.store.central import CentralStore
from plantmind.sync.outbox import read_stats

_CLI = [sys.executable, "-m", "plantmind.cli"]


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
    cli = _CLI
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


def _edge_buckets(db: Path) -> dict[str, list[tuple[float, int, float, float, float]]]:
    """Every stored 60-s bucket of the edge store, by signal, oldest first (read-only)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            'SELECT s.id, a.bucket_start, a.count, a.mean, a."min", a."max" '
            "FROM aggregates a JOIN signals s ON s.key = a.signal_key ORDER BY s.id, a.bucket_start"
        ).fetchall()
    finally:
        conn.close()
    out: dict[str, list[tuple[float, int, float, float, float]]] = {}
    for sid, *bucket in rows:
        out.setdefault(sid, []).append(tuple(bucket))
    return out


def _periods(
    buckets: dict[str, list[tuple[float, int, float, float, float]]], period_s: float
) -> tuple[dict[tuple[str, float], dict[str, float]], dict[tuple[str, float], dict[str, float]]]:
    """What the hub must hold for the edge's buckets: one summary (count, mean, min, max) per
    signal and period, split into the finished periods and each signal's newest period, which
    may still be open (it is sent once it ends: after a restart)."""
    finished: dict[tuple[str, float], dict[str, float]] = {}
    open_: dict[tuple[str, float], dict[str, float]] = {}
    for sid, rows in buckets.items():
        by_period: dict[float, list[tuple[float, int, float, float, float]]] = {}
        for row in rows:
            by_period.setdefault(math.floor(row[0] / period_s) * period_s, []).append(row)
        newest = max(by_period)
        for start, group in by_period.items():
            n = sum(r[1] for r in group)
            (open_ if start == newest else finished)[(sid, start)] = {
                "count": n,
                "mean": sum(r[1] * r[2] for r in group) / n,
                "min": min(r[3] for r in group),
                "max": max(r[4] for r in group),
            }
    return finished, open_


def _hub_aggregates(hub_db: Path) -> list[dict[str, Any]]:
    store = CentralStore(f"sqlite:///{hub_db}")
    try:
        return [e["data"] for e in store.list_events(category="aggregates", limit=10_000_000)]
    finally:
        store.close()


def _wait_drained(outbox: Path, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if read_stats(outbox).queued == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"the outbox still holds {read_stats(outbox).queued} event(s)")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigterm_with_the_hub_down_then_restart_delivers_every_period_once(tmp_path):
    """The hub crashes mid-stream, the edge is stopped (its drain cannot reach the hub) and
    started again on the same home once the hub is back. Every period the edge had finished
    before the signal reaches the hub exactly once, with the counts the edge aggregated; the
    period still open at the signal reaches it once it ends, holding the buckets aggregated
    before the signal; the hub holds every seq the outbox ever accepted once, in order, and
    the counters add up after each stop."""
    period = 300.0  # five minutes of plant time: ~1 s of wall time at --speed 300
    spec = yaml.safe_load(example_plant_path().read_text())
    spec["egress"]["aggregate_period_s"] = period
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(spec))
    hub_home, edge_home = tmp_path / "hub", tmp_path / "edge"
    hub_home.mkdir()
    outbox, hub_db = edge_home / "outbox.db", hub_home / "central.db"
    token = TokenStore.in_home(hub_home).create("operator", label="site riverside")
    hub_port, edge_port = _free_port(), _free_port()
    env = {**os.environ, "PLANTMIND_HUB_TOKEN": token}
    procs: list[subprocess.Popen[bytes]] = []

    def hub(n: int) -> subprocess.Popen[bytes]:
        log = tmp_path / f"hub{n}.log"
        p = subprocess.Popen(
            [*_CLI, "central", "run", "--home", str(hub_home), "--port", str(hub_port),
             "--no-mqtt"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        procs.append(p)
        _wait_http(f"http://127.0.0.1:{hub_port}/health", p, log)
        return p

    def edge(n: int) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"edge{n}.log"
        p = subprocess.Popen(
            [*_CLI, "edge", "run", "--plant", str(plant_file), "--home", str(edge_home),
             "--port", str(edge_port), "--source", "simulator", "--speed", "300",
             "--hub", f"http://127.0.0.1:{hub_port}", "--drain-seconds", "2"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        procs.append(p)
        _wait_http(f"http://127.0.0.1:{edge_port}/health", p, log)
        return p, log

    def stop(p: subprocess.Popen[bytes], log: Path) -> str:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == 0, log.read_text()[-3000:]
        return log.read_text()

    def add_up(stats: dict[str, Any]) -> bool:
        rest = sum(stats["dropped"].values()) + stats["queued"]
        return bool(stats["delivered"] + rest == stats["accepted"])

    try:
        hub1 = hub(1)
        edge1, log1 = edge(1)
        time.sleep(5)  # periods finish and reach the hub
        hub1.kill()  # the hub crashes: the edge keeps aggregating into the outbox
        hub1.wait()
        time.sleep(2)
        out = stop(edge1, log1)
        assert "left queued" in out, out[-3000:]
        before = read_stats(outbox).to_dict()
        # finished periods wait in the outbox: only the restart can deliver them
        assert before["queued_by_category"].get("aggregates", 0) > 0, before
        assert add_up(before), before
        # what the edge had aggregated before the signal (the restart adds buckets of its own)
        finished, still_open = _periods(_edge_buckets(edge_home / "edge.db"), period)
        assert len(finished) >= 22 * 3, sorted(finished)  # several periods of 22 signals

        hub(2)
        edge2, log2 = edge(2)
        _wait_drained(outbox, edge2, log2, 60)
        # The simulator starts again at the wall clock, behind the plant time the first run
        # reached at --speed 300: wait until the restarted stream has closed the open period.
        deadline = time.monotonic() + 90
        while True:
            have = {(a["signal"], a["start"]) for a in _hub_aggregates(hub_db)}
            if set(still_open) <= have:
                break
            assert edge2.poll() is None, log2.read_text()[-2000:]
            assert time.monotonic() < deadline, sorted(set(still_open) - have)[:5]
            time.sleep(0.5)
        out = stop(edge2, log2)
        assert "left queued" not in out, out[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    after = read_stats(outbox)
    stats = after.to_dict()
    assert stats["queued"] == 0 and add_up(stats), stats
    assert stats["dropped"] == {} and stats["refused"] == {}, stats
    assert stats["accepted"] > before["accepted"]  # the restarted edge produced too
    store = CentralStore(f"sqlite:///{hub_db}")
    try:
        assert store.counts()["events"] == stats["delivered"] == stats["accepted"]
        # every seq the outbox ever handed out, once, in order: nothing lost, nothing twice
        first = after.next_seq - stats["accepted"]
        assert store.site_seqs("riverside") == list(range(first, after.next_seq))
    finally:
        store.close()
    sent = _hub_aggregates(hub_db)
    keys = [(a["signal"], a["start"]) for a in sent]
    assert len(keys) == len(set(keys)), "a period was summarised twice"
    at_hub = {(a["signal"], a["start"]): a for a in sent}
    missing = sorted(set(finished) - set(at_hub))
    assert not missing, f"{len(missing)} finished period(s) never reached the hub: {missing[:5]}"
    for key, want in finished.items():
        got = at_hub[key]
        assert got["count"] == want["count"], (key, got, want)
        assert got["min"] == want["min"] and got["max"] == want["max"], (key, got, want)
        assert got["mean"] == pytest.approx(want["mean"], rel=1e-9, abs=1e-9), (key, got, want)
    for key, part in still_open.items():
        # the restarted simulator replays plant time of that period too, so the summary holds
        # the buckets from before the signal and more: never fewer
        got = at_hub[key]
        assert got["count"] >= part["count"], (key, got, part)
        assert got["min"] <= part["min"] and got["max"] >= part["max"], (key, got, part)
