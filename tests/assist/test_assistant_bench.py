"""``plantmind bench assistant`` on a tiny corpus: answers.jsonl, hit@k, declines, speed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from plantmind.cli import app


def test_bench_assistant_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANTMIND_EMBED", "0")
    docs = tmp_path / "docs"
    (docs / "manuals").mkdir(parents=True)
    (docs / "manuals" / "pump.md").write_text(
        "<!-- page 1 -->\n# Pump\nOil: ISO VG 68, change every 4,000 hours.\n"
        "<!-- page 2 -->\n## Seal\nReplace a seal leaking over 5 drops per minute.\n"
    )
    (docs / "wo.csv").write_text(
        "wo_id,asset,date,symptom,action\nW1,P-1,2024-01-02,brg noisy,rplc brg\n"
    )
    qa = tmp_path / "qa.jsonl"
    rows = [
        {
            "id": "a",
            "question": "pump oil change interval?",
            "source": "manuals/pump.md",
            "page": 1,
        },
        {
            "id": "b",
            "question": "seal leaking how many drops before replace",
            "source": "pump.md",
            "page": 2,
        },
        {
            "id": "c",
            "question": "what was done about the noisy bearing",
            "source": "wo.csv",
            "page": 1,
        },
        {
            "id": "d",
            "question": "TBO of a PT6A-67 turboprop?",
            "source": None,
            "page": None,
            "unanswerable": True,
        },
    ]
    qa.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["bench", "assistant", "--corpus", str(docs), "--qa", str(qa), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    answers = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert [a["id"] for a in answers] == ["a", "b", "c", "d"]
    assert set(answers[0]) >= {"id", "answer", "declined", "citations", "latency_ms"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hit_at_5"] == 1.0 and summary["unanswerable_declined"] == 1.0
    assert summary["answerable_wrongly_declined"] == 0.0
    assert summary["ingest_pages"] == 2 and summary["latency_p95_ms"] is not None
    assert "hit_at_1" in res.output
