"""The teacher paraphrases through the router: confidential records never reach a central
model, a paraphrase that changes a number is dropped, and without a model nothing is made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plantmind.core.routing import LlmSettings
from plantmind.llm.client import ChatResult
from plantmind.llm.router import Router
from plantmind.tune.records import Record
from plantmind.tune.teacher import paraphrase_records


class _Teacher:
    """A scripted model client: rewrites the question in lower case, or breaks a number."""

    available = True

    def __init__(self, name: str, change_numbers: bool = False) -> None:
        self.name = name
        self.change_numbers = change_numbers
        self.seen: list[str] = []

    def chat(self, messages: Sequence[Mapping[str, Any]], **_: Any) -> ChatResult:
        prompt = str(messages[-1]["content"])
        question = prompt.rsplit("Question: ", 1)[-1]
        self.seen.append(question)
        text = question.lower().replace("what is", "whats")
        if self.change_numbers:
            text = text.replace("6.5", "7")
        return ChatResult(text, self.name, 1.0, {})

    def close(self) -> None:
        pass


def _rec(question: str, sensitivity: str = "internal") -> Record:
    gold = {
        "source": "plant.yaml",
        "page": None,
        "section": "P-101",
        "text": "6.5 bar",
        "gold": True,
    }
    return Record(
        context=[gold],
        messages=[
            {"role": "user", "content": question},
            {"role": "assistant", "content": "6.5 bar."},
        ],
        task="sensor_spec",
        source={"doc": "plant.yaml", "sha256": "1" * 64},
        generator={"name": "template:t"},
        sensitivity=sensitivity,
    )


def test_no_model_no_paraphrases() -> None:
    made, report = paraphrase_records([_rec("What is X?")], Router(LlmSettings()))
    assert made == [] and report.model is None and "no teacher" in report.describe()


def test_confidential_records_stay_off_the_central_model() -> None:
    settings = LlmSettings.model_validate(
        {
            "rules": [
                {"name": "teach-centrally", "place": "central",
                 "when": {"kinds": ["tune.*"], "sensitivities": ["public", "internal"]},
                 "on_unreachable": "fallback"},
            ]
        }
    )  # fmt: skip
    central = _Teacher("central-teacher")
    router = Router(settings, clients={"central": central})
    records = [
        _rec("What is the discharge pressure limit of P-101 at 6.5 bar?"),
        _rec("What is the secret recipe temperature of R-9 at 6.5 bar?", "confidential"),
    ]
    made, report = paraphrase_records(records, router)
    router.close()
    assert len(central.seen) == 1 and "P-101" in central.seen[0]
    assert not any("R-9" in q for q in central.seen)
    assert [r.question for r in made] == [records[0].question.lower().replace("what is", "whats")]
    assert made[0].source == records[0].source and made[0].answer == records[0].answer
    assert made[0].generator["name"] == "teacher:central-teacher"
    assert made[0].context == records[0].context  # its gold passage: not trained as a decline
    assert report.asked == 2 and report.kept == 1


def test_a_paraphrase_that_changes_a_number_is_dropped() -> None:
    router = Router(LlmSettings(), clients={"edge": _Teacher("edge", change_numbers=True)})
    made, report = paraphrase_records([_rec("What is the limit, 6.5 bar?")], router)
    router.close()
    assert made == [] and report.rejected["changed a number"] == 1
