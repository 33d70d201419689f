"""A site as its own process for the fault test: produces ``--n`` numbered events into its
outbox at ``--rate`` per second and forwards them to the hub over HTTP, resuming where it was
after a crash (the producer's position is stored with the events it produced). Exits 0 once
everything is produced and acknowledged."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from plantmind.sync.forwarder import Forwarder, JitteredBackoff
from plantmind.sync.outbox import Outbox
from plantmind.sync.transport_http import HttpTransport

CHUNK = 250


async def main(a: argparse.Namespace) -> int:
    outbox = Outbox(Path(a.home) / "outbox.db", a.site)
    transport = HttpTransport(a.hub, a.token, timeout_s=5.0)
    fwd = Forwarder(
        outbox,
        transport,
        batch_events=a.batch,
        idle_s=0.02,
        backoff=JitteredBackoff(base=0.05, cap=0.5),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(fwd.run(stop))
    i = int(outbox.get_meta("producer.next") or 0)
    t0, i0 = time.monotonic(), i
    while i < a.n:
        k = min(CHUNK, a.n - i)
        items = [("aggregates", {"i": j, "asset": "A-1"}) for j in range(i, i + k)]
        await asyncio.to_thread(outbox.put_many, items, meta={"producer.next": str(i + k)})
        i += k
        ahead = (i - i0) / a.rate - (time.monotonic() - t0)
        if ahead > 0:
            await asyncio.sleep(ahead)
    print(f"produced up to {i}", flush=True)
    while len(outbox):
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await transport.close()
    outbox.close()
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--home", required=True)
    p.add_argument("--site", required=True)
    p.add_argument("--hub", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--rate", type=float, default=5000.0)
    p.add_argument("--batch", type=int, default=2000)
    sys.exit(asyncio.run(main(p.parse_args())))
