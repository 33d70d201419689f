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
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="local: run a GGUF model in-process as the edge model (the [edge-llm] extra; "
            "the plant's llama-cpp edge endpoint, --llm-model-path, or the packaged test "
            "fixture).",
        ),
    ] = None,
    llm_model_path: Annotated[
        Path | None,
        typer.Option("--llm-model-path", help="With --llm local: the GGUF file to run."),
    ] = None,
    no_embed: NoEmbedOpt = False,
) -> None:
    """Ask the plant documents a question; the answer cites document, page and section, or
    says the documents do not answer it."""
    from plantmind.assist.live import StoreLive
    from plantmind.assist.service import AssistService
    from plantmind.llm.client import ChatClient, LLMConfig
    from plantmind.llm.router import Router

    if llm is not None and llm != "local":
        raise _fail(f"--llm {llm!r}: the one choice is 'local' (a model server: --llm-url)")
    if llm is None and llm_model_path is not None:
        raise _fail("--llm-model-path needs --llm local")
    if llm == "local" and llm_url:
        raise _fail("give --llm local or --llm-url, not both")
    root = resolve_home(home)
    model, plant_path = plant_or_fail(plant)
    # checked before the index is touched: a missing model file leaves nothing behind
    local = _local_model(model, plant_path, llm_model_path, llm_timeout) if llm else None
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
    edge: Any = None
    if local is not None:
        # the in-process model is the edge tier, in place of any edge endpoint the file names
        edge = local
        eps = model.llm.endpoints.model_copy(update={"edge": None})
        model = model.model_copy(update={"llm": model.llm.model_copy(update={"endpoints": eps})})
    elif llm_url:
        edge = ChatClient(
            LLMConfig(base_url=llm_url, model=llm_model or "default", timeout_s=llm_timeout)
        )
    router = Router.from_plant(model, root, env=False, edge=edge, base_dir=plant_path.parent)
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
    timing = _local_timing(local)
    if as_json:
        doc = answer.to_dict()
        if timing is not None:
            doc["llm"] = timing
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    console.print(answer.answer, highlight=False)
    if answer.citations:
        console.print("\nSources:", style="bold")
        for k, c in enumerate(answer.citations, start=1):
            # the number the answer's [n] markers use: the passage's place among those
            # retrieved (a generated answer may cite [3] alone); the extractive answer
            # numbers its quotes in order
            n = next((i for i, r in enumerate(answer.retrieved, start=1) if r == c), k)
            n = k if answer.model_used is None else n
            where = ", ".join(
                x for x in (c.source, f"page {c.page}" if c.page else "", c.section or "") if x
            )
            console.print(f"  [{n}] {where}", highlight=False)
    for note in answer.notes:
        err.print(f"note: {note}", highlight=False)
    used = answer.model_used or "no model (extractive)"
    err.print(f"answered by {used} in {answer.timings.get('total_ms', 0):.0f} ms", highlight=False)
    if timing is not None and timing.get("ttft_ms") is not None:
        loading = f" ({timing['load_ms']:.0f} ms of it loading)" if timing["load_ms"] else ""
        err.print(
            f"in-process model: first token after {timing['ttft_ms']:.0f} ms{loading}, "
            f"{timing['completion_tokens']} tokens in {timing['total_ms']:.0f} ms",
            highlight=False,
        )


def _local_model(plant: Any, plant_path: Path, model_path: Path | None, timeout_s: float) -> Any:
    """The in-process model of ``ask --llm local``: ``model_path``, else the plant's edge
    endpoint when it is in-process, else the packaged test fixture (with a note); a clear
    error when there is none, or llama-cpp-python is missing."""
    from plantmind.core.routing import IN_PROCESS_BACKENDS
    from plantmind.llm.client import LLMConfig
    from plantmind.llm.local import EXTRA_HINT, LocalChatBackend, packaged_gguf_models

    ep = plant.llm.endpoints.edge
    base = (
        LLMConfig.from_endpoint(ep, plant_path.parent)
        if ep is not None and ep.backend in IN_PROCESS_BACKENDS
        else LLMConfig(base_url="", model="local", backend="llama-cpp", timeout_s=timeout_s)
    )
    path = str(model_path) if model_path is not None else base.model_path
    if path is None:
        fixtures = packaged_gguf_models()
        if not fixtures:
            raise _fail(
                "--llm local: no model file: give --llm-model-path PATH, or an edge endpoint "
                "with backend: llama-cpp and model_path in plant.yaml "
                f"(the in-process model needs {EXTRA_HINT})"
            )
        path = str(fixtures[0])
        err.print(
            f"note: no model file given; running the packaged test fixture {fixtures[0].name} "
            "(a tiny model for tests: expect poor answers; --llm-model-path for a real one)",
            highlight=False,
        )
    name = base.model if model_path is None and base.model_path else Path(path).stem
    cfg = LLMConfig(
        base_url="", model=name, backend="llama-cpp", model_path=path, n_ctx=base.n_ctx,
        threads=base.threads, timeout_s=base.timeout_s, temperature=base.temperature,
        max_tokens=base.max_tokens,
    )  # fmt: skip
    backend = LocalChatBackend(cfg)
    if not backend.available:
        raise _fail(f"--llm local: {backend.why}")
    return backend


def _local_timing(backend: Any) -> dict[str, Any] | None:
    """What ``ask --llm local`` reports of the in-process call (None: no model ran)."""
    if backend is None or backend.last_timing is None:
        return None
    t = backend.last_timing
    return {
        "model": backend.name,
        "model_path": str(backend.path),
        "load_s": round(backend.load_s or 0.0, 3),
        "ttft_ms": None if t.ttft_ms is None else round(t.ttft_ms, 1),
        "load_ms": round(t.load_ms, 1),
        "total_ms": round(t.total_ms, 1),
        "prompt_eval_tokens": t.prompt_eval_tokens,
        "completion_tokens": t.completion_tokens,
        "finish_reason": t.finish_reason,
        "n_ctx": backend.n_ctx,
        "threads": backend.threads,
        "chat_format": backend.chat_format,
    }
