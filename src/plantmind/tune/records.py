"""The training record: one chat exchange with its task, its provenance and its split, as
``records.jsonl`` holds it. The id is a hash of the normalised content, so the same question
and answer built twice (or from two copies of a document) get the same id."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "SPLITS",
    "TASKS",
    "Record",
    "RecordError",
    "normalise",
    "read_records",
    "record_id",
    "text_sha256",
    "write_records",
]

Task = Literal["manual_qa", "procedure", "diagnosis", "sensor_spec", "alert_review", "decline"]
TASKS: tuple[str, ...] = (
    "manual_qa",
    "procedure",
    "diagnosis",
    "sensor_spec",
    "alert_review",
    "decline",
)
SPLITS: tuple[str, ...] = ("train", "eval", "test")
ROLES = {"system", "user", "assistant"}


class RecordError(ValueError):
    """A record file or line that is not a valid training record; the message names it."""


def normalise(text: str) -> str:
    """Lower case, NFKC, punctuation folded to spaces, one space between words."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w.%°/+-]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_id(messages: list[dict[str, str]]) -> str:
    """Hash of the normalised user and assistant turns (the system prompt is left out: the
    same exchange under another system prompt is the same record)."""
    body = "\n".join(
        f"{m['role']}:{normalise(m['content'])}" for m in messages if m["role"] != "system"
    )
    return text_sha256(body)[:20]


@dataclass(slots=True)
class Record:
    """One training exchange. ``source`` says where it comes from: ``doc`` (the document's
    name), ``passage`` (section, step or row), ``page``, ``sha256`` (of the passage text) and,
    when the record reads more than one passage, ``passages`` (their sha256s). ``group`` is
    what the split keeps together (filled by :func:`plantmind.tune.split.split_records`)."""

    messages: list[dict[str, str]]
    task: str
    source: dict[str, Any]
    generator: dict[str, str]
    sensitivity: str = "internal"
    split: str | None = None
    group: str | None = None
    id: str = field(default="")
    #: the passages shown with the question when training in the assistant's format
    #: (``source``, ``page``, ``section``, ``text``, ``gold``: the passage the answer rests on)
    context: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = record_id(self.messages)

    @property
    def question(self) -> str:
        return next(m["content"] for m in self.messages if m["role"] == "user")

    @property
    def answer(self) -> str:
        return next(m["content"] for m in reversed(self.messages) if m["role"] == "assistant")

    @property
    def passages(self) -> list[str]:
        """The sha256s of every source passage the record reads."""
        extra = [p for p in self.source.get("passages", []) if isinstance(p, str)]
        return sorted({self.source["sha256"], *extra})

    def grounded_messages(self) -> list[dict[str, str]]:
        """The exchange as the assistant serves it: its system prompt, the numbered passages
        and the question, and the answer citing the gold passage by its number ([k]); a
        decline (no gold passage) answers NOT FOUND. Without ``context``: ``messages``."""
        if not self.context:
            return self.messages
        from plantmind.assist.answer import grounded_prompt, passage_where

        passages = [
            (passage_where(str(c.get("source", "")), c.get("page"), c.get("section")),
             str(c.get("text", "")))
            for c in self.context
        ]  # fmt: skip
        gold = [n for n, c in enumerate(self.context, start=1) if c.get("gold")]
        answer = self.answer if gold else "NOT FOUND"
        if gold:
            answer = f"{answer} [{gold[0]}]"
        msgs = [dict(m) for m in grounded_prompt(self.question, passages)]
        return [*msgs, {"role": "assistant", "content": answer}]

    def content(self) -> str:
        """Question and answer, as near-duplicate detection compares them."""
        return f"{self.question}\n{self.answer}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "messages": self.messages,
            "task": self.task,
            "source": self.source,
            "generator": self.generator,
            "sensitivity": self.sensitivity,
            "split": self.split,
            "group": self.group,
            **({"context": self.context} if self.context else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "record") -> Record:
        for key in ("messages", "task", "source"):
            if key not in d:
                raise RecordError(f"{where}: missing field {key!r}")
        msgs = d["messages"]
        if not isinstance(msgs, list) or not msgs:
            raise RecordError(f"{where}: 'messages' must be a non-empty list")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ROLES:
                raise RecordError(f"{where}: messages[{i}] needs a role of {sorted(ROLES)}")
            if not isinstance(m.get("content"), str):
                raise RecordError(f"{where}: messages[{i}] needs a text 'content'")
        if not any(m["role"] == "user" for m in msgs) or msgs[-1]["role"] != "assistant":
            raise RecordError(f"{where}: messages need a user turn and end with the assistant")
        if d["task"] not in TASKS:
            raise RecordError(f"{where}: task {d['task']!r} is not one of {', '.join(TASKS)}")
        src = d["source"]
        if not isinstance(src, dict) or not src.get("doc") or not src.get("sha256"):
            raise RecordError(f"{where}: 'source' needs 'doc' and 'sha256'")
        split = d.get("split")
        if split is not None and split not in SPLITS:
            raise RecordError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
        return cls(
            messages=[{"role": m["role"], "content": m["content"]} for m in msgs],
            task=d["task"],
            source=dict(src),
            generator=dict(d.get("generator") or {"name": "unknown"}),
            sensitivity=str(d.get("sensitivity", "internal")),
            split=split,
            group=d.get("group"),
            id=str(d.get("id") or ""),
            context=[dict(c) for c in d.get("context") or [] if isinstance(c, dict)],
        )


def write_records(records: Iterable[Record], path: Path) -> int:
    """Write JSON lines (through a temporary file, so a failed run leaves the old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def iter_records(path: Path) -> Iterator[Record]:
    if not path.is_file():
        raise RecordError(f"{path}: no such records file (build one with plantmind tune build)")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(d, dict):
                raise RecordError(f"{where}: a record must be a JSON object")
            yield Record.from_dict(d, where)


def read_records(path: Path) -> list[Record]:
    """Every record of ``path``; :class:`RecordError` names the first bad line."""
    return list(iter_records(path))
