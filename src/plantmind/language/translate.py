"""Translation of a message through the model the router places it on (task kind
``language.translate``), with the plant glossary's terms for the concepts found in the
message given in the prompt. Without a model, or when the model fails, there is no
translation and the result says why: a translation is never made up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plantmind.language.glossary import Glossary, TermMatch

__all__ = ["Translation", "translate"]

KIND = "language.translate"


@dataclass(frozen=True, slots=True)
class Translation:
    """``text`` is None when not translated; ``reason`` then says why."""

    target: str
    text: str | None
    reason: str
    model: str | None = None
    placement: str | None = None
    task_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "text": self.text,
            "reason": self.reason,
            "model": self.model,
            "placement": self.placement,
            "task_id": self.task_id,
        }


def prompt(
    text: str, source: str, target: str, terms: list[TermMatch], glossary: Glossary | None
) -> list[dict[str, str]]:
    """The chat messages: the rules (numbers, units, dates and part numbers verbatim), the
    glossary's target terms for the concepts found, then the message."""
    lines = [
        f"Translate the user's message from {source} into {target} for a manufacturing plant.",
        "Keep every number, unit, tolerance, date and part number exactly as written.",
        "Keep the strength of modal verbs (shall/must, should, may) exactly.",
        "Answer with the translation only.",
    ]
    pairs = []
    if glossary is not None:
        for t in terms:
            want = glossary.term(t.concept, target)
            if want and (t.span.text, want) not in pairs:
                pairs.append((t.span.text, want))
    if pairs:
        lines.append("Use these plant glossary terms:")
        lines += [f"- {src} -> {dst}" for src, dst in pairs]
    return [{"role": "system", "content": "\n".join(lines)}, {"role": "user", "content": text}]


def translate(
    router: Any,
    text: str,
    *,
    source: str,
    target: str,
    terms: list[TermMatch],
    glossary: Glossary | None,
) -> Translation:
    """Translate ``text`` with ``router`` (a :class:`~plantmind.llm.router.Router`)."""
    if router is None:
        return Translation(target, None, "translation not done: no central model configured")
    if not router.has_model:
        return Translation(target, None, "translation not done: no model configured")
    from plantmind.llm.policy import Task  # the model client is imported only when needed

    task = Task(
        KIND, prompt(text, source, target, terms, glossary), temperature=0.0, can_wait=False
    )
    res = router.run(task)
    if res.outcome == "ok" and res.text:
        return Translation(
            target, res.text.strip(), f"translated by the {res.placement} model", res.model,
            res.placement, res.task_id,
        )  # fmt: skip
    return Translation(
        target, None, f"translation not done: {res.reason}", None, res.placement, res.task_id
    )
