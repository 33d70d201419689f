"""Judging requirements against their evidence: the deterministic matcher always, and a model
through the router when one is configured (task kind ``comply.judge``).

The model judges several requirements per call and answers JSON; verdicts are cached on disk
(SQLite) by a hash of requirement, evidence and model, so a second run over the same
documents makes no calls. Whatever the model does not answer usably (no model, the call
fails, the answer is not valid JSON, a row is missing or malformed) is judged by the
deterministic matcher, and the row's ``judged_by`` says which and why. A model's verdict can
only cite passages it was given.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plantmind.comply.evidence import Passage
from plantmind.comply.matcher import ConceptModel, Match, Status, match_requirement
from plantmind.comply.requirements import Requirement
from plantmind.store.sqlite import connect

if TYPE_CHECKING:
    from plantmind.llm.router import Router

__all__ = [
    "DETERMINISTIC_NO_MODEL",
    "Judge",
    "JudgeCache",
    "Verdict",
]

DETERMINISTIC_NO_MODEL = "deterministic matcher (no model configured)"
TASK_KIND = "comply.judge"
BATCH = 8
PASSAGES_TO_MODEL = 3
PASSAGE_CHARS = 900
STATUSES: tuple[Status, ...] = ("covered", "partial", "missing")

_SYSTEM = (
    "You check a plant's procedures against a standard. For each requirement you get the "
    "passages retrieved from the procedures, numbered. Decide, from those passages only:\n"
    '- "covered": a passage meets the whole requirement;\n'
    '- "partial": a passage meets part of it;\n'
    '- "missing": no passage addresses it.\n'
    "Answer with JSON only, no prose: "
    '{"results": [{"id": "R1", "status": "covered|partial|missing", "evidence": <number of '
    'the passage that meets it, or null>, "reason": "<one short sentence>"}]} with one '
    "entry per requirement."
)


@dataclass(slots=True)
class Verdict:
    """The judgement of one requirement: status, the cited passage (None when missing or
    when no passage was cited), the evidence text shown, who judged and a note."""

    status: Status
    passage: Passage | None
    evidence: str
    judged_by: str
    note: str = ""


# The verdict cache's migrations (plantmind.store.sqlite, owner "comply.judge"): append-only.
# 1 is exactly what the cache created on every open before versioning, so its files upgrade
# in place.
CACHE_MIGRATIONS: list[str] = [
    "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
    "created REAL NOT NULL);",
]


class JudgeCache:
    """Model verdicts on disk, keyed by a hash of (requirement, evidence, model)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One job's private cache, used by one thread: it keeps SQLite's rollback journal
        # (no WAL files beside it) and the sqlite3 module's implicit transactions, which
        # put_many() commits through `with self._db:`.
        self._db = connect(
            path, isolation_level="", wal=False, migrations={"comply.judge": CACHE_MIGRATIONS}
        )

    @staticmethod
    def key(req: Requirement, passages: Sequence[Passage], model: str) -> str:
        blob = json.dumps(
            [
                req.paragraph,
                req.text,
                req.context,
                [(p.source, p.page, p.text) for p in passages],
                model,
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM verdicts WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put_many(self, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)",
                [(k, json.dumps(v, ensure_ascii=False), time.time()) for k, v in items],
            )

    def close(self) -> None:
        self._db.close()


def _from_match(m: Match, passages: Sequence[Passage], judged_by: str) -> Verdict:
    passage = passages[m.passage] if m.passage is not None and m.status != "missing" else None
    if m.status == "missing":
        note = "concepts not found: " + ", ".join(m.absent[:6])
    else:
        note = f"concepts found: {', '.join(m.found[:6])}"
        if m.absent:
            note += f"; not found: {', '.join(m.absent[:4])}"
    return Verdict(m.status, passage, m.evidence if passage else "", judged_by, note)


def _model_passages(m: Match, passages: Sequence[Passage]) -> list[Passage]:
    """What the model sees: the matcher's best passage first, then the next retrieved."""
    order = list(range(len(passages)))
    if m.passage is not None:
        order.remove(m.passage)
        order.insert(0, m.passage)
    return [passages[i] for i in order[:PASSAGES_TO_MODEL]]


def _prompt(batch: Sequence[tuple[str, Requirement, list[Passage]]]) -> str:
    parts: list[str] = []
    for rid, req, shown in batch:
        lines = [f"### {rid} — paragraph {req.paragraph}", f"Requirement: {req.text}"]
        if req.context:
            lines.append(f"Context: {req.context}")
        if not shown:
            lines.append("Passages: none retrieved.")
        for n, p in enumerate(shown, start=1):
            where = p.source + (f", page {p.page}" if p.page is not None else "")
            if p.section:
                where += f", {p.section}"
            text = p.text if len(p.text) <= PASSAGE_CHARS else p.text[:PASSAGE_CHARS] + " …"
            lines.append(f"[{n}] ({where}) {text}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


_OUTCOME_WORDS = {
    "timeout": "model timed out",
    "error": "model call failed",
    "fallback": "model unavailable",
    "refused": "model refused by the routing policy",
}

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


def _parse(text: str) -> dict[str, dict[str, Any]] | None:
    """``{"R1": {...}}`` from the model's answer; None when it is not the JSON asked for."""
    s = _FENCE.sub("", text.strip())
    try:
        data = json.loads(s)
    except ValueError:
        start, end = s.find("{"), s.rfind("}")
        if start < 0 or end <= start:
            return None
        try:
            data = json.loads(s[start : end + 1])
        except ValueError:
            return None
    rows = data.get("results") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        return None
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if isinstance(r, dict) and isinstance(r.get("id"), str):
            out[r["id"]] = r
    return out


class Judge:
    """Judges (requirement, passages) pairs; see the module docstring.

    ``router``: the site's model router (None, or one without a model: the deterministic
    matcher judges every row). ``cache``: where model verdicts are kept."""

    def __init__(
        self,
        concepts: ConceptModel,
        *,
        router: Router | None = None,
        cache: JudgeCache | None = None,
        batch_size: int = BATCH,
    ) -> None:
        self.concepts = concepts
        self.router = router
        self.cache = cache
        self.batch_size = max(1, batch_size)
        self.calls = 0
        self.cached = 0
        self.model_name: str | None = None
        self.no_model_reason = "no model configured"
        if router is not None and router.has_model:
            from plantmind.llm.policy import Task

            d = router.explain(Task(TASK_KIND, [], can_wait=False))
            if d.placement in ("edge", "central") and d.tier is not None:
                self.model_name = str(getattr(router.clients[d.tier], "name", d.tier))
            else:
                self.no_model_reason = f"model not used: {d.reason}"

    @property
    def uses_model(self) -> bool:
        return self.model_name is not None

    def judge(
        self,
        items: Sequence[tuple[Requirement, list[Passage]]],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Verdict]:
        """One verdict per (requirement, retrieved passages), in order."""
        matches = [
            match_requirement(
                self.concepts, r.text, r.context, [(p.section, p.text) for p in ps], main=r.main
            )
            for r, ps in items
        ]
        if not self.uses_model:
            label = (
                DETERMINISTIC_NO_MODEL
                if self.no_model_reason == "no model configured"
                else f"deterministic matcher ({self.no_model_reason})"
            )
            if progress is not None:
                progress(len(items), len(items))
            return [_from_match(m, ps, label) for m, (_, ps) in zip(matches, items, strict=True)]
        return self._judge_with_model(items, matches, progress)

    def _judge_with_model(
        self,
        items: Sequence[tuple[Requirement, list[Passage]]],
        matches: list[Match],
        progress: Callable[[int, int], None] | None,
    ) -> list[Verdict]:
        assert self.model_name is not None
        verdicts: list[Verdict | None] = [None] * len(items)
        shown = [_model_passages(m, ps) for m, (_, ps) in zip(matches, items, strict=True)]
        keys = [
            JudgeCache.key(r, s, self.model_name) for (r, _), s in zip(items, shown, strict=True)
        ]
        todo: list[int] = []
        for i, key in enumerate(keys):
            hit = self.cache.get(key) if self.cache is not None else None
            if hit is not None:
                self.cached += 1
                verdicts[i] = self._verdict(hit, shown[i], matches[i], items[i][1], cached=True)
            else:
                todo.append(i)
        done = len(items) - len(todo)
        if progress is not None:
            progress(done, len(items))
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            for i, v in zip(
                batch, self._run_batch(batch, items, shown, matches, keys), strict=True
            ):
                verdicts[i] = v
            done += len(batch)
            if progress is not None:
                progress(done, len(items))
        return [v for v in verdicts if v is not None]

    def _run_batch(
        self,
        batch: list[int],
        items: Sequence[tuple[Requirement, list[Passage]]],
        shown: list[list[Passage]],
        matches: list[Match],
        keys: list[str],
    ) -> list[Verdict]:
        from plantmind.llm.policy import Task

        assert self.router is not None
        rows = [(f"R{n}", items[i][0], shown[i]) for n, i in enumerate(batch, start=1)]
        task = Task(
            TASK_KIND,
            [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": _prompt(rows)}],
            max_tokens=120 * len(rows) + 100,
            temperature=0.0,
            can_wait=False,
            requester="comply",
        )
        res = self.router.run(task)
        self.calls += 1

        def fallback(why: str, detail: str = "") -> list[Verdict]:
            out = [
                _from_match(matches[i], items[i][1], f"deterministic matcher ({why})")
                for i in batch
            ]
            for v in out:
                v.note = f"{detail}; {v.note}" if detail else v.note
            return out

        if res.outcome != "ok" or res.text is None:
            # a short label for the row; the router's reason (with the URL) in the note
            return fallback(_OUTCOME_WORDS.get(res.outcome, "model not used"), res.reason)
        parsed = _parse(res.text)
        if parsed is None:
            return fallback("model answer was not valid JSON")
        answered = res.model or self.model_name
        out: list[Verdict] = []
        to_cache: list[tuple[str, dict[str, Any]]] = []
        for (rid, _, _), i in zip(rows, batch, strict=True):
            row = parsed.get(rid)
            status = str(row.get("status", "")).strip().lower() if row else ""
            if status not in STATUSES:
                out.append(
                    _from_match(
                        matches[i],
                        items[i][1],
                        "deterministic matcher (the model gave no valid verdict for this row)",
                    )
                )
                continue
            assert row is not None
            record = {
                "status": status,
                "evidence": row.get("evidence"),
                "reason": str(row.get("reason") or "")[:300],
                "model": answered,
            }
            to_cache.append((keys[i], record))
            out.append(self._verdict(record, shown[i], matches[i], items[i][1], cached=False))
        if self.cache is not None and to_cache:
            self.cache.put_many(to_cache)
        return out

    def _verdict(
        self,
        record: dict[str, Any],
        shown: list[Passage],
        m: Match,
        retrieved: list[Passage],
        *,
        cached: bool,
    ) -> Verdict:
        status: Status = record["status"]
        judged_by = f"model:{record.get('model') or self.model_name}"
        note = str(record.get("reason") or "")
        if cached:
            note = (note + " (cached verdict)").strip()
        if status == "missing":
            return Verdict(status, None, "", judged_by, note)
        ev = record.get("evidence")
        if isinstance(ev, list):
            ev = ev[0] if ev else None
        n = ev if isinstance(ev, int) else (int(ev) if isinstance(ev, str) and ev.isdigit() else 0)
        if 1 <= n <= len(shown):
            passage = shown[n - 1]
            return Verdict(status, passage, passage.text, judged_by, note)
        # a verdict that cites no passage it was given: show the matcher's best window
        best = retrieved[m.passage] if m.passage is not None else None
        note = (
            note + "; the model cited no passage it was given, the matcher's best is shown"
        ).strip("; ")
        return Verdict(status, best, m.evidence if best else "", judged_by, note)
