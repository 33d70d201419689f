"""Large plants for load tests: the example plant's assets replicated line after line."""

from __future__ import annotations

import functools
import math
from typing import Any

from plantmind.core.plant import Plant, example_plant_path, load_plant

__all__ = ["scaled_plant"]

#: lines per site in a scaled plant
LINES_PER_SITE = 100


@functools.lru_cache(maxsize=1)
def _template() -> tuple[tuple[dict[str, Any], ...], str]:
    """The example plant's assets (all lines together) and its first site's timezone."""
    plant = load_plant(example_plant_path())
    assets = tuple(asset.model_dump() for _, _, asset in plant.iter_assets())
    return assets, plant.sites[0].timezone


def scaled_plant(n_signals: int, *, name: str = "Load-test plant") -> Plant:
    """A valid plant with at least ``n_signals`` signals.

    Each line ``L0000``, ``L0001``, … holds a copy of every asset of the example plant (same
    kinds, roles, ranges and rates), with ids prefixed by the line: ``L0042.P-101`` and
    ``L0042.P-101.flow``. Lines are grouped :data:`LINES_PER_SITE` to a site (``S000``, …).

    Parameters
    ----------
    n_signals
        Minimum number of signals; the result is rounded up to whole lines (22 signals each).
    name
        The plant's name.
    """
    if n_signals < 1:
        raise ValueError(f"n_signals must be >= 1, got {n_signals}")
    assets, timezone = _template()
    per_line = sum(len(a["signals"]) for a in assets)
    n_lines = math.ceil(n_signals / per_line)
    sites: list[dict[str, Any]] = []
    for li in range(n_lines):
        if li % LINES_PER_SITE == 0:
            number = li // LINES_PER_SITE
            sites.append(
                {
                    "id": f"S{number:03d}",
                    "name": f"Site {number}",
                    "timezone": timezone,
                    "lines": [],
                }
            )
        prefix = f"L{li:04d}"
        copies = [
            {
                **asset,
                "id": f"{prefix}.{asset['id']}",
                "signals": [{**s, "id": f"{prefix}.{s['id']}"} for s in asset["signals"]],
            }
            for asset in assets
        ]
        sites[-1]["lines"].append({"id": prefix, "name": f"Line {li}", "assets": copies})
    return Plant.model_validate({"name": name, "sites": sites})
