"""What every command-line module shares: the consoles, the ``--home`` and ``--plant``
options, and the way a command fails (a red line naming the problem, exit code 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from plantmind.core.plant import Plant, PlantConfigError, example_plant_path, load_plant

__all__ = ["HomeOpt", "PlantOpt", "console", "err", "fail", "plant_or_fail"]

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home", envvar="PLANTMIND_HOME", help="State directory (default: per-user data dir)."
    ),
]
PlantOpt = Annotated[
    Path | None, typer.Option("--plant", help="plant.yaml (default: the example plant).")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise fail(...)`` ends the command with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def plant_or_fail(path: Path | None) -> tuple[Plant, Path]:
    """The plant model at ``path`` (default: the example plant) and its path; an invalid one
    ends the command with the validation errors."""
    p = path or example_plant_path()
    try:
        return load_plant(p), p
    except PlantConfigError as exc:
        raise fail(str(exc)) from None
