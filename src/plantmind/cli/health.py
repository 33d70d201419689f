"""``plantmind health list|train|predict``: remaining-life models from run-to-failure histories
(C-MAPSS text files or a generic CSV), saved as versioned artifacts under
``<home>/health/models/<name>`` unless ``--out`` says otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from plantmind.cli.common import HomeOpt, console, err
from plantmind.cli.common import fail as _fail
from plantmind.core.settings import resolve_home
from plantmind.health import models_dir

if TYPE_CHECKING:
    from plantmind.health.history import RunHistory

__all__ = ["health_app"]

health_app = typer.Typer(help="Asset health: remaining useful life models.", no_args_is_help=True)


def _read(path: Path, settings: str, all_failed: bool, failed: bool | None) -> RunHistory:
    from plantmind.health.history import read_cmapss, read_history_csv

    if not path.is_file():
        raise _fail(f"{path}: no such file")
    if path.suffix.lower() == ".txt":
        return read_cmapss(path, failed=failed)
    cols = [c.strip() for c in settings.split(",") if c.strip()]
    return read_history_csv(
        path, settings=cols, all_failed=all_failed, require_marker=failed is not False
    )


SettingsOpt = Annotated[
    str, typer.Option(help="CSV columns that are operating settings (regimes), comma-separated.")
]


@health_app.command("list")
def health_list(home: HomeOpt = None) -> None:
    """The models saved in the home directory."""
    from plantmind.health.artifact import ArtifactError, read_metadata

    root = models_dir(resolve_home(home))
    table = Table("name", "kind", "created", "trained on", "cv RMSE", "cap")
    n = 0
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            meta = read_metadata(d)
        except ArtifactError:
            continue
        n += 1
        t = meta.get("trained_on", {})
        table.add_row(
            d.name,
            str(t.get("asset_kind", "")),
            meta.get("created", ""),
            str(t.get("source", "")),
            f"{meta.get('metrics', {}).get('cv_rmse_last_rows_sampled', float('nan')):.2f}",
            f"{meta['config']['cap']:g}",
        )
    console.print(table if n else f"no health models under {root}")


@health_app.command("train")
def health_train(
    history: Annotated[Path, typer.Option(help="Run-to-failure history: C-MAPSS .txt or CSV.")],
    name: Annotated[str, typer.Option(help="Model name (folder under the home).")] = "model",
    out: Annotated[Path | None, typer.Option(help="Artifact folder (default: home).")] = None,
    kind: Annotated[str | None, typer.Option(help="Asset kind it is for (live use).")] = None,
    cap: Annotated[float, typer.Option(help="Remaining-life plateau (time units).")] = 125.0,
    settings: SettingsOpt = "",
    all_failed: Annotated[
        bool, typer.Option(help="Every asset in the CSV ran to failure at its last row.")
    ] = False,
    home: HomeOpt = None,
    publish: Annotated[
        int | None,
        typer.Option(
            help="Also sign the artifact as this version of model NAME (kind health) and "
            "publish it to the hub's registry ($PLANTMIND_HUB, $PLANTMIND_TOKEN), with golden "
            "inputs from the training runs' last rows."
        ),
    ] = None,
    keys: Annotated[
        Path | None, typer.Option(help="Signing keys for --publish (`plantmind models keygen`).")
    ] = None,
) -> None:
    """Train a remaining-life model (CPU, minutes at most) and save it with its metadata."""
    from plantmind.health.artifact import save_model
    from plantmind.health.history import HistoryError
    from plantmind.health.rul import RulConfig, RulModel

    if publish is not None and keys is None:
        raise _fail("--publish needs --keys (the folder `plantmind models keygen` made)")
    try:
        hist = _read(history, settings, all_failed, True if all_failed else None)
        model = RulModel(RulConfig(cap=cap))
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("training", total=None)

            def step(msg: str, i: int, n: int) -> None:
                bar.update(task, description=msg, completed=i, total=n)

            model.fit(hist, progress=step)
    except HistoryError as exc:
        raise _fail(str(exc)) from None
    if kind:
        model.trained_on["asset_kind"] = kind
    target = out or models_dir(resolve_home(home)) / name
    save_model(model, target)
    m = model.metrics
    console.print(
        f"saved {target}: {int(m['n_assets'])} runs, {int(m['n_regimes'])} regime(s), "
        f"{len(model.used_signals)} signals; held-out-asset RMSE {m['cv_rmse_last_rows_sampled']:.2f}; "
        f"{m['train_seconds']:.1f} s",
        highlight=False,
    )
    if publish is not None:
        import os
        import tempfile

        import numpy as np

        from plantmind.cli.models import publish as publish_version

        rows, _ = model.features(hist.subset(np.flatnonzero(hist.failed)), last_only=True)
        with tempfile.TemporaryDirectory() as tmp:
            golden = Path(tmp) / "golden_inputs.json"
            golden.write_text(json.dumps(rows[:8].astype(float).tolist()))
            metrics = Path(tmp) / "metrics.json"
            numeric = {k: float(v) for k, v in m.items() if isinstance(v, int | float)}
            metrics.write_text(json.dumps(numeric))
            assert keys is not None
            publish_version(
                name, publish, keys, folder=target, kind="health", golden_inputs=golden,
                metrics=metrics, hub=os.environ.get("PLANTMIND_HUB", ""),
                token=os.environ.get("PLANTMIND_TOKEN", ""),
            )  # fmt: skip


@health_app.command("predict")
def health_predict(
    history: Annotated[Path, typer.Option(help="Histories to predict (last row per asset).")],
    model: Annotated[str, typer.Option(help="Model folder, or a name under the home.")] = "model",
    settings: SettingsOpt = "",
    horizon: Annotated[float | None, typer.Option(help="Failure-probability horizon.")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="JSON lines instead of a table.")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Remaining life, its interval, health index and failure probability per asset."""
    from plantmind.health.artifact import ArtifactError, load_model
    from plantmind.health.history import HistoryError

    path = Path(model)
    if not (path / "model.json").is_file():
        path = models_dir(resolve_home(home)) / model
    try:
        m = load_model(path)
        hist = _read(history, settings, False, False)
        pred = m.predict(hist)
    except (ArtifactError, HistoryError) as exc:
        raise _fail(str(exc)) from None
    h = m.config.cap / 2 if horizon is None else horizon
    prob = m.failure_probability(pred.rul, h)
    health = m.health_index(pred.rul)
    interval = f"{1 - m.config.alpha:.0%}"
    table = Table(
        "asset", "RUL", f"{interval} low", f"{interval} high", "health", f"P(fail ≤ {h:g})"
    )
    for i, a in enumerate(pred.asset_ids):
        row = [
            f"{pred.rul[i]:.1f}",
            f"{pred.low[i]:.1f}",
            f"{pred.high[i]:.1f}",
            f"{health[i]:.0f}",
            f"{prob[i]:.3f}",
        ]
        if json_out:
            keys = ("rul", "rul_low", "rul_high", "health", "failure_probability")
            console.print(json.dumps({"asset": a, **dict(zip(keys, map(float, row), strict=True))}))
        else:
            table.add_row(a, *row)
    if not json_out:
        console.print(table)
