"""The teacher: a configured model rewrites training questions the way technicians ask them
(shorthand, colloquial, misspelt), through the site's router under the task kind
``tune.paraphrase``. Each request carries its record's sensitivity, so the routing policy
keeps confidential material on the site (``central_max_sensitivity``); a record the router
will not place anywhere is left without paraphrases, and the report says how many.
A paraphrase keeps its record's answer and source: it joins its record's group in the split.
Without a model nothing is generated and the report says so (no output is faked)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plantmind.llm.policy import Task
from plantmind.tune.records import Record, normalise

__all__ = ["PARAPHRASE_KIND", "TeacherReport", "paraphrase_records"]

PARAPHRASE_KIND = "tune.paraphrase"
STYLES = ("shorthand, as typed on a tablet in a hurry", "colloquial, as said on the shop floor")
_PROMPT = (
    "Rewrite the maintenance question below the way a plant technician would ask it: {style}. "
    "Keep every equipment id, part name, number and unit exactly as written. Do not answer "
    "it. Reply with the rewritten question only, on one line.\n\nQuestion: {question}"
)
MAX_CHARS = 300


@dataclass(slots=True)
class TeacherReport:
    """What the teacher did: requests sent, paraphrases kept, and why others were not."""

    model: str | None
    asked: int = 0
    kept: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        if self.model is None:
            return "none: template generators only (no teacher model configured)"
        return (
            f"{self.model}: {self.kept} paraphrases kept of {self.asked} asked "
            f"(outcomes {dict(self.outcomes)}; rejected {dict(self.rejected)})"
        )


def _clean(text: str) -> str:
    line = next((x for x in text.strip().splitlines() if x.strip()), "")
    line = re.sub(r"^\s*(?:question|rewritten(?: question)?)\s*:\s*", "", line, flags=re.I)
    return line.strip().strip('"').strip()


def _numbers(text: str) -> list[str]:
    return sorted(re.findall(r"\d+(?:[.,]\d+)?", text))


def paraphrase_records(
    records: Sequence[Record], router: Any, *, per_record: int = 1, limit: int | None = None
) -> tuple[list[Record], TeacherReport]:
    """New records (one per kept paraphrase) for ``records``' questions. A paraphrase is
    kept when it is one line of at most :data:`MAX_CHARS` characters, differs from the
    question, and keeps its numbers (a teacher that changes 6.5 bar to 5 bar would teach a
    wrong fact)."""
    if router is None or not router.has_model:
        return [], TeacherReport(None)
    report = TeacherReport(model=", ".join(sorted(
        t for t, ok in router.policy.configured.items() if ok)))  # fmt: skip
    out: list[Record] = []
    seen = {normalise(r.question) for r in records}
    for r in records[:limit] if limit is not None else records:
        for k in range(per_record):
            style = STYLES[(k + int(r.id[:4], 16)) % len(STYLES)]
            task = Task(
                kind=PARAPHRASE_KIND,
                messages=[{"role": "user", "content": _PROMPT.format(style=style,
                                                                     question=r.question)}],
                sensitivity=r.sensitivity,  # type: ignore[arg-type]
                max_tokens=96,
                temperature=0.7,
                requester="tune.build",
            )  # fmt: skip
            report.asked += 1
            res = router.run(task)
            report.outcomes[res.outcome] += 1
            if res.text is None:
                continue
            q = _clean(res.text)
            why = None
            if not q or len(q) > MAX_CHARS:
                why = "empty or too long"
            elif normalise(q) in seen:
                why = "same as a question already there"
            elif _numbers(q) != _numbers(r.question):
                why = "changed a number"
            if why:
                report.rejected[why] += 1
                continue
            seen.add(normalise(q))
            report.kept += 1
            msgs = [dict(m) for m in r.messages]
            for m in msgs:
                if m["role"] == "user":
                    m["content"] = q
            out.append(
                Record(
                    messages=msgs,
                    task=r.task,
                    source=dict(r.source),
                    generator={"name": f"teacher:{res.model or 'model'}", "version": "1",
                               "style": "teacher", "from": r.id},
                    sensitivity=r.sensitivity,
                    context=[dict(c) for c in r.context],  # the gold passage stays its own
                )
            )  # fmt: skip
    return out, report
