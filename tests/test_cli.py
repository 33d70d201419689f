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
    rows += [
        f"{1_700_000_000 + i},{180 + (i % 7) * 0.3},{1.5 + (i % 5) * 0.01}" for i in range(2400)
    ]
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


def test_detect_writes_scores_per_row(tmp_path):
    import csv as _csv

    import numpy as np

    rng = np.random.default_rng(0)
    n = 3000
    temp = 60 + rng.normal(0, 0.3, n)
    temp[2500:] += 15  # a real excursion
    lines = ["time;temp;press;status"]
    for i in range(n):
        lines.append(
            f"2026-02-01T{i // 3600:02d}:{i % 3600 // 60:02d}:{i % 60:02d};{temp[i]:.3f};{2 + rng.normal(0, 0.01):.3f};ok"
        )
    src = tmp_path / "hist.csv"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scored.csv"
    res = runner.invoke(app, ["detect", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(_csv.DictReader(out.open()))
    assert len(rows) == n
    assert list(rows[0]) == [
        "timestamp", "learning", "anomaly_score", "alarm", "top_signal", "reason"
    ]  # fmt: skip
    text = " ".join(res.output.split())
    assert "learned from rows 1–900 (default: 30 % of the file)" in text
    assert "scored rows 901–3,000" in text
    learning, scored = rows[:900], rows[900:]
    assert all(r["learning"] == "1" and r["alarm"] == "" == r["anomaly_score"] for r in learning)
    assert all(r["learning"] == "0" and 0.0 <= float(r["anomaly_score"]) <= 1.0 for r in scored)
    assert rows[2505]["alarm"] == "1" and rows[2505]["top_signal"] == "temp"
    assert "temp" in rows[2505]["reason"] and "above" in rows[2505]["reason"]
    assert sum(int(r["alarm"]) for r in rows[900:2500]) <= 16  # 1 % of 1,600 normal rows
    assert "non-numeric columns left out: status" in res.output


def test_detect_rejects_unknown_column(tmp_path):
    src = tmp_path / "h.csv"
    src.write_text("ts,a\n1,2\n2,3\n")
    res = runner.invoke(
        app, ["detect", str(src), "--out", str(tmp_path / "o.csv"), "--columns", "b"]
    )
    assert res.exit_code == 2 and "no numeric column named b" in res.output


def test_detect_multivariate_finds_a_broken_relationship(tmp_path):
    import csv as _csv

    import numpy as np

    rng = np.random.default_rng(3)
    n = 3000
    load = 50 + 10 * np.sin(np.arange(n) / 40) + rng.normal(0, 0.5, n)
    current = 0.8 * load + rng.normal(0, 0.3, n)
    current[2500:] = 0.8 * 50 + rng.normal(0, 0.3, 500)  # decoupled, but inside its range
    lines = ["ts,load,current"] + [f"{i},{load[i]:.3f},{current[i]:.3f}" for i in range(n)]
    src = tmp_path / "h.csv"
    src.write_text("\n".join(lines) + "\n")
    plain, multi = tmp_path / "u.csv", tmp_path / "m.csv"
    res = runner.invoke(app, ["detect", str(src), "--out", str(plain), "--no-multivariate"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["detect", str(src), "--out", str(multi)])
    assert res.exit_code == 0, res.output
    u = list(_csv.DictReader(plain.open()))
    m = list(_csv.DictReader(multi.open()))
    assert sum(int(r["alarm"]) for r in u[2500:]) < 50  # each signal stays in its range
    broken = [r for r in m[2500:] if r["alarm"] == "1"]
    assert len(broken) > 250
    assert any("decoupled" in r["reason"] for r in broken)


def test_replay_and_detect_refuse_binary_input_in_one_line(tmp_path):
    blob = tmp_path / "export.csv"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    for args in (
        ["replay", str(blob), "--home", str(tmp_path / "home")],
        ["detect", str(blob), "--out", str(tmp_path / "o.csv")],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
        assert "Traceback" not in res.output and "UnicodeDecodeError" not in res.output
        (line,) = [t for t in res.output.splitlines() if t.strip()]
        assert line.startswith("error: ") and str(blob) in line
        assert "not a text CSV" in res.output


def test_detect_of_a_file_with_stray_quotes_scores_every_good_row(tmp_path):
    lines = ["ts,a,b"] + [f"{i},{i % 5},{i % 3}" for i in range(300)]
    for k in (10, 50, 51, 299):  # quotes that open a field and never close on their line
        lines[k + 1] = f'{k},"{k % 5},{k % 3}'
    src, out = tmp_path / "h.csv", tmp_path / "o.csv"
    src.write_text("\n".join(lines) + "\n")
    res = runner.invoke(app, ["detect", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "296 rows × 2 signal(s); learned from rows 1–89" in " ".join(res.output.split())
    for k in (10, 50, 51, 299):
        assert f"h.csv:{k + 2}:" in res.output.replace("\n", "")
    import csv as _csv

    written = [r["timestamp"] for r in _csv.DictReader(out.open())]
    assert written == [str(i) for i in range(300) if i not in (10, 50, 51, 299)]
