"""The router between two real OpenAI-compatible servers (an "edge" and a "central"
stand-in, each recording every request): what reaches the centre, redaction, the centre
going away and coming back, bad answers and slow models."""

from __future__ import annotations

import threading
import time

import pytest

from plantmind.core.routing import LlmSettings
from plantmind.llm.policy import Task, UnknownTaskKind
from plantmind.llm.router import Router

SECRETS = ["Jane Doe", "E12345", "Globex"]


def make_settings(edge_url: str, central_url: str, **kw) -> LlmSettings:
    fast = {"timeout_s": 2.0, "retries": 1, "backoff_s": 0.01}
    doc = {
        "endpoints": {
            "edge": {"url": edge_url, "model": "edge-small", **fast},
            "central": {"url": central_url, "model": "central-large", **fast},
        },
        "rules": [
            {"name": "judge-central", "when": {"kinds": ["comply.judge"],
             "sensitivities": ["public", "internal"]}, "place": "central",
             "on_unreachable": "queue"},
            {"name": "translate-central", "when": {"kinds": ["language.translate"],
             "sensitivities": ["public", "internal"]}, "place": "central",
             "on_unreachable": "edge"},
        ],
        "redaction": {"patterns": [
            {"name": "staff", "kind": "employee", "terms": ["Jane Doe"]},
            {"name": "staff-ids", "kind": "employee", "regex": r"\bE\d{5}\b"},
            {"name": "customers", "kind": "customer", "terms": ["Globex"]},
        ]},
        "reconnect_after_s": 0.2,
        **kw,
    }  # fmt: skip
    return LlmSettings.model_validate(doc)


@pytest.fixture
def router(tmp_path, edge_server, central_server):
    edge_server.echo()
    central_server.echo()
    r = Router(make_settings(edge_server.url, central_server.url), home=tmp_path)
    yield r
    r.close()


def ask(kind: str, text: str, sensitivity=None, **kw) -> Task:
    return Task(kind, [{"role": "user", "content": text}], sensitivity, **kw)


def test_confidential_tasks_never_reach_the_central_server(router, edge_server, central_server):
    for sens in ("public", "internal", "confidential", "restricted"):
        res = router.run(ask("comply.judge", f"clause check ({sens} data)", sens))
        assert res.outcome == "ok"
        assert res.placement == ("central" if sens in ("public", "internal") else "edge")
    seen = central_server.seen()
    assert "(public data)" in seen and "(internal data)" in seen
    assert "confidential" not in seen and "restricted" not in seen
    assert len(central_server.requests) == 2 and len(edge_server.requests) == 2


def test_a_policy_that_would_leak_is_refused_before_sending(tmp_path, central_server):
    from plantmind.core.routing import Endpoints, ModelEndpoint, RoutingRule, RuleWhen

    rule = RoutingRule.model_construct(name="leaky", when=RuleWhen(), place="central")
    bad = LlmSettings.model_construct(
        endpoints=Endpoints(central=ModelEndpoint(url=central_server.url, model="m")),
        rules=[rule],
    )
    with Router(bad, home=tmp_path) as r:
        res = r.run(ask("chat", "restricted recipe", "restricted"), fallback=lambda t: "local")
        assert res.outcome == "refused" and res.text is None
        assert "never leaves the site" in res.reason
    assert central_server.requests == []


def test_redacted_terms_never_reach_the_centre_and_come_back(router, central_server):
    text = "Did Jane Doe (E12345) follow the Globex lockout clause?"
    res = router.run(ask("comply.judge", text))
    assert res.placement == "central" and res.outcome == "ok"
    seen = central_server.seen()
    for s in SECRETS:
        assert s not in seen
    assert "[EMPLOYEE_" in seen and "[CUSTOMER_" in seen
    # the stand-in echoes what it got; the router restored the originals
    assert res.text == f"central: {text}"
    # streamed through the centre: restored across delta boundaries as well
    stream = router.stream(ask("comply.judge", text))
    assert "".join(stream) == f"central: {text}"
    assert all(s not in central_server.seen() for s in SECRETS)


def test_central_down_goes_to_edge_or_queue_and_queued_tasks_run_exactly_once(
    router, edge_server, central_server
):
    central_server.stop()
    t0 = time.perf_counter()
    translated = router.run(ask("language.translate", "Pumpe prüfen"))
    assert translated.placement == "edge" and translated.text == "edge: Pumpe prüfen"
    assert "central model unreachable" in translated.reason
    queued = [router.run(ask("comply.judge", f"clause {i}")) for i in range(5)]
    assert {q.outcome for q in queued} == {"queued"}
    assert time.perf_counter() - t0 < 3.0  # the centre is known to be down: no waiting
    # an interactive caller is never queued
    now = router.run(ask("comply.judge", "now", can_wait=False), fallback=lambda t: "local")
    assert now.placement == "fallback" and now.text == "local"

    completed: list[str] = []
    lock = threading.Lock()

    def on_complete(task_id: str, payload: dict) -> None:
        with lock:
            completed.append(task_id)

    router.on_complete.append(on_complete)
    router.start()
    time.sleep(0.5)  # the drainer probes the centre and finds it still down
    assert completed == [] and router.queue.counts() == {"pending": 5}
    central_server.start()  # same port: the centre is back
    deadline = time.monotonic() + 10
    while len(completed) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # would a task run twice?
    ids = [q.task_id for q in queued]
    assert sorted(completed) == sorted(ids)
    keys = central_server.idempotency_keys()
    assert sorted(keys) == sorted(ids)  # each task reached the centre exactly once
    assert router.queue.counts() == {"done": 5}
    done = router.queue.get(ids[2])
    assert done.result["text"] == "central: clause 2" and done.result["tier"] == "central"


@pytest.mark.parametrize(
    ("reply", "outcome", "note"),
    [
        (lambda b: (200, "{not json", 0.0), "error", "not a chat-completions response"),
        (lambda b: (200, {"choices": []}, 0.0), "error", "not a chat-completions response"),
        (lambda b: (500, "boom", 0.0), "error", "HTTP 500"),
        (lambda b: (200, {}, 3.0), "timeout", "exceeded the latency budget"),
    ],
)
def test_bad_answers_and_slow_models_give_the_fallback(router, edge_server, reply, outcome, note):
    edge_server.script(reply)
    t0 = time.perf_counter()
    res = router.run(
        ask("assist.answer", "q", latency_budget_ms=400), fallback=lambda t: "extractive"
    )
    assert time.perf_counter() - t0 < 1.5  # nothing hangs: bounded by the budget
    assert res.placement == "fallback" and res.outcome == outcome and res.text == "extractive"
    assert note in res.reason
    router.log.flush()
    (row,) = router.log.recent(1)
    assert row["outcome"] == outcome and note in row["reason"] and row["content"] is None


def test_unknown_kind_is_rejected_and_logged(router):
    with pytest.raises(UnknownTaskKind, match=r"unknown task kind 'comply\.jduge'"):
        router.run(ask("comply.jduge", "x"))
    router.log.flush()
    assert router.log.recent(1)[0]["outcome"] == "rejected"


def test_stats_summarise_the_log_without_content(router, central_server):
    router.run(ask("comply.judge", "Jane Doe checked it"))
    router.run(ask("assist.answer", "which oil?"))
    central_server.stop()
    router.run(ask("language.translate", "hallo"))
    router.log.flush()
    s = router.log.stats()
    assert s["calls"] == 3 and s["by_placement"] == {"central": 1, "edge": 2}
    assert s["by_outcome"] == {"ok": 3} and s["tokens"]["prompt"] == 3
    assert s["overhead_ms"]["p99"] is not None
    assert "Jane Doe" not in str(router.log.recent(10))  # no content unless the site asks


def test_content_is_logged_only_when_enabled(tmp_path, edge_server, central_server):
    edge_server.echo()
    s = make_settings(edge_server.url, central_server.url, log_content=True)
    with Router(s, home=tmp_path) as r:
        r.run(ask("assist.answer", "which oil?"))
        r.log.flush()
        assert "which oil?" in r.log.recent(1)[0]["content"]


def test_chat_model_view_for_the_assistant(router, edge_server):
    from plantmind.llm.client import LLMError

    view = router.chat_model("assist.answer")
    assert view.chat([{"role": "user", "content": "hi"}]).text == "edge: hi"
    edge_server.script(lambda b: (500, "down", 0.0))
    with pytest.raises(LLMError, match="routed to fallback by rule 'default'"):
        view.chat([{"role": "user", "content": "hi"}])
    with pytest.raises(UnknownTaskKind):
        router.chat_model("no.such.kind")
