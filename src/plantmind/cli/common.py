"""What every command-line module shares: the consoles, the ``--home`` and ``--plant``
options, logging set-up, and the way a command fails (a red line naming the problem, exit
code 2), including a missing install extra.

Nothing here imports a capability at module level: ``plantmind --help`` loads only Typer and
rich, and each command imports what it needs when it runs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from plantmind.core.plant import Plant

__all__ = [
    "DEMO_HOME",
    "HomeOpt",
    "PlantOpt",
    "console",
    "err",
    "fail",
    "homes_with",
    "missing_state",
    "needs_extra",
    "plant_or_fail",
    "setup_logging",
]

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


#: Where ``plantmind demo`` keeps its state, below the home it is given: its start wipes the
#: stores there, so it never shares them with a real edge node's home.
DEMO_HOME = "demo"


def homes_with(filename: str, not_here: Path) -> list[Path]:
    """Other homes that hold ``filename`` (the default home, its demo home, and the demo home
    below ``not_here``): named in the error when ``not_here`` lacks it."""
    import os

    import platformdirs

    default = Path(platformdirs.user_data_dir("plantmind")).expanduser().resolve()
    candidates = [not_here / DEMO_HOME, default, default / DEMO_HOME]
    if env := os.environ.get("PLANTMIND_HOME"):
        candidates.append(Path(env).expanduser().resolve())
    found: list[Path] = []
    for home in candidates:
        if home != not_here and home not in found and (home / filename).exists():
            found.append(home)
    return found


def missing_state(what: str, path: Path) -> typer.Exit:
    """End a command whose home lacks ``path`` (a store), naming the homes that have one."""
    others = homes_with(path.name, path.parent)
    hint = "run the edge node (or a replay) with this --home first"
    if others:
        hint = "found one in " + ", ".join(f"--home {h}" for h in others)
    return fail(f"no {what} at {path}: {hint}")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise fail(...)`` ends the command with ``code``."""
    from rich.markup import escape

    # escaped: messages quote user input and extras ("plantmind[vision]"), not markup
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def plant_or_fail(path: Path | None) -> tuple[Plant, Path]:
    """The plant model at ``path`` (default: the example plant) and its path; an invalid one
    ends the command with the validation errors."""
    from plantmind.core.plant import PlantConfigError, example_plant_path, load_plant

    p = path or example_plant_path()
    try:
        return load_plant(p), p
    except PlantConfigError as exc:
        raise fail(str(exc)) from None


def setup_logging(verbose: bool) -> None:
    """Log lines on stderr: INFO and up with ``--verbose``, else warnings only."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@contextmanager
def needs_extra(extra: str | None = None) -> Iterator[None]:
    """Run a command's body; a missing package of an install extra ends the command with one
    line naming the extra (``pip install 'plantmind[vision]'``) instead of a traceback."""
    from plantmind.core.extras import ExtraMissing, missing_extra_hint

    try:
        yield
    except ExtraMissing as exc:
        raise fail(str(exc)) from None
    except ModuleNotFoundError as exc:
        hint = missing_extra_hint(exc, extra)
        if hint is None:
            raise
        raise fail(hint) from None
