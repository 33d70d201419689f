"""The command line: exit codes and messages a person reads."""

from __future__ import annotations

import json
import socket

from typer.testing import CliRunner

from plantmind.cli import app
from plantmind.core.plant import example_plant_path

runner = CliRunner()


def test_plant_validate_ok_and_error(tmp_path):
    ok = runner.invoke(app, ["plant", "validate", str(example_plant_path())])
    assert ok.exit_code == 0 and "valid: 1 site(s), 5 asset(s), 22 signal(s)" in ok.output
    bad = tmp_path / "plant.yaml"
    bad.write_text(example_plant_path().read_text().replace("unit: A,", "unit: '',", 1))
    res = runner.invoke(app, ["plant", "validate", str(bad)])
    assert res.exit_code == 2
    assert "sites[0].lines[0].assets[0].signals[2].unit" in res.output


def test_replay_then_alerts_list(tmp_path):
    csv = tmp_path / "export.csv"
    rows = ["timestamp,P-101.flow,P-101.vibration_rms"]
    rows += [f"{1_700_000_000 + i},{180 + (i % 7) * 0.3},{1.5 + (i % 5) * 0.01}" for i in range(2400)]
    rows += [f"{1_700_002_400 + i},{180 + (i % 7) * 0.3},{9.0}" for i in range(30)]
    csv.write_text("\n".join(rows) + "\n")
    home = tmp_path / "home"
    res = runner.invoke(app, ["replay", str(csv), "--home", str(home), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["rows"] == 2430 and out["samples_scored"] == 4860
    assert [a["asset_id"] for a in out["alerts_opened"]] == ["P-101"]
    listed = runner.invoke(app, ["alerts", "list", "--home", str(home), "--json"])
    assert listed.exit_code == 0
    assert json.loads(listed.output)[0]["signals"][0] == "P-101.vibration_rms"


def test_replay_of_unusable_file_fails_clearly(tmp_path):
    res = runner.invoke(app, ["replay", str(tmp_path / "nope.csv"), "--home", str(tmp_path)])
    assert res.exit_code == 2 and "no such file" in res.output


def test_alerts_list_without_store(tmp_path):
    res = runner.invoke(app, ["alerts", "list", "--home", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "no edge store" in res.output


def test_demo_refuses_a_busy_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = runner.invoke(
            app,
            ["demo", "--headless", "--duration", "1", "--history-hours", "0.1",
             "--port", str(port), "--home", str(tmp_path)],
        )  # fmt: skip
    assert res.exit_code == 2
    assert f"127.0.0.1:{port}: the port is already in use" in res.output
