"""Checks on a question set for ``plantmind bench assistant``: a question written in a
technician's words must not lift a run of the page's words (the issue's bar: under 6
consecutive words shared with the page it is answered from), or retrieval is measured on
copying, not on understanding.

``python -m plantmind.bench.assistant_questions QA.jsonl CORPUS.jsonl`` prints every
question over the bar; ``CORPUS.jsonl`` holds ``source``, ``page`` and ``text`` per line.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["MAX_SHARED_RUN", "longest_shared_run", "overlap_report", "page_texts"]

MAX_SHARED_RUN = 5  # words; 6 or more in a row is a copy
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def longest_shared_run(question: str, page: str) -> int:
    """The longest run of consecutive words (case and punctuation ignored) the question
    shares with the page."""
    q, p = _words(question), _words(page)
    if not q or not p:
        return 0
    best = 0
    # n-gram sets by growing n: stop at the first n with no shared run.
    for n in range(1, len(q) + 1):
        grams = {tuple(p[i : i + n]) for i in range(len(p) - n + 1)}
        if not any(tuple(q[i : i + n]) in grams for i in range(len(q) - n + 1)):
            break
        best = n
    return best


def page_texts(corpus_jsonl: Path) -> dict[tuple[str, int], str]:
    """(source, page) → the page's text, from a corpus of chunk lines."""
    pages: dict[tuple[str, int], list[str]] = {}
    for line in corpus_jsonl.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            pages.setdefault((str(row["source"]), int(row.get("page") or 1)), []).append(
                str(row["text"])
            )
    return {k: "\n".join(v) for k, v in pages.items()}


def overlap_report(
    questions: Iterable[dict[str, Any]], pages: dict[tuple[str, int], str]
) -> list[dict[str, Any]]:
    """One row per answerable question with a gold page: its id, the longest run it shares
    with its gold page(s), and whether that is over :data:`MAX_SHARED_RUN`."""
    out = []
    for q in questions:
        if q.get("unanswerable") or not q.get("source"):
            continue
        gold = [(str(q["source"]), int(q.get("page") or 1))]
        gold += [(str(a[0]), int(a[1])) for a in q.get("alt_pages") or []]
        run = max(longest_shared_run(str(q["question"]), pages.get(g, "")) for g in gold)
        out.append({"id": q.get("id"), "run": run, "over": run > MAX_SHARED_RUN})
    return out


def main(argv: list[str]) -> int:
    from plantmind.bench.assistant import load_questions

    rows = overlap_report(load_questions(Path(argv[0])), page_texts(Path(argv[1])))
    over = [r for r in rows if r["over"]]
    for r in over:
        print(f"{r['id']}: shares {r['run']} consecutive words with its page")
    print(f"{len(over)} of {len(rows)} answerable question(s) over {MAX_SHARED_RUN} words")
    return 1 if over else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
