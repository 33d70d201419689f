"""``plantmind bench ...``: the benchmarks (NAB, TEP, C-MAPSS, magnetic tiles, the assistant,
sync, the pipeline, API readers against ingest, throughput, routing, compliance). Each command
runs a module of :mod:`plantmind.bench` and prints its figures; reports go where the user
says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from plantmind.cli.common import console, err
from plantmind.cli.common import fail as _fail

__all__ = ["bench_app"]

bench_app = typer.Typer(help="Benchmarks; reports go where you say.", no_args_is_help=True)


def _print_figures(figures: dict[str, Any]) -> None:
    """One ``name: value`` line per figure, names right-aligned."""
    for k, v in figures.items():
        console.print(f"{k:>28}: {v}", highlight=False)


def _write_json(doc: Any, path: Path | None) -> None:
    """Write ``doc`` as JSON to ``path`` (the command's ``--json``), when one is given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


@bench_app.command("pipeline")
def bench_pipeline(
    signals: Annotated[int, typer.Option(help="Number of simulated signals.")] = 10_000,
    seconds: Annotated[float, typer.Option(help="Wall-clock seconds to measure.")] = 20.0,
    batch_ticks: Annotated[int, typer.Option(help="Simulator ticks per batch.")] = 10,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
    multivariate: Annotated[
        bool, typer.Option("--multivariate", help="Also run every asset's joint model.")
    ] = False,
) -> None:
    """End-to-end throughput (ingest → detect → alerts → store) and peak memory."""
    from plantmind.bench.pipeline import run_pipeline_bench

    result = run_pipeline_bench(
        n_signals=signals,
        seconds=seconds,
        batch_ticks=batch_ticks,
        progress=console.print,
        multivariate=multivariate,
    )
    for k, v in result.items():
        console.print(f"{k:>28}: {v:,}" if isinstance(v, int | float) else f"{k:>28}: {v}")
    _write_json(result, json_out)


@bench_app.command("api")
def bench_api(
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second.")] = 120.0,
    idle_s: Annotated[float, typer.Option(help="Seconds of idle ingest measured.")] = 10.0,
    requests: Annotated[int, typer.Option(help="GETs sent in the burst.")] = 2000,
    concurrency: Annotated[int, typer.Option(help="GETs in flight at a time.")] = 20,
    signals: Annotated[int, typer.Option(help="Simulated signals (0: the example plant).")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
) -> None:
    """Ingest samples/s idle and under a burst of API readers (loopback), read p50/p99."""
    from plantmind.bench.api import run_api_bench

    if requests < 1 or concurrency < 1 or speed <= 0 or idle_s <= 0 or signals < 0:
        raise _fail("--requests, --concurrency, --speed and --idle-s must be positive")
    r = run_api_bench(
        speed=speed,
        idle_s=idle_s,
        requests=requests,
        concurrency=concurrency,
        signals=signals,
        progress=console.print,
    )
    _print_figures(r)
    _write_json(r, json_out)


@bench_app.command("startup")
def bench_startup(
    runs: Annotated[int, typer.Option(help="Fresh processes per command.")] = 5,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
) -> None:
    """How fast the command line answers: plantmind --help, --version and alerts list, each
    in fresh processes; min, median and max seconds."""
    from plantmind.bench.startup import run_startup_bench

    try:
        rows = run_startup_bench(runs=runs)
    except (ValueError, RuntimeError) as exc:
        raise _fail(str(exc)) from None
    table = Table("command", "runs", "min (s)", "median (s)", "max (s)")
    for r in rows:
        table.add_row(
            r["command"], str(r["runs"]), f"{r['min_s']:.3f}", f"{r['median_s']:.3f}",
            f"{r['max_s']:.3f}",
        )  # fmt: skip
    console.print(table)
    _write_json(rows, json_out)


@bench_app.command("nab")
def bench_nab(
    nab_root: Annotated[Path, typer.Option(help="NAB checkout (data/, labels/).")],
    out: Annotated[Path, typer.Option(help="Results folder (NAB's layout).")],
    detector: Annotated[
        str, typer.Option(help="Detector by registry name (default: the NAB candidate).")
    ] = "streaming-seasonal",
) -> None:
    """Run a detector (default streaming-seasonal, the NAB candidate) over every NAB file;
    NAB's scoring, optimised and at the detector's own alarm point."""
    from plantmind.bench.nab import run_nab
    from plantmind.bench.nab_data import NabDataError
    from plantmind.detect.registry import detector_names, make_detector

    if detector not in detector_names():
        raise _fail(f"unknown detector {detector!r} (known: {', '.join(detector_names())})")
    try:
        result = run_nab(nab_root, out, lambda n: make_detector(detector, n), verbose=True)
    except NabDataError as exc:
        raise _fail(str(exc)) from None
    (out / "scores.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


@bench_app.command("cmapss")
def bench_cmapss(
    data: Annotated[Path, typer.Option(help="Folder with train_/test_/RUL_FD00x.txt.")],
    subset: Annotated[str, typer.Option(help="FD001, FD002, FD003 or FD004.")] = "FD001",
    out: Annotated[
        Path, typer.Option(help="Where predictions_, summary_FD00x.json and .html go.")
    ] = Path("."),
) -> None:
    """C-MAPSS remaining useful life: RMSE, NASA score, interval coverage, training time;
    ``summary_FD00x.html`` beside the JSON plots predicted against true RUL per test unit."""
    from rich.progress import Progress

    from plantmind.bench.cmapss import format_cmapss, run_cmapss
    from plantmind.bench.pages import write_cmapss_page
    from plantmind.health.history import HistoryError

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("training", total=None)
        step = lambda msg, i, n: bar.update(task, description=msg, completed=i, total=n)  # noqa: E731
        try:
            summary = run_cmapss(data, subset, out, progress=step)
        except HistoryError as exc:
            raise _fail(str(exc)) from None
    console.print(format_cmapss(summary), highlight=False)
    console.print(f"report: {write_cmapss_page(summary, out)}", highlight=False)


@bench_app.command("tep")
def bench_tep(
    tep_root: Annotated[Path, typer.Option(help="Folder with d00.dat and dNN_te.dat.")],
    out: Annotated[Path, typer.Option(help="Where dNN_te.csv files and summary.json go.")],
) -> None:
    """Tennessee Eastman: train on d00.dat, detect on every dNN_te.dat, with a PCA baseline."""
    from plantmind.bench.tep import format_tep_table, run_tep

    if not (tep_root / "d00.dat").is_file():
        raise _fail(f"{tep_root}: no d00.dat (expected the Tennessee Eastman files)")
    summary = run_tep(tep_root, out)
    console.print(format_tep_table(summary), highlight=False)


@bench_app.command("short")
def bench_short(
    out: Annotated[Path, typer.Option(help="Where summary.json goes.")],
    tep_root: Annotated[
        Path | None, typer.Option(help="Tennessee Eastman folder (dNN_te.dat); optional.")
    ] = None,
    lockbox: Annotated[
        bool, typer.Option(help="Score the lockbox seeds (settings were never chosen on them).")
    ] = False,
    sweep: Annotated[bool, typer.Option(help="Also score every setting of the sweep.")] = False,
    per_file: Annotated[
        bool, typer.Option(help="Print every generated file with its learning period.")
    ] = False,
) -> None:
    """Short files: learn from each file's first rows, score the rest; F1 / FAR / MAR against
    two library baselines (Ledoit-Wolf Mahalanobis + EWMA, IsolationForest)."""
    from plantmind.bench.short import format_short, run_short

    if tep_root is not None and not (tep_root / "d00_te.dat").is_file():
        raise _fail(f"{tep_root}: no d00_te.dat (expected the Tennessee Eastman files)")
    summary = run_short(tep_root, out, lockbox=lockbox, sweep=sweep)
    console.print(format_short(summary, per_file=per_file), highlight=False)


@bench_app.command("sync")
def bench_sync(
    json_out: Annotated[Path, typer.Option("--json", help="Write the figures here.")],
    events: Annotated[int, typer.Option(help="Events per path.")] = 200_000,
    db: Annotated[
        str | None, typer.Option(help="PostgreSQL URL for the MQTT path (default: local test db).")
    ] = None,
) -> None:
    """Outbox → hub throughput, lost and duplicated events: MQTT + PostgreSQL, and embedded."""
    from plantmind.bench.sync import run_sync_bench

    for row in run_sync_bench(json_out, n_events=events, pg_url=db, progress=console.print):
        console.print(row)


@bench_app.command("throughput")
def bench_throughput(
    signals: Annotated[int, typer.Option(help="Signals in the many-signal run.")] = 10_000,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
) -> None:
    """Detector samples/s and p50/p99 batch latency, single signal and many, beside River."""
    from plantmind.bench.throughput import run_throughput_bench

    r = run_throughput_bench(many_signals=signals, progress=console.print)
    table = Table(title="Detector throughput (one core)")
    for col in ("stream", "detector", "samples/s", "p50 batch ms", "p99 batch ms", "batch"):
        table.add_column(col, no_wrap=True)
    for stream in ("single_signal", "many_signals"):
        for name, m in r[stream].items():
            sps = m.get("samples_per_s")
            table.add_row(
                "1 signal" if stream == "single_signal" else f"{r['signals']:,} signals",
                name,
                f"{sps:,.0f}" if sps else m.get("note", "-"),
                f"{m['p50_batch_ms']:.2f}" if m.get("p50_batch_ms") is not None else "-",
                f"{m['p99_batch_ms']:.2f}" if m.get("p99_batch_ms") is not None else "-",
                str(m.get("batch_size", "-")),
            )
    console.print(table, width=max(console.width, 130))
    console.print(
        f"bytes per signal: {r['bytes_per_signal']}; default vs River HST: {r['default_vs_river_hst']}×"
    )
    _write_json(r, json_out)


@bench_app.command("assistant")
def bench_assistant(
    corpus: Annotated[list[Path], typer.Option(help="Documents to ingest (files or folders).")],
    qa: Annotated[Path, typer.Option(help="Questions, JSON lines (id, question, source, page).")],
    out: Annotated[Path, typer.Option(help="Where answers.jsonl and summary.json go.")],
    no_embed: Annotated[bool, typer.Option("--no-embed", help="BM25 only.")] = False,
    baselines: Annotated[
        bool, typer.Option("--baselines", help="Also the plain recipes, in one table.")
    ] = False,
    lockbox: Annotated[
        bool, typer.Option("--lockbox", help="Score only the lockbox questions (once, at the end).")
    ] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="local: generate the answers with a GGUF model in-process (the [edge-llm] "
            "extra) and report its time to first token.",
        ),
    ] = None,
    llm_model_path: Annotated[
        Path | None,
        typer.Option(
            "--llm-model-path", help="With --llm local: the GGUF file (default: the test fixture)."
        ),
    ] = None,
    llm_max_tokens: Annotated[
        int, typer.Option(min=1, help="With --llm: most tokens per answer.")
    ] = 512,
    limit: Annotated[
        int | None, typer.Option(min=1, help="The first N questions only (a model is slow).")
    ] = None,
) -> None:
    """Technician assistant: hit@1/hit@5 of the gold page, declines, latency, ingestion;
    per question style, and with ``--baselines`` the plain recipes beside plantmind. With
    ``--llm local``: generated answers and the p50/p95 time to first token. ``summary.html``
    beside ``summary.json`` plots the rates per style (and per recipe)."""
    from plantmind.bench.assistant import run_assistant_bench

    model = _bench_local_model(llm, llm_model_path, llm_max_tokens)
    try:
        s = run_assistant_bench(
            corpus,
            qa,
            out,
            embed=not no_embed,
            llm=model,
            progress=console.print,
            lockbox=lockbox,
            baselines=baselines,
            limit=limit,
        )
    finally:
        if model is not None:
            model.close()
    _print_figures({k: v for k, v in s.items() if k not in ("by_style", "baselines", "llm")})
    if s.get("llm"):
        console.print("model (in-process):", style="bold")
        _print_figures(s["llm"])
    from rich import box

    table = Table(
        title="page-level retrieval and declines" + (" (lockbox)" if lockbox else ""),
        box=box.SIMPLE,
    )
    for col in ("recipe", "style", "n", "hit@1", "hit@5", "ans.decl", "unans.decl", "AUC"):
        table.add_column(
            col, no_wrap=True, min_width={"recipe": 13, "style": 10}.get(col, max(len(col), 5))
        )
    recipes: dict[str, Any] = {"plantmind": {**s, "by_style": s["by_style"]}}
    recipes.update(s.get("baselines") or {})

    def cell(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    for name, fig in recipes.items():
        rows = [("all", fig), *fig.get("by_style", {}).items()]
        for style, f in rows:
            table.add_row(
                name, style, cell(f.get("answerable", 0) + f.get("unanswerable", 0)),
                cell(f.get("hit_at_1")), cell(f.get("hit_at_5")),
                cell(f.get("answerable_wrongly_declined")), cell(f.get("unanswerable_declined")),
                cell(f.get("score_auc")) if style == "all" else "",
            )  # fmt: skip
    console.print(table)
    _write_json(s, json_out)
    from plantmind.bench.pages import write_assistant_page

    console.print(f"report: {write_assistant_page(s, out / 'summary.html')}", highlight=False)


def _bench_local_model(llm: str | None, model_path: Path | None, max_tokens: int) -> Any:
    """The in-process model of ``bench assistant --llm local`` (None without ``--llm``)."""
    if llm is None:
        if model_path is not None:
            raise _fail("--llm-model-path needs --llm local")
        return None
    if llm != "local":
        raise _fail(f"--llm {llm!r}: the one choice is 'local' (the in-process model)")
    from plantmind.llm.client import LLMConfig
    from plantmind.llm.local import EXTRA_HINT, LocalChatBackend, packaged_gguf_models

    if model_path is None:
        fixtures = packaged_gguf_models()
        if not fixtures:
            raise _fail(f"--llm local: give --llm-model-path (and {EXTRA_HINT})")
        model_path = fixtures[0]
        err.print(
            f"note: running the packaged test fixture {model_path.name}: its timings are "
            "real, its answers are a tiny test model's",
            highlight=False,
        )
    backend = LocalChatBackend(
        LLMConfig(
            base_url="", model=model_path.stem, backend="llama-cpp",
            model_path=str(model_path), max_tokens=max_tokens, timeout_s=600.0,
        )
    )  # fmt: skip
    if not backend.available:
        raise _fail(f"--llm local: {backend.why}")
    return backend


@bench_app.command("inspect")
def bench_inspect(
    data: Annotated[Path, typer.Option(help="Magnetic-tile folder (MT_Free, MT_Blowhole, ...).")],
    out: Annotated[Path, typer.Option(help="Where each seed's model and summary.json go.")],
    steps: Annotated[int, typer.Option(help="Most training steps of the station net.")] = 6000,
    seeds: Annotated[
        list[int] | None, typer.Option("--seed", help="Seeds of the trainings (repeatable).")
    ] = None,
    max_minutes: Annotated[float, typer.Option(help="Station-net training cap per seed.")] = 9.0,
    loco: Annotated[
        bool, typer.Option("--loco", help="Also the leave-one-defect-class-out table.")
    ] = False,
    station_only: Annotated[
        bool, typer.Option("--station-only", help="The station net alone (no automatic choice).")
    ] = False,
    reuse: Annotated[
        bool, typer.Option("--reuse", help="Read seeds already run under --out, run the rest.")
    ] = False,
) -> None:
    """Magnetic tiles with the automatic choice: image and pixel AUROC per seed, every
    candidate tried, ms per image on one core at 256 × 256 (``--loco``: per left-out class)."""
    from plantmind.cli.inspection import print_candidates, print_loco
    from plantmind.vision.train import TrainConfig

    def progress(phase: str, done: int, total: int) -> None:
        if done == total or done % 100 == 0:
            console.print(f"{phase} {done}/{total}", highlight=False)

    chosen = tuple(seeds or (0, 1, 2))
    if station_only:
        from plantmind.bench.inspect import run_inspect_bench

        one = run_inspect_bench(
            data, out, TrainConfig(steps=steps, seed=chosen[0]), chosen[0], progress
        )
        for k, v in one.items():
            console.print(f"{k:>32}: {v}", highlight=False)
        return
    from plantmind.bench.inspect import run_auto_bench

    cfg = TrainConfig(steps=steps, max_seconds=max_minutes * 60, threads=1)
    r = run_auto_bench(data, out, cfg, chosen, progress, reuse)
    for s in r["seeds"]:
        console.print(
            f"seed {s['seed']}: choice {s['choice']} (heatmap {s.get('heatmap_choice')}): image "
            f"AUROC {s['image_auroc']}, pixel AUROC {s['pixel_auroc']}, "
            f"{s['ms_per_image_256_one_core']} ms/image (256 × 256, "
            f"one core, onnxruntime), test FRR {s['false_reject_rate_on_test_good']}, "
            f"defects failed {s['defects_failed']}",
            highlight=False,
        )
        print_candidates(r["candidates"][s["seed"]], title=f"Candidates, seed {s['seed']}")
    if loco:
        print_loco(r["loco"])
    console.print(f"summary: {out / 'summary.json'}", highlight=False)


@bench_app.command("route")
def bench_route(
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
    calls: Annotated[int, typer.Option(help="Routed calls timed.")] = 20_000,
    queue_tasks: Annotated[int, typer.Option(help="Tasks through the durable queue.")] = 2_000,
) -> None:
    """Model router: its own overhead per call (p50/p99 ms) and durable-queue tasks/s."""
    from plantmind.bench.route import run_route_bench

    r = run_route_bench(calls, queue_tasks, progress=console.print)
    _print_figures(r)
    _write_json(r, json_out)


@bench_app.command("comply")
def bench_comply(
    out: Annotated[Path, typer.Option(help="Where the standard, procedures and check go.")],
    pages: Annotated[int, typer.Option(help="Pages of the synthetic standard.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
    layouts: Annotated[
        bool, typer.Option("--layouts", help="Extraction recall/precision per layout instead.")
    ] = False,
    gaps: Annotated[
        bool, typer.Option("--gaps", help="Gap finding on the corpus's procedures instead.")
    ] = False,
    cfr: Annotated[
        Path | None, typer.Option(help="29 CFR 1910.147 as text (the team's shared data).")
    ] = None,
    lockbox: Annotated[
        bool, typer.Option(help="With --gaps: also the procedure kept for one final run.")
    ] = False,
) -> None:
    """Compliance check of a long synthetic standard without a model: seconds per phase,
    peak memory, agreement with the generator's ground truth. ``--layouts``: extraction per
    layout of the corpus; ``--gaps``: known gaps found and false gaps."""
    if cfr is not None and not cfr.is_file():
        raise typer.BadParameter(f"--cfr {cfr}: no such file")
    if layouts or gaps:
        from plantmind.bench.comply_gaps import gap_scores, layout_sweep

        figures: dict[str, Any] = {}
        if layouts:
            figures["layouts"] = layout_sweep(cfr)
            for name, row in figures["layouts"].items():
                console.print(
                    f"{name:>32}: recall {row['recall']}, precision {row['precision']} "
                    f"({row['extracted']} extracted, {row['requirements']} in the gold list)",
                    highlight=False,
                )
        if gaps:
            figures["gaps"] = gap_scores(out, cfr, lockbox=lockbox, progress=console.print)
        _write_json(figures, json_out)
        return
    from plantmind.bench.comply import run_comply_bench

    r = run_comply_bench(out, pages=pages, seed=seed, progress=console.print)
    _print_figures(r)
    _write_json(r, json_out)


@bench_app.command("rollout")
def bench_rollout(
    sites: Annotated[int, typer.Option(help="Edge agents (sites) beside the hub.")] = 10,
    bake: Annotated[float, typer.Option(help="Bake time of each canary, seconds.")] = 60.0,
    interval: Annotated[float, typer.Option(help="Each agent's poll interval, seconds.")] = 1.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
) -> None:
    """Signed model delivery: a hub and N edge agents over HTTP on 127.0.0.1; tampering
    cases refused, a canary rollout with a bake, a failed gate rolled back, items without a
    model during swaps."""
    from plantmind.bench.rollout import run_rollout_bench

    if sites < 2 or bake < 0 or interval <= 0:
        raise _fail("--sites must be at least 2, --bake not negative, --interval positive")
    r = run_rollout_bench(sites=sites, bake_s=bake, interval_s=interval, progress=console.print)
    _print_figures({k: v for k, v in r.items() if k != "tamper"})
    for case, row in r["tamper"].items():
        console.print(f"{case:>28}: {'refused' if row['refused'] else 'NOT REFUSED'} "
                      f"({row['message'][:90]})", highlight=False)  # fmt: skip
    _write_json(r, json_out)


@bench_app.command("hub-page")
def bench_hub_page(
    sites: Annotated[int, typer.Option(help="Sites in the seeded fleet.")] = 50,
    assets: Annotated[int, typer.Option(help="Assets per site.")] = 200,
    alerts: Annotated[int, typer.Option(help="Alerts per site (10 % left open).")] = 10_000,
    repeats: Annotated[int, typer.Option(help="Timed page loads.")] = 30,
    chromium: Annotated[
        bool, typer.Option("--chromium/--no-chromium", help="Also time it in headless Chromium.")
    ] = True,
    work: Annotated[
        Path | None, typer.Option(help="Keep the seeded hub here (default: a temporary folder).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
) -> None:
    """The hub's fleet page on a seeded SQLite fleet: GET / and /api/fleet (the page's first
    render, server side) and, with Chromium, navigation until every site row is shown;
    p50/p95 in ms."""
    from plantmind.bench.hub_page import run_hub_page_bench

    if min(sites, assets, repeats) < 1 or alerts < 0:
        raise _fail("--sites, --assets and --repeats must be at least 1, --alerts not negative")
    r = run_hub_page_bench(
        sites=sites,
        assets=assets,
        alerts=alerts,
        repeats=repeats,
        chromium=chromium,
        work=work,
        progress=console.print,
    )
    _print_figures(r)
    _write_json(r, json_out)


@bench_app.command("tune")
def bench_tune(
    out: Annotated[
        Path, typer.Option(help="Folder for the records, the run, GGUF, reports.")
    ] = Path("bench-tune"),
    steps: Annotated[int, typer.Option(help="LoRA optimiser steps.")] = 30,
    limit: Annotated[int | None, typer.Option(help="Ask at most this many test records.")] = 24,
    recipe: Annotated[
        Path | None, typer.Option(help="Training recipe (default: the fixture's, CPU).")
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per answer.")] = 128,
    threads: Annotated[
        int | None, typer.Option(help="Generation threads (default: the CPUs less one).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here.")] = None,
) -> None:
    """The plant's own language model on the demo plant: records, a few LoRA steps on the
    base (the SmolLM2 fixture by default), GGUF export, base vs tuned on the held-out split
    with bootstrap 95 % intervals (report.json and report.html in --out)."""
    from plantmind.bench.tune import run_tune_bench
    from plantmind.cli.tune import print_eval

    if steps < 1 or (limit is not None and limit < 1):
        raise _fail("--steps and --limit must be at least 1")
    from plantmind.cli.common import needs_extra

    with needs_extra("finetune"):
        r = run_tune_bench(
            out, steps=steps, limit=limit, recipe_path=recipe, max_tokens=max_tokens,
            log=lambda s: console.print(s, highlight=False), threads=threads,
        )  # fmt: skip
    print_eval(r["evaluation"])
    console.print(f"report: {out / 'report.html'}; timings {r['timings_s']}", highlight=False)
    _write_json(r, json_out)
