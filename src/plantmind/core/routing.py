"""The ``llm:`` section of plant.yaml: model endpoints per tier (edge, central), task kinds,
redaction patterns and the routing policy, validated with pydantic.

The policy is checked for contradictions when the file is loaded (:func:`policy_problems`):
duplicate rule names, kinds no task has, bounds that exclude everything, rules an earlier
rule shadows, rules that could send confidential or restricted data to the centre, and
queueing for a tier that is not configured. Each problem names the rules involved, so a
site finds its mistake before a task is ever routed.

API keys never live in the file: an endpoint names the environment variable that holds its
key (``api_key_env``), like the connectors do (:mod:`plantmind.core.connectivity`).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BUILTIN_KINDS",
    "DEFAULT_RULE",
    "IN_PROCESS_BACKENDS",
    "SENSITIVITIES",
    "Endpoints",
    "LlmSettings",
    "ModelEndpoint",
    "OnUnreachable",
    "Placement",
    "Redaction",
    "RedactionPattern",
    "RoutingRule",
    "RuleWhen",
    "Sensitivity",
    "TaskKind",
    "Tier",
    "kinds_matched",
    "policy_problems",
    "sensitivity_rank",
]

Sensitivity = Literal["public", "internal", "confidential", "restricted"]
SENSITIVITIES: tuple[Sensitivity, ...] = ("public", "internal", "confidential", "restricted")
Tier = Literal["edge", "central"]
Placement = Literal["edge", "central", "fallback"]
OnUnreachable = Literal["edge", "queue", "fallback", "fail"]

RuleName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
KindName = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]


def sensitivity_rank(s: str) -> int:
    """0 (public) .. 3 (restricted)."""
    return SENSITIVITIES.index(s)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: backends that run a model file in-process (plantmind.llm.local) rather than call a server
IN_PROCESS_BACKENDS: tuple[str, ...] = ("llama-cpp", "local")


class ModelEndpoint(_Model):
    """One OpenAI-compatible server (llama.cpp, vLLM, Ollama, a hosted API) and its model,
    or (``backend: llama-cpp``) a GGUF file run in-process (``model_path``, no ``url``)."""

    url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Server root or its /v1, e.g. http://10.0.0.5:8000/v1.",
    )
    model: str | None = Field(
        default=None,
        min_length=1,
        description="Model name the server knows (in-process: a display name; default: the "
        "file name).",
    )
    api_key_env: EnvName | None = Field(
        default=None, description="Environment variable holding the API key (never the key)."
    )
    timeout_s: float = Field(default=30.0, gt=0, le=600, description="Per request.")
    max_concurrency: int = Field(default=4, ge=1, le=256, description="Calls in flight at once.")
    retries: int = Field(default=2, ge=0, le=10, description="On connection errors, 429, 5xx.")
    backoff_s: float = Field(default=0.5, gt=0, le=60, description="First retry delay; doubles.")
    embedding_model: str | None = Field(default=None, description="For /v1/embeddings.")
    backend: str = Field(
        default="openai",
        pattern=r"^[a-z0-9_-]+$",
        description="The client that serves it (plantmind.llm.backends): openai = HTTP, "
        "llama-cpp = a GGUF file in-process (the [edge-llm] extra).",
    )
    model_path: str | None = Field(
        default=None,
        min_length=1,
        description="backend llama-cpp: the GGUF file, relative to the plant file or absolute.",
    )
    n_ctx: int | None = Field(
        default=None,
        ge=256,
        le=1_048_576,
        description="backend llama-cpp: context tokens (default 4096, at most the model's).",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="backend llama-cpp: CPU threads (default: the usable CPUs less one, <= 8).",
    )

    @model_validator(mode="after")
    def _fields_of_backend(self) -> ModelEndpoint:
        local_only = [f for f in ("model_path", "n_ctx", "threads") if getattr(self, f) is not None]
        if self.backend in IN_PROCESS_BACKENDS:
            if self.model_path is None:
                raise ValueError(
                    f"backend {self.backend!r} runs a model file in-process: give model_path "
                    "(a GGUF file, relative to the plant file)"
                )
            if self.url is not None:
                raise ValueError(
                    f"backend {self.backend!r} runs in-process and calls no server: remove url "
                    "(or use backend openai for a model server)"
                )
            return self
        if local_only:
            raise ValueError(
                f"{', '.join(local_only)}: only for an in-process backend (backend: llama-cpp); "
                f"backend {self.backend!r} calls a server at url"
            )
        missing = [f for f in ("url", "model") if getattr(self, f) is None]
        if missing:
            raise ValueError(f"backend {self.backend!r} needs {' and '.join(missing)}")
        return self


class Endpoints(_Model):
    edge: ModelEndpoint | None = Field(default=None, description="On the site (may be absent).")
    central: ModelEndpoint | None = Field(default=None, description="At the hub or a cloud.")


class TaskKind(_Model):
    """A kind of model call. ``sensitivity`` is both the default and the floor: a caller can
    declare a task more sensitive than its kind, never less."""

    sensitivity: Sensitivity = "internal"
    latency_budget_ms: float = Field(default=30_000.0, gt=0, le=3_600_000)
    description: str = ""


BUILTIN_KINDS: dict[str, TaskKind] = {
    "assist.answer": TaskKind(description="The technician assistant's grounded answer."),
    "comply.judge": TaskKind(
        latency_budget_ms=120_000, description="Does a procedure meet a clause?"
    ),
    "language.translate": TaskKind(description="Translation with the plant glossary."),
    "vision.explain": TaskKind(description="Words for an inspection verdict."),
    "chat": TaskKind(description="A generic chat request (the OpenAI-compatible endpoint)."),
    "tune.paraphrase": TaskKind(
        latency_budget_ms=120_000,
        description="A teacher model rewrites a training question as technicians ask it.",
    ),
}


class RedactionPattern(_Model):
    """Terms or a regular expression whose matches never reach the central model: each is
    replaced with a stable placeholder (``[EMPLOYEE_3fa2c1]``) and restored in the answer."""

    name: RuleName
    kind: Literal["employee", "customer", "recipe", "asset", "other"] = "other"
    terms: list[str] = Field(default_factory=list, description="Literal terms (whole words).")
    regex: str | None = Field(default=None, description="Python regular expression.")
    ignore_case: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> RedactionPattern:
        if bool(self.terms) == bool(self.regex):
            raise ValueError(f"pattern {self.name!r}: give either 'terms' or 'regex' (one of them)")
        if any(not t.strip() for t in self.terms):
            raise ValueError(f"pattern {self.name!r}: empty term")
        if self.regex is not None:
            try:
                compiled = re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"pattern {self.name!r}: invalid regex: {exc}") from None
            if compiled.match(""):
                raise ValueError(f"pattern {self.name!r}: the regex matches the empty string")
        return self


class Redaction(_Model):
    enabled: bool = True
    patterns: list[RedactionPattern] = Field(default_factory=list)
    asset_ids: bool = Field(default=False, description="Also redact the plant's asset ids.")


class RuleWhen(_Model):
    """What a rule matches; every condition must hold. Kind and requester are shell globs."""

    kinds: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    sensitivities: list[Sensitivity] = Field(
        default_factory=lambda: list(SENSITIVITIES), min_length=1
    )
    min_tokens: int | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=0)
    min_latency_ms: float | None = Field(default=None, ge=0, description="Latency budget bounds.")
    max_latency_ms: float | None = Field(default=None, ge=0)
    requesters: list[str] = Field(default_factory=lambda: ["*"], min_length=1)


class RoutingRule(_Model):
    """The first rule whose ``when`` matches a task places it."""

    name: RuleName
    when: RuleWhen = Field(default_factory=RuleWhen)
    place: Placement
    on_unreachable: OnUnreachable = Field(
        default="fallback",
        description="When the placed tier is down: the edge model (for central rules), the "
        "durable queue (run once it is back), the caller's deterministic fallback, or fail.",
    )
    description: str = ""


DEFAULT_RULE = RoutingRule(
    name="default",
    place="edge",
    on_unreachable="fallback",
    description="built in, after every rule: the edge model if configured, else the fallback",
)


class LlmSettings(_Model):
    """Models, task kinds, redaction and the routing policy of a site (see the module)."""

    endpoints: Endpoints = Field(default_factory=Endpoints)
    kinds: dict[KindName, TaskKind] = Field(
        default_factory=dict, description="Added to (or overriding) the built-in kinds."
    )
    rules: list[RoutingRule] = Field(default_factory=list)
    redaction: Redaction = Field(default_factory=Redaction)
    central_max_sensitivity: Literal["public", "internal"] = Field(
        default="internal",
        description="Most sensitive data the centre may see; confidential and restricted "
        "never leave the site, whatever this says.",
    )
    log_content: bool = Field(default=False, description="Keep prompts and answers in the log.")
    queue_max_tasks: int = Field(default=10_000, ge=1)
    queue_max_attempts: int = Field(default=5, ge=1, le=100)
    reconnect_after_s: float = Field(
        default=10.0, gt=0, le=3600, description="How long a tier that failed is left alone."
    )

    @model_validator(mode="after")
    def _consistent(self) -> LlmSettings:
        problems = policy_problems(self)
        if problems:
            raise ValueError("routing policy contradicts itself:\n    " + "\n    ".join(problems))
        return self

    def all_kinds(self) -> dict[str, TaskKind]:
        return {**BUILTIN_KINDS, **self.kinds}

    def all_rules(self) -> list[RoutingRule]:
        """The site's rules, then the built-in default."""
        return [*self.rules, DEFAULT_RULE]


# --- consistency -------------------------------------------------------------------------------


def kinds_matched(when: RuleWhen, known: list[str]) -> set[str]:
    return {k for k in known if any(fnmatchcase(k, g) for g in when.kinds)}


def _interval_covers(
    lo_a: float | None, hi_a: float | None, lo_b: float | None, hi_b: float | None
) -> bool:
    lo_ok = lo_a is None or (lo_b is not None and lo_b >= lo_a)
    hi_ok = hi_a is None or (hi_b is not None and hi_b <= hi_a)
    return lo_ok and hi_ok


def _covers(a: RuleWhen, b: RuleWhen, known: list[str]) -> bool:
    """Whether every task ``b`` matches is also matched by ``a``."""
    return (
        kinds_matched(a, known) >= kinds_matched(b, known)
        and set(a.sensitivities) >= set(b.sensitivities)
        and _interval_covers(a.min_tokens, a.max_tokens, b.min_tokens, b.max_tokens)
        and _interval_covers(a.min_latency_ms, a.max_latency_ms, b.min_latency_ms, b.max_latency_ms)
        # a requester glob of b is covered when a glob of a matches it as a literal string
        # ("*" matches "line2-*"); conservative, so a real overlap is never reported
        and all(any(fnmatchcase(rb, ra) for ra in a.requesters) for rb in b.requesters)
    )


def policy_problems(settings: LlmSettings) -> list[str]:
    """Every contradiction in the policy, each naming its rule(s); empty when consistent."""
    problems: list[str] = []
    known = sorted(settings.all_kinds())
    limit = sensitivity_rank(settings.central_max_sensitivity)
    seen: dict[str, int] = {}
    for i, rule in enumerate(settings.rules):
        where = f"rule {rule.name!r} (rules[{i}])"
        if rule.name == DEFAULT_RULE.name:
            problems.append(f"{where}: the name 'default' is reserved for the built-in last rule")
        if rule.name in seen:
            problems.append(f"{where}: duplicate name (first at rules[{seen[rule.name]}])")
        seen.setdefault(rule.name, i)
        w = rule.when
        for g in w.kinds:
            if not any(fnmatchcase(k, g) for k in known):
                problems.append(
                    f"{where}: kind {g!r} matches no task kind (known: {', '.join(known)}; "
                    "declare new ones under llm.kinds)"
                )
        if w.min_tokens is not None and w.max_tokens is not None and w.min_tokens > w.max_tokens:
            problems.append(f"{where}: min_tokens {w.min_tokens} > max_tokens {w.max_tokens}")
        if (
            w.min_latency_ms is not None
            and w.max_latency_ms is not None
            and w.min_latency_ms > w.max_latency_ms
        ):
            problems.append(
                f"{where}: min_latency_ms {w.min_latency_ms:g} > max_latency_ms {w.max_latency_ms:g}"
            )
        central_possible = rule.place == "central"
        if central_possible:
            leaks = [s for s in w.sensitivities if sensitivity_rank(s) > limit]
            if leaks:
                problems.append(
                    f"{where}: places {', '.join(leaks)} tasks on the central model, but only "
                    f"data up to {settings.central_max_sensitivity} may leave the site "
                    "(list when.sensitivities)"
                )
        if rule.on_unreachable == "edge" and rule.place != "central":
            problems.append(
                f"{where}: on_unreachable 'edge' only makes sense for a rule placing on central"
            )
        if (
            rule.on_unreachable == "queue"
            and rule.place in ("edge", "central")
            and getattr(settings.endpoints, rule.place) is None
        ):
            problems.append(
                f"{where}: queues for the {rule.place} model, but llm.endpoints."
                f"{rule.place} is not configured: the tasks would wait forever"
            )
        for j in range(i):
            earlier = settings.rules[j]
            if _covers(earlier.when, w, known):
                problems.append(
                    f"{where} can never match: rule {earlier.name!r} (rules[{j}]) comes first "
                    "and matches every task it would"
                )
                break
    return problems
