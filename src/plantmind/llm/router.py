"""The hybrid router: every model call is a :class:`~plantmind.llm.policy.Task`; the policy
places it on the edge model, the central model, the caller's deterministic fallback, or the
durable queue, and the router carries the decision out.

What it adds to the policy:

* **Connectivity.** A tier that failed to connect is "down" for ``llm.reconnect_after_s``;
  meanwhile tasks for it follow their rule's ``on_unreachable`` without waiting on a socket.
  The first call after that probes it again.
* **Redaction.** Everything sent to the central tier passes through the site's
  :class:`~plantmind.llm.redact.Redactor`; placeholders in the answer are restored.
  Confidential and restricted tasks are refused before any byte is sent (checked here again,
  whatever the policy object says).
* **Budgets.** The task's latency budget bounds the whole call, retries included; a model
  that exceeds it, answers 5xx or malformed JSON gives the fallback, with a note and a log row.
* **Queue.** Queued tasks are durable (:mod:`plantmind.llm.queue`); a drainer thread runs
  them once their tier is back, each exactly once, with the task id as ``Idempotency-Key``.
* **Audit.** Every call is a row in the call log (:mod:`plantmind.llm.log`).
* **Model version.** A tier's model put in with :meth:`Router.use_model` (or followed from the
  site's verified models, :meth:`Router.follow_models`) together with the identity of its
  signed registry version (``{"name", "version", "digest"}``) is named on every result it
  answered (``model_ref``) and in its log row; a model configured in plant.yaml has no such
  identity, and its results name the model only (``model``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plantmind.core.routing import LlmSettings, Tier, sensitivity_rank
from plantmind.llm.backends import make_backend
from plantmind.llm.client import (
    ChatResult,
    LLMConfig,
    LLMError,
    LLMTimeout,
    LLMUnreachable,
    NoneClient,
)
from plantmind.llm.log import CallLog, CallRecord
from plantmind.llm.policy import Decision, Policy, Task, UnknownTaskKind
from plantmind.llm.queue import QueueFullError, TaskQueue
from plantmind.llm.redact import Redactor, StreamRestorer, load_key

__all__ = ["RoutedChat", "RoutedResult", "RoutedStream", "Router", "UnknownTaskKind"]

log = logging.getLogger("plantmind.llm")

TIERS: tuple[Tier, ...] = ("edge", "central")


@dataclass(slots=True)
class RoutedResult:
    """What became of a task. ``placement`` is where it finally went (edge, central,
    fallback, queue, refused); ``outcome`` says how it went (ok, fallback, queued, refused,
    timeout, error); ``text`` is None when no model answered and no fallback was given."""

    task_id: str
    kind: str
    decision: Decision
    placement: str
    outcome: str
    text: str | None = None
    model: str | None = None
    latency_ms: float = 0.0
    overhead_ms: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the registry version of the model that answered (``{"name", "version", "digest"}``),
    #: None when no model answered or the tier's model has no registry identity
    model_ref: dict[str, Any] | None = None

    @property
    def reason(self) -> str:
        return "; ".join([self.decision.reason, *self.notes])

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "placement": self.placement,
            "outcome": self.outcome,
            "rule": self.decision.rule,
            "reason": self.reason,
            "model": self.model,
            "model_ref": self.model_ref,
            "latency_ms": round(self.latency_ms, 3),
            "overhead_ms": round(self.overhead_ms, 3),
            "usage": self.usage,
            "text": self.text,
        }


class RoutedStream:
    """A streamed call that the router placed on a model: iterate for the text deltas
    (placeholders already restored). The call is logged when the iteration ends."""

    def __init__(
        self,
        router: Router,
        task: Task,
        decision: Decision,
        model: str,
        deltas: Iterator[str],
        mapping: Mapping[str, str],
        started: float,
        overhead_ms: float,
        model_ref: dict[str, Any] | None = None,
    ) -> None:
        self.router, self.task, self.decision, self.model = router, task, decision, model
        self.model_ref = model_ref
        self._deltas, self._restorer = deltas, StreamRestorer(mapping)
        self._started, self._overhead_ms = started, overhead_ms
        self.placement = decision.tier or decision.placement
        self.outcome = "ok"

    def __iter__(self) -> Iterator[str]:
        parts: list[str] = []
        try:
            for delta in self._deltas:
                out = self._restorer.feed(delta)
                if out:
                    parts.append(out)
                    yield out
            tail = self._restorer.flush()
            if tail:
                parts.append(tail)
                yield tail
        except LLMTimeout:
            self.outcome = "timeout"
            raise
        except LLMError:
            self.outcome = "error"
            raise
        finally:
            close = getattr(self._deltas, "close", None)
            if close is not None:
                close()
            self.router._record(
                self.task,
                self.decision,
                self.placement,
                self.outcome,
                self.decision.reason,
                (time.perf_counter() - self._started) * 1e3,
                self._overhead_ms,
                self.model,
                {"completion_tokens": len("".join(parts)) // 4},
                "".join(parts),
                model_ref=self.model_ref,
            )


class Router:
    """Routes tasks for one site (see the module docstring).

    ``home``: where the queue and the call log live (None: no queue, no log). ``clients``
    replaces the per-tier clients built from the settings (tests, benchmarks).
    ``extra_redact_terms`` adds literal terms to redact (term → kind). ``base_dir`` is the
    folder relative ``model_path`` values of in-process endpoints are taken from (the plant
    file's; None: the working directory).
    """

    def __init__(
        self,
        settings: LlmSettings | None = None,
        *,
        home: str | Path | None = None,
        clients: Mapping[str, Any] | None = None,
        extra_redact_terms: Mapping[str, str] | None = None,
        base_dir: str | Path | None = None,
    ) -> None:
        self.settings = settings or LlmSettings()
        self.policy = Policy(self.settings)
        self.home = Path(home) if home is not None else None
        eps = self.settings.endpoints
        self.clients: dict[str, Any] = {}
        for tier in TIERS:
            ep = getattr(eps, tier)
            given = (clients or {}).get(tier)
            if given is not None:
                self.clients[tier] = given
            elif ep is not None:
                self.clients[tier] = make_backend(LLMConfig.from_endpoint(ep, base_dir))
            else:
                self.clients[tier] = NoneClient(f"no {tier} model is configured (llm.endpoints)")
        # a client given in code configures its tier, as an endpoint in plant.yaml would
        for tier in TIERS:
            self.policy.configured[tier] = bool(getattr(self.clients[tier], "available", True))
        red = self.settings.redaction
        self.redactor = Redactor(
            red.patterns if red.enabled else [],
            key=load_key(self.home),
            extra_terms=extra_redact_terms if red.enabled else None,
        )
        self._central_limit = sensitivity_rank(self.settings.central_max_sensitivity)
        #: per tier: the registry identity of the tier's model (see :meth:`use_model`)
        self.model_refs: dict[str, dict[str, Any]] = {}
        self._down_until: dict[str, float] = {}
        self._tl = threading.local()  # per call: milliseconds inside the model client
        self._lock = threading.Lock()
        self.queue: TaskQueue | None = None
        self.log: CallLog | None = None
        if self.home is not None:
            self.queue = TaskQueue(
                self.home / "llm_queue.db", max_tasks=self.settings.queue_max_tasks
            )
            self.log = CallLog(self.home / "llm_calls.db")
        self.on_complete: list[Callable[[str, dict[str, Any]], None]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drainer: threading.Thread | None = None

    @classmethod
    def from_plant(
        cls,
        plant: Any,
        home: str | Path | None,
        *,
        env: bool = True,
        edge: Any | None = None,
        base_dir: str | Path | None = None,
    ) -> Router:
        """The router of a plant (``plant.llm``). When the file declares no edge endpoint,
        ``edge`` (a client), or with ``env`` ``PLANTMIND_LLM_URL``/``PLANTMIND_LLM_MODEL``,
        name the edge model (how the assistant was configured before the router existed).
        ``base_dir``: the plant file's folder, for relative model files."""
        settings: LlmSettings = plant.llm
        clients: dict[str, Any] = {}
        if edge is not None and settings.endpoints.edge is None:
            clients["edge"] = edge
        elif env and settings.endpoints.edge is None:
            cfg = LLMConfig.from_env()
            if cfg is not None:
                clients["edge"] = make_backend(cfg)
        terms: dict[str, str] = {}
        if settings.redaction.asset_ids:
            terms = {a.id: "asset" for _, _, a in plant.iter_assets()}
        return cls(
            settings, home=home, clients=clients, extra_redact_terms=terms, base_dir=base_dir
        )

    @property
    def has_model(self) -> bool:
        """Whether any tier has a model (else every task takes the fallback)."""
        return any(self.policy.configured.values())

    def use_model(self, tier: str, client: Any, ref: dict[str, Any] | None = None) -> None:
        """Answer ``tier``'s tasks with ``client`` from now on; ``ref`` is the identity of the
        signed registry version it runs (``{"name", "version", "digest"}``), stamped on every
        result and log row it produces (None: a model without one, nothing stamped). Client
        and identity change together, so a call never names another model than the one that
        answered it. The previous client is not closed (a call may still be using it)."""
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
        checked = None
        if ref is not None:
            checked = {"name": str(ref["name"]), "version": int(ref["version"]),
                       "digest": str(ref["digest"])}  # fmt: skip
        with self._lock:
            self.clients[tier] = client
            if checked is None:
                self.model_refs.pop(tier, None)
            else:
                self.model_refs[tier] = checked
            self.policy.configured[tier] = bool(getattr(client, "available", True))

    def follow_models(self, models: Any, tier: str = "edge", kind: str = "llm-base") -> None:
        """Answer ``tier``'s tasks with every ``kind`` version the site's verified models put
        into service (``models``: a :class:`plantmind.models.agent.SiteModels`, or anything
        with its ``listeners``; attach before its ``restore()``), through :meth:`use_model`
        with its ``{"name", "version", "digest"}``. The kind's activator must load a chat
        client (``chat``, ``stream``, ``close``, ``name``), as the ``llm-base`` and
        ``llm-adapter`` activators of :mod:`plantmind.models.activators` do."""
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")

        def on_model(loaded: Any, k: str) -> None:
            if k == kind:
                ref = {"name": loaded.name, "version": loaded.version, "digest": loaded.digest}
                self.use_model(tier, loaded.model, ref)

        models.listeners.append(on_model)

    def _client(self, tier: str) -> tuple[Any, dict[str, Any] | None]:
        """The tier's client and its registry identity, read together."""
        with self._lock:
            return self.clients[tier], self.model_refs.get(tier)

    # -- connectivity -----------------------------------------------------------------------
    def reachable(self, tier: str) -> bool:
        """Configured, and not marked down within the last ``reconnect_after_s``."""
        if not self.policy.configured.get(tier, False):
            return False
        return time.monotonic() >= self._down_until.get(tier, 0.0)

    def mark_down(self, tier: str, why: str) -> None:
        with self._lock:
            first = tier not in self._down_until
            self._down_until[tier] = time.monotonic() + self.settings.reconnect_after_s
        if first:
            log.warning("%s model unreachable: %s", tier, why)

    def mark_up(self, tier: str) -> None:
        """The tier answered: route to it again and wake the queue drainer."""
        if tier in self._down_until:
            with self._lock:
                if self._down_until.pop(tier, None) is not None:
                    log.info("%s model reachable again", tier)
            self._wake.set()  # queued tasks may run now

    # -- deciding ---------------------------------------------------------------------------
    def explain(self, task: Task, *, assume_reachable: bool = False) -> Decision:
        """The decision for ``task`` now (or with every configured tier up), without running
        it."""
        reach = (lambda t: self.policy.configured[t]) if assume_reachable else self.reachable
        return self.policy.decide(task, reach)

    # -- running ----------------------------------------------------------------------------
    def run(self, task: Task, *, fallback: Callable[[Task], str] | None = None) -> RoutedResult:
        """Place and run ``task``; returns what happened (never raises for model failures;
        :class:`UnknownTaskKind` and invalid sensitivities do raise)."""
        t0 = time.perf_counter()
        try:
            decision = self.policy.decide(task, self.reachable)
        except ValueError as exc:
            self._reject(task, str(exc), t0)
            raise
        deadline = time.monotonic() + decision.latency_budget_ms / 1e3
        notes: list[str] = []
        model_ms = 0.0
        outcome = ""
        for _ in range(len(TIERS) + 1):
            if decision.placement not in TIERS:
                break
            tier = str(decision.tier)
            self._tl.client_ms = 0.0
            try:
                res, redacted, _ = self._call(tier, task, deadline)
            except _Refused as exc:
                notes.append(str(exc))
                decision = Decision("refused", decision.rule, decision.reason, decision.sensitivity,
                                    decision.latency_budget_ms, decision.tokens)  # fmt: skip
                break
            except LLMUnreachable as exc:
                model_ms += self._tl.client_ms
                self.mark_down(tier, str(exc))
                notes.append(f"{tier} model unreachable ({exc})")
                decision = self.policy.decide(task, self.reachable)
                continue
            except LLMTimeout as exc:
                model_ms += self._tl.client_ms
                outcome = "timeout"
                notes.append(f"{tier} model exceeded the latency budget ({exc})")
                break
            except LLMError as exc:
                model_ms += self._tl.client_ms
                outcome = "error"
                notes.append(f"{tier} model failed ({exc})")
                break
            model_ms += self._tl.client_ms
            self.mark_up(tier)
            result = RoutedResult(
                task.id, task.kind, decision, tier, "ok", res.text, res.model, usage=res.usage,
                notes=notes, model_ref=self._tl.model_ref,
            )  # fmt: skip
            return self._finish(result, task, t0, model_ms, redacted)
        placement = decision.placement
        if placement == "queue":
            try:
                self._enqueue(task, decision)
                return self._finish(
                    RoutedResult(task.id, task.kind, decision, "queue", "queued", notes=notes),
                    task, t0, model_ms,
                )  # fmt: skip
            except (QueueFullError, RuntimeError) as exc:
                notes.append(f"could not queue ({exc})")
                placement = "fallback"
        if placement == "refused":
            result = RoutedResult(task.id, task.kind, decision, "refused", "refused", notes=notes)
            return self._finish(result, task, t0, model_ms)
        # the deterministic fallback: the decision's, or after a model failed
        text = None
        if fallback is not None:
            t_fb = time.perf_counter()
            text = fallback(task)
            model_ms += (time.perf_counter() - t_fb) * 1e3  # the caller's work, not routing
        result = RoutedResult(
            task.id, task.kind, decision, "fallback", outcome or "fallback", text,
            None if text is None else "fallback", notes=notes,
        )  # fmt: skip
        return self._finish(result, task, t0, model_ms)

    def _call(self, tier: str, task: Task, deadline: float | None) -> tuple[ChatResult, int, float]:
        """The model's answer, the number of redacted terms, and the milliseconds spent
        inside the client (the rest is the router's overhead)."""
        client, self._tl.model_ref = self._client(tier)
        messages: list[dict[str, Any]] = task.messages
        mapping: dict[str, str] = {}
        if tier == "central":
            messages, mapping = self._for_central(task)
        # the deadline bounds each request and the retries; the endpoint's timeout_s still
        # bounds each request when the budget is larger
        t_client = time.perf_counter()
        try:
            res = client.chat(
                messages,
                max_tokens=task.max_tokens,
                temperature=task.temperature,
                deadline=deadline,
                headers={"Idempotency-Key": task.id},
            )
        finally:
            self._tl.client_ms = (time.perf_counter() - t_client) * 1e3
        if mapping:
            res = ChatResult(
                Redactor.restore(res.text, mapping), res.model, res.latency_ms, res.usage
            )
        return res, len(mapping), self._tl.client_ms

    def _for_central(self, task: Task) -> tuple[list[dict[str, Any]], dict[str, str]]:
        sens, _ = self.policy.effective(task)
        if sensitivity_rank(sens) > self._central_limit:
            # Fail closed whatever produced the decision (a policy built in code, a queued
            # task from an older policy): this data does not leave the site.
            raise _Refused(f"{sens} data never leaves the site")
        if not self.redactor.active:
            return task.messages, {}
        return self.redactor.redact_messages(task.messages)

    def stream(
        self, task: Task, *, fallback: Callable[[Task], str] | None = None
    ) -> RoutedStream | RoutedResult:
        """A streamed call: a :class:`RoutedStream` when a model accepted the request, else
        the :class:`RoutedResult` of the fallback, queue or refusal (as :meth:`run`)."""
        t0 = time.perf_counter()
        try:
            decision = self.policy.decide(task, self.reachable)
        except ValueError as exc:
            self._reject(task, str(exc), t0)
            raise
        deadline = time.monotonic() + decision.latency_budget_ms / 1e3
        while decision.placement in TIERS:
            tier = str(decision.tier)
            client, ref = self._client(tier)
            mapping: dict[str, str] = {}
            messages = task.messages
            try:
                if tier == "central":
                    messages, mapping = self._for_central(task)
                overhead = (time.perf_counter() - t0) * 1e3
                deltas = client.stream(
                    messages,
                    max_tokens=task.max_tokens,
                    temperature=task.temperature,
                    deadline=deadline,
                    headers={"Idempotency-Key": task.id},
                )
            except LLMUnreachable as exc:
                self.mark_down(tier, str(exc))
                decision = self.policy.decide(task, self.reachable)
                continue
            except LLMError:
                break  # run() gives the fallback (and logs why)
            self.mark_up(tier)
            return RoutedStream(
                self, task, decision, client.name, deltas, mapping, t0, overhead, ref
            )
        return self.run(task, fallback=fallback)

    def chat_model(
        self,
        kind: str,
        *,
        sensitivity: str | None = None,
        requester: str = "local",
        max_tokens: int | None = None,
    ) -> RoutedChat:
        """A :class:`~plantmind.llm.client.ChatModel` for one task kind, for capabilities
        written against a plain chat client: interactive (never queued); a fallback or
        refusal raises :class:`LLMError` so the caller takes its own path. A caller with a
        deterministic answer of its own (the assistant's extractive one) gives it to
        :meth:`run` as ``fallback`` instead."""
        self.policy.kind(kind)  # unknown kinds fail here, at wiring time
        return RoutedChat(self, kind, sensitivity, requester, max_tokens)

    # -- queue ------------------------------------------------------------------------------
    def _enqueue(self, task: Task, decision: Decision) -> None:
        if self.queue is None:
            raise RuntimeError("no durable queue (the router has no home directory)")
        self.queue.put(
            task.id, task.kind, str(decision.tier), {**task.to_dict(), "rule": decision.rule}
        )
        self._wake.set()

    def drain(self, max_tasks: int | None = None) -> int:
        """Run queued tasks whose tier is reachable now; returns how many completed."""
        if self.queue is None:
            return 0
        done = 0
        for tier in TIERS:
            while (max_tasks is None or done < max_tasks) and self.reachable(tier):
                lease = self._lease_s(tier)
                qt = self.queue.claim(tier, lease_s=lease)
                if qt is None:
                    break
                task = Task.from_dict(qt.task)
                rule = str(qt.task.get("rule", "queue"))
                decision = Decision(
                    tier, rule, f"queued by rule {rule!r}; ran once {tier} was back",
                    *self.policy.effective(task), task.tokens, tier,
                )  # fmt: skip
                t0 = time.perf_counter()
                try:
                    res, redacted, _ = self._call(tier, task, None)
                except _Refused as exc:
                    self.queue.release(task.id, str(exc), final=True)
                    self._record(task, decision, "refused", "refused", str(exc), 0.0, 0.0)
                    continue
                except LLMUnreachable as exc:
                    self.queue.release(task.id, str(exc), final=False, refund=True)
                    self.mark_down(tier, str(exc))
                    break
                except LLMError as exc:
                    final = qt.attempts >= self.settings.queue_max_attempts
                    self.queue.release(task.id, str(exc), final=final)
                    outcome = "timeout" if isinstance(exc, LLMTimeout) else "error"
                    ms = (time.perf_counter() - t0) * 1e3
                    self._record(task, decision, tier, outcome, str(exc), ms, 0.0)
                    if final:
                        log.error("queued task %s failed for good: %s", task.id, exc)
                    continue
                self.mark_up(tier)
                ref = self._tl.model_ref
                payload = {"text": res.text, "model": res.model, "usage": res.usage, "tier": tier,
                           "model_ref": ref}  # fmt: skip
                ms = (time.perf_counter() - t0) * 1e3
                if self.queue.complete(task.id, payload):
                    done += 1
                    self._record(task, decision, tier, "ok", decision.reason, ms,
                                 max(ms - res.latency_ms, 0.0), res.model, res.usage, res.text,
                                 redacted, model_ref=ref)  # fmt: skip
                    for cb in list(self.on_complete):
                        try:
                            cb(task.id, payload)
                        except Exception:
                            log.exception("on_complete callback failed for %s", task.id)
        return done

    def _lease_s(self, tier: str) -> float:
        cfg = getattr(self.clients[tier], "config", None)
        if cfg is None:
            return 60.0
        return cfg.timeout_s * (cfg.retries + 1) + 10.0

    def start(self) -> None:
        """Start the drainer thread (idempotent): it runs queued tasks as tiers come back."""
        if self.queue is None or (self._drainer is not None and self._drainer.is_alive()):
            return
        self._stop.clear()
        self._drainer = threading.Thread(target=self._drain_loop, name="llm-drainer", daemon=True)
        self._drainer.start()

    def _drain_loop(self) -> None:
        probe = min(self.settings.reconnect_after_s, 5.0)
        while not self._stop.is_set():
            try:
                ran = self.drain()
            except Exception:
                log.exception("draining the model task queue failed")
                ran = 0
            if not ran:
                self._wake.wait(timeout=probe)
                self._wake.clear()

    def close(self) -> None:
        """Stop the drainer, close clients, the queue and the log."""
        self._stop.set()
        self._wake.set()
        if self._drainer is not None:
            self._drainer.join(timeout=30)
        for c in self.clients.values():
            c.close()
        if self.queue is not None:
            self.queue.close()
        if self.log is not None:
            self.log.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- logging ----------------------------------------------------------------------------
    def _finish(
        self, result: RoutedResult, task: Task, t0: float, model_ms: float, redacted: int = 0
    ) -> RoutedResult:
        total = (time.perf_counter() - t0) * 1e3
        result.latency_ms = total
        result.overhead_ms = max(total - model_ms, 0.0)
        if result.outcome not in ("ok", "queued"):
            log.info("task %s (%s): %s: %s", task.id, task.kind, result.outcome, result.reason)
        self._record(
            task, result.decision, result.placement, result.outcome, result.reason, total,
            result.overhead_ms, result.model, result.usage, result.text, redacted,
            model_ref=result.model_ref,
        )  # fmt: skip
        # what the caller sees includes queueing the log row (the row itself cannot)
        result.overhead_ms = max((time.perf_counter() - t0) * 1e3 - model_ms, 0.0)
        return result

    def _reject(self, task: Task, why: str, t0: float) -> None:
        log.warning("task %s rejected: %s", task.id, why)
        if self.log is None:
            return
        ms = (time.perf_counter() - t0) * 1e3
        self.log.record(
            CallRecord(time.time(), task.id, task.kind, str(task.sensitivity or "-"),
                       task.requester, "-", "refused", None, "rejected", why, ms, ms)
        )  # fmt: skip

    def _record(
        self,
        task: Task,
        decision: Decision,
        placement: str,
        outcome: str,
        reason: str,
        latency_ms: float,
        overhead_ms: float,
        model: str | None = None,
        usage: Mapping[str, Any] | None = None,
        text: str | None = None,
        redacted: int = 0,
        *,
        model_ref: Mapping[str, Any] | None = None,
    ) -> None:
        if self.log is None:
            return
        usage = usage or {}
        content = None
        if self.settings.log_content:
            content = CallLog.content_json(task.messages, text)
        self.log.record(
            CallRecord(
                ts=time.time(),
                task_id=task.id,
                kind=task.kind,
                sensitivity=decision.sensitivity,
                requester=task.requester,
                rule=decision.rule,
                placement=placement,
                model=model,
                outcome=outcome,
                reason=reason,
                latency_ms=latency_ms,
                overhead_ms=overhead_ms,
                prompt_tokens=_int(usage.get("prompt_tokens")),
                completion_tokens=_int(usage.get("completion_tokens")),
                redacted=redacted,
                content=content,
                model_ref=None if model_ref is None else json.dumps(dict(model_ref)),
            )
        )


class _Refused(LLMError):
    """The router refused to send a task to the centre (sensitivity)."""


def _int(x: Any) -> int | None:
    try:
        return None if x is None else int(x)
    except (TypeError, ValueError):
        return None


class RoutedChat:
    """The router seen as a plain chat client for one task kind (see
    :meth:`Router.chat_model`)."""

    def __init__(
        self,
        router: Router,
        kind: str,
        sensitivity: str | None,
        requester: str,
        max_tokens: int | None,
    ) -> None:
        self.router, self.kind, self.sensitivity = router, kind, sensitivity
        self.requester, self.max_tokens = requester, max_tokens
        self.last: RoutedResult | None = None

    @property
    def name(self) -> str:
        d = self.router.explain(Task(self.kind, [], self.sensitivity, requester=self.requester))  # type: ignore[arg-type]
        return str(getattr(self.router.clients.get(str(d.tier)), "name", d.placement))

    def chat(self, messages: Sequence[Mapping[str, Any]], **_: Any) -> ChatResult:
        task = Task(
            self.kind,
            [dict(m) for m in messages],
            self.sensitivity,  # type: ignore[arg-type]
            max_tokens=self.max_tokens,
            requester=self.requester,
            can_wait=False,
        )
        res = self.last = self.router.run(task)
        if res.outcome == "ok" and res.text is not None:
            return ChatResult(res.text, f"{res.model} ({res.placement})", res.latency_ms, res.usage)
        why = f"routed to {res.placement} by rule {res.decision.rule!r}: {res.reason}"
        if res.outcome == "timeout":
            raise LLMTimeout(why)
        raise LLMError(why)

    def close(self) -> None:
        pass
