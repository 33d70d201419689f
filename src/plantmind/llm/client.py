"""An OpenAI-compatible chat client over httpx: ``POST <base>/v1/chat/completions`` with a
timeout, and retries with exponential back-off on connection errors, 429 and 5xx.

A timeout is not retried: a model that did not answer in the caller's budget will not answer
faster the second time, and the caller has a fallback. The API key is read from the
environment variable the configuration names, never from a file or a command line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["ChatClient", "ChatResult", "LLMConfig", "LLMError", "LLMTimeout"]


class LLMError(RuntimeError):
    """The model endpoint failed; the message says how (status, body excerpt, or cause)."""


class LLMTimeout(LLMError):
    """The model endpoint did not answer within the timeout."""


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Where the model is. ``base_url`` is the server root or its ``/v1``; the key, if the
    server needs one, is in the environment variable ``api_key_env``."""

    base_url: str
    model: str
    api_key_env: str = "PLANTMIND_LLM_API_KEY"
    timeout_s: float = 30.0
    retries: int = 2
    backoff_s: float = 0.5
    temperature: float = 0.0
    max_tokens: int = 512

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> LLMConfig | None:
        """From ``PLANTMIND_LLM_URL`` and ``PLANTMIND_LLM_MODEL`` (optional
        ``PLANTMIND_LLM_TIMEOUT`` in seconds); None when no URL is set."""
        env = os.environ if environ is None else environ
        url = env.get("PLANTMIND_LLM_URL", "").strip()
        if not url:
            return None
        return cls(
            base_url=url,
            model=env.get("PLANTMIND_LLM_MODEL", "").strip() or "default",
            timeout_s=float(env.get("PLANTMIND_LLM_TIMEOUT", "30")),
        )

    @property
    def chat_url(self) -> str:
        base = self.base_url.rstrip("/")
        return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class ChatResult:
    text: str
    model: str
    latency_ms: float
    usage: dict[str, Any]


class ChatClient:
    """A chat-completions client for one endpoint and model (see the module docstring)."""

    def __init__(self, config: LLMConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(config.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.timeout_s), headers=headers, transport=transport
        )

    @property
    def name(self) -> str:
        return self.config.model

    def chat(
        self,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        timeout_s: float | None = None,
    ) -> ChatResult:
        """The assistant message's text for ``messages`` (role/content dicts)."""
        cfg = self.config
        body = {
            "model": cfg.model,
            "messages": list(messages),
            "temperature": cfg.temperature if temperature is None else temperature,
            "max_tokens": cfg.max_tokens if max_tokens is None else max_tokens,
            "stream": False,
        }
        timeout = httpx.Timeout(cfg.timeout_s if timeout_s is None else timeout_s)
        last: Exception | None = None
        t0 = time.perf_counter()
        for attempt in range(cfg.retries + 1):
            if attempt:
                time.sleep(cfg.backoff_s * 2 ** (attempt - 1))
            try:
                resp = self._http.post(cfg.chat_url, json=body, timeout=timeout)
            except httpx.TimeoutException as exc:
                raise LLMTimeout(
                    f"{cfg.chat_url}: no answer within {timeout.read or cfg.timeout_s:g} s"
                ) from exc
            except httpx.TransportError as exc:
                last = LLMError(f"{cfg.chat_url}: {type(exc).__name__}: {exc}")
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = LLMError(f"{cfg.chat_url}: HTTP {resp.status_code}: {resp.text[:200]}")
                continue
            if resp.status_code >= 400:
                raise LLMError(f"{cfg.chat_url}: HTTP {resp.status_code}: {resp.text[:200]}")
            return self._parse(resp, t0)
        assert last is not None
        raise last

    def _parse(self, resp: httpx.Response, t0: float) -> ChatResult:
        try:
            data = resp.json()
            text = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(
                f"{self.config.chat_url}: not a chat-completions response: {resp.text[:200]}"
            ) from exc
        if not isinstance(text, str):
            raise LLMError(f"{self.config.chat_url}: message content is not text")
        return ChatResult(
            text=text,
            model=str(data.get("model") or self.config.model),
            latency_ms=(time.perf_counter() - t0) * 1e3,
            usage=dict(data.get("usage") or {}),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
