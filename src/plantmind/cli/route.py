"""``plantmind route explain|stats|queue``: the model router's decisions and its call log
from the command line. Wiring only: the work is in :mod:`plantmind.llm`."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from plantmind.cli.common import HomeOpt, PlantOpt, console, plant_or_fail
from plantmind.cli.common import fail as _fail
from plantmind.core.settings import resolve_home

if TYPE_CHECKING:
    from plantmind.core.plant import Plant

__all__ = ["route_app"]

route_app = typer.Typer(
    help="The model router: which model for which task, and what it did.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _all_but(down: str) -> Callable[[str], bool]:
    """Reachability with one tier down."""
    return lambda tier: tier != down


def _plant(path: Path | None) -> Plant:
    return plant_or_fail(path)[0]


@route_app.command("explain")
def explain(
    kind: Annotated[str, typer.Option(help="Task kind, e.g. comply.judge.")],
    sensitivity: Annotated[
        str | None,
        typer.Option(help="public, internal, confidential or restricted (default: the kind's)."),
    ] = None,
    tokens: Annotated[int, typer.Option(help="Task size in tokens (prompt + completion).")] = 0,
    latency_ms: Annotated[
        float | None, typer.Option(help="Latency budget (default: the kind's).")
    ] = None,
    requester: Annotated[str, typer.Option(help="Who asks (rules may match on it).")] = "cli",
    plant: PlantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print where a task would go, the rule that decides it, and what happens when a tier
    is unreachable. Nothing is sent anywhere."""
    import os

    from plantmind.llm.policy import Policy, Task

    model, plant_path = plant_or_fail(plant)
    policy = Policy(model.llm)
    if not policy.configured["edge"] and os.environ.get("PLANTMIND_LLM_URL"):
        policy.configured["edge"] = True  # the router takes the edge model from there too
    # a task of about ``tokens`` tokens: the estimate counts 4 characters per token
    content = "x" * max(tokens - 4, 0) * 4
    task = Task(kind, [{"role": "user", "content": content}], sensitivity, latency_ms,  # type: ignore[arg-type]
                requester=requester)  # fmt: skip
    scenarios: dict[str, Any] = {}
    try:
        scenarios["all reachable"] = policy.decide(task)
        for tier in ("central", "edge"):
            if policy.configured[tier]:
                scenarios[f"{tier} unreachable"] = policy.decide(task, _all_but(tier))
        scenarios["nothing reachable"] = policy.decide(task, lambda t: False)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    rules = {r.name: r for r in model.llm.all_rules()}
    main = scenarios["all reachable"]
    from plantmind.llm.identity import tier_models

    tiers = tier_models(model.llm, plant_path.parent)
    if as_json:
        out = {
            "task": {"kind": kind, "sensitivity": main.sensitivity, "tokens": main.tokens,
                     "latency_budget_ms": main.latency_budget_ms, "requester": requester},
            "rule": rules[main.rule].model_dump(mode="json"),
            "decisions": {k: d.to_dict() for k, d in scenarios.items()},
            "models": tiers,
        }  # fmt: skip
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    console.print(
        f"{kind} ({main.sensitivity}, {main.tokens} tokens, budget {main.latency_budget_ms:g} ms,"
        f" requester {requester})",
        highlight=False,
    )
    console.print(f"  → [bold]{main.placement}[/]  by rule {main.rule!r}")
    console.print(f"    {main.reason}", highlight=False)
    rule = rules[main.rule]
    when = rule.when.model_dump(exclude_defaults=True)
    console.print(
        f"    rule {rule.name!r}: when {json.dumps(when) if when else 'always'}, "
        f"place {rule.place}, on_unreachable {rule.on_unreachable}",
        highlight=False,
    )
    for name, d in scenarios.items():
        if name != "all reachable":
            console.print(f"  if {name}: {d.placement} ({d.reason})", highlight=False)
    for tier, row in tiers.items():
        console.print(f"  {tier} model: {_describe_model(row)}", highlight=False)


def _describe_model(row: dict[str, Any] | None) -> str:
    if row is None:
        return "none configured"
    where = row.get("url") or row.get("path") or ""
    text = f"{row['model']} ({row['backend']}, {where})"
    if row.get("sha256"):
        text += f", sha256 {row['sha256'][:16]}…"
    elif row.get("url"):
        text += ", weights not visible from here"
    if row.get("delivered"):
        d = row["delivered"]
        text += f", delivered as {d['name']} v{d['version']}"
    if row.get("problem"):
        text += f" — {row['problem']}"
    return text


@route_app.command("stats")
def stats(
    home: HomeOpt = None,
    since_hours: Annotated[
        float | None, typer.Option(help="Only calls of the last N hours.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Summarise the routed-call log: calls by placement, outcome and kind; latency and the
    router's own overhead; tokens; the durable queue."""
    from plantmind.llm.log import CallLog
    from plantmind.llm.queue import TaskQueue

    root = resolve_home(home)
    path = root / "llm_calls.db"
    if not path.exists():
        if as_json:
            sys.stdout.write(json.dumps({"calls": 0}) + "\n")
        else:
            console.print(f"no routed calls yet (no {path})", highlight=False)
        return
    since = time.time() - since_hours * 3600 if since_hours else None
    log = CallLog(path)
    try:
        s = log.stats(since)
    finally:
        log.close()
    if (root / "llm_queue.db").exists():
        q = TaskQueue(root / "llm_queue.db")
        try:
            s["queue"] = q.counts()
        finally:
            q.close()
    if as_json:
        sys.stdout.write(json.dumps(s, indent=2) + "\n")
        return
    console.print(f"{s['calls']} routed calls", highlight=False)
    table = Table()
    for col in ("placement", "calls", "p50 ms", "p95 ms", "max ms"):
        table.add_column(col)
    for p, n in sorted(s["by_placement"].items()):
        lat = s["latency_ms"].get(p, {})
        table.add_row(p, str(n), str(lat.get("p50")), str(lat.get("p95")), str(lat.get("max")))
    console.print(table)
    fmt = lambda d: ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "-"  # noqa: E731
    console.print(f"outcomes: {fmt(s['by_outcome'])}", highlight=False)
    console.print(f"kinds: {fmt(s['by_kind'])}", highlight=False)
    o = s["overhead_ms"]
    console.print(f"router overhead: p50 {o['p50']} ms, p99 {o['p99']} ms", highlight=False)
    console.print(
        f"tokens: prompt {s['tokens']['prompt']:,}, completion {s['tokens']['completion']:,}"
    )
    if "queue" in s:
        console.print(f"queue: {fmt(s['queue'])}", highlight=False)
