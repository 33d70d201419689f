"""Passages beside each training question, so the model is trained in the format the
assistant serves: the numbered passages, the question, and an answer that cites its passage
by number or says NOT FOUND. A record's gold passage (set by the builder) is joined by the
passages the plant's own knowledge index retrieves for the question that come from elsewhere
(distractors: a model must learn to pick, not to copy the only passage); a decline gets only
distractors. The gold passage's place among them follows the record's id, so it is stable
from run to run and not always first."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plantmind.tune.build import clip_words
from plantmind.tune.records import Record

__all__ = ["PASSAGES", "add_distractors", "ground_records"]

#: passages shown with each question (the gold one included)
PASSAGES = 3


def add_distractors(
    records: Sequence[Record], index: Any, *, passages: int = PASSAGES, words: int = 90
) -> int:
    """Fill each record's ``context`` up to ``passages`` with retrieved passages that are not
    its gold one (same document and section); returns how many records got distractors. A
    training record is never shown a held-out record's gold passage as a distractor (it
    would train on the text a test answer rests on)."""
    held_out = {
        (c.get("source"), c.get("section"))
        for r in records
        if r.split in ("eval", "test")
        for c in r.context
        if c.get("gold")
    }
    done = 0
    for r in records:
        gold = [c for c in r.context if c.get("gold")]
        keys = {(c.get("source"), c.get("section")) for c in gold}
        if r.split == "train":
            keys |= held_out
        want = passages - len(gold)
        extra: list[dict[str, Any]] = []
        for h in index.search(r.question, k=passages * 4).hits:
            key = (h.chunk.source, h.chunk.section)
            if key in keys:
                continue
            keys.add(key)
            extra.append({"source": h.chunk.source, "page": h.chunk.page,
                          "section": h.chunk.section, "text": clip_words(h.chunk.text, words),
                          "gold": False})  # fmt: skip
            if len(extra) >= want:
                break
        if not extra:
            continue
        at = int(r.id[:8], 16) % (len(extra) + 1) if gold else 0
        r.context = [*extra[:at], *gold, *extra[at:]]
        done += 1
    return done


def ground_records(records: Sequence[Record], document_paths: Sequence[Path]) -> int:
    """:func:`add_distractors` from a keyword index of ``document_paths`` built in a temporary
    folder (BM25 only: fast, and the same passages on every machine)."""
    from plantmind.knowledge.index import KnowledgeIndex

    with tempfile.TemporaryDirectory(prefix="plantmind-tune-ground-") as tmp:
        index = KnowledgeIndex(Path(tmp), embedder=None)
        try:
            index.add(list(document_paths))
            if index.size == 0:
                return 0
            return add_distractors(records, index)
        finally:
            index.close()
