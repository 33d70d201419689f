"""Sensor metadata from plant.yaml as documents: one sheet per asset naming its signals,
units, expected ranges and descriptions, so "what is the normal discharge pressure of P-101"
finds an answer with a citation."""

from __future__ import annotations

from pathlib import Path

from plantmind.core.plant import Plant, PlantConfigError, load_plant
from plantmind.knowledge.documents import Block, LoadedDocument, LoaderError

__all__ = ["asset_blocks", "load_plant_sheet"]


def _fmt(x: float) -> str:
    return f"{x:g}"


def asset_blocks(plant: Plant) -> list[Block]:
    """One ``asset`` block per asset of ``plant``."""
    blocks: list[Block] = []
    for site, line, asset in plant.iter_assets():
        lines = [
            f"Asset {asset.id}: {asset.name} ({asset.kind.replace('_', ' ')}), "
            f"line {line.name} ({line.id}), site {site.name} ({site.id})."
        ]
        if asset.description:
            lines.append(asset.description)
        for s in asset.signals:
            low, high = s.expected_range
            desc = f" {s.description}" if s.description else ""
            lines.append(
                f"Signal {s.id} ({s.name}), unit {s.unit}: normal range {_fmt(low)} to "
                f"{_fmt(high)} {s.unit}, sampled at {_fmt(s.sample_rate_hz)} Hz.{desc}"
            )
        blocks.append(
            Block("asset", "\n".join(lines), None, f"{asset.name} ({asset.id})", asset.id)
        )
    return blocks


def load_plant_sheet(p: Path) -> LoadedDocument:
    """The sensor sheet of the plant.yaml at ``p``."""
    try:
        plant = load_plant(p)
    except PlantConfigError as exc:
        raise LoaderError(f"{p}: not a valid plant.yaml ({exc.problems[0]})") from None
    blocks = asset_blocks(plant)
    if not blocks:
        raise LoaderError(f"{p}: the plant has no assets")
    return LoadedDocument(str(p), p.name, "plant", 0, blocks)
