"""Model backends by name: plant.yaml's ``backend`` picks the client the router uses; an
in-process backend registers once and serves every task placed on its tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plantmind.core.routing import LlmSettings
from plantmind.llm.backends import backend_names, make_backend, register_backend
from plantmind.llm.client import ChatClient, ChatResult, LLMConfig
from plantmind.llm.policy import Task
from plantmind.llm.router import Router


class EchoInProcess:
    """A stand-in in-process model: answers with the last user message, reversed."""

    available = True

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.closed = False

    @property
    def name(self) -> str:
        return f"inproc:{self.config.model}"

    def chat(self, messages, **_: object) -> ChatResult:
        return ChatResult(str(messages[-1]["content"])[::-1], self.name, 1.0, {})

    def stream(self, messages, **_: object) -> Iterator[str]:
        yield self.chat(messages).text

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module", autouse=True)
def _registered() -> None:
    if "echo-inproc" not in backend_names():
        register_backend("echo-inproc", EchoInProcess)


def test_openai_is_the_default_backend() -> None:
    client = make_backend(LLMConfig(base_url="http://127.0.0.1:9/v1", model="m"))
    try:
        assert isinstance(client, ChatClient) and client.name == "m"
    finally:
        client.close()


def test_an_unknown_backend_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match=r"unknown model backend 'gguf' \(known: .*openai"):
        make_backend(LLMConfig(base_url="http://x/v1", model="m", backend="gguf"))


def test_a_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_backend("openai", ChatClient)


def test_the_router_runs_tasks_on_the_backend_plant_yaml_names(tmp_path) -> None:
    settings = LlmSettings.model_validate(
        {"endpoints": {"edge": {"url": "http://127.0.0.1:9/v1", "model": "tiny",
                                "backend": "echo-inproc"}}}
    )  # fmt: skip
    with Router(settings, home=tmp_path) as router:
        assert isinstance(router.clients["edge"], EchoInProcess)
        res = router.run(Task("assist.answer", [{"role": "user", "content": "pump"}]))
        assert res.text == "pmup" and res.model == "inproc:tiny"
    assert router.clients["edge"].closed
