"""``plantmind docs add|list|remove`` and ``plantmind ask``: the knowledge index and the
assistant from the command line, over the index in ``<home>/knowledge``. Wiring only: the
work is in :mod:`plantmind.knowledge` and :mod:`plantmind.assist`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from plantmind.cli.common import HomeOpt, PlantOpt, console, err, plant_or_fail
from plantmind.cli.common import fail as _fail
from plantmind.core.ids import iso
from plantmind.core.settings import resolve_home

__all__ = ["ask", "docs_app", "open_index", "plant_documents"]

docs_app = typer.Typer(help="Documents of the knowledge index (manuals, SOPs, work orders).")


NoEmbedOpt = Annotated[
    bool,
    typer.Option("--no-embed", help="BM25 only, even when the [embed] extra is installed."),
]


def open_index(home: Path | None, *, embed: bool = True) -> Any:
    """The knowledge index of the home directory (``<home>/knowledge``)."""
    from plantmind.knowledge.index import KnowledgeIndex

    return KnowledgeIndex(resolve_home(home) / "knowledge", embedder="auto" if embed else None)


def plant_documents(plant: Path | None) -> list[Path]:
    """The plant's document folders (``sites[].documents``, relative to plant.yaml) and
    plant.yaml itself (its sensor sheet: units, ranges, descriptions)."""
    model, plant_path = plant_or_fail(plant)
    base = plant_path.parent
    targets: list[Path] = []
    for site in model.sites:
        for folder in site.documents:
            p = Path(folder.path)
            targets.append(p if p.is_absolute() else base / p)
    targets.append(plant_path)
    return targets


def _parse_mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        if "=" not in part:
            raise _fail(f"--wo-columns: expected field=column pairs, got {part!r}")
        field, column = part.split("=", 1)
        out[field.strip()] = column.strip()
    return out


@docs_app.command("add")
def docs_add(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (default: the plant's document folders)."),
    ] = None,
    home: HomeOpt = None,
    plant: PlantOpt = None,
    wo_columns: Annotated[
        str | None,
        typer.Option(
            help="Work-order CSV column mapping, e.g. asset=equipment_id,date=finished "
            "(fields: id, asset, asset_name, date, symptom, cause, action, failure_code, ...)."
        ),
    ] = None,
    max_pages: Annotated[int, typer.Option(help="Most pages read from one PDF.")] = 5_000,
    max_mb: Annotated[
        float,
        typer.Option(min=0, help="Largest file read, in MB; a larger one is reported as failed."),
    ] = 100.0,
    no_embed: NoEmbedOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Add documents to the knowledge index: PDF, Markdown, text, HTML, work-order CSV and
    plant.yaml (sensor sheet). A changed file replaces its old version; one bad file does not
    stop the others."""
    mapping = _parse_mapping(wo_columns)
    targets: list[Path] = list(paths or []) or plant_documents(plant)
    index = open_index(home, embed=not no_embed)
    if index.embedder is None and not no_embed:
        err.print(index.dense_status, highlight=False)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    ) as bar:
        files = bar.add_task("documents", total=None)
        pages = bar.add_task("pages", total=None, visible=False)
        # What the inner bar counts, by event: within one file (pages of a PDF, lines of a
        # text file, chunks embedded), then the whole index re-read once at the end.
        inner = {"pages": "pages/lines", "embed": "embedding", "index": "indexing"}

        def progress(event: str, path: str, done: int, total: int) -> None:
            if event == "file":
                bar.update(
                    files, completed=done, total=total, description=Path(path).name or "done"
                )
                bar.update(pages, visible=False)
            else:
                bar.update(
                    pages,
                    completed=done,
                    total=total,
                    visible=True,
                    description=inner.get(event, event),
                )

        results = index.add(
            targets,
            progress=progress,
            max_pages=max_pages,
            work_order_columns=mapping,
            max_mb=max_mb,
        )
    index.close()
    if as_json:
        sys.stdout.write(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    else:
        for r in results:
            if r.status == "failed":
                err.print(f"[red]failed[/]    {r.error}", highlight=False)
                continue
            line = f"{r.status:<10} {r.path}"
            if r.status != "unchanged":
                line += f"  ({r.pages} pages, {r.chunks} chunks, {r.seconds:.1f} s)"
            console.print(line, highlight=False)
            for problem in r.problems:
                console.print(f"           note: {problem}", highlight=False)
        if not results:
            console.print("no supported files found")
    if results and all(r.status == "failed" for r in results):
        raise typer.Exit(1)


@docs_app.command("list")
def docs_list(
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the documents in the knowledge index."""
    index = open_index(home, embed=False)
    docs = index.documents()
    index.close()
    if as_json:
        sys.stdout.write(json.dumps([asdict(d) for d in docs], indent=2) + "\n")
        return
    if not docs:
        console.print("no documents; add some with: plantmind docs add PATH")
        return
    table = Table()
    for col in ("source", "kind", "pages", "chunks", "added", "notes"):
        table.add_column(col)
    for d in docs:
        table.add_row(
            d.source,
            d.kind,
            str(d.pages),
            str(d.chunks),
            iso(d.added_at)[:19],
            "; ".join(d.problems),
        )
    console.print(table)


@docs_app.command("remove")
def docs_remove(
    names: Annotated[list[str], typer.Argument(help="File name, path, folder or document id.")],
    home: HomeOpt = None,
) -> None:
    """Remove documents from the knowledge index."""
    index = open_index(home, embed=False)
    missing = []
    for name in names:
        gone = index.remove(name)
        for d in gone:
            console.print(f"removed {d.source} ({d.path})", highlight=False)
        if not gone:
            missing.append(name)
    index.close()
    if missing:
        raise _fail(f"not in the index: {', '.join(missing)} (see plantmind docs list)", 1)


def ask(
    question: Annotated[str, typer.Argument(help="The question, in your own words.")],
    asset: Annotated[
        str | None,
        typer.Option("--asset", help="Asset id: adds its alerts, readings, work orders."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    home: HomeOpt = None,
    plant: PlantOpt = None,
    llm_url: Annotated[
        str | None,
        typer.Option(
            envvar="PLANTMIND_LLM_URL",
            help="OpenAI-compatible endpoint (API key from $PLANTMIND_LLM_API_KEY).",
        ),
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option(envvar="PLANTMIND_LLM_MODEL", help="Model name.")
    ] = None,
    llm_timeout: Annotated[float, typer.Option(help="Seconds to wait for the model.")] = 30.0,
    no_embed: NoEmbedOpt = False,
) -> None:
    """Ask the plant documents a question; the answer cites document, page and section, or
    says the documents do not answer it."""
    from plantmind.assist.live import StoreLive
    from plantmind.assist.service import AssistService
    from plantmind.llm.client import ChatClient, LLMConfig
    from plantmind.llm.router import Router

    root = resolve_home(home)
    index = open_index(home, embed=not no_embed)
    if index.size == 0:
        # out of the box: the plant's own documents (the example plant ships a manual, SOPs
        # and a work-order history), as `plantmind docs add` with no path would add them
        targets = plant_documents(plant)
        err.print("the knowledge index is empty: adding the plant's documents first ...")
        results = index.add(targets)
        failed = [r for r in results if r.status == "failed"]
        for r in failed:
            err.print(f"[red]failed[/] {r.error}", highlight=False)
        if index.size == 0:
            index.close()
            raise _fail("no documents could be indexed: add some with plantmind docs add PATH")
    model, _ = plant_or_fail(plant)
    if asset:
        # checked before the router opens its queue, call log and key in the home, so a
        # mistyped --asset leaves nothing behind
        try:
            model.asset(asset)
        except KeyError:
            index.close()
            raise _fail(f"unknown asset {asset!r}") from None
    # the router places the model call by the plant's llm: policy; --llm-url names the edge
    # model when plant.yaml does not
    edge = None
    if llm_url:
        edge = ChatClient(
            LLMConfig(base_url=llm_url, model=llm_model or "default", timeout_s=llm_timeout)
        )
    router = Router.from_plant(model, root, env=False, edge=edge)
    live: StoreLive | None = None
    try:
        if asset:  # without a running node, the asset's live state is its edge store's
            live = StoreLive.open(model, root / "edge.db", index)
        answer = AssistService(index, router, requester="cli").ask(question, asset, live)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    finally:
        if live is not None:
            live.close()
        router.close()  # closes the edge client too
        index.close()
    if as_json:
        sys.stdout.write(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    console.print(answer.answer, highlight=False)
    if answer.citations:
        console.print("\nSources:", style="bold")
        for n, c in enumerate(answer.citations, start=1):
            where = ", ".join(
                x for x in (c.source, f"page {c.page}" if c.page else "", c.section or "") if x
            )
            console.print(f"  [{n}] {where}", highlight=False)
    for note in answer.notes:
        err.print(f"note: {note}", highlight=False)
    used = answer.model_used or "no model (extractive)"
    err.print(f"answered by {used} in {answer.timings.get('total_ms', 0):.0f} ms", highlight=False)
