"""``plantmind comply extract|check`` through the real Typer app: output shapes, files
written, exit code 2 with the file named on bad input, and a model named by plant.yaml."""

from __future__ import annotations

import json

import mini_data as mini
import yaml
from typer.testing import CliRunner

from plantmind.cli import app
from plantmind.core.plant import example_plant_path

runner = CliRunner()


def test_extract_json_shape(tmp_path):
    std, _ = mini.write(tmp_path)
    res = runner.invoke(app, ["comply", "extract", str(std), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["paragraph"] for r in rows] == [mini.SECTION + p for p in mini.REQUIREMENTS]
    assert all({"paragraph", "text", "modality", "parent"} <= set(r) for r in rows)
    by = {r["paragraph"]: r for r in rows}
    assert by["1910.990(c)(2)(ii)"]["modality"] == "shall not"
    assert by["1910.990(c)(4)(i)"]["parent"] == "1910.990(c)(4)"


def test_extract_all_clauses_and_table(tmp_path):
    std, _ = mini.write(tmp_path)
    res = runner.invoke(app, ["comply", "extract", str(std), "--json", "--all"])
    rows = json.loads(res.stdout)
    labels = {r["paragraph"]: r["modality"] for r in rows}
    assert labels["1910.990(c)(5)"] == "may" and labels["1910.990(b)[Receiver]"] == "definition"
    assert labels["1910.990(a)(2)(i)"] == "scope"
    table = runner.invoke(app, ["comply", "extract", str(std)])
    assert table.exit_code == 0 and "1910.990(c)(2)(ii)" in table.output


def test_check_writes_the_matrix_report_and_summary(tmp_path):
    std, procs = mini.write(tmp_path / "in")
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["comply", "check", "--standard", str(std), "--procedures", str(procs),
              "--out", str(out)]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for name in ("matrix.csv", "report.html", "summary.json"):
        assert (out / name).is_file()
    assert "7 covered" in res.output and "3 missing" in res.output
    assert "no model judged: deterministic matcher (no model configured): 10" in res.output


def test_check_with_a_plant_model(tmp_path, central_server):
    central_server.say(json.dumps({"results": []}))  # valid JSON, no verdicts: all fall back
    plant = yaml.safe_load(example_plant_path().read_text(encoding="utf-8"))
    plant["llm"] = {
        "endpoints": {"central": {"url": central_server.url, "model": "hub-model", "retries": 0}},
        "rules": [{"name": "judge", "place": "central",
                   "when": {"kinds": ["comply.judge"], "sensitivities": ["internal"]}}],
    }  # fmt: skip
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(plant), encoding="utf-8")
    std, procs = mini.write(tmp_path / "in")
    res = runner.invoke(
        app, ["comply", "check", "--standard", str(std), "--procedures", str(procs),
              "--out", str(tmp_path / "out"), "--plant", str(plant_file),
              "--home", str(tmp_path / "home")]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert len(central_server.requests) == 2
    assert "judged by the model hub-model" in res.output
    assert "the model gave no valid verdict for this row" in res.output


def test_bad_inputs_exit_2_naming_the_file(tmp_path):
    std, procs = mini.write(tmp_path / "in")
    empty = tmp_path / "empty.md"
    empty.write_text("")
    odd = tmp_path / "standard.docx"
    odd.write_bytes(b"PK\x03\x04")
    for target, words in (
        (tmp_path / "nope.md", "no such file"),
        (empty, "empty file"),
        (odd, "unsupported file type .docx"),
    ):
        res = runner.invoke(app, ["comply", "extract", str(target)])
        assert res.exit_code == 2, res.output
        assert str(target) in res.output and words in res.output
        res = runner.invoke(
            app, ["comply", "check", "--standard", str(target), "--procedures", str(procs),
                  "--out", str(tmp_path / "out")]
        )  # fmt: skip
        assert res.exit_code == 2 and str(target) in res.output
    no_docs = tmp_path / "no_docs"
    no_docs.mkdir()
    res = runner.invoke(
        app, ["comply", "check", "--standard", str(std), "--procedures", str(no_docs),
              "--out", str(tmp_path / "out")]
    )  # fmt: skip
    assert (
        res.exit_code == 2 and str(no_docs) in res.output and "no procedure documents" in res.output
    )
