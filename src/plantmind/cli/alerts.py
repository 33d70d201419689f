"""``plantmind alerts list`` and ``plantmind events list``: what the edge node kept in its
store (``<home>/edge.db``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from plantmind.cli.common import HomeOpt, console, fail, missing_state
from plantmind.core.ids import iso
from plantmind.core.settings import resolve_home

if TYPE_CHECKING:
    from plantmind.store.edge import EdgeStore

__all__ = ["alerts_app", "events_app"]

alerts_app = typer.Typer(help="Alerts kept by the edge node.", no_args_is_help=True)
events_app = typer.Typer(help="Events kept by the edge node.", no_args_is_help=True)


def _open_store(home: Path | None) -> EdgeStore:
    from plantmind.store.edge import EdgeStore

    root = resolve_home(home)
    db = root / "edge.db"
    if not db.exists():
        raise missing_state("edge store", db)
    return EdgeStore(db)


@alerts_app.command("list")
def alerts_list(
    home: HomeOpt = None,
    state: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    asset: Annotated[str | None, typer.Option(help="Only this asset.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List alerts, newest first."""
    if state is not None and state not in ("open", "acknowledged", "resolved"):
        raise fail(f"--state must be open, acknowledged or resolved, got {state!r}")
    store = _open_store(home)
    try:
        rows = store.list_alerts(state=state, asset_id=asset, limit=limit)
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps([a.to_dict() for a in rows]))
        return
    table = Table()
    for col in ("opened", "asset", "severity", "state", "signals", "message"):
        table.add_column(col)
    for a in rows:
        table.add_row(
            iso(a.opened_at),
            a.asset_id,
            str(a.severity),
            str(a.state),
            ", ".join(a.signals),
            a.message,
        )
    console.print(table if rows else "no alerts")


@events_app.command("list")
def events_list(
    home: HomeOpt = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. alert.opened.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """List events, newest first."""
    store = _open_store(home)
    try:
        rows = store.list_events(kind=kind, limit=limit)
    finally:
        store.close()
    for e in rows:
        console.print(f"{iso(e.ts)} {e.kind:<20} {e.message}", highlight=False)
    if not rows:
        console.print("no events")
