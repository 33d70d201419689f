"""``plantmind bench api``: does a burst of API readers slow ingest down?

An :class:`~plantmind.edge.service.EdgeService` runs in this process on the example (demo)
plant, as ``plantmind edge run`` runs it: uvicorn on a free loopback port, in the same event
loop as the pipeline, fed by the simulator at a fixed pace. The bench measures the ingest rate
(samples/s) idle, then while a client sends a bounded number of GETs, ``concurrency`` at a
time, spread over the read endpoints; it reports both rates, their ratio and the read latency.

The client runs in a separate process (as a browser or a dashboard would), so its own CPU work
does not compete with the node for this process's interpreter lock: what slows ingest down is
the server's work only. The loaded rate is taken over the client's own start and end times.

Two clients send the same burst, one after the other. The headline figures are the light one's:
plain HTTP/1.1 over ``concurrency`` keep-alive connections on asyncio streams, about 0.1 ms of
CPU per request, so that on a small machine, where the client shares the cores with the node,
the latency measured is the server's and not the client's. The ``httpx`` figures are the same
burst from :class:`httpx.AsyncClient`, a typical Python client at 2-4 ms of CPU per request:
on two cores its own queueing dominates its latency (it measures a p99 above 200 ms against
an app that answers a constant), which its ``client_cpu_s`` against ``burst_s`` shows.
``in_app_*`` is the time inside the app per request (routing, auth, handler, encoding, and
waiting for the loop), measured in the server whatever the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fastapi import FastAPI

    from plantmind.core.auth import TokenStore
    from plantmind.edge.service import EdgeService

__all__ = ["CLIENTS", "READ_ENDPOINTS", "run_api_bench"]

#: the clients that can send the burst: the light one (plain HTTP/1.1 on asyncio streams) and
#: httpx (see the module docstring)
CLIENTS: tuple[str, ...] = ("raw", "httpx")

#: the read endpoints the client spreads its requests over (``{signal}``: a signal id, in turn)
READ_ENDPOINTS: tuple[str, ...] = (
    "/api/plant",
    "/api/assets",
    "/api/signals",
    "/api/signals/{signal}/samples",
    "/api/signals/{signal}/aggregates",
    "/api/alerts",
    "/api/events",
    "/api/stats",
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client_burst(
    base_url: str, token: str, paths: list[str], concurrency: int, client: str = "raw"
) -> dict[str, Any]:
    """The client process: GET every path, ``concurrency`` at a time, with the light client
    (``"raw"``) or httpx (``"httpx"``); returns wall-clock start and end (``time.time()``,
    comparable across processes), latencies (ms), the client's CPU seconds and errors."""
    burst = _raw_burst if client == "raw" else _httpx_burst
    return asyncio.run(burst(base_url, token, paths, concurrency))


async def _httpx_burst(
    base_url: str, token: str, paths: list[str], concurrency: int
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = [0.0] * len(paths)
    errors: list[str] = []
    todo = iter(range(len(paths)))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    # trust_env=False: loopback only, never through a proxy from the environment
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30.0, trust_env=False
    ) as client:
        await client.get("/health")  # one connection up before the clock starts

        async def worker() -> None:
            for i in todo:
                t0 = time.perf_counter()
                try:
                    r = await client.get(paths[i])
                    await r.aread()
                    if r.status_code != 200:
                        errors.append(f"{paths[i]}: HTTP {r.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{paths[i]}: {exc!r}")
                latencies[i] = (time.perf_counter() - t0) * 1000.0

        start, cpu0 = time.time(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        end, cpu = time.time(), time.process_time() - cpu0
    return {"start": start, "end": end, "cpu_s": cpu, "latencies_ms": latencies, "errors": errors}


class _RawConnection:
    """One keep-alive HTTP/1.1 connection: a GET written as bytes, the reply read by its
    ``Content-Length`` (every read route answers with one). Reconnects when the server
    closes the connection (``Connection: close``, or a keep-alive timeout between two
    requests)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self._head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> int:
        """GET ``path``; returns the status once the whole body is read."""
        request = f"GET {path} HTTP/1.1\r\n".encode("ascii") + self._head
        for attempt in (0, 1):
            fresh = self._streams is None
            if self._streams is None:
                self._streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._streams
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if fresh or attempt:  # a new connection failing is an error, not a timeout
                    raise
                continue  # the server closed an idle keep-alive connection: once more
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            fields = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
            if "content-length" not in fields:
                await self.close()
                raise ConnectionError(f"reply without Content-Length: {lines[0]}")
            await reader.readexactly(int(fields["content-length"]))
            if fields.get("connection", "").lower() == "close":
                await self.close()
            return status
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _raw_burst(
    base_url: str, token: str, paths: list[str], concurrency: int
) -> dict[str, Any]:
    from urllib.parse import urlsplit

    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", int(url.port or 80)
    latencies: list[float] = [0.0] * len(paths)
    errors: list[str] = []
    todo = iter(range(len(paths)))
    conns = [_RawConnection(host, port, token) for _ in range(concurrency)]
    # every connection up before the clock starts, as a browser's would be
    for status in await asyncio.gather(*(c.get("/health") for c in conns)):
        if status != 200:
            errors.append(f"/health: HTTP {status}")

    async def worker(conn: _RawConnection) -> None:
        for i in todo:
            t0 = time.perf_counter()
            try:
                status = await conn.get(paths[i])
                if status != 200:
                    errors.append(f"{paths[i]}: HTTP {status}")
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(f"{paths[i]}: {exc!r}")
            latencies[i] = (time.perf_counter() - t0) * 1000.0

    start, cpu0 = time.time(), time.process_time()
    await asyncio.gather(*(worker(c) for c in conns))
    end, cpu = time.time(), time.process_time() - cpu0
    for c in conns:
        await c.close()
    return {"start": start, "end": end, "cpu_s": cpu, "latencies_ms": latencies, "errors": errors}


def _rate(trace: list[tuple[float, int]], start: float, end: float) -> float:
    """Samples/s between wall times ``start`` and ``end``, interpolated on ``trace`` (pairs
    of wall time and cumulative samples ingested)."""
    t = np.array([p[0] for p in trace])
    n = np.array([p[1] for p in trace], dtype=float)
    n0, n1 = np.interp([start, end], t, n)
    return float((n1 - n0) / (end - start)) if end > start else 0.0


def run_api_bench(
    *,
    speed: float = 120.0,
    idle_s: float = 10.0,
    requests: int = 2000,
    concurrency: int = 20,
    batch_ticks: int = 1,
    seed: int = 0,
    signals: int = 0,
    clients: Sequence[str] = CLIENTS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the bench (see the module docstring) and return its figures; ``signals`` > 0
    runs a simulated plant of that many signals instead of the example plant. ``clients``
    (of :data:`CLIENTS`) send the burst in turn: the first one's figures are the headline,
    each other's are under its name."""
    if requests < 1 or concurrency < 1:
        raise ValueError("requests and concurrency must be >= 1")
    if not clients or any(c not in CLIENTS for c in clients):
        raise ValueError(f"clients must be some of {', '.join(CLIENTS)}, got {clients!r}")
    return asyncio.run(
        _run(
            speed=speed,
            idle_s=idle_s,
            requests=requests,
            concurrency=concurrency,
            batch_ticks=batch_ticks,
            seed=seed,
            signals=signals,
            clients=tuple(clients),
            say=progress or (lambda s: None),
        )
    )


async def _run(
    *,
    speed: float,
    idle_s: float,
    requests: int,
    concurrency: int,
    batch_ticks: int,
    seed: int,
    signals: int,
    clients: tuple[str, ...],
    say: Callable[[str], None],
) -> dict[str, Any]:
    from plantmind.connectors.simulator import PlantSimulator, SimulatorSource, scaled_plant
    from plantmind.core.auth import TokenStore
    from plantmind.core.plant import example_plant_path, load_plant
    from plantmind.edge.service import EdgeService

    plant = scaled_plant(signals) if signals > 0 else load_plant(example_plant_path())
    sim = PlantSimulator(plant, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        server_ms: list[tuple[float, float]] = []  # (wall end, ms in the app) per request
        service = _timed_service(EdgeService, server_ms)(
            plant, home, restore=False, health_models={}
        )
        node = service.node
        # learn past the warm-up first, so the timed part runs the full per-sample logic and
        # the API serves learned ranges
        warm = int(getattr(node.detector, "warmup", 0)) + 60
        say(f"learning {warm} ticks of history on {node.index.n_signals} signals ...")
        for _ in range(0, warm, 300):
            service.learn(sim.step(300))
        token = TokenStore.in_home(home).create("viewer", label="bench")
        port = _free_port()
        ready = asyncio.Event()
        stop = asyncio.Event()
        running = asyncio.create_task(
            service.run(
                SimulatorSource(sim, speed=speed, batch_ticks=batch_ticks),
                host="127.0.0.1",
                port=port,
                on_ready=ready.set,
                stop=stop,
            )
        )
        trace: list[tuple[float, int]] = []
        lags: list[tuple[float, float]] = []

        async def sample_rate() -> None:
            # the ingest counter every 5 ms, and how late the loop woke us (its lag: what a
            # batch waits when the loop is busy); figures are read off these traces afterwards
            while True:
                t0 = time.perf_counter()
                await asyncio.sleep(0.005)
                now = time.time()
                lags.append((now, (time.perf_counter() - t0 - 0.005) * 1000.0))
                trace.append((now, node.stats.samples_in))

        sampler = asyncio.create_task(sample_rate())
        loop = asyncio.get_running_loop()
        ctx = multiprocessing.get_context("spawn")  # a clean process, not a fork of the loop
        try:
            await ready.wait()
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                # start the client process now (imports take a while), idle while it waits
                await loop.run_in_executor(pool, time.sleep, 0.0)
                await asyncio.sleep(1.0)  # settle: first batches, kernels compiled
                say(f"idle for {idle_s:.0f} s at speed {speed:g} ...")
                idle0 = time.time()
                await asyncio.sleep(idle_s)
                idle1 = time.time()
                ids = node.index.signal_ids
                paths = [
                    READ_ENDPOINTS[i % len(READ_ENDPOINTS)].format(signal=ids[i % len(ids)])
                    for i in range(requests)
                ]
                base = f"http://127.0.0.1:{port}"
                bursts: dict[str, dict[str, Any]] = {}
                for name in clients:
                    say(
                        f"{requests} GETs, {concurrency} at a time, over "
                        f"{len(READ_ENDPOINTS)} routes ({name} client) ..."
                    )
                    cpu0 = time.process_time()
                    burst = await loop.run_in_executor(
                        pool, _client_burst, base, token, paths, concurrency, name
                    )
                    burst["server_cpu_s"] = time.process_time() - cpu0
                    bursts[name] = burst
                    await asyncio.sleep(0.5)  # the burst's tail must not reach the next one
            trace.append((time.time(), node.stats.samples_in))
        finally:
            sampler.cancel()
            stop.set()
            await running
            await service.stop(drain_s=0.0)

    def lag_p99(t0: float, t1: float) -> float:
        window = [ms for t, ms in lags if t0 <= t <= t1]
        return round(float(np.percentile(window, 99)), 2) if window else float("nan")

    idle = _rate(trace, idle0, idle1)

    def figures(burst: dict[str, Any]) -> dict[str, Any]:
        t0, t1 = burst["start"], burst["end"]
        in_app = np.asarray([ms for t, ms in server_ms if t0 <= t <= t1])
        loaded = _rate(trace, t0, t1)
        lat = np.asarray(burst["latencies_ms"])
        per_route = {
            ep: round(float(np.percentile(lat[i :: len(READ_ENDPOINTS)], 99)), 2)
            for i, ep in enumerate(READ_ENDPOINTS)
        }
        return {
            "errors": len(burst["errors"]),
            "first_errors": burst["errors"][:5],
            "loaded_samples_per_s": round(loaded, 1),
            "loaded_over_idle": round(loaded / idle, 3) if idle else None,
            "burst_s": round(t1 - t0, 3),
            # CPU seconds of the node's process (ingest + API) and of the client in the
            # burst: on a small machine the client's share bounds the request rate
            "server_cpu_s": round(burst["server_cpu_s"], 3),
            "client_cpu_s": round(burst["cpu_s"], 3),
            "read_p50_ms": round(float(np.percentile(lat, 50)), 2),
            "read_p99_ms": round(float(np.percentile(lat, 99)), 2),
            "read_max_ms": round(float(lat.max()), 2),
            "read_p99_ms_by_route": per_route,
            # time inside the app (routing, auth, handler, encoding), without the client's
            "in_app_p50_ms": round(float(np.percentile(in_app, 50)), 3) if len(in_app) else None,
            "in_app_p99_ms": round(float(np.percentile(in_app, 99)), 3) if len(in_app) else None,
            "loop_lag_p99_ms_loaded": lag_p99(t0, t1),
        }

    first, *others = clients
    head = figures(bursts[first])
    lag_loaded = head.pop("loop_lag_p99_ms_loaded")
    out: dict[str, Any] = {
        "signals": node.index.n_signals,
        "speed": speed,
        "requests": requests,
        "concurrency": concurrency,
        "client": first,
        "idle_samples_per_s": round(idle, 1),
        **head,
        "loop_lag_p99_ms_idle": lag_p99(idle0, idle1),
        "loop_lag_p99_ms_loaded": lag_loaded,
    }
    for name in others:  # the same burst from the other clients, one figure set each
        out[name] = figures(bursts[name])
    return out


def _timed_service(base: type[EdgeService], sink: list[tuple[float, float]]) -> type[EdgeService]:
    """``base`` whose app records, per HTTP request, the wall time it ended and the
    milliseconds spent inside the app (a pure ASGI wrapper: it adds nothing per request but
    two clock reads)."""

    class Timed(base):  # type: ignore[misc,valid-type]
        def app(self, tokens: TokenStore | None = None) -> FastAPI:
            inner = super().app(tokens)
            asgi = inner.build_middleware_stack()

            async def timed(scope: Any, receive: Any, send: Any) -> None:
                t0 = time.perf_counter()
                await asgi(scope, receive, send)
                if scope["type"] == "http":
                    sink.append((time.time(), (time.perf_counter() - t0) * 1000.0))

            inner.middleware_stack = timed
            return inner

    return Timed
