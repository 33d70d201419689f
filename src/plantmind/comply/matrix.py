"""The coverage matrix: one row per requirement with its status, the cited evidence and who
judged it; written as CSV (UTF-8, one header row, the columns of :data:`COLUMNS`)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from plantmind.comply.judge import Verdict
from plantmind.comply.matcher import Status
from plantmind.comply.requirements import Requirement

__all__ = ["COLUMNS", "EVIDENCE_CHARS", "MatrixRow", "build_rows", "count_status", "write_csv"]

COLUMNS = (
    "paragraph",
    "requirement",
    "modality",
    "status",
    "evidence_source",
    "evidence_page",
    "evidence_section",
    "evidence_text",
    "judged_by",
    "note",
)
EVIDENCE_CHARS = 400


@dataclass(slots=True)
class MatrixRow:
    paragraph: str
    requirement: str
    modality: str
    status: Status
    evidence_source: str
    evidence_page: int | None
    evidence_section: str
    evidence_text: str
    judged_by: str
    note: str = ""
    standard_page: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _short(text: str, n: int = EVIDENCE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def build_rows(reqs: Sequence[Requirement], verdicts: Sequence[Verdict]) -> list[MatrixRow]:
    rows: list[MatrixRow] = []
    for r, v in zip(reqs, verdicts, strict=True):
        p = v.passage
        rows.append(
            MatrixRow(
                paragraph=r.paragraph,
                requirement=r.text,
                modality=r.modality,
                status=v.status,
                evidence_source=p.source if p else "",
                evidence_page=p.page if p else None,
                evidence_section=(p.section or "") if p else "",
                evidence_text=_short(v.evidence) if p else "",
                judged_by=v.judged_by,
                note=v.note,
                standard_page=r.page,
            )
        )
    return rows


def count_status(rows: Sequence[MatrixRow]) -> dict[str, int]:
    c = Counter(r.status for r in rows)
    return {s: c.get(s, 0) for s in ("covered", "partial", "missing")}


def write_csv(rows: Sequence[MatrixRow], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow(
                [
                    r.paragraph,
                    r.requirement,
                    r.modality,
                    r.status,
                    r.evidence_source,
                    "" if r.evidence_page is None else r.evidence_page,
                    r.evidence_section,
                    r.evidence_text,
                    r.judged_by,
                    r.note,
                ]
            )
    return path
