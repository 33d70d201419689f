"""End to end with a model: a real OpenAI-compatible HTTP server (a recording stand-in)
receives the retrieved passages; the answer's citations are a subset of them whatever the
model writes; a timeout falls back to the extractive answer with a note."""

from __future__ import annotations

import re

import pytest

from plantmind.assist.answer import NOT_FOUND, Assistant
from plantmind.knowledge.index import KnowledgeIndex
from plantmind.llm.client import ChatClient, LLMConfig

DOCS = {
    "pump.md": "<!-- page 1 -->\n# Pump manual\n## Oil\nChange the bearing oil every 4,000 hours "
    "with ISO VG 68 turbine oil.\n<!-- page 2 -->\n## Seal\nA mechanical seal leaking more "
    "than 5 drops per minute must be replaced at the next stop.\n",
    "compressor.md": "# Compressor SOP\n## Lockout\n1. Stop the compressor.\n"
    "WARNING: stored air pressure.\n2. Open the blow-down valve until the gauge reads 0 bar.\n",
    "conveyor.md": "# Conveyor\n## Belt\nCheck belt tracking weekly at the tail pulley.\n",
}


@pytest.fixture
def kb(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    with KnowledgeIndex(tmp_path / "kb", embedder=None) as index:
        index.add([docs])
        yield index


def _assistant(kb, url: str, timeout: float = 5.0) -> Assistant:
    return Assistant(
        kb, llm=ChatClient(LLMConfig(base_url=url, model="stand-in", timeout_s=timeout))
    )


def test_passages_are_sent_and_citations_are_a_subset(kb, llm_server):
    llm_server.say("Use ISO VG 68 turbine oil [1], every 4,000 hours [1][2]. See also [9] and [0].")
    ans = _assistant(kb, llm_server.url).ask("which oil for the pump bearings and how often?")
    assert not ans.declined and ans.model_used == "stand-in"
    (req,) = llm_server.requests
    user = req["messages"][-1]["content"]
    assert req["messages"][0]["role"] == "system" and "NOT FOUND" in req["messages"][0]["content"]
    assert "which oil for the pump bearings" in user
    # every retrieved passage went to the model, numbered as the citations are
    for n, c in enumerate(ans.retrieved, start=1):
        assert f"[{n}] ({c.source}" in user
    assert "ISO VG 68 turbine oil" in user
    # citations only from what was sent; invented numbers vanish from the text
    assert set(ans.citations) <= set(ans.retrieved)
    assert ans.citations[0].source == "pump.md" and ans.citations[0].page == 1
    assert "[9]" not in ans.answer and "[0]" not in ans.answer
    assert {int(x) for x in re.findall(r"\[(\d+)\]", ans.answer)} <= set(
        range(1, len(ans.retrieved) + 1)
    )


def test_model_says_not_found(kb, llm_server):
    llm_server.say("NOT FOUND")
    ans = _assistant(kb, llm_server.url).ask("how often is the conveyor belt tracking checked?")
    assert ans.declined and ans.answer == NOT_FOUND and ans.citations == []


def test_timeout_falls_back_to_the_extractive_answer(kb, llm_server):
    llm_server.say("too late [1]", delay=2.0)
    ans = _assistant(kb, llm_server.url, timeout=0.3).ask("compressor lockout blow-down valve")
    assert not ans.declined and ans.model_used is None
    assert any("timed out" in n and "extractive answer instead" in n for n in ans.notes)
    assert "blow-down valve" in ans.answer and ans.citations[0].source == "compressor.md"


def test_model_down_falls_back_with_a_note(kb):
    ans = _assistant(kb, "http://127.0.0.1:9").ask("pump seal leaking drops per minute")
    assert not ans.declined and ans.model_used is None
    assert any("model failed" in n for n in ans.notes)


def test_a_question_the_documents_cannot_answer_never_reaches_the_model(kb, llm_server):
    ans = _assistant(kb, llm_server.url).ask("TBO of a Continental IO-550-N engine?")
    assert ans.declined and ans.answer.startswith(NOT_FOUND)
    assert llm_server.requests == []


def test_the_assistant_goes_through_the_router_edge_first(
    kb, tmp_path, edge_server, central_server
):
    from plantmind.assist.service import AssistService
    from plantmind.core.routing import LlmSettings
    from plantmind.llm.router import Router

    settings = LlmSettings.model_validate(
        {"endpoints": {
            "edge": {"url": edge_server.url, "model": "edge-small", "retries": 0},
            "central": {"url": central_server.url, "model": "central-large", "retries": 0}}}
    )  # fmt: skip
    edge_server.say("Use ISO VG 68 turbine oil [1].")
    with Router(settings, home=tmp_path / "home") as router:
        service = AssistService(kb, router, requester="test")
        ans = service.ask("which oil for the pump bearings?")
        assert ans.model_used == "edge-small (edge)" and ans.citations
        edge_server.stop()
        ans = service.ask("which oil for the pump bearings?")
        assert ans.model_used is None and "ISO VG 68" in ans.answer
        assert any("routed to fallback" in n and "edge model unreachable" in n for n in ans.notes)
        # the extractive answer is the router's fallback: the call log says what was answered
        assert router.log is not None
        router.log.flush()
        row = router.log.recent(1)[0]
        assert row["placement"] == row["model"] == "fallback" and row["requester"] == "test"
    assert central_server.requests == []  # nothing placed the assistant on the centre


def test_a_router_without_a_model_answers_extractively_without_a_task(kb, tmp_path):
    from plantmind.assist.service import AssistService
    from plantmind.llm.router import Router

    with Router(home=tmp_path / "home") as router:
        ans = AssistService(kb, router).ask("pump seal leaking drops per minute")
        assert not ans.declined and ans.model_used is None
        assert not any("extractive answer instead" in n for n in ans.notes)
        assert router.log is not None
        router.log.flush()
        assert router.log.recent() == []
