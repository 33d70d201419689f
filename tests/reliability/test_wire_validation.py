"""Wire validation at the hub's single point of reading a batch (``decode_batch``): a seq
beyond 64 bits, nesting 100,000 deep, NaN or infinite numbers are a clear ``WireError``,
answered 422 over HTTP (quoting at most a short excerpt of the input) and dropped with a log
line over MQTT, never a 500 or a crashed listener; and nothing of a refused batch is stored.
Against a real hub process on SQLite and PostgreSQL, and the real Mosquitto."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from plantmind.central.service import CentralService
from plantmind.core.auth import TokenStore
from plantmind.sync.transport_mqtt import HubMqttConfig, MqttHubListener
from plantmind.sync.wire import MAX_DEPTH, MAX_SEQ, WireError, decode_batch, encode_batch

SITE = "wire-site"


def _batch(seq: Any = 1, ts: Any = 1.0, data: str = "{}", site: str = SITE) -> bytes:
    return (
        f'{{"v":1,"site":{json.dumps(site)},"events":[{{"seq":{seq},"cat":"alerts",'
        f'"ts":{ts},"data":{data}}}]}}'
    ).encode()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# (body, what the error says): each once over HTTP and MQTT below
BAD = [
    (_batch(seq=2**64), "seq must be an integer"),
    (_batch(seq=MAX_SEQ + 1), "seq must be an integer"),
    (_batch(seq=0), "seq must be an integer"),
    (_batch(seq=-5), "seq must be an integer"),
    (_batch(seq="true"), "seq must be an integer"),
    (_batch(seq=1.5), "seq must be an integer"),
    (_batch(ts="NaN"), "NaN"),
    (_batch(ts="Infinity"), "Infinity"),
    (_batch(ts="1e400"), "out of range"),
    (_batch(ts='"noon"'), "ts must be a finite number"),
    (_batch(data='{"x":-Infinity}'), "Infinity"),
    (_batch(data=_nested(100_000)), "nested deeper than 64"),
    (b'{"v":1,"site":"' + b"s" * 200_000 + b'","events":[]}', "needs a site"),
    (b'{"v":"' + b"v" * 1_000_000 + b'"}', "unsupported batch version"),
]


@pytest.mark.parametrize(("body", "problem"), BAD, ids=range(len(BAD)))
def test_decode_refuses_with_a_short_wire_error(body: bytes, problem: str):
    with pytest.raises(WireError, match=problem) as err:
        decode_batch(body)
    assert len(str(err.value)) <= 200


def test_decode_accepts_the_bounds():
    # the largest seq, nesting up to the limit, brackets and escaped quotes inside strings
    # (which do not nest), a missing ts (the store stamps it on arrival)
    text = json.dumps('[[[{{{\\"' * 500)
    deep = _nested(MAX_DEPTH - 3)  # the batch, its events list and the event are 3 levels
    site, events = decode_batch(_batch(seq=MAX_SEQ, data=f'{{"d":{deep[1:-1]},"t":{text}}}'))
    assert site == SITE and events[0]["seq"] == MAX_SEQ
    assert decode_batch(b'{"v":1,"site":"S","events":[{"seq":1,"cat":"a"}]}')[1][0]["seq"] == 1
    with pytest.raises(WireError, match="nested deeper"):
        decode_batch(_batch(data=_nested(MAX_DEPTH - 2)))
    good = encode_batch("S", [(1, "alerts", 1.0, '{"id":"a"}'), (2, "health", 2.5, "[1,2]")])
    assert [e["seq"] for e in decode_batch(good)[1]] == [1, 2]


@pytest.mark.service
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_hub_answers_422_and_stores_nothing_of_a_bad_batch(
    tmp_path: Path, serve: Any, db_url: str
):
    home = tmp_path / "hub"
    home.mkdir()
    token = TokenStore.in_home(home).create("operator", label="wire test")
    hub = serve("hub", home, "--db", db_url)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=hub.url, headers=auth, timeout=30) as c:
        for body, problem in BAD:
            r = c.post("/api/ingest", content=body)
            assert r.status_code in (400, 422), (problem, r.status_code, r.text[:300])
            detail = r.json()["detail"]
            assert problem in detail and len(detail) <= 200, detail
            assert len(r.content) < 400  # the body is never echoed back
        ok = c.post("/api/ingest", content=_batch(seq=MAX_SEQ))
        assert ok.status_code == 200 and ok.json() == {"acked_upto": MAX_SEQ}
        events = c.get("/api/events", params={"site": SITE}).json()
        stats = c.get("/api/stats").json()
    assert [e["seq"] for e in events] == [MAX_SEQ]
    assert stats["inbox"]["rejected"] == len(BAD) and stats["events"] == 1


@pytest.mark.service
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_mqtt_listener_drops_and_logs_a_bad_batch_and_keeps_serving(
    tmp_path: Path, mqtt_broker: tuple[str, int], db_url: str, caplog: pytest.LogCaptureFixture
):
    host, port = mqtt_broker
    cfg = HubMqttConfig(host=host, port=port, prefix=f"plantmind-test/{uuid.uuid4().hex[:8]}")
    hub = CentralService(db_url, tmp_path / "hub")
    caplog.set_level(logging.ERROR, logger="plantmind.sync.transport_mqtt")

    async def main() -> list[int]:
        listener = MqttHubListener(cfg, hub.inbox.receive)
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        await asyncio.wait_for(listener.connected.wait(), 10)
        acks: list[int] = []
        try:
            async with cfg.client() as site:
                await site.subscribe(cfg.ack_topic(SITE), qos=1)
                for body, _ in BAD:
                    await site.publish(cfg.batch_topic(SITE), body, qos=1)
                await site.publish(cfg.batch_topic(SITE), _batch(seq=7), qos=1)
                async with asyncio.timeout(20):
                    async for message in site.messages:
                        acks.append(json.loads(bytes(message.payload))["upto"])
                        break
        finally:
            stop.set()
            await task
        assert listener.rejected == len(BAD) and listener.batches == 1
        return acks

    try:
        acks = asyncio.run(main())
        assert acks == [7]  # only the good batch is acknowledged, after every bad one
        assert hub.store.site_seqs(SITE) == [7]
        assert hub.inbox.counters.rejected == len(BAD)
    finally:
        hub.close()
    logged = [r for r in caplog.records if "rejected a malformed batch" in r.getMessage()]
    assert len(logged) == len(BAD) and all(r.exc_info is None for r in logged)  # no tracebacks
    assert all(len(r.getMessage()) < 300 for r in logged)
