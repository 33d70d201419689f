"""``plantmind audit``: what left the site (the outbox's audit log) and what waits, was
dropped or was refused."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from plantmind.cli.common import HomeOpt, console, missing_state
from plantmind.core.ids import iso
from plantmind.core.settings import resolve_home

__all__ = ["audit"]


def audit(
    home: HomeOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many sends, newest first.")] = 30,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed sends.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show every send to the hub (time, destination, categories, bytes, seq range, outcome)
    and the outbox's counters (queued, delivered, dropped and refused per category)."""
    from plantmind.sync.audit import read_audit
    from plantmind.sync.outbox import read_stats

    db = resolve_home(home) / "outbox.db"
    if not db.exists():
        raise missing_state("outbox (nothing was queued for a hub from this home)", db)
    rows = read_audit(db, limit=limit, outcome="failed" if failed else None)
    # read-only: the edge node may be running and owns the file
    stats = read_stats(db)
    counters, queued = stats.counters, stats.queued_by_category
    if as_json:
        doc = {"sends": [r.to_dict() for r in rows], "counters": counters, "queued": queued}
        console.print_json(json.dumps(doc))
        return
    # one line per send: greppable, and readable in a narrow terminal
    for r in rows:
        cats = ", ".join(f"{k} {v}" for k, v in sorted(r.categories.items()))
        outcome = "delivered" if r.outcome == "delivered" else f"[red]{r.outcome}: {r.error}[/]"
        console.print(
            f"{iso(r.ts)}  {outcome}  {r.destination}  {r.site} seq {r.first_seq}..{r.last_seq}"
            f"  {r.events} events ({cats})  {r.bytes:,} bytes  {r.duration_ms:.0f} ms",
            highlight=False,
        )
    if not rows:
        console.print("no sends yet")
    console.print(
        f"queued {sum(queued.values())} {queued or ''}; delivered {counters.get('delivered', 0)}; "
        f"dropped {_by_prefix(counters, 'dropped.') or 0}; refused {_by_prefix(counters, 'refused.') or 0}",
        highlight=False,
    )


def _by_prefix(counters: dict[str, int], prefix: str) -> dict[str, int]:
    return {k.removeprefix(prefix): v for k, v in counters.items() if k.startswith(prefix)}
