"""Model clients over httpx for the OpenAI-compatible HTTP API: chat (whole or streamed as
server-sent events), timeouts, retries with exponential back-off on connection errors, 429
and 5xx (by ``tenacity``), and a limit on calls in flight per endpoint. :class:`NoneClient` stands for a tier
without a model.

A read timeout is not retried: a model that did not answer in the caller's budget will not
answer faster the second time, and the caller has a fallback. Retries never run past the
caller's deadline. A server that cannot be reached at all raises :class:`LLMUnreachable`, so
the router can tell "down" (try another tier, or queue) from "answered badly" (fall back).
The API key is read from the environment variable the configuration names, never from a file
or a command line.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)
from tenacity.stop import stop_base

if TYPE_CHECKING:
    from plantmind.core.routing import ModelEndpoint

__all__ = [
    "ChatClient",
    "ChatModel",
    "ChatResult",
    "LLMConfig",
    "LLMError",
    "LLMTimeout",
    "LLMUnreachable",
    "NoneClient",
]


class LLMError(RuntimeError):
    """The model endpoint failed; the message says how (status, body excerpt, or cause)."""


class LLMTimeout(LLMError):
    """The model endpoint did not answer within the timeout (or the latency budget)."""


class LLMUnreachable(LLMError):
    """The endpoint could not be reached (connection refused, DNS, connect timeout), or no
    model is configured for it."""


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Where the model is. ``base_url`` is the server root or its ``/v1``; the key, if the
    server needs one, is in the environment variable ``api_key_env``."""

    base_url: str
    model: str
    api_key_env: str | None = "PLANTMIND_LLM_API_KEY"
    timeout_s: float = 30.0
    retries: int = 2
    backoff_s: float = 0.5
    temperature: float = 0.0
    max_tokens: int = 512
    max_concurrency: int = 4
    embedding_model: str | None = None
    #: which client serves it (:mod:`plantmind.llm.backends`)
    backend: str = "openai"
    #: in-process backends (``llama-cpp``): the GGUF file, the context size and the threads
    model_path: str | None = None
    n_ctx: int | None = None
    threads: int | None = None
    #: in-process backends: a LoRA adapter GGUF applied on ``model_path`` (llama.cpp's
    #: ``lora_path``), and its scale
    lora_path: str | None = None
    lora_scale: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMConfig | None:
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

    @classmethod
    def from_endpoint(cls, ep: ModelEndpoint, base_dir: str | Path | None = None) -> LLMConfig:
        """From an endpoint declared in plant.yaml (``llm.endpoints.edge|central``); a
        relative ``model_path`` is taken relative to ``base_dir`` (the plant file's folder)
        when given."""
        path = ep.model_path
        if path is not None and base_dir is not None:
            p = Path(path).expanduser()
            path = str(p if p.is_absolute() else Path(base_dir) / p)
        return cls(
            base_url=ep.url or "",
            model=ep.model or (Path(path).stem if path else "default"),
            api_key_env=ep.api_key_env,
            timeout_s=ep.timeout_s,
            retries=ep.retries,
            backoff_s=ep.backoff_s,
            max_concurrency=ep.max_concurrency,
            embedding_model=ep.embedding_model,
            backend=ep.backend,
            model_path=path,
            n_ctx=ep.n_ctx,
            threads=ep.threads,
        )

    def _url(self, path: str) -> str:
        base = self.base_url.rstrip("/")
        return f"{base}/{path}" if base.endswith("/v1") else f"{base}/v1/{path}"

    @property
    def chat_url(self) -> str:
        return self._url("chat/completions")


@dataclass(frozen=True, slots=True)
class ChatResult:
    text: str
    model: str
    latency_ms: float
    usage: dict[str, Any]


class ChatModel(Protocol):
    """What a capability needs from a model: :class:`ChatClient`, or the router's per-kind
    view (:meth:`plantmind.llm.router.Router.chat_model`)."""

    def chat(self, messages: Sequence[Mapping[str, Any]]) -> ChatResult: ...


class _Transient(Exception):
    """A failed try worth another (no connection, 429, 5xx): the retry policy retries on this
    type alone, and ``error`` is what the caller gets when the tries run out."""

    def __init__(self, error: LLMError) -> None:
        super().__init__(str(error))
        self.error = error


def _remaining(deadline: float | None, timeout_s: float) -> float:
    if deadline is None:
        return timeout_s
    return min(timeout_s, deadline - time.monotonic())


class ChatClient:
    """A client for one endpoint and model (see the module docstring)."""

    available = True

    def __init__(self, config: LLMConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(config.api_key_env, "") if config.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.timeout_s),
            headers=headers,
            transport=transport,
            # pool as large as the concurrency limit: a call never waits for a connection
            limits=httpx.Limits(max_connections=max(config.max_concurrency, 1)),
        )
        self._slots = threading.BoundedSemaphore(max(config.max_concurrency, 1))

    @property
    def name(self) -> str:
        return self.config.model

    # -- plumbing --------------------------------------------------------------------------
    def _acquire(self, deadline: float | None, timeout_s: float) -> None:
        wait = _remaining(deadline, timeout_s)
        if wait <= 0 or not self._slots.acquire(timeout=wait):
            raise LLMTimeout(
                f"{self.config.chat_url}: {self.config.max_concurrency} calls already in "
                f"flight; no slot within {max(wait, 0):.2f} s"
            )

    def _send(
        self,
        url: str,
        body: dict[str, Any],
        *,
        timeout_s: float | None,
        deadline: float | None,
        headers: Mapping[str, str] | None,
        stream: bool = False,
    ) -> httpx.Response:
        """POST with retries; returns a response with a 2xx status (open, if ``stream``)."""
        cfg = self.config
        per_call = cfg.timeout_s if timeout_s is None else timeout_s
        if cfg.retries < 0:  # not even one try is allowed
            raise LLMTimeout(f"{url}: the latency budget ran out between retries")
        stop: stop_base = stop_after_attempt(cfg.retries + 1)
        if deadline is not None:
            # no further try whose back-off would end at or past the deadline (counted from
            # now, which is when tenacity starts its clock)
            stop = stop | stop_before_delay(deadline - time.monotonic())
        retrying = Retrying(
            stop=stop,
            wait=wait_exponential(multiplier=cfg.backoff_s, exp_base=2),
            retry=retry_if_exception_type(_Transient),
        )
        try:
            return retrying(self._try, url, body, per_call, deadline, headers, stream)
        except RetryError as exc:
            failure = exc.last_attempt.exception()
        if not isinstance(failure, _Transient):  # unreachable: only a _Transient is retried
            raise LLMError(f"{url}: retries ended without an error ({failure!r})")
        # raised out here, not in the handler: the caller sees the last try's error alone, with
        # the httpx exception as its cause where one was kept, not tenacity's RetryError
        raise failure.error

    def _try(
        self,
        url: str,
        body: dict[str, Any],
        per_call: float,
        deadline: float | None,
        headers: Mapping[str, str] | None,
        stream: bool,
    ) -> httpx.Response:
        """One POST: a 2xx response, :class:`_Transient` for a failure worth retrying, or the
        caller's error (a read timeout, another 4xx) at once."""
        wait = _remaining(deadline, per_call)
        if wait <= 0:
            raise LLMTimeout(f"{url}: the latency budget was spent before the call")
        req = self._http.build_request(
            "POST", url, json=body, headers=dict(headers or {}), timeout=httpx.Timeout(wait)
        )
        try:
            resp = self._http.send(req, stream=stream)
        except httpx.ConnectTimeout as exc:
            err: LLMError = LLMUnreachable(f"{url}: no connection within {wait:.2g} s")
            err.__cause__ = exc
            raise _Transient(err) from None
        except httpx.TimeoutException as exc:
            raise LLMTimeout(f"{url}: no answer within {wait:.2g} s") from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            cls = LLMUnreachable if isinstance(exc, httpx.ConnectError) else LLMError
            raise _Transient(cls(f"{url}: {type(exc).__name__}: {exc}")) from None
        except httpx.TransportError as exc:
            raise _Transient(LLMError(f"{url}: {type(exc).__name__}: {exc}")) from None
        if resp.status_code < 400:
            return resp
        text = resp.read().decode("utf-8", "replace")[:200] if stream else resp.text[:200]
        resp.close()
        error = LLMError(f"{url}: HTTP {resp.status_code}: {text}")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Transient(error)
        raise error

    def _body(
        self,
        messages: Sequence[Mapping[str, Any]],
        max_tokens: int | None,
        temperature: float | None,
        stream: bool,
    ) -> dict[str, Any]:
        cfg = self.config
        return {
            "model": cfg.model,
            "messages": [dict(m) for m in messages],
            "temperature": cfg.temperature if temperature is None else temperature,
            "max_tokens": cfg.max_tokens if max_tokens is None else max_tokens,
            "stream": stream,
        }

    # -- chat ------------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        timeout_s: float | None = None,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ChatResult:
        """The assistant message's text for ``messages`` (role/content dicts).

        ``timeout_s`` bounds each request, ``deadline`` (``time.monotonic()``) the whole
        call with its retries; ``headers`` are added (e.g. ``Idempotency-Key``)."""
        t0 = time.perf_counter()
        per_call = self.config.timeout_s if timeout_s is None else timeout_s
        self._acquire(deadline, per_call)
        try:
            body = self._body(messages, max_tokens, temperature, False)
            resp = self._send(
                self.config.chat_url, body, timeout_s=per_call, deadline=deadline, headers=headers
            )
            return self._parse(resp, t0)
        finally:
            self._slots.release()

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
        usage = data.get("usage")
        return ChatResult(
            text=text,
            model=str(data.get("model") or self.config.model),
            latency_ms=(time.perf_counter() - t0) * 1e3,
            usage=dict(usage) if isinstance(usage, dict) else {},
        )

    def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        timeout_s: float | None = None,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[str]:
        """A streamed chat: the text deltas as they arrive.

        The request is sent, and its status checked, before this returns, so a caller can
        still fall back when the server is down or refuses; errors after the first delta
        (a malformed event, a stall longer than the timeout) are raised from the iterator.
        """
        per_call = self.config.timeout_s if timeout_s is None else timeout_s
        self._acquire(deadline, per_call)
        try:
            body = self._body(messages, max_tokens, temperature, True)
            resp = self._send(
                self.config.chat_url,
                body,
                timeout_s=per_call,
                deadline=deadline,
                headers=headers,
                stream=True,
            )
        except BaseException:
            self._slots.release()
            raise
        return self._deltas(resp)

    def _deltas(self, resp: httpx.Response) -> Iterator[str]:
        url = self.config.chat_url
        try:
            # Server-sent events (WHATWG HTML §9.2): "data: <json>" lines, blank line between
            # events, "data: [DONE]" at the end (OpenAI's convention).
            for line in resp.iter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                try:
                    event = json.loads(payload)
                    choices = event.get("choices") or []
                    delta = (choices[0].get("delta") or {}).get("content") if choices else None
                except (ValueError, AttributeError, IndexError, TypeError) as exc:
                    raise LLMError(f"{url}: malformed stream event: {payload[:200]}") from exc
                if delta:
                    yield str(delta)
        except httpx.TimeoutException as exc:
            raise LLMTimeout(f"{url}: the stream stalled") from exc
        except httpx.TransportError as exc:
            raise LLMError(f"{url}: stream broken: {type(exc).__name__}: {exc}") from exc
        finally:
            resp.close()
            self._slots.release()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NoneClient:
    """The client of a tier without a model: every call raises :class:`LLMUnreachable`, so
    callers take their deterministic path and say so."""

    available = False
    name = "none"

    def __init__(self, why: str = "no model is configured") -> None:
        self.why = why

    def chat(self, messages: Sequence[Mapping[str, Any]], **_: Any) -> ChatResult:
        raise LLMUnreachable(self.why)

    def stream(self, messages: Sequence[Mapping[str, Any]], **_: Any) -> Iterator[str]:
        raise LLMUnreachable(self.why)

    def close(self) -> None:
        pass
