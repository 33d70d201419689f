"""``plantmind detect`` on short files: the learning period, the options that choose it, a
saved model, and the messages for files it cannot learn from."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from plantmind.cli import app

runner = CliRunner()


def _export(path: Path, values: np.ndarray, names: list[str]) -> Path:
    lines = ["timestamp," + ",".join(names)]
    for i, row in enumerate(values):
        stamp = f"2026-03-01T{i // 3600:02d}:{i % 3600 // 60:02d}:{i % 60:02d}Z"
        lines.append(stamp + "," + ",".join(f"{v:.4f}" for v in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _eight_signals(n: int, seed: int) -> np.ndarray:
    """8 signals driven by two slow operating variables (load, ambient), as on one asset."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    load = np.sin(t / 90) + 0.3 * rng.normal(0, 1, n).cumsum() / np.sqrt(n)
    ambient = 0.5 * np.cos(t / 200) + rng.normal(0, 0.2, n)
    mix = np.array([[1.0, 0.2], [0.8, -0.3], [-0.6, 0.5], [0.9, 0.9], [0.3, 1.0],
                    [-1.0, 0.1], [0.5, -0.8], [0.7, 0.4]])  # fmt: skip
    return np.column_stack([load, ambient]) @ mix.T + rng.normal(0, 0.1, (n, 8))


NAMES = ["flow", "pressure_in", "pressure_out", "current", "temp", "valve", "vib", "power"]


def test_detect_with_no_options_alarms_on_a_relation_break_after_its_learning_period(tmp_path):
    x = _eight_signals(1200, seed=11)
    # row 400 on: the motor current stops following the load; it stays inside its range
    rng = np.random.default_rng(1)
    x[400:, 3] = x[:400, 3].mean() + x[:400, 3].std() * rng.normal(0, 0.5, 800)
    src = _export(tmp_path / "pump.csv", x, NAMES)
    out = tmp_path / "scored.csv"
    res = runner.invoke(app, ["detect", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "learned from rows 1–360 (default: 30 % of the file); scored rows 361–1,200" in text
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["learning"] for r in rows[:360]] == ["1"] * 360
    normal = [int(r["alarm"]) for r in rows[360:400]]
    broken = [int(r["alarm"]) for r in rows[420:]]
    assert sum(normal) <= 2
    assert np.mean(broken) > 0.8
    reasons = [r["reason"] for r in rows[420:] if r["alarm"] == "1"]
    assert sum("current" in r for r in reasons) > 0.8 * len(reasons)


def test_learn_from_a_normal_file_save_the_model_and_score_another_file(tmp_path):
    normal = _export(tmp_path / "normal.csv", _eight_signals(500, seed=1), NAMES)
    x = _eight_signals(300, seed=2)
    x[150:, 0] += 3.0  # the flow jumps
    other = _export(tmp_path / "today.csv", x, NAMES)
    model = tmp_path / "pump.npz"
    out1, out2 = tmp_path / "a.csv", tmp_path / "b.csv"
    res = runner.invoke(
        app,
        ["detect", str(other), "--out", str(out1), "--learn-from", str(normal),
         "--save-model", str(model)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert f"learned from {normal} (all 500 rows); scored rows 1–300" in text
    assert model.is_file()
    res = runner.invoke(app, ["detect", str(other), "--out", str(out2), "--model", str(model)])
    assert res.exit_code == 0, res.output
    assert out1.read_text() == out2.read_text()
    rows = list(csv.DictReader(out2.open(encoding="utf-8")))
    assert all(r["learning"] == "0" for r in rows)
    assert sum(int(r["alarm"]) for r in rows[:150]) <= 3
    assert np.mean([int(r["alarm"]) for r in rows[170:]]) > 0.9
    assert {r["top_signal"] for r in rows[170:]} == {"flow"}


def test_learn_until_a_time_and_conflicting_choices(tmp_path):
    src = _export(tmp_path / "h.csv", _eight_signals(600, seed=3), NAMES)
    out = tmp_path / "o.csv"
    res = runner.invoke(
        app, ["detect", str(src), "--out", str(out), "--learn-until", "2026-03-01T00:04:00Z"]
    )
    assert res.exit_code == 0, res.output
    assert "learned from rows 1–240 (rows before 2026-03-01T00:04:00Z)" in " ".join(
        res.output.split()
    )
    res = runner.invoke(
        app, ["detect", str(src), "--out", str(out), "--learn-rows", "100", "--model", "m.npz"]
    )
    assert res.exit_code == 2
    assert "choose one way to learn: --learn-rows and --model" in res.output


def test_a_file_too_short_to_learn_from_says_how_many_rows_it_needs(tmp_path):
    src = _export(tmp_path / "short.csv", _eight_signals(25, seed=4), NAMES)
    res = runner.invoke(app, ["detect", str(src), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "25 row(s) is too few: 8 signal(s) need at least 30 rows to learn from" in text
    assert "(31 or more in all)" in text


def test_constant_text_and_missing_columns_are_named_and_the_rest_is_scored(tmp_path):
    x = _eight_signals(400, seed=5)
    lines = ["time,flow,temp,setpoint,status,spare"]
    for i, row in enumerate(x):
        spare = "" if i % 4 else "1.0"
        lines.append(f"{i},{row[0]:.4f},{row[4]:.4f},50,{'run' if i % 2 else 'ok'},{spare}")
    lines.insert(101, lines[100])  # a repeated row: same timestamp twice
    src = tmp_path / "h.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["detect", str(src), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "non-numeric columns left out: status" in text
    assert "not scored: setpoint (constant (50) in the learning rows)" in text
    assert "not scored: spare (missing in 75% of the learning rows)" in text
    assert "1 row(s) repeat the previous row's timestamp" in text
    assert "401 rows × 2 signal(s)" in text


def test_a_bad_false_alarm_rate_is_refused(tmp_path):
    src = _export(tmp_path / "h.csv", _eight_signals(200, seed=6), NAMES)
    res = runner.invoke(
        app, ["detect", str(src), "--out", str(tmp_path / "o.csv"), "--false-alarm-rate", "5"]
    )
    assert res.exit_code == 2
    assert "--false-alarm-rate: false-alarm rate must be between 0 and 0.5" in res.output
