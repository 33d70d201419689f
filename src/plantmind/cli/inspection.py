"""``plantmind inspect``: train a station's model from good images, score images to a CSV and
heatmaps, and work through the review queue. State lives under ``<home>/vision/``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from plantmind.cli.common import HomeOpt, PlantOpt, console, err, needs_extra, plant_or_fail
from plantmind.cli.common import fail as _fail
from plantmind.core.settings import resolve_home

if TYPE_CHECKING:
    from plantmind.vision.station import VisionStations

__all__ = ["inspect_app", "print_candidates", "print_loco"]

inspect_app = typer.Typer(
    help="Visual inspection: train on good images, score images, review.", no_args_is_help=True
)

StationOpt = Annotated[str, typer.Option("--station", help="Station id (e.g. QS-1).")]


def print_candidates(rows: list[dict[str, Any]], title: str = "Candidates") -> None:
    """Every candidate tried: validation figures (synthetic defects on held-out good images),
    edge ms per image and, from a benchmark, test figures."""
    test = any("image_auroc" in r for r in rows)
    table = Table(title=title)
    cols = ["candidate", "val AUROC", "val pixel", "val FRR", "ms"]
    if test:
        cols += ["image AUROC", "pixel AUROC"]
    for c in cols:
        table.add_column(c)
    for r in rows:
        mark = ("→" if r.get("chosen") else " ") + ("▦" if r.get("heatmap") else " ")
        cells = [
            f"{mark} {r['name']}",
            f"{r['val_auroc']:.4f}",
            f"{r.get('val_pixel_auroc', float('nan')):.4f}",
            f"{r['val_frr']:.3f}",
            f"{r['ms']:.1f}",
        ]
        if test:
            cells += [f"{r['image_auroc']:.4f}", f"{r['pixel_auroc']:.4f}"]
        table.add_row(*cells)
    console.print(table, width=max(console.width, 120))


def print_loco(rows: list[dict[str, Any]]) -> None:
    """The leave-one-defect-class-out table (:func:`plantmind.bench.inspect.loco_table`)."""
    table = Table(title="Leave one defect class out (image AUROC on the left-out class)")
    for c in ("seed", "left out", "auto choice", "AUROC", "chosen without the class", "AUROC "):
        table.add_column(c)
    for r in rows:
        table.add_row(
            str(r["seed"]),
            r["left_out"],
            r["auto_choice"],
            f"{r['auto_auroc']:.4f}",
            r["chosen_without_class"],
            f"{r['auroc_on_left_out']:.4f}",
        )
    console.print(table, width=max(console.width, 120))


def _stations(home: Path | None, plant: Path | None) -> VisionStations:
    with needs_extra("vision"):
        from plantmind.vision.station import VisionStations
    model, _ = plant_or_fail(plant)
    return VisionStations(resolve_home(home), [st for site in model.sites for st in site.stations])


@inspect_app.command("train")
def train(
    station: StationOpt,
    good: Annotated[
        list[Path],
        typer.Option(
            "--good", help="Folder of good images, an image, or a .txt list (repeatable)."
        ),
    ],
    steps: Annotated[int, typer.Option(help="Most training steps (batches).")] = 6000,
    size: Annotated[int, typer.Option(help="Working size of the station's own net.")] = 128,
    pretrained_size: Annotated[
        int, typer.Option(help="Working size (short side) of the pretrained extractor.")
    ] = 256,
    method: Annotated[
        str,
        typer.Option(
            help="auto: choose by validation among the station net, the pretrained "
            "EfficientNet-Lite0 and their ensembles; station: the station net alone."
        ),
    ] = "auto",
    max_ms: Annotated[
        float, typer.Option(help="Edge time budget per image for the automatic choice.")
    ] = 50.0,
    max_minutes: Annotated[
        float, typer.Option(help="Training time cap (the schedule anneals within it).")
    ] = 9.0,
    no_flips: Annotated[
        bool, typer.Option("--no-flips", help="Do not mirror images (orientation matters).")
    ] = False,
    any_position: Annotated[
        bool,
        typer.Option(
            "--any-position",
            help="Parts are not held in a fixture: compare each patch with good patches from "
            "anywhere in the image, not only from the same place.",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 0,
    backbone: Annotated[
        Path | None,
        typer.Option(help="Your ONNX feature extractor ((N,C,S,S) → (N,F,h,w)); no torch needed."),
    ] = None,
    home: HomeOpt = None,
    plant: PlantOpt = None,
    publish: Annotated[
        int | None,
        typer.Option(
            help="Also sign the station's new model as this version of model --name (kind "
            "vision-station) and publish it to the hub's registry ($PLANTMIND_HUB, "
            "$PLANTMIND_TOKEN), with golden inputs from a few of the training images."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Registry model name for --publish (default: the station).")
    ] = None,
    keys: Annotated[
        Path | None, typer.Option(help="Signing keys for --publish (`plantmind models keygen`).")
    ] = None,
) -> None:
    """Train a station's model on good images only (a station not in plant.yaml is created).
    Nothing is downloaded: the station net learns from synthetic defects on your good images,
    the pretrained extractor's weights come from its package; the method is chosen on held-out
    good images with synthetic defects (the choice and every candidate are printed)."""
    if publish is not None and keys is None:
        raise _fail("--publish needs --keys (the folder `plantmind models keygen` made)")
    with needs_extra("vision"):
        from plantmind.vision.images import list_images
        from plantmind.vision.threshold import NotEnoughGoodImages
        from plantmind.vision.train import TrainConfig, TrainingError

    paths = list_images(good)
    if not paths:
        raise _fail(f"no images found in {', '.join(map(str, good))}")
    cfg = TrainConfig(
        size=size,
        steps=steps,
        seed=seed,
        flips=not no_flips,
        max_seconds=max_minutes * 60,
        aligned=not any_position,
        auto=method == "auto",
        pretrained_size=pretrained_size,
        max_ms=max_ms,
    )
    if method not in ("auto", "station"):
        raise _fail(f"--method must be auto or station, not {method!r}")
    vision = _stations(home, plant)
    with Progress(
        TextColumn("{task.description:<11}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done)

        try:
            # without a backbone of the user's, training needs torch ([vision-train])
            with needs_extra(None if backbone else "vision-train"):
                result = vision.train(station, paths, cfg, progress, backbone)
        except (TrainingError, NotEnoughGoodImages, ValueError) as exc:
            raise _fail(str(exc)) from None
    for path, why in result.skipped:
        err.print(f"[yellow]skipped[/] {path}: {why}", highlight=False)
    thr = result.meta.thresholds
    console.print(
        f"station {station}: trained on {result.meta.n_train} images, threshold from "
        f"{result.meta.n_holdout} held-out good images (fail ≥ {thr['fail']:.4f}, review ≥ "
        f"{thr['review']:.4f}), {result.seconds:.0f} s → {result.directory}",
        highlight=False,
    )
    auto = result.meta.extra.get("auto")
    if auto:
        for note in auto.get("notes", []):
            err.print(f"[yellow]note[/] {note}", highlight=False)
        v = auto["validation"]
        print_candidates(
            auto["candidates"],
            title=f"Candidates on {v['good']} held-out good images and {v['defective']} "
            "synthetic defects",
        )
        chosen = next(c for c in auto["candidates"] if c["chosen"])
        heat = next((c for c in auto["candidates"] if c.get("heatmap")), chosen)
        console.print(
            f"chosen: {chosen['name']} (validation AUROC {chosen['val_auroc']:.4f}, "
            f"false-reject rate {chosen['val_frr']:.3f}); heatmap: {heat['name']} (validation "
            f"pixel AUROC {heat.get('val_pixel_auroc', float('nan')):.4f}); "
            f"{auto.get('ms', chosen['ms']):.1f} ms per image (→ score, ▦ heatmap)",
            highlight=False,
        )
    if publish is not None:
        assert keys is not None
        skipped = {str(p) for p, _ in result.skipped}
        _publish_station(
            result, [p for p in paths if str(p) not in skipped], name or station, publish, keys
        )


GOLDEN_IMAGES = 4


def _publish_station(result: Any, images: list[Path], name: str, version: int, keys: Path) -> None:
    """Sign the trained station folder as ``name`` v``version`` (kind ``vision-station``) and
    publish it: golden inputs are :data:`GOLDEN_IMAGES` of the training images, spread over
    the list; the manifest's metrics are the training's figures."""
    import json
    import os
    import tempfile

    from plantmind.cli.models import publish as publish_version
    from plantmind.models.activators import golden_images

    if not images:
        raise _fail("--publish: no usable training image to take golden inputs from")
    step = max(1, len(images) // GOLDEN_IMAGES)
    chosen = images[::step][:GOLDEN_IMAGES]
    meta = result.meta
    metrics: dict[str, float] = {
        "n_train": float(meta.n_train),
        "n_holdout": float(meta.n_holdout),
        "train_seconds": float(meta.train_seconds),
    }
    for k, v in (meta.thresholds or {}).items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            metrics[f"threshold_{k}"] = float(v)
    auto = meta.extra.get("auto") or {}
    best = next((c for c in auto.get("candidates", []) if c.get("chosen")), None)
    if best is not None:
        for k in ("val_auroc", "val_pixel_auroc", "val_frr", "ms"):
            if isinstance(best.get(k), int | float):
                metrics[k] = float(best[k])
    with tempfile.TemporaryDirectory() as tmp:
        golden = Path(tmp) / "golden_inputs.json"
        golden.write_text(json.dumps(golden_images(chosen)))
        mfile = Path(tmp) / "metrics.json"
        mfile.write_text(json.dumps(metrics))
        # onnxruntime's kernels may differ in the last digits between CPUs: a 1e-4 tolerance
        # on scores in [0, 1] is far below any threshold's resolution
        publish_version(
            name, version, keys, folder=Path(result.directory), kind="vision-station",
            golden_inputs=golden, tolerance=1e-4, metrics=mfile,
            hub=os.environ.get("PLANTMIND_HUB", ""), token=os.environ.get("PLANTMIND_TOKEN", ""),
        )  # fmt: skip


@inspect_app.command("run")
def run(
    station: StationOpt,
    images: Annotated[list[Path], typer.Argument(help="Images or folders to inspect.")],
    out: Annotated[Path | None, typer.Option("--out", help="scores.csv to write.")] = None,
    heatmaps: Annotated[
        Path | None, typer.Option("--heatmaps", help="Folder for <image stem>.npy heatmaps.")
    ] = None,
    home: HomeOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Score images with a station's model; verdicts are stored (uncertain ones queued)."""
    with needs_extra("vision"):
        import numpy as np

        from plantmind.vision.images import ImageError, list_images
        from plantmind.vision.station import StationNotTrained, UnknownStation
    vision = _stations(home, plant)
    paths = list_images(images)
    if heatmaps is not None:
        heatmaps.mkdir(parents=True, exist_ok=True)
    rows = []
    bad = 0
    for p in paths:
        try:
            rec, hm = vision.inspect(station, p)
        except (UnknownStation, StationNotTrained) as exc:
            raise _fail(str(exc)) from None
        except ImageError as exc:
            err.print(f"[yellow]skipped[/] {exc}", highlight=False)
            rows.append((str(p), "", "error"))
            bad += 1
            continue
        rows.append((str(p), f"{rec.score:.6f}", rec.verdict))
        if heatmaps is not None:
            np.save(heatmaps / f"{p.stem}.npy", hm.astype(np.float32))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["path", "score", "verdict"])
            w.writerows(rows)
    counts = {v: sum(1 for r in rows if r[2] == v) for v in ("pass", "uncertain", "fail", "error")}
    console.print(", ".join(f"{k}: {v}" for k, v in counts.items()), highlight=False)
    if out is None:
        for r in rows:
            console.print("\t".join(r), highlight=False)
    if bad and bad == len(rows):
        raise typer.Exit(1)


@inspect_app.command("review")
def review(
    inspection: Annotated[
        str | None, typer.Argument(help="Inspection id to label (omit to list the queue).")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="good or defect (with an inspection id).")
    ] = None,
    station: Annotated[str | None, typer.Option("--station", help="Only this station.")] = None,
    limit: Annotated[int, typer.Option(help="Most rows listed.")] = 50,
    home: HomeOpt = None,
    plant: PlantOpt = None,
) -> None:
    """List uncertain inspections awaiting review, or label one (good / defect); a label
    refits the station's thresholds."""
    vision = _stations(home, plant)
    if inspection is None:
        table = Table(title="Review queue")
        for col in ("id", "station", "score", "verdict", "source"):
            table.add_column(col)
        for r in vision.results(station, limit, pending_only=True):
            table.add_row(r.id, r.station, f"{r.score:.4f}", r.verdict, r.source)
        console.print(table)
        return
    if label not in ("good", "defect"):
        raise _fail("--label good or --label defect is needed with an inspection id")
    try:
        rec = vision.review(inspection, label, "cli")  # type: ignore[arg-type]
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None
    thr = vision.model(rec.station).thresholds
    console.print(
        f"{rec.id}: labelled {label}; {rec.station} thresholds now fail ≥ {thr.fail:.4f}, "
        f"review ≥ {thr.review:.4f}",
        highlight=False,
    )
