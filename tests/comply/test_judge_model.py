"""The model-judged path against a real OpenAI-compatible HTTP server (the recording stand-in
of tests/llm): requirements go in batches, verdicts are cached on disk, rows name the model,
and an unusable answer falls back to the deterministic matcher, row by row, saying so."""

from __future__ import annotations

import json
import math
import re

import mini_data as mini
import pytest
from comply_support import StandIn

from plantmind.comply.check import run_check
from plantmind.comply.judge import BATCH, DETERMINISTIC_NO_MODEL
from plantmind.core.routing import LlmSettings
from plantmind.llm.router import Router

_ROW = re.compile(r"^### (R\d+) — paragraph (\S+)$", re.M)


def _router(url: str, home) -> Router:
    settings = LlmSettings.model_validate(
        {
            "endpoints": {"central": {"url": url, "model": "central-large", "retries": 0}},
            "rules": [
                {"name": "judge-centrally", "place": "central",
                 "when": {"kinds": ["comply.*"], "sensitivities": ["public", "internal"]},
                 "on_unreachable": "fallback"}
            ],
        }
    )  # fmt: skip
    return Router(settings, home=home)


def _verdicts(body: dict) -> list[tuple[str, str]]:
    """(R-id, paragraph) of every requirement in a request."""
    return _ROW.findall(body["messages"][-1]["content"])


def _judge_all(status_of, *, drop: str | None = None, evidence=1):
    """A reply that judges every requirement of the request with ``status_of(paragraph)``."""

    def reply(body):
        results = [
            {"id": rid, "status": status_of(par), "evidence": evidence, "reason": "stand-in"}
            for rid, par in _verdicts(body)
            if par.removeprefix(mini.SECTION) != drop
        ]
        return 200, _completion(json.dumps({"results": results}), body), 0.0

    return reply


def _completion(text: str, body: dict) -> dict:
    return StandIn.completion(text, body)


@pytest.fixture
def inputs(tmp_path):
    return mini.write(tmp_path / "in")


def test_batches_cache_and_names_the_model(inputs, tmp_path, central_server):
    std, procs = inputs
    central_server.script(
        _judge_all(lambda par: "partial" if par.endswith("(c)(3)") else "covered")
    )
    with _router(central_server.url, tmp_path / "home") as router:
        report = run_check(std, procs, tmp_path / "out", router=router)
    n = len(mini.REQUIREMENTS)
    assert len(central_server.requests) == math.ceil(n / BATCH) == report.model_calls
    sizes = [len(_verdicts(b)) for b in central_server.requests]
    assert sizes == [BATCH, n - BATCH]
    first = central_server.requests[0]
    assert first["model"] == "central-large"
    assert "JSON" in first["messages"][0]["content"]
    assert "spring-loaded safety valve" in first["messages"][-1]["content"]  # the evidence
    assert report.model == "central-large"
    assert {r.judged_by for r in report.rows} == {"model:central-large"}
    by = {r.paragraph.removeprefix(mini.SECTION): r for r in report.rows}
    assert by["(c)(3)"].status == "partial" and by["(c)(1)(i)"].status == "covered"
    assert by["(c)(1)(i)"].evidence_source == "SOP-210_air_receivers.md"

    # a second run over the same documents: every verdict from the cache, no call
    with _router(central_server.url, tmp_path / "home") as router:
        again = run_check(std, procs, tmp_path / "out", router=router)
    assert len(central_server.requests) == math.ceil(n / BATCH)
    assert again.model_calls == 0 and again.cached_verdicts == n
    assert [r.status for r in again.rows] == [r.status for r in report.rows]
    assert {r.judged_by for r in again.rows} == {"model:central-large"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["model"] == "central-large" and summary["cached_verdicts"] == n


def test_an_answer_that_is_not_json_falls_back_to_the_matcher(inputs, tmp_path, central_server):
    std, procs = inputs
    central_server.say("Sure! Everything looks compliant to me.")
    with _router(central_server.url, tmp_path / "home") as router:
        report = run_check(std, procs, tmp_path / "out", router=router)
    assert len(central_server.requests) == 2
    assert {r.judged_by for r in report.rows} == {
        "deterministic matcher (model answer was not valid JSON)"
    }
    missing = {r.paragraph.removeprefix(mini.SECTION) for r in report.rows if r.status == "missing"}
    assert missing == mini.OMITTED  # the matcher's verdicts, not the model's claim
    # nothing usable was cached: the next run asks again
    with _router(central_server.url, tmp_path / "home") as router:
        run_check(std, procs, tmp_path / "out", router=router)
    assert len(central_server.requests) == 4


def test_a_row_the_model_leaves_out_is_judged_by_the_matcher(inputs, tmp_path, central_server):
    std, procs = inputs
    central_server.script(_judge_all(lambda par: "covered", drop="(c)(3)"))
    with _router(central_server.url, tmp_path / "home") as router:
        report = run_check(std, procs, tmp_path / "out", router=router)
    by = {r.paragraph.removeprefix(mini.SECTION): r for r in report.rows}
    assert by["(c)(3)"].judged_by == (
        "deterministic matcher (the model gave no valid verdict for this row)"
    )
    assert by["(c)(3)"].status == "missing"
    assert all(r.judged_by == "model:central-large" for p, r in by.items() if p != "(c)(3)")


def test_a_citation_outside_the_passages_given_is_not_trusted(inputs, tmp_path, central_server):
    std, procs = inputs
    central_server.script(_judge_all(lambda par: "covered", evidence=9))
    with _router(central_server.url, tmp_path / "home") as router:
        report = run_check(std, procs, tmp_path / "out", router=router)
    row = next(r for r in report.rows if r.paragraph.endswith("(c)(1)(i)"))
    assert row.judged_by == "model:central-large" and "cited no passage" in row.note
    assert "lowest point" in row.evidence_text  # the matcher's best window instead


def test_model_down_falls_back_and_says_why(inputs, tmp_path, central_server):
    std, procs = inputs
    url = central_server.url
    central_server.stop()
    with _router(url, tmp_path / "home") as router:
        report = run_check(std, procs, tmp_path / "out", router=router)
    assert {r.judged_by for r in report.rows} == {"deterministic matcher (model unavailable)"}
    assert all("unreachable" in r.note for r in report.rows)
    missing = {r.paragraph.removeprefix(mini.SECTION) for r in report.rows if r.status == "missing"}
    assert missing == mini.OMITTED


def test_without_a_model_no_request_is_made(inputs, tmp_path, central_server):
    std, procs = inputs
    with Router(LlmSettings(), home=tmp_path / "home") as router:
        assert not router.has_model
        report = run_check(std, procs, tmp_path / "out", router=router)
    assert central_server.requests == []
    assert {r.judged_by for r in report.rows} == {DETERMINISTIC_NO_MODEL}
