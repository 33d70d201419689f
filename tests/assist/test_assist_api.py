"""POST /assist/ask on the edge node: viewer role, answer with citations, live context from
the running node, unknown assets, long questions, the service keeps running."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from plantmind.core.auth import TokenStore
from plantmind.core.types import SampleBatch
from plantmind.edge.api import create_app
from plantmind.edge.node import EdgeNode

MANUAL = """<!-- page 2 -->
# P-101 manual
## 2. Operating limits
Vibration RMS alarm above 4.5 mm/s; trip above 7.1 mm/s on the drive-end housing.
"""


@pytest.fixture
def node(tmp_path, plant, monkeypatch):
    monkeypatch.setenv("PLANTMIND_EMBED", "0")  # dense search has its own tests
    monkeypatch.delenv("PLANTMIND_LLM_URL", raising=False)
    n = EdgeNode(plant, tmp_path, restore=False)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.md").write_text(MANUAL, encoding="utf-8")
    (docs / "wo.csv").write_text(
        "wo_id,asset,date,symptom,action\nWO-9,P-101,2026-01-05,vib hi,aligned\n", encoding="utf-8"
    )
    n.knowledge.add([docs])
    yield n
    n.close()


@pytest.fixture
def client(node):
    with TestClient(create_app(node)) as c:
        c.headers["Authorization"] = f"Bearer {TokenStore.in_home(node.home).create('viewer')}"
        yield c


def test_needs_a_token(node):
    with TestClient(create_app(node)) as c:
        assert c.post("/assist/ask", json={"question": "vibration trip"}).status_code == 401


def test_answer_with_citations(client):
    r = client.post("/assist/ask", json={"question": "at what mm/s does the pump trip on vib?"})
    assert r.status_code == 200
    d = r.json()
    assert d["declined"] is False and d["model_used"] is None
    assert d["citations"][0] == {
        "source": "manual.md",
        "page": 2,
        "section": "2. Operating limits",
        "score": d["citations"][0]["score"],
    }
    assert "7.1 mm/s" in d["answer"] and d["timings"]["total_ms"] > 0


def test_live_context_from_the_running_node(client, node):
    pos = node.index.signal_position()
    s = pos["P-101.vibration_rms"]
    node.learn(SampleBatch(np.array([s]), np.array([1000.0]), np.array([5.3])))
    d = client.post(
        "/assist/ask", json={"question": "vibration trip level", "asset": "P-101"}
    ).json()
    readings = {r["signal"]: r for r in d["context"]["readings"]}
    assert readings["P-101.vibration_rms"]["value"] == pytest.approx(5.3)
    assert readings["P-101.vibration_rms"]["status"] == "above"
    assert d["context"]["work_orders"][0]["section"] == "work order WO-9"
    assert "ABOVE normal range" in d["answer"]


def test_unknown_asset_long_and_empty_questions(client):
    assert client.post("/assist/ask", json={"question": "x", "asset": "NOPE"}).status_code == 404
    r = client.post("/assist/ask", json={"question": "vibration trip " + "y" * 10_000})
    assert r.status_code == 200 and any("truncated" in n for n in r.json()["notes"])
    assert client.post("/assist/ask", json={"question": ""}).status_code == 422
    assert client.post("/assist/ask", json={"question": "   "}).status_code == 422
    assert client.post("/assist/ask", json={"question": "z" * 20_001}).status_code == 422
    # the service is still answering
    assert client.get("/health").status_code == 200
    assert client.post("/assist/ask", json={"question": "vibration alarm"}).status_code == 200


def test_declines_out_of_scope(client):
    d = client.post("/assist/ask", json={"question": "canteen opening hours on sunday?"}).json()
    assert d["declined"] is True and d["answer"].startswith("Not found in the plant documents")
