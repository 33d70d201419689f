"""``plantmind language check|detect`` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

import plantmind
from plantmind.cli import app
from plantmind.core.plant import example_plant_path

EXAMPLES = Path(plantmind.__file__).parent / "examples" / "language"
runner = CliRunner()
SPEC = str(EXAMPLES / "spec.yaml")
GLOSSARY = str(EXAMPLES / "glossary.csv")
MESSAGE = "Der Wellendurchmesser soll 0,787 Zoll betragen. Lieferung am 03/04/2026."


def run(*args: str, **kw):
    return runner.invoke(app, ["language", *args], **kw)


def test_check_json_shape():
    r = run("check", MESSAGE, "--spec", SPEC, "--glossary", GLOSSARY, "--locale", "en-US", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["language"] == "de" and d["sender_locale"] == "en-US"
    assert d["receiver_locale"] == "de-DE" and d["spec"] == SPEC
    assert [f["code"] for f in d["flags"]] == ["ambiguous_date", "unit_mismatch",
                                               "weakened_modality"]  # fmt: skip
    for f in d["flags"]:
        assert set(f) == {"code", "message", "span"} and f["span"]["text"] in MESSAGE
    [q] = d["quantities"]
    assert q["value"] == 0.787 and q["unit"] == "in" and q["concept"] == "shaft_diameter"
    assert q["comparison"]["value"] == 19.9898 and q["comparison"]["within"] is True
    assert d["dates"][0]["date"] == "2026-03-04"
    assert d["terms"][0]["concept"] == "shaft_diameter"
    assert {"what": "translation", "why": "translation not done: no central model configured"} in d[
        "not_analysed"
    ]


def test_check_reads_a_file_or_stdin(tmp_path):
    p = tmp_path / "msg.txt"
    p.write_text(MESSAGE, encoding="utf-8")
    a = run("check", "--file", str(p), "--spec", SPEC, "--json")
    b = run("check", "-", "--spec", SPEC, "--json", input=MESSAGE)
    assert a.exit_code == b.exit_code == 0
    assert json.loads(a.stdout)["flags"] == json.loads(b.stdout)["flags"]


def test_check_readable_summary():
    r = run("check", MESSAGE, "--spec", SPEC, "--glossary", GLOSSARY, "--locale", "en-US")
    assert r.exit_code == 0, r.output
    assert "language: de" in r.output
    assert "weakened_modality" in r.output and "ambiguous_date" in r.output
    assert "not analysed" in r.output


def test_bad_spec_file_exits_2_naming_the_file(tmp_path):
    bad = tmp_path / "bad-spec.yaml"
    bad.write_text("items: [{concept: shaft_diameter, unit: furlong}]")
    r = run("check", MESSAGE, "--spec", str(bad))
    assert r.exit_code == 2
    assert str(bad) in r.output and "unknown unit 'furlong'" in r.output
    r = run("check", MESSAGE, "--spec", str(tmp_path / "missing.yaml"))
    assert r.exit_code == 2 and "missing.yaml" in r.output


def test_other_bad_input_exits_2(tmp_path):
    bad = tmp_path / "g.csv"
    bad.write_text("concept,english\nx,y\n")
    r = run("check", MESSAGE, "--glossary", str(bad))
    assert r.exit_code == 2 and str(bad) in r.output
    r = run("check", MESSAGE, "--locale", "xx-YY")
    assert r.exit_code == 2 and "unknown locale 'xx-YY'" in r.output
    r = run("check")
    assert r.exit_code == 2 and "give a MESSAGE" in r.output


def test_check_translates_with_the_plants_router(tmp_path, central_server, monkeypatch):
    monkeypatch.delenv("PLANTMIND_LLM_URL", raising=False)
    central_server.say("The shaft diameter should be 0.787 in.")
    doc = yaml.safe_load(example_plant_path().read_text(encoding="utf-8"))
    doc["llm"] = {
        "endpoints": {"central": {"url": central_server.url, "model": "central-large",
                                  "retries": 0}},
        "rules": [{"name": "translate-central", "when": {"kinds": ["language.translate"],
                   "sensitivities": ["public", "internal"]}, "place": "central"}],
    }  # fmt: skip
    plant = tmp_path / "plant.yaml"
    plant.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    r = run("check", MESSAGE, "--spec", SPEC, "--plant", str(plant), "--json")
    assert r.exit_code == 0, r.output
    tr = json.loads(r.stdout)["translation"]
    assert tr["text"] == "The shaft diameter should be 0.787 in." and tr["placement"] == "central"
    r = run("check", MESSAGE, "--spec", SPEC, "--plant", str(plant), "--no-translate", "--json")
    assert json.loads(r.stdout)["translation"] is None
    assert len(central_server.requests) == 1


def test_detect():
    r = run("detect", "Bitte liefern Sie 200 Stück bis Freitag. Please confirm the date.", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["mixed"] is True and d["languages"] == ["de", "en"]
    assert d["detector"]["load_s"] > 0
    r = run("detect", "xkq zzv")
    assert r.exit_code == 0 and "unknown" in r.output and "too short" in r.output
    r = run("detect", "hello there friend", "--languages", "en,xx")
    assert r.exit_code == 2 and "unknown language code 'xx'" in r.output


def test_strict_exits_1_only_when_a_flag_is_raised():
    flagged = run("check", MESSAGE, "--spec", SPEC, "--glossary", GLOSSARY, "--strict")
    assert flagged.exit_code == 1, flagged.output
    assert "weakened_modality" in flagged.stdout
    clean = "Der Wellendurchmesser muss 20,01 mm betragen."
    ok = run("check", clean, "--spec", SPEC, "--glossary", GLOSSARY, "--strict", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["flags"] == []
