"""The ``plantmind`` command line (Typer): the root app and its command groups, one module per
group. Each command imports the capability it wires when it runs, so ``plantmind --help`` and
the light commands start without numpy's heavier neighbours (scipy, scikit-learn, torch,
onnxruntime, Pillow); none holds logic of its own."""

from __future__ import annotations

from typing import Annotated

import typer

from plantmind import __version__
from plantmind.cli.alerts import alerts_app, events_app
from plantmind.cli.audit import audit
from plantmind.cli.bench import bench_app
from plantmind.cli.central import central_app, token_app
from plantmind.cli.common import console
from plantmind.cli.comply import comply_app
from plantmind.cli.connect import connect_app
from plantmind.cli.demo import demo
from plantmind.cli.detect import detect
from plantmind.cli.docs import ask, docs_app
from plantmind.cli.edge import edge_app
from plantmind.cli.health import health_app
from plantmind.cli.inspection import inspect_app
from plantmind.cli.language import language_app
from plantmind.cli.models import models_app
from plantmind.cli.plant import plant_app
from plantmind.cli.replay import replay
from plantmind.cli.route import route_app
from plantmind.cli.tune import tune_app

__all__ = ["app"]

app = typer.Typer(
    name="plantmind",
    help="plantmind: the right AI model at each link of a factory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(demo)
app.add_typer(edge_app, name="edge")
app.command()(replay)
app.command()(detect)
app.add_typer(alerts_app, name="alerts")
app.add_typer(events_app, name="events")
app.add_typer(plant_app, name="plant")
app.add_typer(connect_app, name="connect")
app.add_typer(central_app, name="central")
app.add_typer(token_app, name="token")
app.add_typer(health_app, name="health")
app.add_typer(inspect_app, name="inspect")
app.add_typer(route_app, name="route")
app.add_typer(comply_app, name="comply")
app.add_typer(language_app, name="language")
app.add_typer(models_app, name="models")
app.add_typer(tune_app, name="tune")
app.command("audit")(audit)
app.add_typer(docs_app, name="docs")
app.command("ask")(ask)
app.add_typer(bench_app, name="bench")


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        console.print(f"plantmind {__version__}")
        raise typer.Exit()
