"""The edge node's OpenAI-compatible endpoint, served by uvicorn on a free port and used
with the official ``openai`` client: chat, streamed chat, the model list, the policy's
refusals and fallbacks as OpenAI errors, bearer tokens; queued tasks over plain HTTP."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest
import uvicorn

from plantmind.core.auth import TokenStore
from plantmind.core.routing import LlmSettings
from plantmind.edge.api import create_app
from plantmind.edge.node import EdgeNode


def _settings(edge_url: str, central_url: str) -> LlmSettings:
    fast = {"timeout_s": 2.0, "retries": 0, "backoff_s": 0.01}
    return LlmSettings.model_validate(
        {
            "endpoints": {
                "edge": {"url": edge_url + "/v1", "model": "edge-small", **fast},
                "central": {"url": central_url, "model": "central-large", **fast},
            },
            "rules": [
                {"name": "judge-central", "when": {"kinds": ["comply.judge"],
                 "sensitivities": ["public", "internal"]}, "place": "central",
                 "on_unreachable": "queue"},
                {"name": "line-hmi", "when": {"requesters": ["api:hmi*"]}, "place": "edge",
                 "on_unreachable": "fail"},
            ],
            "redaction": {"patterns": [{"name": "staff", "kind": "employee",
                                        "terms": ["Jane Doe"]}]},
            "reconnect_after_s": 0.2,
        }
    )  # fmt: skip


@pytest.fixture
def served(tmp_path, plant, edge_server, central_server, monkeypatch):
    monkeypatch.delenv("PLANTMIND_LLM_URL", raising=False)
    edge_server.echo()
    central_server.echo()
    plant = plant.model_copy(update={"llm": _settings(edge_server.url, central_server.url)})
    node = EdgeNode(plant, tmp_path, restore=False)
    app = create_app(node)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    tokens = TokenStore.in_home(tmp_path)
    yield {"url": f"http://127.0.0.1:{port}", "tokens": tokens, "app": app}
    server.should_exit = True
    thread.join(timeout=10)
    if getattr(app.state, "llm_router", None) is not None:
        app.state.llm_router.close()
    node.close()


def _client(served, label: str = "laptop") -> openai.OpenAI:
    token = served["tokens"].create("viewer", label=label)
    return openai.OpenAI(base_url=served["url"] + "/v1", api_key=token, max_retries=0, timeout=10)


def test_official_client_chat_and_streamed_chat(served, edge_server, central_server):
    client = _client(served)
    raw = client.chat.completions.with_raw_response.create(
        model="assist.answer", messages=[{"role": "user", "content": "which oil for P-101?"}]
    )
    assert raw.headers["x-plantmind-placement"] == "edge"
    assert raw.headers["x-plantmind-rule"] == "default"
    reply = raw.parse()
    assert reply.choices[0].message.content == "edge: which oil for P-101?"
    assert reply.model == "assist.answer" and reply.usage.total_tokens == 2

    stream = client.chat.completions.create(
        model="comply.judge",
        messages=[{"role": "user", "content": "Did Jane Doe follow clause 4.2?"}],
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "central: Did Jane Doe follow clause 4.2?"
    assert "Jane Doe" not in central_server.seen()  # redacted on the way out, restored here
    assert len(edge_server.requests) == 1 and len(central_server.requests) == 1


def test_sensitivity_from_the_model_name_or_a_header(served, central_server):
    client = _client(served)
    msg = [{"role": "user", "content": "confidential recipe"}]
    r = client.chat.completions.create(model="comply.judge:confidential", messages=msg)
    assert r.choices[0].message.content.startswith("edge:")
    r = client.chat.completions.create(
        model="comply.judge", messages=msg, extra_headers={"X-Plantmind-Sensitivity": "restricted"}
    )
    assert r.choices[0].message.content.startswith("edge:")
    assert central_server.requests == []


def test_models_errors_and_tokens(served, edge_server):
    client = _client(served)
    ids = {m.id for m in client.models.list()}
    assert {"assist.answer", "comply.judge", "chat"} <= ids
    # the model behind each tier rides along in a field OpenAI clients ignore
    raw = client.models.with_raw_response.list().http_response.json()
    tiers = raw["plantmind"]["tiers"]
    assert set(tiers) == {"edge", "central"}
    assert tiers["edge"]["backend"] == "openai" and tiers["edge"]["sha256"] is None
    with pytest.raises(openai.BadRequestError, match="unknown task kind 'gpt-4o'"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    edge_server.stop()
    hmi = _client(served, label="hmi-line2")
    with pytest.raises(openai.PermissionDeniedError, match="says fail"):
        hmi.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.InternalServerError, match="no model answered"):
        client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
    anonymous = openai.OpenAI(base_url=served["url"] + "/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anonymous.models.list()


def test_queued_task_over_http(served, central_server):
    token = served["tokens"].create("viewer")
    h = {"Authorization": f"Bearer {token}", "X-Plantmind-Can-Wait": "true"}
    central_server.stop()
    body = {"model": "comply.judge", "messages": [{"role": "user", "content": "clause 9"}]}
    r = httpx.post(served["url"] + "/v1/chat/completions", json=body, headers=h, timeout=10)
    assert r.status_code == 202 and r.json()["status"] == "queued"
    task_id = r.json()["id"]
    # without the header an API caller is not queued: it gets the fallback's error at once
    r2 = httpx.post(
        served["url"] + "/v1/chat/completions",
        json=body,
        headers={"Authorization": h["Authorization"]},
        timeout=10,
    )
    assert r2.status_code == 503
    central_server.start()
    deadline = time.monotonic() + 10
    state = None
    while time.monotonic() < deadline:
        t = httpx.get(f"{served['url']}/v1/plantmind/tasks/{task_id}", headers=h).json()
        state = t["state"]
        if state == "done":
            break
        time.sleep(0.1)
    assert state == "done" and t["result"]["text"] == "central: clause 9"
    assert central_server.idempotency_keys() == [task_id]
