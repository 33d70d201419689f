"""``plantmind plant validate|example``: the plant model (plant.yaml)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from plantmind.cli.common import console, plant_or_fail

__all__ = ["plant_app"]

plant_app = typer.Typer(help="The plant model (plant.yaml).", no_args_is_help=True)


@plant_app.command("validate")
def plant_validate(file: Annotated[Path, typer.Argument(help="plant.yaml to check.")]) -> None:
    """Check a plant.yaml; errors name the line and the path inside the file."""
    model, _ = plant_or_fail(file)
    n_assets = sum(1 for _ in model.iter_assets())
    n_signals = sum(len(a.signals) for _, _, a in model.iter_assets())
    console.print(
        f"{file}: valid: {len(model.sites)} site(s), {n_assets} asset(s), {n_signals} signal(s)"
    )


@plant_app.command("example")
def plant_example() -> None:
    """Print the example plant.yaml (the simulated demo plant)."""
    from plantmind.core.plant import example_plant_path

    sys.stdout.write(example_plant_path().read_text(encoding="utf-8"))
