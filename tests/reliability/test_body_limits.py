"""Size limits that hold against a chunked body: a request without Content-Length is counted
as it streams and refused with 413 once past the limit, so a 300 MB upload neither gets in
nor makes the server hold it. Against real uvicorn server processes (hub ingest, edge
inspection upload), whose resident memory is read from /proc."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from plantmind.core.auth import TokenStore
from plantmind.sync.wire import encode_batch

pytestmark = pytest.mark.slow

SENT = 300 * 2**20
MAX_GROWTH = 100 * 2**20


def _chunks(total: int, size: int = 2**20) -> Iterator[bytes]:
    # one buffer yielded again and again: the client itself holds 1 MiB, not 300
    block = b"x" * size
    for _ in range(total // size):
        yield block


def _refused_without_growing(server: Any, path: str, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
    before = server.memory()
    with httpx.Client(timeout=60) as c:
        # a generator body: httpx sends it chunked, with no Content-Length to refuse up front
        r = c.post(server.url + path, content=_chunks(SENT), headers=headers)
    after, peak = server.memory(), server.memory("VmHWM")
    assert r.status_code == 413, r.text[:300]
    assert after - before < MAX_GROWTH, f"RSS grew {(after - before) >> 20} MiB"
    # the peak too: the body was never held, not merely freed afterwards
    assert peak - before < MAX_GROWTH, f"peak RSS {(peak - before) >> 20} MiB over the start"
    return r


def test_hub_ingest_refuses_a_chunked_300_mb_body_as_it_streams(tmp_path: Path, serve: Any):
    home = tmp_path / "hub"
    home.mkdir()
    token = TokenStore.in_home(home).create("operator", label="limit test")
    hub = serve("hub", home)
    r = _refused_without_growing(hub, "/api/ingest", token)
    assert "batch larger than 64 MiB" in r.json()["detail"]
    # the hub still works, and a normal batch sent chunked still gets in
    body = encode_batch("S", [(1, "alerts", 1.0, '{"id":"a"}')])
    with httpx.Client(timeout=30) as c:
        ok = c.post(
            hub.url + "/api/ingest",
            content=iter([body[:10], body[10:]]),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert ok.status_code == 200 and ok.json() == {"acked_upto": 1}


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("PIL", "onnxruntime")),
    reason="inspection needs the [vision] extra",
)
def test_edge_inspect_upload_refuses_a_chunked_300_mb_body_as_it_streams(
    tmp_path: Path, serve: Any
):
    home = tmp_path / "edge"
    home.mkdir()
    token = TokenStore.in_home(home).create("operator", label="limit test")
    edge = serve("edge", home)
    r = _refused_without_growing(edge, "/api/inspect/QS-1", token)
    assert "larger than 64 MiB" in r.json()["detail"]
    with httpx.Client(timeout=30) as c:
        empty = c.post(edge.url + "/api/inspect/QS-1", content=iter([b""]),
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert empty.status_code == 422  # the route still reads bodies after the refusal
