"""Routing decisions: a :class:`Task` (kind, sensitivity, latency budget, size, requester)
and the site's policy (``llm:`` in plant.yaml) give a :class:`Decision` (edge model,
central model, the caller's deterministic fallback, the durable queue, or refused), with the
rule that made it and the reason in words.

Fail closed: whatever the rules say, a task more sensitive than
``llm.central_max_sensitivity`` (never above internal) is refused rather than placed on the
central model. The plant.yaml check makes that unreachable for policies loaded from a file;
the check here still holds for policies built in code.

Decisions are pure and cheap (a few microseconds): the rules matching each kind are resolved
once, so routing adds no measurable latency to a model call.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

from plantmind.core.routing import (
    SENSITIVITIES,
    LlmSettings,
    RoutingRule,
    Sensitivity,
    TaskKind,
    kinds_matched,
    sensitivity_rank,
)

__all__ = ["Decision", "Policy", "Task", "UnknownTaskKind", "estimate_tokens", "new_task_id"]

Outcome = Literal["edge", "central", "fallback", "queue", "refused"]


class UnknownTaskKind(ValueError):
    """A task's kind is neither built in nor declared under ``llm.kinds``."""


def new_task_id() -> str:
    """Sortable by time, unique: ``t<ms hex>-<random>``."""
    return f"t{int(time.time() * 1000):x}-{secrets.token_hex(6)}"


def estimate_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A tokenizer-free estimate (4 characters per token, the usual rule of thumb for
    English BPE vocabularies); routing needs an order of magnitude, not a count."""
    chars = 0
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            chars += len(c)
        elif isinstance(c, list):
            chars += sum(len(str(p.get("text", ""))) for p in c if isinstance(p, dict))
    return chars // 4 + 4 * len(messages)


@dataclass(slots=True)
class Task:
    """One model call. ``sensitivity`` and ``latency_budget_ms`` default to the kind's;
    ``can_wait=False`` (an interactive caller) turns a queue placement into the fallback."""

    kind: str
    messages: list[dict[str, Any]]
    sensitivity: Sensitivity | None = None
    latency_budget_ms: float | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    requester: str = "local"
    can_wait: bool = True
    id: str = field(default_factory=new_task_id)

    @property
    def tokens(self) -> int:
        """Prompt estimate plus the completion's ceiling."""
        return estimate_tokens(self.messages) + (self.max_tokens or 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "messages": self.messages,
            "sensitivity": self.sensitivity,
            "latency_budget_ms": self.latency_budget_ms,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "requester": self.requester,
            "can_wait": self.can_wait,
            "id": self.id,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Task:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a task goes and why. ``tier`` is the model tier called (edge/central), or, for
    ``queue``, the tier it waits for."""

    placement: Outcome
    rule: str
    reason: str
    sensitivity: Sensitivity
    latency_budget_ms: float
    tokens: int
    tier: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "placement": self.placement,
            "tier": self.tier,
            "rule": self.rule,
            "reason": self.reason,
            "sensitivity": self.sensitivity,
            "latency_budget_ms": self.latency_budget_ms,
            "tokens": self.tokens,
        }


class Policy:
    """The routing policy of :class:`LlmSettings`, compiled for fast decisions."""

    def __init__(self, settings: LlmSettings) -> None:
        self.settings = settings
        self.kinds: dict[str, TaskKind] = settings.all_kinds()
        rules = settings.all_rules()
        known = sorted(self.kinds)
        # kind -> the rules that can match it, in order (globs resolved once)
        self._by_kind: dict[str, list[RoutingRule]] = {
            k: [r for r in rules if k in kinds_matched(r.when, known)] for k in known
        }
        self._central_limit = sensitivity_rank(settings.central_max_sensitivity)
        self.configured = {
            "edge": settings.endpoints.edge is not None,
            "central": settings.endpoints.central is not None,
        }

    def kind(self, name: str) -> TaskKind:
        try:
            return self.kinds[name]
        except KeyError:
            raise UnknownTaskKind(
                f"unknown task kind {name!r}; known: {', '.join(sorted(self.kinds))} "
                "(declare new kinds under llm.kinds in plant.yaml)"
            ) from None

    def effective(self, task: Task) -> tuple[Sensitivity, float]:
        """The task's sensitivity (never below its kind's floor) and latency budget."""
        k = self.kind(task.kind)
        declared = task.sensitivity or k.sensitivity
        if declared not in SENSITIVITIES:
            raise ValueError(f"unknown sensitivity {declared!r}; one of {', '.join(SENSITIVITIES)}")
        sens = max(declared, k.sensitivity, key=sensitivity_rank)
        return sens, float(task.latency_budget_ms or k.latency_budget_ms)

    def match(self, task: Task, sens: Sensitivity, budget: float, tokens: int) -> RoutingRule:
        for rule in self._by_kind[task.kind]:
            w = rule.when
            if sens not in w.sensitivities:
                continue
            if (w.min_tokens is not None and tokens < w.min_tokens) or (
                w.max_tokens is not None and tokens > w.max_tokens
            ):
                continue
            if (w.min_latency_ms is not None and budget < w.min_latency_ms) or (
                w.max_latency_ms is not None and budget > w.max_latency_ms
            ):
                continue
            if w.requesters != ["*"] and not any(
                fnmatchcase(task.requester, g) for g in w.requesters
            ):
                continue
            return rule
        raise AssertionError("the built-in default rule matches every task")  # pragma: no cover

    def decide(self, task: Task, reachable: Callable[[str], bool] | None = None) -> Decision:
        """The decision for ``task`` given which tiers are reachable now (default: every
        configured tier)."""
        up = reachable or (lambda tier: self.configured[tier])
        sens, budget = self.effective(task)
        tokens = task.tokens
        rule = self.match(task, sens, budget, tokens)

        def out(placement: Outcome, reason: str, tier: str | None = None) -> Decision:
            return Decision(placement, rule.name, reason, sens, budget, tokens, tier)

        if rule.place == "fallback":
            return out("fallback", f"rule {rule.name!r} places {task.kind} on the fallback")
        if rule.place == "central" and sensitivity_rank(sens) > self._central_limit:
            return out(
                "refused",
                f"{sens} data never leaves the site; rule {rule.name!r} would send this "
                f"{task.kind} task to the central model",
            )
        target = rule.place
        if up(target):
            return out(
                target, f"rule {rule.name!r} places {task.kind} ({sens}) on {target}", target
            )
        why = (
            f"the {target} model is not configured"
            if not self.configured[target]
            else f"the {target} model is unreachable"
        )
        alt = rule.on_unreachable
        if alt == "edge":
            if up("edge"):
                return out(
                    "edge", f"{why}; rule {rule.name!r} falls back to the edge model", "edge"
                )
            return out("fallback", f"{why} and so is the edge model; deterministic fallback")
        if alt == "queue":
            if not task.can_wait:
                return out(
                    "fallback",
                    f"{why}; rule {rule.name!r} would queue, but the caller cannot wait",
                )
            return out("queue", f"{why}; rule {rule.name!r} queues until it is back", target)
        if alt == "fail":
            return out("refused", f"{why}; rule {rule.name!r} says fail")
        return out("fallback", f"{why}; rule {rule.name!r} uses the deterministic fallback")
