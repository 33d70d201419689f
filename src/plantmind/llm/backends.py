"""Model backends by name: how an endpoint of plant.yaml (``llm.endpoints.*.backend``) becomes
a client. ``openai`` (:class:`~plantmind.llm.client.ChatClient`: any OpenAI-compatible HTTP
server, llama.cpp, Ollama, vLLM or a hosted API) is the one built in; an in-process backend
(a GGUF run by llama.cpp at an air-gapped edge) registers a factory here, and the router and
every caller pick it up by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from plantmind.llm.client import ChatClient, ChatResult, LLMConfig

__all__ = [
    "DEFAULT_BACKEND",
    "ChatBackend",
    "backend_names",
    "make_backend",
    "register_backend",
]

DEFAULT_BACKEND = "openai"


class ChatBackend(Protocol):
    """What the router needs from a model client."""

    available: bool

    @property
    def name(self) -> str: ...

    def chat(self, messages: Sequence[Mapping[str, Any]], **options: Any) -> ChatResult: ...

    def stream(self, messages: Sequence[Mapping[str, Any]], **options: Any) -> Iterator[str]: ...

    def close(self) -> None: ...


BackendFactory = Callable[[LLMConfig], Any]

_BACKENDS: dict[str, BackendFactory] = {DEFAULT_BACKEND: ChatClient}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``factory`` (``LLMConfig -> client``) available as backend ``name``."""
    if name in _BACKENDS:
        raise ValueError(f"model backend {name!r} is already registered")
    _BACKENDS[name] = factory


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def make_backend(config: LLMConfig) -> Any:
    """The client for ``config`` by its ``backend`` name; ValueError naming the known ones."""
    try:
        factory = _BACKENDS[config.backend]
    except KeyError:
        raise ValueError(
            f"unknown model backend {config.backend!r} (known: {', '.join(backend_names())})"
        ) from None
    return factory(config)
