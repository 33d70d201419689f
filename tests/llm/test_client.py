"""The chat client against a real HTTP server: request shape, API key from the environment,
retries with back-off on 5xx/429, no retry on 4xx or timeouts."""

from __future__ import annotations

import time

import pytest

from plantmind.llm.client import ChatClient, LLMConfig, LLMError, LLMTimeout


def _client(url: str, **kw) -> ChatClient:
    return ChatClient(LLMConfig(base_url=url, model="tiny", backoff_s=0.01, **kw))


def test_request_shape_and_key_from_environment(llm_server, monkeypatch):
    monkeypatch.setenv("PLANTMIND_LLM_API_KEY", "sk-test-123")
    llm_server.say("hello")
    with _client(llm_server.url + "/v1") as c:
        res = c.chat([{"role": "user", "content": "hi"}], max_tokens=7)
    assert res.text == "hello" and res.model == "tiny" and res.latency_ms > 0
    (req,) = llm_server.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["model"] == "tiny" and req["max_tokens"] == 7 and req["stream"] is False
    assert req["messages"] == [{"role": "user", "content": "hi"}]
    assert llm_server.headers[0]["Authorization"] == "Bearer sk-test-123"


def test_no_key_no_header(llm_server, monkeypatch):
    monkeypatch.delenv("PLANTMIND_LLM_API_KEY", raising=False)
    with _client(llm_server.url) as c:
        c.chat([{"role": "user", "content": "hi"}])
    assert "Authorization" not in llm_server.headers[0]


def test_retries_on_server_errors_then_succeeds(llm_server):
    completion = llm_server.completion
    llm_server.script(
        lambda b: (503, "busy", 0.0),
        lambda b: (429, "slow down", 0.0),
        lambda b: (200, completion("third time", b), 0.0),
    )
    with _client(llm_server.url, retries=2) as c:
        assert c.chat([{"role": "user", "content": "x"}]).text == "third time"
    assert len(llm_server.requests) == 3


def test_gives_up_after_retries_and_does_not_retry_client_errors(llm_server):
    llm_server.script(lambda b: (500, "boom", 0.0))
    with _client(llm_server.url, retries=1) as c, pytest.raises(LLMError, match="HTTP 500"):
        c.chat([{"role": "user", "content": "x"}])
    assert len(llm_server.requests) == 2
    llm_server.requests.clear()
    llm_server.script(lambda b: (400, '{"error": "bad model"}', 0.0))
    with _client(llm_server.url, retries=3) as c, pytest.raises(LLMError, match="HTTP 400"):
        c.chat([{"role": "user", "content": "x"}])
    assert len(llm_server.requests) == 1


def test_timeout_is_not_retried(llm_server):
    llm_server.say("late", delay=1.0)
    t0 = time.perf_counter()
    with _client(llm_server.url, timeout_s=0.2, retries=3) as c, pytest.raises(LLMTimeout):
        c.chat([{"role": "user", "content": "x"}])
    assert time.perf_counter() - t0 < 0.9
    assert len(llm_server.requests) == 1


def test_not_a_completion_and_unreachable(llm_server):
    llm_server.script(lambda b: (200, {"unexpected": True}, 0.0))
    with _client(llm_server.url) as c, pytest.raises(LLMError, match="not a chat-completions"):
        c.chat([{"role": "user", "content": "x"}])
    with _client("http://127.0.0.1:9", retries=1) as c, pytest.raises(LLMError):
        c.chat([{"role": "user", "content": "x"}])


def test_config_from_environment():
    assert LLMConfig.from_env({}) is None
    cfg = LLMConfig.from_env({"PLANTMIND_LLM_URL": "http://h:8000/v1", "PLANTMIND_LLM_MODEL": "m"})
    assert (
        cfg is not None and cfg.model == "m" and cfg.chat_url == "http://h:8000/v1/chat/completions"
    )
    assert LLMConfig("http://h:8000/", "m").chat_url == "http://h:8000/v1/chat/completions"
