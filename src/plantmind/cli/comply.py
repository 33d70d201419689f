"""``plantmind comply extract|check``: requirements of a standard, and the coverage of a
standard by the plant's procedures, from the command line. Wiring only: the work is in the
other modules of :mod:`plantmind.comply`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from plantmind.cli.common import HomeOpt, console, err, fail, plant_or_fail

__all__ = ["comply_app"]

PlantOpt = Annotated[
    Path | None,
    typer.Option(
        "--plant",
        help="plant.yaml whose model (llm:) judges the requirements "
        "(default: no model, the deterministic matcher judges).",
    ),
]

comply_app = typer.Typer(
    help="Compliance: requirements of a standard, and their evidence in the plant's procedures.",
    no_args_is_help=True,
)


@comply_app.command("extract")
def extract(
    file: Annotated[Path, typer.Argument(help="The standard: PDF, Markdown or text.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    all_clauses: Annotated[
        bool, typer.Option("--all", help="Every clause with its label, not only requirements.")
    ] = False,
) -> None:
    """List the requirements of a standard: paragraph id, text, modality and parent."""
    from plantmind.comply.check import not_analysed_lines
    from plantmind.comply.clauses import parse_clauses
    from plantmind.comply.ingest import ComplyError, read_standard
    from plantmind.comply.requirements import extract_requirements, label_clauses

    try:
        tree = parse_clauses(read_standard(file))
    except ComplyError as exc:
        raise fail(str(exc)) from None
    rows: list[dict[str, Any]]
    if all_clauses:
        rows = [
            {
                "paragraph": lab.clause.id,
                "text": lab.clause.text,
                "modality": lab.modality,
                "parent": lab.clause.parent,
                "page": lab.clause.page,
                "kind": lab.clause.kind,
                "requirement": lab.requirement,
                "why": lab.why,
            }
            for lab in label_clauses(tree)
        ]
    else:
        rows = [
            {
                "paragraph": r.paragraph,
                "text": r.text,
                "modality": r.modality,
                "parent": r.parent,
                "page": r.page,
            }
            for r in extract_requirements(tree)
        ]
    for line in not_analysed_lines(tree):
        err.print(f"[yellow]not analysed:[/] {line}", highlight=False)
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(
        title=f"{tree.source}: {len(rows)} {'clauses' if all_clauses else 'requirements'}"
    )
    for col in ("paragraph", "modality", "text", "parent"):
        table.add_column(col, overflow="fold")
    for r in rows:
        text = r["text"] if len(r["text"]) <= 160 else r["text"][:157] + "..."
        table.add_row(r["paragraph"], r["modality"], text, r["parent"] or "")
    console.print(table)


@comply_app.command("check")
def check(
    standard: Annotated[Path, typer.Option(help="The standard: PDF, Markdown or text.")],
    procedures: Annotated[
        list[Path], typer.Option(help="Folder (or file) of procedures; repeat for more.")
    ],
    out: Annotated[Path, typer.Option(help="Where matrix.csv, report.html, summary.json go.")],
    plant: PlantOpt = None,
    home: HomeOpt = None,
) -> None:
    """Check procedures against a standard: status per requirement (covered, partial,
    missing) with the cited evidence. With --plant, the plant's model (llm: in plant.yaml)
    judges; without one, the deterministic matcher does and every row says so."""
    from plantmind.comply.check import run_check
    from plantmind.comply.ingest import ComplyError

    router = None
    if plant is not None:
        from plantmind.core.settings import resolve_home
        from plantmind.llm.router import Router

        model, plant_path = plant_or_fail(plant)
        router = Router.from_plant(model, resolve_home(home), base_dir=plant_path.parent)
    try:
        with console.status("checking…") if console.is_terminal else _Null():
            report = run_check(standard, procedures, out, router=router)
    except ComplyError as exc:
        raise fail(str(exc)) from None
    finally:
        if router is not None:
            router.close()
    c = report.counts
    console.print(
        f"{report.requirements} requirement(s) in {report.standard} ({report.pages} page(s)): "
        f"[green]{c['covered']} covered[/], [yellow]{c['partial']} partial[/], "
        f"[red]{c['missing']} missing[/]",
        highlight=False,
    )
    if report.model:
        console.print(
            f"judged by the model {report.model} ({report.model_calls} call(s), "
            f"{report.cached_verdicts} cached verdict(s)); "
            + "; ".join(f"{k}: {v}" for k, v in report.judged_by.items()),
            highlight=False,
        )
    else:
        console.print(
            "no model judged: " + "; ".join(f"{k}: {v}" for k, v in report.judged_by.items()),
            highlight=False,
        )
    for line in report.not_analysed:
        err.print(f"[yellow]not analysed:[/] {line}", highlight=False)
    console.print(
        f"wrote {report.files['matrix']}, {report.files['report']}, {report.files['summary']}",
        highlight=False,
    )


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
