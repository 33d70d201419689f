"""``plantmind tune``: the plant's own language model. ``build`` writes training records from
the plant's documents, work orders and sensor sheet; ``split`` re-splits a records file;
``train`` fine-tunes a LoRA adapter; ``export`` writes GGUF for llama.cpp and Ollama; ``eval``
compares the base model with the tuned one on the held-out split."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from plantmind.cli.common import HomeOpt, PlantOpt, console, err, fail, plant_or_fail
from plantmind.cli.tune_train import export_cmd, train_cmd

__all__ = ["tune_app"]

tune_app = typer.Typer(
    help="The plant's own language model: records, LoRA training, GGUF export, evaluation.",
    no_args_is_help=True,
)


def _print_report(rep: dict[str, Any], out: Path | None) -> None:
    from rich.table import Table

    table = Table(title="records per task and split", title_justify="left")
    table.add_column("task")
    for split in ("train", "eval", "test"):
        table.add_column(split, justify="right")
    for task, per in sorted(rep["per_task_split"].items()):
        table.add_row(task, *(str(per.get(s, 0)) for s in ("train", "eval", "test")))
    console.print(table)
    d = rep["dedup"]
    console.print(
        f"{rep['records']} records"
        + (f" in {out}" if out else "")
        + f"; {d['exact_duplicates']} exact and {d['near_duplicates']} near duplicates removed"
        f" (duplicate rate {d['duplicate_rate']:.1%}); declines {rep['decline_share']:.1%};"
        f" leaks between test and train: {len(rep['leaks'])}",
        highlight=False,
    )
    console.print("sources: " + ", ".join(f"{k} {v}" for k, v in rep["per_source"].items()))
    for p in rep["problems"]:
        err.print(f"skipped: {p}", highlight=False)
    err.print(f"teacher model: {rep['teacher']}", highlight=False)


def build(
    out: Annotated[Path, typer.Option("--out", help="Folder for records.jsonl and report.json.")],
    plant: PlantOpt = None,
    docs: Annotated[
        list[Path] | None,
        typer.Option("--docs", help="Documents or folders (default: the plant's documents)."),
    ] = None,
    eval_fraction: Annotated[float, typer.Option(help="Share of records for eval.")] = 0.1,
    test_fraction: Annotated[float, typer.Option(help="Share of records for test.")] = 0.15,
    seed: Annotated[int, typer.Option(help="Seed of the grouped split.")] = 0,
    teacher: Annotated[
        bool,
        typer.Option(
            "--teacher",
            help="Paraphrase questions with the plant's model (llm: in plant.yaml), placed "
            "by the routing policy (task kind tune.paraphrase).",
        ),
    ] = False,
    teacher_limit: Annotated[
        int | None, typer.Option(help="Paraphrase at most this many questions.")
    ] = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Build training records (the demo plant when no --plant is given): questions in
    technician language with answers from the plant's documents, work orders and sensor
    sheet, declines for what no document covers; duplicates removed, split by source."""
    from plantmind.cli.docs import plant_documents
    from plantmind.tune.build import build_dataset
    from plantmind.tune.records import write_records
    from plantmind.tune.split import SplitConfig

    model, plant_path = plant_or_fail(plant)
    paths = list(docs) if docs else plant_documents(plant)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such document or folder: {', '.join(missing)}")
    try:
        cfg = SplitConfig(eval_fraction, test_fraction, seed)
    except ValueError as exc:
        raise fail(str(exc)) from None
    router = None
    if teacher:
        from plantmind.core.settings import resolve_home
        from plantmind.llm.router import Router

        router = Router.from_plant(model, resolve_home(home), base_dir=plant_path.parent)
        if not router.has_model:
            router.close()
            raise fail(
                "--teacher: no model is configured (llm.endpoints in plant.yaml, or "
                "PLANTMIND_LLM_URL); without it the records are built from templates only"
            )
    alerts: list[Any] = []
    from plantmind.core.settings import resolve_home as _home

    db = _home(home) / "edge.db"
    if db.exists():  # the alert history of this home's edge node, with operators' verdicts
        from plantmind.store.edge import EdgeStore

        store = EdgeStore(db)
        try:
            alerts = store.list_alerts(state="resolved", limit=5000)
        finally:
            store.close()
    try:
        records, report = build_dataset(
            model,
            plant_path,
            paths,
            split=cfg,
            teacher=router,
            teacher_limit=teacher_limit,
            alerts=alerts,
        )
    finally:
        if router is not None:
            router.close()
    if not records:
        raise fail("no records could be built: the plant has no signals and no documents")
    out.mkdir(parents=True, exist_ok=True)
    write_records(records, out / "records.jsonl")
    rep = report.to_dict()
    (out / "report.json").write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n")
    if as_json:
        sys.stdout.write(json.dumps(rep, indent=2, ensure_ascii=False) + "\n")
        return
    _print_report(rep, out / "records.jsonl")


def split(
    records: Annotated[Path, typer.Argument(help="records.jsonl to split again (in place).")],
    eval_fraction: Annotated[float, typer.Option(help="Share of records for eval.")] = 0.1,
    test_fraction: Annotated[float, typer.Option(help="Share of records for test.")] = 0.15,
    seed: Annotated[int, typer.Option(help="Seed of the grouped split.")] = 0,
) -> None:
    """Split records again (after editing them, or with other shares): grouped by source
    passage and near-duplicate, so no test record shares either with a training record."""
    from collections import Counter

    from plantmind.tune.records import RecordError, read_records, write_records
    from plantmind.tune.split import SplitConfig, leaks, split_records

    try:
        cfg = SplitConfig(eval_fraction, test_fraction, seed)
        recs = read_records(records)
    except (ValueError, RecordError) as exc:
        raise fail(str(exc)) from None
    split_records(recs, cfg)
    found = leaks(recs)
    write_records(recs, records)
    counts = Counter(r.split for r in recs)
    console.print(
        f"{len(recs)} records: "
        + ", ".join(f"{s} {counts.get(s, 0)}" for s in ("train", "eval", "test"))
        + f"; leaks between test and train: {len(found)}",
        highlight=False,
    )


def evaluate(
    records: Annotated[Path, typer.Argument(help="records.jsonl (its test split is asked).")],
    base: Annotated[Path, typer.Option("--base", help="The base model (GGUF file).")],
    tuned: Annotated[
        Path | None, typer.Option("--tuned", help="The tuned model (GGUF file from export).")
    ] = None,
    split_name: Annotated[str, typer.Option("--split", help="Which split to ask.")] = "test",
    limit: Annotated[int | None, typer.Option(help="Ask at most this many records.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report (JSON).")] = None,
    home: HomeOpt = None,
    plant: PlantOpt = None,
    no_embed: Annotated[bool, typer.Option("--no-embed", help="BM25 only.")] = False,
) -> None:
    """Base vs tuned, the same retrieval and prompt for both: key-fact recall, citation
    accuracy, decline accuracy and invented-number rate, each with a bootstrap 95 %
    interval; a difference is claimed only when its interval excludes 0."""
    import tempfile

    from plantmind.cli.docs import plant_documents
    from plantmind.knowledge.index import KnowledgeIndex
    from plantmind.llm.client import LLMError
    from plantmind.llm.local import open_local_model
    from plantmind.tune.evaluate import evaluate_models
    from plantmind.tune.records import RecordError, read_records

    try:
        recs = read_records(records)
    except RecordError as exc:
        raise fail(str(exc)) from None
    for p in (base, tuned):
        if p is not None and not p.is_file():
            raise fail(f"no such model file: {p}")
    try:
        models = {"base": open_local_model(base)}
        if tuned is not None:
            models["tuned"] = open_local_model(tuned)
    except LLMError as exc:
        raise fail(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="plantmind-tune-eval-") as tmp:
        index = KnowledgeIndex(Path(tmp), embedder=None if no_embed else "auto")
        index.add(plant_documents(plant))
        try:
            report = evaluate_models(recs, index, models, split=split_name, limit=limit)
        except ValueError as exc:
            raise fail(str(exc)) from None
        finally:
            index.close()
            for m in models.values():
                m.close()
    d = report.to_dict()
    if out is not None:
        out.write_text(json.dumps(d, indent=2, ensure_ascii=False) + "\n")
    print_eval(d)


def print_eval(d: dict[str, Any]) -> None:
    """The evaluation's table: each metric per model with its interval, then the verdicts."""
    from rich.table import Table

    table = Table(title=f"{d['split']} split, {d['records']} records", title_justify="left")
    table.add_column("metric")
    for name in d["models"]:
        table.add_column(name, justify="right")
    for metric in ("key_fact_recall", "citation_accuracy", "decline_accuracy",
                   "invented_number_rate"):  # fmt: skip
        cells = []
        for m in d["models"].values():
            s = m[metric]
            cells.append(
                "not measured"
                if s["mean"] is None
                else f"{s['mean']:.3f} [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}] n={s['n']}"
            )
        table.add_row(metric, *cells)
    console.print(table)
    for pair, per in d["comparisons"].items():
        for metric, c in per.items():
            if c["difference"] is None:
                continue
            console.print(
                f"{pair} {metric}: {c['difference']:+.3f} "
                f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]: {c['verdict']}",
                highlight=False,
            )


tune_app.command("build")(build)
tune_app.command("split")(split)
tune_app.command("train")(train_cmd)
tune_app.command("export")(export_cmd)
tune_app.command("eval")(evaluate)
