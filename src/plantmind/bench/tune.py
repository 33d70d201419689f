"""``plantmind bench tune``: the plant's own language model end to end on the demo plant.
Builds the records, fine-tunes the base (by default the SmolLM2-135M fixture, on the CPU) for
a few steps, exports the tuned model to GGUF, converts the base to the same number format, and
asks both the held-out split through the same assistant (:mod:`plantmind.tune.evaluate`).
Writes ``report.json`` and ``report.html`` (figures inline); claims that tuning helps only
where a difference's 95 % interval excludes 0."""

from __future__ import annotations

import html
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plantmind.web.svg import PALETTE, Interval, interval_chart

if TYPE_CHECKING:
    from plantmind.tune.export import OutType

__all__ = ["render_html", "run_tune_bench"]

_MODEL_COLOURS = {"base": PALETTE[0], "tuned": PALETTE[1]}


def run_tune_bench(
    out: Path,
    *,
    steps: int = 30,
    limit: int | None = 40,
    recipe_path: Path | None = None,
    plant_path: Path | None = None,
    max_tokens: int = 160,
    outtype: OutType = "f16",
    log: Callable[[str], None] = print,
    threads: int | None = None,
) -> dict[str, Any]:
    """Run the bench into ``out`` (records, the training run, the GGUF files, the reports)
    and return the report."""
    from plantmind.core.plant import example_plant_path, load_plant
    from plantmind.knowledge.index import KnowledgeIndex
    from plantmind.llm.local import open_local_model
    from plantmind.tune.build import build_dataset
    from plantmind.tune.evaluate import evaluate_models
    from plantmind.tune.export import convert_base, export_run
    from plantmind.tune.recipe import load_recipe, packaged_recipe
    from plantmind.tune.records import write_records
    from plantmind.tune.train import train

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    pp = plant_path or example_plant_path()
    plant = load_plant(pp)
    docs = [pp.parent / f.path for s in plant.sites for f in s.documents]
    records, build_report = build_dataset(plant, pp, docs)
    write_records(records, out / "records.jsonl")
    timings["build_s"] = time.perf_counter() - t0
    log(f"records: {build_report.records} ({build_report.per_split})")

    recipe = load_recipe(recipe_path or packaged_recipe("fixture")).with_overrides(max_steps=steps)
    t = time.perf_counter()
    result = train(out / "records.jsonl", recipe, out / "run", resume=True)
    timings["train_s"] = time.perf_counter() - t
    log(
        f"trained {result.steps} steps: train loss {result.first_loss} -> {result.last_loss}; "
        f"eval loss {result.eval_loss_before} -> {result.eval_loss_after}"
    )
    t = time.perf_counter()
    exported = export_run(out / "run", out / "export", outtype=outtype)
    base_same = convert_base(exported.base, out / "export" / f"base-{outtype}.gguf", outtype)
    timings["export_s"] = time.perf_counter() - t

    t = time.perf_counter()
    models = {
        "base": open_local_model(base_same, max_tokens=max_tokens, name="base", threads=threads),
        "tuned": open_local_model(
            exported.merged, max_tokens=max_tokens, name="tuned", threads=threads
        ),
    }
    with tempfile.TemporaryDirectory(prefix="plantmind-bench-tune-") as tmp:
        index = KnowledgeIndex(Path(tmp), embedder="auto")
        index.add([*docs, pp])
        try:
            evaluation = evaluate_models(records, index, models, split="test", limit=limit)
        finally:
            index.close()
            for m in models.values():
                m.close()
    timings["eval_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    report: dict[str, Any] = {
        "bench": "tune",
        "base_model": str(exported.base),
        "base_digest": result.card.get("base", {}).get("sha256")
        if isinstance(result.card.get("base"), dict)
        else result.card.get("base_sha256"),
        "recipe": recipe.model_dump(),
        "dataset": build_report.to_dict(),
        "training": {
            "steps": result.steps,
            "train_records": result.train_records,
            "first_loss": result.first_loss,
            "last_loss": result.last_loss,
            "eval_loss_before": result.eval_loss_before,
            "eval_loss_after": result.eval_loss_after,
        },
        "export": {"outtype": outtype, "tuned": str(exported.merged), "base": str(base_same)},
        "evaluation": evaluation.to_dict(),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "note": (
            "The base is a 135 M test fixture and the training a few CPU steps: the figures "
            "show that the path works and how the comparison is made, not what tuning a "
            "7-13 B model at the centre gives (docs/tune-gpu.md)."
        ),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out / "report.html").write_text(render_html(report))
    return report


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page: the dataset, the training, each metric per model with its
    interval (inline SVG) and the verdicts."""
    ev = report["evaluation"]
    rows: list[Interval] = []
    table = []
    for metric in ("key_fact_recall", "citation_accuracy", "decline_accuracy",
                   "invented_number_rate"):  # fmt: skip
        cells = []
        for name, m in ev["models"].items():
            s = m[metric]
            if s["mean"] is None:
                cells.append("<td>not measured</td>")
                continue
            colour = _MODEL_COLOURS.get(name, PALETTE[2])
            lo, hi = s["ci95"]
            rows.append(Interval(f"{metric} ({name})", s["mean"], lo, hi, colour))
            cells.append(
                f"<td>{s['mean']:.3f} [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}] n={s['n']}</td>"
            )
        table.append(f"<tr><th>{metric}</th>{''.join(cells)}</tr>")
    verdicts = [
        f"<li>{html.escape(pair)} {html.escape(metric)}: {c['difference']:+.3f} "
        f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]: {html.escape(c['verdict'])}</li>"
        for pair, per in ev["comparisons"].items()
        for metric, c in per.items()
        if c["difference"] is not None
    ]
    tr = report["training"]
    ds = report["dataset"]
    heads = "".join(f"<th>{html.escape(n)}</th>" for n in ev["models"])
    figure = interval_chart(
        rows, title="Held-out metrics per model with 95 % intervals", domain=(0.0, 1.0), width=600
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>plantmind bench tune</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:60em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
figure{{margin:1em 0}}
</style></head><body>
<h1>The plant's own language model: base vs tuned</h1>
<p>{html.escape(report["note"])}</p>
<h2>Dataset</h2>
<p>{ds["records"]} records ({html.escape(json.dumps(ds["per_split"]))}); duplicate rate
{ds["dedup"]["duplicate_rate"]:.1%}; declines {ds["decline_share"]:.1%}; leaks between test and
train: {len(ds["leaks"])}.</p>
<h2>Training</h2>
<p>{tr["steps"]} steps on {tr["train_records"]} records; train loss {tr["first_loss"]} →
{tr["last_loss"]}; eval loss {tr["eval_loss_before"]} → {tr["eval_loss_after"]}.</p>
<h2>Held-out split ({ev["records"]} records)</h2>
<table><tr><th>metric</th>{heads}</tr>{"".join(table)}</table>
<figure>{figure}</figure>
<ul>{"".join(verdicts)}</ul>
<p>Timings (s): {html.escape(json.dumps(report["timings_s"]))}</p>
</body></html>
"""
