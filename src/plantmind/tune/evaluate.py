"""Base vs tuned, the same retrieval and prompt for both: every held-out record's question goes
through the plant's assistant (its knowledge index, its decline rule, its prompt) once per
model, and the answers are scored against the record's gold answer:

- **key-fact recall**: the gold answer's quantities (number and unit, read by
  :mod:`plantmind.language.quantities`) found, with the same value and unit, in the answer;
- **citation accuracy**: answered questions that cite a passage of the record's source
  document;
- **decline accuracy**: declined exactly when the record is a decline;
- **invented-number rate**: numbers in the answer found in no retrieved passage and not in the
  question.

Each metric has a bootstrap 95 % interval over records, and so does the paired difference
tuned − base: a claim that tuning helps needs the difference's interval above 0.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plantmind.language.numbers import find_numbers
from plantmind.language.quantities import find_quantities
from plantmind.language.segments import Spans
from plantmind.llm.client import ChatModel
from plantmind.tune.records import Record

__all__ = [
    "METRICS",
    "EvalReport",
    "ModelScores",
    "bootstrap_interval",
    "evaluate_models",
    "invented_numbers",
    "key_fact_recall",
    "key_facts",
    "score_answer",
]

METRICS = ("key_fact_recall", "citation_accuracy", "decline_accuracy", "invented_number_rate")
_CITE = re.compile(r"\[\s*\d+(?:\s*[,–-]\s*\d+)*\s*\]")
_STEP = re.compile(r"(?m)^\s*\d+[.)]\s")


# units of machine data that the quantity reader does not hold, or holds only in part
# ("mm/s" reads as mm): matched after a number, longest first
_EXTRA_UNITS = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)\s?(?P<unit>mm/s|m3/h|m³/h|m/s|l/min|kg/m|rpm|r/min|Hz|kW|N·m|Nm|%)"
    r"(?![\w/])"
)


def _facts(text: str) -> list[tuple[int, set[tuple[float, str]]]]:
    """(position, readings) of each quantity: (value, unit symbol) per reading of its number
    (an ambiguous "1,600" gives both; writing either one states the fact)."""
    out: dict[int, set[tuple[float, str]]] = {}
    for m in _EXTRA_UNITS.finditer(text):
        num = m.group("num")
        vals = (
            {float(num.replace(",", ".")), float(num.replace(",", ""))}
            if "," in num
            else {float(num)}
        )
        out[m.start()] = {(round(v, 9), m.group("unit")) for v in vals}
    for q in find_quantities(text, Spans()):
        if q.span.start in out or any(abs(q.span.start - k) <= 1 for k in out):
            continue
        out[q.span.start] = {(round(v, 9), q.unit.symbol) for v in q.number.values}
    return sorted(out.items())


def key_facts(text: str) -> set[tuple[float, str]]:
    """The quantities of ``text`` as (value, unit symbol), every reading of each number."""
    return {f for _pos, fs in _facts(text) for f in fs}


def key_fact_recall(answer: str, gold: str) -> float | None:
    """Share of the gold answer's quantities the answer states; None when gold has none."""
    groups = [fs for _pos, fs in _facts(gold)]
    if not groups:
        return None
    have = key_facts(answer)
    # an ambiguous gold number counts once: found when any of its readings is found
    return sum(1 for g in groups if g & have) / len(groups)


def _numbers(text: str) -> list[float]:
    body = _STEP.sub(" ", _CITE.sub(" ", text))
    vals: list[float] = []
    for _s, _e, shape in find_numbers(body):
        vals.extend(shape.values[:1])
    return vals


def invented_numbers(answer: str, grounding: Sequence[str]) -> tuple[int, int]:
    """(invented, total): numbers of the answer (citation markers and step numbers left
    out) that appear in none of ``grounding`` (the retrieved passages and the question)."""
    seen: set[float] = set()
    for t in grounding:
        for _s, _e, shape in find_numbers(t):
            seen.update(round(v, 9) for v in shape.values)
    nums = _numbers(answer)
    invented = sum(1 for v in nums if round(v, 9) not in seen)
    return invented, len(nums)


@dataclass(slots=True)
class RecordScore:
    record: str
    task: str
    declined: bool
    key_fact_recall: float | None
    citation_accuracy: float | None
    decline_accuracy: float
    invented: int
    numbers: int
    answer: str
    seconds: float

    @property
    def invented_number_rate(self) -> float | None:
        return self.invented / self.numbers if self.numbers else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "task": self.task,
            "declined": self.declined,
            "key_fact_recall": self.key_fact_recall,
            "citation_accuracy": self.citation_accuracy,
            "decline_accuracy": self.decline_accuracy,
            "invented_numbers": self.invented,
            "numbers": self.numbers,
            "seconds": round(self.seconds, 3),
            "answer": self.answer,
        }


def score_answer(
    record: Record,
    answer: str,
    declined: bool,
    cited_sources: Sequence[str],
    grounding: Sequence[str],
    seconds: float = 0.0,
) -> RecordScore:
    """One answer against its record (see the module docstring for each metric)."""
    is_decline = record.task == "decline"
    recall = None if is_decline or declined else key_fact_recall(answer, record.answer)
    if not is_decline and declined and key_facts(record.answer):
        recall = 0.0  # a refused answerable question states none of its facts
    cite = None
    if not is_decline and not declined:
        doc = str(record.source["doc"])
        cite = 1.0 if any(s == doc or s.endswith("/" + doc) for s in cited_sources) else 0.0
    invented, total = (0, 0) if declined else invented_numbers(answer, grounding)
    return RecordScore(
        record.id,
        record.task,
        declined,
        recall,
        cite,
        1.0 if declined == is_decline else 0.0,
        invented,
        total,
        answer,
        seconds,
    )


def bootstrap_interval(
    values: Sequence[float], *, n: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; (nan, nan) for no values."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, arr.size, size=(n, arr.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return (float(lo), float(hi))


def _metric_values(scores: Sequence[RecordScore], metric: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in scores:
        v = getattr(s, metric)
        if v is not None:
            out[s.record] = float(v)
    return out


@dataclass(slots=True)
class ModelScores:
    name: str
    scores: list[RecordScore]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"records": len(self.scores)}
        for m in METRICS:
            vals = list(_metric_values(self.scores, m).values())
            lo, hi = bootstrap_interval(vals)
            out[m] = {
                "mean": round(float(np.mean(vals)), 4) if vals else None,
                "ci95": [round(lo, 4), round(hi, 4)] if vals else None,
                "n": len(vals),
            }
        secs = [s.seconds for s in self.scores]
        out["seconds_p50"] = round(float(np.median(secs)), 3) if secs else None
        return out


@dataclass(slots=True)
class EvalReport:
    """Scores per model and, for each pair against the first (the base), the paired
    difference with its interval and the verdict it allows."""

    models: list[ModelScores]
    split: str
    records: int
    notes: list[str] = field(default_factory=list)

    def comparisons(self) -> dict[str, Any]:
        if len(self.models) < 2:
            return {}
        base = self.models[0]
        out: dict[str, Any] = {}
        for other in self.models[1:]:
            per: dict[str, Any] = {}
            for m in METRICS:
                a, b = _metric_values(base.scores, m), _metric_values(other.scores, m)
                common = sorted(set(a) & set(b))
                diffs = [b[k] - a[k] for k in common]
                lo, hi = bootstrap_interval(diffs, seed=1)
                better_high = m != "invented_number_rate"
                if not diffs:
                    verdict = "not measured"
                elif (lo > 0 and better_high) or (hi < 0 and not better_high):
                    verdict = f"{other.name} better"
                elif (hi < 0 and better_high) or (lo > 0 and not better_high):
                    verdict = f"{base.name} better"
                else:
                    verdict = "no difference shown (the interval holds 0)"
                per[m] = {
                    "difference": round(float(np.mean(diffs)), 4) if diffs else None,
                    "ci95": [round(lo, 4), round(hi, 4)] if diffs else None,
                    "n": len(diffs),
                    "verdict": verdict,
                }
            out[f"{other.name} - {base.name}"] = per
        return out

    def to_dict(self, with_answers: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "split": self.split,
            "records": self.records,
            "models": {m.name: m.summary() for m in self.models},
            "comparisons": self.comparisons(),
            "notes": self.notes,
        }
        if with_answers:
            d["answers"] = {m.name: [s.to_dict() for s in m.scores] for m in self.models}
        return d


def _interleave_tasks(records: Sequence[Record]) -> list[Record]:
    """The records task by task in turn (a limited run samples every task, not the first)."""
    by_task: dict[str, list[Record]] = {}
    for r in records:
        by_task.setdefault(r.task, []).append(r)
    queues = [by_task[t] for t in sorted(by_task)]
    out: list[Record] = []
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


def evaluate_models(
    records: Sequence[Record],
    index: Any,
    models: Mapping[str, ChatModel],
    *,
    split: str = "test",
    limit: int | None = None,
    passages: int = 5,
) -> EvalReport:
    """Ask every ``split`` record's question of each model through the same assistant
    (``index``: the plant's :class:`~plantmind.knowledge.index.KnowledgeIndex`); with
    ``limit``, that many records taken task by task in turn."""
    from plantmind.assist.answer import Assistant, _distinct_pages

    chosen = [r for r in records if r.split == split]
    if limit is not None:
        chosen = _interleave_tasks(chosen)[:limit]
    if not chosen:
        raise ValueError(f"no records in the {split!r} split")
    report = EvalReport([], split, len(chosen))
    grounding: dict[str, list[str]] = {}
    for r in chosen:
        hits = _distinct_pages(index.search(r.question, k=passages * 3).hits, passages)
        grounding[r.id] = [h.chunk.text for h in hits] + [r.question]
    for name, model in models.items():
        assistant = Assistant(index, llm=model, passages=passages)
        scores = []
        for r in chosen:
            t0 = time.perf_counter()
            ans = assistant.ask(r.question)
            scores.append(
                score_answer(
                    r,
                    ans.answer,
                    ans.declined,
                    [c.source for c in ans.citations],
                    grounding[r.id],
                    time.perf_counter() - t0,
                )
            )
        report.models.append(ModelScores(name, scores))
    return report
