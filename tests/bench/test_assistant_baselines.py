"""The assistant bench's styles, lockbox and plain baselines, and the question checker."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from plantmind.bench.assistant_baselines import (
    auc,
    build_baselines,
    pages_in_order,
    rrf,
    windows_of,
)
from plantmind.bench.assistant_questions import longest_shared_run, overlap_report
from plantmind.cli import app
from plantmind.knowledge.documents import Chunk


def _chunk(i: int, text: str, page: int) -> Chunk:
    return Chunk(f"c{i}", "d", "m.pdf", page, None, "text", text)


def test_windows_cover_the_text_and_stay_within_the_size():
    words = [f"w{i}" for i in range(400)]
    wins = windows_of(" ".join(words), words=170, stride=128)
    assert all(len(w.split()) <= 170 for w in wins)
    assert wins[0].split()[0] == "w0" and wins[-1].split()[-1] == "w399"
    assert windows_of("short text") == ["short text"]


def test_rrf_rewards_agreement_over_one_first_place():
    a, b = np.array([0, 1, 2]), np.array([1, 2, 0])
    s = rrf([a, b], 3)
    assert int(np.argmax(s)) == 1  # 2nd and 1st beats 1st and 3rd
    assert s[0] > s[2]


def test_pages_in_order_dedupes_pages_and_auc_orders_scores():
    chunks = [_chunk(0, "a", 1), _chunk(1, "b", 1), _chunk(2, "c", 2)]
    assert [c.id for c in pages_in_order(chunks, np.array([1, 0, 2]))] == ["c1", "c2"]
    assert auc([3.0, 2.0], [1.0]) == 1.0 and auc([1.0], [2.0]) == 0.0
    assert auc([1.0], []) is None


def test_bm25_stem_baseline_ranks_by_stemmed_words():
    chunks = [
        _chunk(0, "The magneto timing is set with a timing light.", 1),
        _chunk(1, "Oil pressure relief valves are adjusted at the pump.", 2),
        _chunk(2, "Propeller blades are inspected for nicks.", 3),
    ]
    (bm,) = build_baselines(chunks, None)
    order, score = bm.rank("adjusting the relief valve")
    assert bm.name == "bm25s-stem" and int(order[0]) == 1 and score > 0


def test_the_longest_shared_run_ignores_case_and_punctuation():
    page = "Check the oil pressure, then adjust the relief valve screw."
    assert longest_shared_run("ADJUST the relief valve? now", page) == 4
    assert longest_shared_run("nothing in common", page) == 0
    rows = overlap_report(
        [
            {"id": "copy", "question": "check the oil pressure then adjust the", "source": "m",
             "page": 1},
            {"id": "own", "question": "oil psi ok? tweak the relief screw", "source": "m",
             "page": 1},
            {"id": "u", "question": "chiller?", "unanswerable": True},
        ],
        {("m", 1): page},
    )  # fmt: skip
    assert [(r["id"], r["over"]) for r in rows] == [("copy", True), ("own", False)]


def test_bench_reports_styles_excludes_the_lockbox_and_prints_baselines(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANTMIND_EMBED", "0")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pump.md").write_text(
        "<!-- page 1 -->\n# Pump\nOil: ISO VG 68, change every 4,000 hours.\n"
        "<!-- page 2 -->\n## Seal\nReplace a seal leaking over 5 drops per minute.\n"
    )
    qa = tmp_path / "qa.jsonl"
    rows = [
        {"id": "a", "question": "pump oil change interval?", "source": "pump.md", "page": 1,
         "style": "colloquial"},
        {"id": "b", "question": "seal lkg how many drops b4 rplc", "source": "pump.md",
         "page": 2, "style": "shorthand"},
        {"id": "c", "question": "chiller compressor superheat setting?", "unanswerable": True,
         "style": "colloquial"},
        {"id": "lb", "question": "oil grade for the pump", "source": "pump.md", "page": 1,
         "style": "colloquial", "lockbox": True},
    ]  # fmt: skip
    qa.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        ["bench", "assistant", "--corpus", str(docs), "--qa", str(qa), "--out", str(out),
         "--baselines", "--json", str(tmp_path / "s.json")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["questions"] == 3 and not s["lockbox"]
    assert set(s["by_style"]) == {"colloquial", "shorthand"}
    assert s["by_style"]["shorthand"]["answerable"] == 1
    assert s["by_style"]["colloquial"]["unanswerable"] == 1
    bm = s["baselines"]["bm25s-stem"]
    assert bm["unanswerable_declined"] == 0.0 and bm["hit_at_5"] is not None
    assert "bm25s-stem" in res.output and "plantmind" in res.output
    ids = [json.loads(x)["id"] for x in (out / "answers.jsonl").read_text().splitlines()]
    assert "lb" not in ids
    res = CliRunner().invoke(
        app,
        ["bench", "assistant", "--corpus", str(docs), "--qa", str(qa), "--out", str(out),
         "--lockbox", "--json", str(tmp_path / "l.json")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    lb = json.loads((tmp_path / "l.json").read_text())
    assert lb["questions"] == 1 and lb["lockbox"] and lb["hit_at_5"] == 1.0


def test_the_projects_faa_question_set_has_styles_a_lockbox_and_no_copied_runs():
    from pathlib import Path

    import pytest

    from plantmind.bench.assistant import load_questions
    from plantmind.bench.assistant_questions import page_texts

    root = Path(__file__).resolve().parents[2]
    qs = load_questions(root / "benchmarks" / "faa_powerplant_qa.jsonl")
    assert {q["style"] for q in qs} == {"colloquial", "shorthand"}
    assert len({q["id"] for q in qs}) == len(qs)
    locked = [q for q in qs if q.get("lockbox")]
    assert 0.15 <= len(locked) / len(qs) <= 0.25
    plant = [q for q in qs if q.get("unanswerable") and q["id"].startswith("u")]
    assert len(plant) >= 20
    corpus = root.parent / "shared" / "data" / "docs" / "faa_powerplant" / "corpus.jsonl"
    if not corpus.exists():
        pytest.skip("the FAA corpus is not here")
    over = [r for r in overlap_report(qs, page_texts(corpus)) if r["over"]]
    assert over == []
