"""The hub's HTTP API: tokens and roles, ingest over HTTP from a site's outbox, fleet views."""

from __future__ import annotations

import asyncio
import socket

import pytest
from fastapi.testclient import TestClient

from plantmind.central.service import CentralService, default_db_url
from plantmind.sync.forwarder import Forwarder
from plantmind.sync.outbox import Outbox
from plantmind.sync.transport_http import HttpTransport
from plantmind.sync.wire import encode_batch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hub(tmp_path):
    h = CentralService(default_db_url(tmp_path), tmp_path)
    yield h
    h.close()


def test_roles_guard_the_api(hub):
    body = encode_batch("S", [(1, "alerts", 1.0, '{"id":"a","asset_id":"P"}')])
    with TestClient(hub.app()) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/api/sites").status_code == 401
        assert c.post("/api/ingest", content=body).status_code == 401
        viewer = {"Authorization": f"Bearer {hub.tokens.create('viewer')}"}
        assert c.get("/api/sites", headers=viewer).json() == []
        assert c.post("/api/ingest", content=body, headers=viewer).status_code == 403
        site = {"Authorization": f"Bearer {hub.tokens.create('operator', label='site S')}"}
        assert c.post("/api/ingest", content=body, headers=site).json() == {"acked_upto": 1}
        assert c.post("/api/ingest", content=b"{}", headers=site).status_code == 422
        assert [s["id"] for s in c.get("/api/sites", headers=viewer).json()] == ["S"]
        assert c.get("/api/assets", headers=viewer).json()[0]["asset_id"] == "P"
        assert c.get("/api/alerts", params={"site": "S"}, headers=viewer).json()[0]["id"] == "a"
        ev = c.get("/api/events", params={"category": "alerts"}, headers=viewer).json()
        assert ev[0]["seq"] == 1 and ev[0]["data"]["id"] == "a"
        st = c.get("/api/stats", headers=viewer).json()
        assert st["events"] == 1 and st["inbox"]["rejected"] == 1


def test_a_site_forwards_over_http(tmp_path, hub):
    port = _free_port()
    token = hub.tokens.create("operator")

    async def main() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()
        serving = asyncio.create_task(
            hub.serve("127.0.0.1", port, stop=stop, on_ready=lambda _: ready.set())
        )
        await asyncio.wait_for(ready.wait(), 10)
        outbox = Outbox(tmp_path / "site" / "outbox.db", "S9")
        outbox.put_many([("aggregates", {"n": i}) for i in range(5000)])
        transport = HttpTransport(f"http://127.0.0.1:{port}", token)
        try:
            assert await Forwarder(outbox, transport, batch_events=1000).drain(30)
            assert outbox.audit(1)[0].destination == f"http://127.0.0.1:{port}/api/ingest"
        finally:
            await transport.close()
            outbox.close()
            stop.set()
            await serving

    asyncio.run(main())
    assert hub.store.site_seqs("S9") == sorted(hub.store.site_seqs("S9"))
    assert hub.counts()["events"] == 5000
