"""The base vs tuned evaluation: each metric on answers with a known score, and the whole
run through the plant's assistant with two scripted models whose difference is known."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from plantmind.core.plant import example_plant_path, load_plant
from plantmind.knowledge.index import KnowledgeIndex
from plantmind.llm.client import ChatResult
from plantmind.tune.build import build_dataset
from plantmind.tune.evaluate import (
    bootstrap_interval,
    evaluate_models,
    invented_numbers,
    key_fact_recall,
    key_facts,
    score_answer,
)
from plantmind.tune.records import Record

pytest.importorskip("datasketch", reason="near-duplicate removal needs plantmind[tune]")


def test_key_facts_read_value_and_unit() -> None:
    facts = key_facts("between 0 and 6.5 bar; 4.5 mm/s at 1,480 rpm, 80 °C")
    assert (6.5, "bar") in facts and (4.5, "mm/s") in facts and (80.0, "°C") in facts
    assert (1480.0, "rpm") in facts
    assert (4.5, "mm") not in facts  # mm/s is not mm


def test_key_fact_recall_needs_the_same_value_and_unit() -> None:
    gold = "Expected between 15 and 80 degC; alarm at 4.5 mm/s."
    assert key_fact_recall("80 degC and 4.5 mm/s [1]", gold) == 1.0
    assert key_fact_recall("80 degC and 4.5 mm [1]", gold) == 0.5
    assert key_fact_recall("81 degC", gold) == 0.0
    assert key_fact_recall("anything", "no numbers here") is None


def test_invented_numbers_leave_out_citations_and_step_numbers() -> None:
    passages = ["Torque the lock nut to 120 N·m; oil ISO VG 68."]
    assert invented_numbers("1. Torque to 120 N·m [1].\n2. Fill VG 68 [2].", passages) == (0, 2)
    assert invented_numbers("Torque to 150 N·m [1].", passages) == (1, 1)


def _rec(task: str, answer: str, doc: str = "manual.md") -> Record:
    return Record(
        messages=[{"role": "user", "content": "q?"}, {"role": "assistant", "content": answer}],
        task=task,
        source={"doc": doc, "sha256": "0" * 64},
        generator={"name": "template:test"},
        split="test",
    )


def test_score_answer_for_declines_and_answers() -> None:
    decline = _rec("decline", "NOT FOUND.")
    s = score_answer(decline, "NOT FOUND", True, [], [])
    assert s.decline_accuracy == 1.0 and s.key_fact_recall is None and s.citation_accuracy is None
    s = score_answer(decline, "Replace it at 5 bar.", False, ["manual.md"], ["x"])
    assert s.decline_accuracy == 0.0 and s.invented == 1
    answer = _rec("manual_qa", "Set it to 6 bar.")
    s = score_answer(answer, "NOT FOUND", True, [], [])
    assert s.decline_accuracy == 0.0 and s.key_fact_recall == 0.0
    s = score_answer(answer, "6 bar [1]", False, ["sops/manual.md"], ["6 bar"])
    assert s.citation_accuracy == 1.0 and s.key_fact_recall == 1.0 and s.invented == 0


def test_bootstrap_interval_holds_the_mean() -> None:
    vals = [1.0] * 30 + [0.0] * 10
    lo, hi = bootstrap_interval(vals)
    assert lo < 0.75 < hi and hi - lo < 0.35
    assert bootstrap_interval([1.0] * 8) == (1.0, 1.0)


class _Scripted:
    """A chat model that answers each question from a table (the gold answer, cited) or
    refuses: a known 'better' and 'worse' model for the comparison."""

    def __init__(self, answers: Mapping[str, str]) -> None:
        self.answers = answers

    def chat(self, messages: Sequence[Mapping[str, Any]]) -> ChatResult:
        user = str(messages[-1]["content"])
        q = user.rsplit("Question: ", 1)[-1].strip()
        return ChatResult(self.answers.get(q, "NOT FOUND"), "scripted", 1.0, {})


def test_evaluation_tells_a_better_model_from_a_worse_one(tmp_path: Path) -> None:
    plant_path = example_plant_path()
    plant = load_plant(plant_path)
    folders = [plant_path.parent / f.path for s in plant.sites for f in s.documents]
    records, _ = build_dataset(plant, plant_path, folders)
    test = [r for r in records if r.split == "test" and r.task in {"sensor_spec", "manual_qa"}]
    index = KnowledgeIndex(tmp_path / "index", embedder=None)
    index.add([*folders, plant_path])
    try:
        oracle = _Scripted({" ".join(r.question.split()): r.answer + " [1]" for r in test})
        report = evaluate_models(
            test, index, {"base": _Scripted({}), "tuned": oracle}, split="test", limit=30
        )
    finally:
        index.close()
    d = report.to_dict()
    base, tuned = d["models"]["base"], d["models"]["tuned"]
    assert tuned["key_fact_recall"]["mean"] > base["key_fact_recall"]["mean"]
    verdict = d["comparisons"]["tuned - base"]["key_fact_recall"]["verdict"]
    assert verdict == "tuned better"
    # the refusing model declines answerable questions: its decline accuracy is the lower
    assert tuned["decline_accuracy"]["mean"] > base["decline_accuracy"]["mean"]


def test_a_limited_evaluation_samples_every_task() -> None:
    from plantmind.tune.evaluate import _interleave_tasks

    recs = [_rec("manual_qa", "a")] * 5 + [_rec("decline", "NOT FOUND")] * 2
    recs += [_rec("sensor_spec", "b")] * 3
    first = [r.task for r in _interleave_tasks(recs)[:3]]
    assert sorted(first) == ["decline", "manual_qa", "sensor_spec"]
