"""``plantmind bench startup``: how long the command line takes to answer, each command run in
a fresh process (as a plant engineer types it), several times; minimum, median and maximum
wall-clock seconds per command.

``alerts list`` runs against a temporary home holding an empty edge store, so it measures the
real path (open the store, read, print), not the missing-store error."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "plantmind_command", "run_startup_bench"]

COMMANDS: tuple[tuple[str, ...], ...] = (("--help",), ("--version",), ("alerts", "list"))


def plantmind_command() -> list[str]:
    """The ``plantmind`` script beside this interpreter, else ``python -m plantmind.cli``."""
    script = Path(sys.executable).with_name("plantmind")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plantmind.cli"]


def _time_once(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {res.returncode}: {res.stderr.decode(errors='replace')}"
        )
    return elapsed


def run_startup_bench(
    runs: int = 5, commands: tuple[tuple[str, ...], ...] = COMMANDS
) -> list[dict[str, Any]]:
    """Each command ``runs`` times in a fresh process; one row per command with min, median
    and max seconds."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    from plantmind.store.edge import EdgeStore

    base = plantmind_command()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="plantmind-startup-") as tmp:
        EdgeStore(Path(tmp) / "edge.db").close()  # an empty store: `alerts list` reads it
        env = {**os.environ, "PLANTMIND_HOME": tmp, "NO_COLOR": "1"}
        for args in commands:
            cmd = [*base, *args]
            _time_once(cmd, env)  # the first run warms the OS file cache and .pyc files
            times = [_time_once(cmd, env) for _ in range(runs)]
            rows.append(
                {
                    "command": "plantmind " + " ".join(args),
                    "runs": runs,
                    "min_s": round(min(times), 3),
                    "median_s": round(statistics.median(times), 3),
                    "max_s": round(max(times), 3),
                }
            )
    return rows
