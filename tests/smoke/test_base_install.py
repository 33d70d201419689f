"""What a base install (``pip install plantmind``, no extras) can do: the light commands work,
the demo runs and says which parts are off, and a command that needs an extra ends with one
line naming it. In the full development environment the optional packages are hidden
(``hide_optional.py``); CI also runs this file in a fresh environment with the base install
alone (``make smoke-base``). Needs only pytest and plantmind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HIDE = Path(__file__).with_name("hide_optional.py")


def plantmind(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PLANTMIND_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, str(HIDE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def test_help_lists_every_command_group(home: Path) -> None:
    res = plantmind("--help", home=home)
    assert res.returncode == 0, res.stderr
    for group in ("demo", "edge", "detect", "alerts", "inspect", "health", "ask", "bench"):
        assert group in res.stdout


def test_plant_validate(home: Path) -> None:
    from plantmind.core.plant import example_plant_path

    res = plantmind("plant", "validate", str(example_plant_path()), home=home)
    assert res.returncode == 0, res.stderr
    assert "valid: 1 site(s)" in res.stdout


def test_detect_scores_a_csv(home: Path, tmp_path: Path) -> None:
    import random

    rnd = random.Random(0)
    rows = ["time,flow,temp"]
    for i in range(3000):
        temp = 60.0 + rnd.gauss(0, 0.3) + (15.0 if i >= 2500 else 0.0)  # a real excursion
        stamp = f"2026-01-01T{i // 3600:02d}:{i % 3600 // 60:02d}:{i % 60:02d}Z"
        rows.append(f"{stamp},{10 + rnd.gauss(0, 0.05):.3f},{temp:.3f}")
    src = tmp_path / "export.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    res = plantmind("detect", str(src), "--out", str(out), home=home)
    assert res.returncode == 0, res.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "timestamp,learning,anomaly_score,alarm,top_signal,reason"
    assert len(lines) == 3001
    assert lines[2505].split(",")[3:5] == ["1", "temp"]  # the excursion, on the right signal


def test_demo_runs_and_names_what_is_off(home: Path, tmp_path: Path) -> None:
    summary = tmp_path / "s.json"
    res = plantmind(
        "demo", "--headless", "--duration", "5", "--speed", "60", "--history-hours", "0.25",
        "--no-api", "--summary-json", str(summary), home=home,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "not run: visual inspection is off: pip install 'plantmind[vision-train]'" in res.stdout
    doc = json.loads(summary.read_text(encoding="utf-8"))
    assert doc["samples_scored"] > 0 and len(doc["faults"]) == 6
    # the commands the demo prints work as printed
    demo_home = doc["home"]
    assert f"plantmind alerts list --home {demo_home}" in res.stdout
    listed = plantmind("alerts", "list", "--home", demo_home, home=home)
    assert listed.returncode == 0, listed.stderr
    # and without --home, the error names the demo's store
    bare = plantmind("alerts", "list", home=home)
    assert bare.returncode == 2 and f"--home {demo_home}" in bare.stderr


def test_a_command_that_needs_an_extra_names_it_in_one_line(home: Path, tmp_path: Path) -> None:
    image = tmp_path / "part.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    res = plantmind("inspect", "run", "--station", "QS-1", str(image), home=home)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: PIL is not installed: pip install 'plantmind[vision]'"
    ]
