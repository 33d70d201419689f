"""``plantmind docs add|list|remove`` and ``plantmind ask`` as a person uses them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from plantmind.cli import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANTMIND_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PLANTMIND_EMBED", "0")
    monkeypatch.delenv("PLANTMIND_LLM_URL", raising=False)
    return tmp_path / "home"


def test_docs_add_list_remove_and_ask(tmp_path, home):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "seal.md").write_text("# Seal\nReplace a seal leaking over 5 drops per minute.\n")
    (docs / "bad.pdf").write_bytes(b"%PDF-1.4 not really")
    res = runner.invoke(app, ["docs", "add", str(docs)])
    assert res.exit_code == 0, res.output
    assert "added" in res.output and "seal.md" in res.output
    assert "corrupt or not a PDF" in res.output
    listed = runner.invoke(app, ["docs", "list", "--json"])
    assert [d["source"] for d in json.loads(listed.stdout)] == ["seal.md"]

    ans = runner.invoke(app, ["ask", "when must a leaking seal be replaced?", "--json"])
    assert ans.exit_code == 0, ans.output
    d = json.loads(ans.stdout)
    assert d["declined"] is False and d["citations"][0]["source"] == "seal.md"
    assert set(d) >= {"answer", "declined", "citations", "model_used", "timings"}

    text = runner.invoke(app, ["ask", "seal leaking drops"])
    assert "Sources:" in text.output and "[1] seal.md" in text.output

    assert runner.invoke(app, ["docs", "remove", "seal.md"]).exit_code == 0
    assert runner.invoke(app, ["docs", "remove", "seal.md"]).exit_code == 1
    # an empty index: `ask` first adds the plant's own documents (out of the box)
    fresh = runner.invoke(app, ["ask", "pump bearing temperature high, what to check?", "--json"])
    assert fresh.exit_code == 0, fresh.output
    assert "adding the plant's documents first" in fresh.output
    body = json.loads(fresh.output[fresh.output.index("{") :])
    assert not body["declined"]
    assert any(c["source"].endswith("P-101_pump_manual.md") for c in body["citations"])


def test_docs_add_defaults_to_the_plant_documents_and_ask_with_asset(home):
    res = runner.invoke(app, ["docs", "add"])
    assert res.exit_code == 0, res.output
    assert "plant.yaml" in res.output
    ans = runner.invoke(
        app, ["ask", "normal range of the bearing temperature", "--asset", "P-101", "--json"]
    )
    assert ans.exit_code == 0, ans.output
    d = json.loads(ans.stdout)
    assert d["context"]["asset"] == "P-101"
    bad = runner.invoke(app, ["ask", "x", "--asset", "NOPE"])
    assert bad.exit_code == 2 and "unknown asset" in bad.output


def test_all_files_failing_is_an_error_exit(tmp_path, home):
    f = tmp_path / "notes.docx"
    f.write_bytes(b"PK")
    res = runner.invoke(app, ["docs", "add", str(f)])
    assert res.exit_code == 1 and "unsupported file type" in res.output
