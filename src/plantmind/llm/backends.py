"""Model backends by name: how an endpoint of plant.yaml (``llm.endpoints.*.backend``) becomes
a client. ``openai`` (:class:`~plantmind.llm.client.ChatClient`: any OpenAI-compatible HTTP
server, llama.cpp, Ollama, vLLM or a hosted API) is the default; ``llama-cpp`` (alias
``local``: :class:`~plantmind.llm.local.LocalChatBackend`, a GGUF run in-process at an
air-gapped edge, the ``[edge-llm]`` extra) is registered lazily, so importing this module
never imports llama.cpp. Other backends register a factory here, and the router and every
caller pick them up by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from plantmind.core.registry import Registry
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

_BACKENDS: Registry[BackendFactory] = Registry("model backend")
_BACKENDS.register(DEFAULT_BACKEND, ChatClient)


def _local_backend(config: LLMConfig) -> Any:
    """The in-process backend, imported on first use (llama_cpp itself only on load)."""
    from plantmind.llm.local import LocalChatBackend

    return LocalChatBackend(config)


for _name in ("llama-cpp", "local"):  # plantmind.core.routing.IN_PROCESS_BACKENDS
    _BACKENDS.register(_name, _local_backend)


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``factory`` (``LLMConfig -> client``) available as backend ``name``."""
    _BACKENDS.register(name, factory)


def backend_names() -> list[str]:
    return _BACKENDS.names()


def make_backend(config: LLMConfig) -> Any:
    """The client for ``config`` by its ``backend`` name; ValueError naming the known ones."""
    return _BACKENDS.get(config.backend)(config)
