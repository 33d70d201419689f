"""The analysis jobs the hub runs: ``comply.check`` (a standard against the plant's procedures)
and ``language.check`` (a supplier or regional message against a spec and the glossary).

Each reads only what the job stored at submission (``inputs/``) and writes its files to
``out/``; the model router, when the hub has one, comes in ``ctx.services["router"]``.
"""

from __future__ import annotations

from typing import Any

from plantmind.central.jobs import JobContext, JobError, JobFn

__all__ = ["JOB_KINDS"]


def comply_check(ctx: JobContext) -> dict[str, Any]:
    """``run_check`` over the uploaded standard and procedures; the result is the summary
    (counts, judged_by, not analysed, seconds); the matrix and the report are files."""
    from plantmind.comply.check import run_check
    from plantmind.comply.ingest import ComplyError

    standard = ctx.inputs / "standard" / str(ctx.params.get("standard", ""))
    procedures = ctx.inputs / "procedures"
    if not standard.is_file() or not procedures.is_dir():
        raise JobError("the job's standard or procedures are missing from its inputs")
    try:
        report = run_check(
            standard,
            procedures,
            ctx.out,
            router=ctx.services.get("router"),
            progress=lambda phase, done, total: ctx.progress(done, total, phase),
        )
    except ComplyError as exc:
        raise JobError(str(exc)) from None
    summary = report.summary()
    summary.pop("files", None)
    summary["files"] = ["matrix.csv", "report.html", "summary.json"]
    return summary


def language_check(ctx: JobContext) -> dict[str, Any]:
    """``check_message`` with the submitted spec (a dict), glossary (CSV text) and locale;
    the result is the report (flags, values, not analysed, translation)."""
    import csv
    import io

    from plantmind.language.check import check_message
    from plantmind.language.glossary import Glossary, GlossaryError
    from plantmind.language.spec import SpecError, spec_from_dict

    p = ctx.params
    try:
        spec = spec_from_dict(p["spec"], "submitted spec") if p.get("spec") else None
        glossary = None
        if p.get("glossary_csv"):
            rows = csv.reader(io.StringIO(p["glossary_csv"]))
            glossary = Glossary.from_rows(rows, source="submitted glossary")
        ctx.progress(0, 1, "checking")
        report = check_message(
            p["message"],
            spec=spec,
            glossary=glossary,
            sender_locale=p.get("locale"),
            router=ctx.services.get("router"),
        )
    except (SpecError, GlossaryError, ValueError) as exc:
        raise JobError(str(exc)) from None
    ctx.progress(1, 1, "checked")
    return report.to_dict()


JOB_KINDS: dict[str, JobFn] = {"comply.check": comply_check, "language.check": language_check}
