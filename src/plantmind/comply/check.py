"""A compliance check end to end: standard → clause tree → requirements → evidence from the
procedures → verdicts → ``matrix.csv``, ``report.html`` and ``summary.json`` in the output
folder. Used by ``plantmind comply check`` and, later, by a hub job.

The procedures' index and the model-verdict cache live in ``<out>/work/``; a second run over
the same files reuses both (unchanged files are not indexed again, cached verdicts make no
model calls).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plantmind.comply.clauses import ClauseTree, parse_clauses
from plantmind.comply.evidence import ProcedureIndex, procedure_files
from plantmind.comply.ingest import ComplyError, read_standard
from plantmind.comply.judge import Judge, JudgeCache
from plantmind.comply.matcher import ConceptModel
from plantmind.comply.matrix import MatrixRow, build_rows, count_status, write_csv
from plantmind.comply.report import write_html, write_summary
from plantmind.comply.requirements import Requirement, extract_requirements, label_clauses

if TYPE_CHECKING:
    from plantmind.llm.router import Router

__all__ = ["CheckReport", "Progress", "load_requirements", "not_analysed_lines", "run_check"]

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): phases "standard", "index", "evidence", "judge", "report"."""

RETRIEVE_K = 6


@dataclass(slots=True)
class CheckReport:
    """What a check found and where it wrote it."""

    standard: str
    procedures: list[str]
    out: Path
    pages: int
    clauses: int
    requirements: int
    rows: list[MatrixRow]
    counts: dict[str, int]
    judged_by: dict[str, int]
    model: str | None
    model_calls: int
    cached_verdicts: int
    not_analysed: list[str]
    not_requirements: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "standard": self.standard,
            "procedures": self.procedures,
            "pages": self.pages,
            "clauses": self.clauses,
            "requirements": self.requirements,
            "counts": self.counts,
            "judged_by": self.judged_by,
            "model": self.model,
            "model_calls": self.model_calls,
            "cached_verdicts": self.cached_verdicts,
            "not_analysed": self.not_analysed,
            "not_requirements": self.not_requirements,
            "seconds": self.seconds,
            "files": self.files,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def not_analysed_lines(tree: ClauseTree) -> list[str]:
    """What in the standard was not analysed, in words."""
    lines = [f"{tree.source}: {p}" for p in tree.problems]
    lines += [f"{tree.source}, {n.where}: “{n.text}” — {n.reason}" for n in tree.not_analysed]
    return lines


def load_requirements(standard: Path) -> tuple[ClauseTree, list[Requirement]]:
    """The clause tree and requirements of a standard file (``ComplyError`` if unreadable)."""
    tree = parse_clauses(read_standard(standard))
    return tree, extract_requirements(tree)


def _not_requirements(tree: ClauseTree) -> tuple[list[Requirement], dict[str, int]]:
    """The requirements, and how many clauses are not requirements, by why (heading,
    definition, note, scope, informative, lead-in, may, should, statement)."""
    labels = label_clauses(tree)
    others = Counter(lab.modality for lab in labels if not lab.requirement)
    return extract_requirements(tree, labels), dict(others.most_common())


def _output_folder(out: Path) -> Path:
    """``out``, created if needed; :class:`ComplyError` when it is a file or cannot be made."""
    if out.exists() and not out.is_dir():
        raise ComplyError(f"{out}: output must be a folder, but it is a file")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ComplyError(
            f"{out}: cannot create the output folder ({exc.strerror or exc})"
        ) from None
    return out


def _without_own_files(files: list[Path], standard: Path, out: Path, na: list[str]) -> list[Path]:
    """The procedure files less the standard itself and anything under the output folder (a
    previous run's report.html would otherwise be cited as evidence for every requirement);
    each left out is said in ``na``. :class:`ComplyError` when none is left."""
    std = standard.resolve()
    out_r = out.resolve()
    kept: list[Path] = []
    for f in files:
        r = f.resolve()
        if r == std:
            na.append(f"procedure {f} not analysed: it is the standard being checked")
        elif r.is_relative_to(out_r):
            na.append(f"procedure {f} not analysed: it is under the output folder {out}")
        else:
            kept.append(f)
    if not kept:
        raise ComplyError(
            "no procedure documents left to check: only the standard itself or files under "
            f"the output folder {out}"
        )
    return kept


def run_check(
    standard: Path,
    procedures: Path | Sequence[Path],
    out: Path,
    *,
    router: Router | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    """Check ``procedures`` (a folder, or files and folders) against ``standard``; write the
    matrix and the report under ``out``. Raises :class:`ComplyError` when the standard or
    the procedures cannot be read at all."""
    say = progress or (lambda phase, done, total: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    say("standard", 0, 1)
    tree = parse_clauses(read_standard(Path(standard)))
    reqs, others = _not_requirements(tree)
    na = not_analysed_lines(tree)
    if not reqs:
        na.append(
            f"{tree.source}: no requirement found (no shall, must, is required, shall not …); "
            "nothing to check"
        )
    seconds["extract"] = time.perf_counter() - t0
    say("standard", 1, 1)

    t = time.perf_counter()
    out = _output_folder(Path(out))
    files = _without_own_files(procedure_files(procedures), Path(standard), out, na)
    work = out / "work"
    index = ProcedureIndex(work / "index")
    try:
        results = index.add(
            files, progress=lambda ev, path, d, n: say("index", d, n) if ev == "file" else None
        )
        for r in results:
            if r.status == "failed":
                na.append(f"procedure {r.path} not analysed: {r.error}")
            na.extend(f"procedure {Path(r.path).name}: {p}" for p in r.problems)
        if index.size == 0:
            raise ComplyError(
                "no text could be read from the procedures: "
                + "; ".join(str(r.error) for r in results if r.error)
            )
        seconds["index"] = time.perf_counter() - t

        t = time.perf_counter()
        items = []
        for i, req in enumerate(reqs):
            items.append((req, index.retrieve(req, k=RETRIEVE_K)))
            if i % 200 == 0:
                say("evidence", i, len(reqs))
        say("evidence", len(reqs), len(reqs))
        seconds["evidence"] = time.perf_counter() - t
    finally:
        index.close()

    t = time.perf_counter()
    concepts = ConceptModel(c.body for c in tree.clauses if c.kind != "heading")
    cache = JudgeCache(work / "judge_cache.sqlite")
    try:
        judge = Judge(concepts, router=router, cache=cache)
        verdicts = judge.judge(items, progress=lambda d, n: say("judge", d, n))
    finally:
        cache.close()
    seconds["judge"] = time.perf_counter() - t

    t = time.perf_counter()
    rows = build_rows(reqs, verdicts)
    report = CheckReport(
        standard=tree.source,
        procedures=[f.name for f in files],
        out=out,
        pages=tree.pages,
        clauses=len(tree.clauses),
        requirements=len(reqs),
        rows=rows,
        counts=count_status(rows),
        judged_by=dict(Counter(r.judged_by for r in rows)),
        model=judge.model_name,
        model_calls=judge.calls,
        cached_verdicts=judge.cached,
        not_analysed=na,
        not_requirements=others,
        seconds=seconds,
    )
    report.files = {
        "matrix": str(out / "matrix.csv"),
        "report": str(out / "report.html"),
        "summary": str(out / "summary.json"),
    }
    write_csv(rows, out / "matrix.csv")
    seconds["report"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    summary = report.summary()
    write_html(summary, rows, out / "report.html")
    write_summary(summary, out / "summary.json")
    say("report", 1, 1)
    return report
