"""``plantmind bench sync``: events per second from a site's outbox into the hub's fleet store,
and how many were lost or duplicated on the way, for two paths:

* ``outbox→mqtt→hub→postgresql``: the outbox forwards over MQTT (QoS 1, hub-acknowledged) to
  a hub running as its own process (``plantmind central run``) that stores in PostgreSQL;
* ``outbox→embedded hub→sqlite``: the outbox hands batches to a hub in the same process that
  stores in SQLite (the ``plantmind demo`` path).

Each path: a producer thread puts ``n_events`` aggregate-sized events (about 150 bytes of
JSON) into a fresh outbox while the forwarder sends; the clock runs from the first put to the
hub's last acknowledgement, so the figure includes the durable put (``synchronous=FULL``), the
transport and the hub's commit. Lost and duplicated are counted at the hub from the events'
own numbers, not from the store's counters.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plantmind.central.service import CentralService
from plantmind.store.central import CentralStore
from plantmind.sync.forwarder import EmbeddedTransport, Forwarder, Transport
from plantmind.sync.outbox import Outbox
from plantmind.sync.transport_mqtt import HubMqttConfig, MqttTransport

__all__ = ["run_sync_bench"]

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PUT_CHUNK = 1000
BATCH = 5000


def _event(i: int) -> dict[str, Any]:
    return {"i": i, "signal": "P-101.bearing_temperature", "asset": "P-101", "start": 1.7e9 + i,
            "period_s": 3600.0, "count": 3600, "mean": 61.25, "min": 58.5, "max": 64.0}  # fmt: skip


async def _run_path(outbox: Outbox, transport: Transport, n: int) -> float:
    fwd = Forwarder(outbox, transport, batch_events=BATCH, batch_bytes=4 << 20, idle_s=0.005)
    stop = asyncio.Event()
    produced = threading.Event()

    def produce() -> None:
        for k in range(0, n, PUT_CHUNK):
            outbox.put_many([("aggregates", _event(i)) for i in range(k, min(k + PUT_CHUNK, n))])
        produced.set()

    t0 = time.perf_counter()
    producer = threading.Thread(target=produce, name="bench-producer")
    producer.start()
    task = asyncio.create_task(fwd.run(stop))
    while not (produced.is_set() and len(outbox) == 0):
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - t0
    stop.set()
    await task
    producer.join()
    return elapsed


def _count_at_hub(store: CentralStore, site: str, n: int) -> tuple[int, int]:
    seen: dict[int, int] = {}
    after = 0
    while True:
        page = store.list_events(site=site, after_id=after, limit=50_000)
        if not page:
            break
        for e in page:
            i = int(e["data"]["i"])
            seen[i] = seen.get(i, 0) + 1
        after = page[-1]["id"]
    lost = sum(1 for i in range(n) if i not in seen)
    duplicated = sum(c - 1 for c in seen.values())
    return lost, duplicated


def _pg_url_with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


async def _mqtt_path(work: Path, n: int, pg_url: str, mqtt: HubMqttConfig) -> dict[str, Any]:
    import sqlalchemy as sa

    schema = f"pm_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = _pg_url_with_schema(pg_url, schema)
    # The hub is its own process, as in production: site and hub do not share an interpreter.
    hub = _start_hub_process(work / "hub-pg", url, mqtt)
    try:
        outbox = Outbox(work / "site-mqtt" / "outbox.db", "bench-mqtt")
        transport = MqttTransport(mqtt, "bench-mqtt", ack_timeout_s=30.0)
        try:
            elapsed = await _run_path(outbox, transport, n)
        finally:
            await transport.close()
            outbox.close()
        store = CentralStore(url, create=False)
        try:
            lost, dup = _count_at_hub(store, "bench-mqtt", n)
        finally:
            store.close()
    finally:
        hub.terminate()
        try:
            hub.wait(timeout=15)
        except subprocess.TimeoutExpired:
            hub.kill()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return {"path": "outbox→mqtt→hub→postgresql", "events": n, "seconds": round(elapsed, 3),
            "events_per_s": round(n / elapsed), "lost": lost, "duplicated": dup,
            "broker": mqtt.destination, "hub": "separate process"}  # fmt: skip


def _start_hub_process(home: Path, url: str, mqtt: HubMqttConfig) -> subprocess.Popen[bytes]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "plantmind.cli", "central", "run", "--db", url,
           "--home", str(home), "--port", str(port), "--mqtt", "--mqtt-host", mqtt.host,
           "--mqtt-port", str(mqtt.port)]  # fmt: skip
    env = dict(os.environ)
    if mqtt.username:
        cmd += ["--mqtt-username", mqtt.username]
    if mqtt.password:
        env["PLANTMIND_MQTT_PASSWORD"] = mqtt.password  # not on the command line
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"the hub exited with {proc.returncode}: {err[-1000:]}")
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
            if health.get("mqtt") == "up":
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the hub did not come up (HTTP and MQTT) within 60 s")


async def _embedded_path(work: Path, n: int) -> dict[str, Any]:
    hub = CentralService(f"sqlite:///{work / 'hub-sqlite' / 'central.db'}", work / "hub-sqlite")
    try:
        outbox = Outbox(work / "site-embedded" / "outbox.db", "bench-embedded")
        try:
            elapsed = await _run_path(outbox, EmbeddedTransport(hub.inbox.receive), n)
        finally:
            outbox.close()
        lost, dup = _count_at_hub(hub.store, "bench-embedded", n)
    finally:
        hub.close()
    return {"path": "outbox→embedded hub→sqlite", "events": n, "seconds": round(elapsed, 3),
            "events_per_s": round(n / elapsed), "lost": lost, "duplicated": dup}  # fmt: skip


def run_sync_bench(
    json_path: str | Path,
    *,
    n_events: int = 200_000,
    pg_url: str | None = None,
    mqtt: HubMqttConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run both paths and write a JSON list, one object per path (``path``,
    ``events_per_s``, ``lost``, ``duplicated``, ...), to ``json_path``. A path whose service
    (broker, PostgreSQL) is unreachable is reported with an ``error`` instead of figures."""
    say = progress or (lambda s: None)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="plantmind-bench-sync-") as tmp:
        work = Path(tmp)
        say(f"embedded path: {n_events:,} events ...")
        results.append(asyncio.run(_embedded_path(work, n_events)))
        say(f"MQTT + PostgreSQL path: {n_events:,} events ...")
        try:
            results.append(
                asyncio.run(
                    _mqtt_path(work, n_events, pg_url or DEFAULT_PG, mqtt or HubMqttConfig())
                )
            )
        except Exception as exc:  # a missing service is a result to report, not a crash
            results.append(
                {"path": "outbox→mqtt→hub→postgresql", "error": f"{type(exc).__name__}: {exc}"}
            )
    out = Path(json_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return results
