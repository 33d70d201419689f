"""Translation through the router against a real OpenAI-compatible stand-in server: the
glossary's terms reach the prompt, the model's answer is the translation; without a model
or when it fails, the report says the translation was not done (never a made-up one)."""

from __future__ import annotations

import pytest

from plantmind.core.routing import LlmSettings
from plantmind.language.check import check_message
from plantmind.llm.router import Router

GERMAN = "Der Wellendurchmesser soll 20 mm betragen. Bitte liefern Sie 200 Stück Kugellager."


def settings(central_url: str, *, edge_url: str | None = None) -> LlmSettings:
    fast = {"timeout_s": 2.0, "retries": 0, "backoff_s": 0.01}
    endpoints = {"central": {"url": central_url, "model": "central-large", **fast}}
    if edge_url:
        endpoints["edge"] = {"url": edge_url, "model": "edge-small", **fast}
    return LlmSettings.model_validate({
        "endpoints": endpoints,
        "rules": [{"name": "translate-central", "when": {"kinds": ["language.translate"],
                   "sensitivities": ["public", "internal"]}, "place": "central",
                   "on_unreachable": "fallback"}],
    })  # fmt: skip


@pytest.fixture
def router(central_server):
    r = Router(settings(central_server.url))
    yield r
    r.close()


def test_translation_through_the_central_model(router, central_server, spec, glossary):
    central_server.say("The shaft diameter should be 20 mm. Please deliver 200 ball bearings.")
    r = check_message(GERMAN, spec=spec, glossary=glossary, router=router)
    tr = r.translation
    assert tr.text == "The shaft diameter should be 20 mm. Please deliver 200 ball bearings."
    assert tr.placement == "central" and tr.model == "central-large" and tr.target == "en"
    [req] = central_server.requests
    system, user = req["messages"]
    assert user["content"] == GERMAN
    assert "Wellendurchmesser -> shaft diameter" in system["content"]
    assert "Kugellager -> ball bearing" in system["content"]
    assert "from de into en" in system["content"]
    # the checks do not depend on the translation
    assert r.codes() == ["weakened_modality"]
    assert not any(n.what == "translation" for n in r.not_analysed)


def test_a_failing_model_gives_no_translation_and_says_why(router, central_server, spec):
    central_server.script(lambda body: (500, "model crashed", 0.0))
    r = check_message(GERMAN, spec=spec, router=router)
    assert r.translation.text is None
    [na] = [n for n in r.not_analysed if n.what == "translation"]
    assert na.why.startswith("translation not done:") and "central model failed" in na.why


def test_an_unreachable_model_gives_no_translation(spec):
    r = Router(settings("http://127.0.0.1:9"))
    try:
        rep = check_message(GERMAN, spec=spec, router=r)
    finally:
        r.close()
    assert rep.translation.text is None
    assert "unreachable" in rep.translation.reason


def test_without_a_model_the_report_says_so(spec):
    r = Router(LlmSettings())
    try:
        rep = check_message(GERMAN, spec=spec, router=r)
    finally:
        r.close()
    assert rep.translation.text is None
    assert rep.translation.reason == "translation not done: no model configured"
    rep = check_message(GERMAN, spec=spec)
    assert rep.translation.reason == "translation not done: no central model configured"


def test_no_request_when_already_in_the_target_language(router, central_server, spec):
    r = check_message("The shaft diameter shall be 20 mm exactly.", spec=spec, router=router)
    assert central_server.requests == []
    assert r.translation.text is None and "not needed" in r.translation.reason
    assert not any(n.what == "translation" for n in r.not_analysed)


def test_target_language_can_be_chosen(router, central_server, glossary):
    central_server.say("轴径应为20毫米。")
    r = check_message(
        "The shaft diameter shall be 20 mm.", glossary=glossary, router=router,
        target_language="zh",
    )  # fmt: skip
    assert r.translation.text == "轴径应为20毫米。" and r.translation.target == "zh"
    assert "shaft diameter -> 轴径" in central_server.requests[0]["messages"][0]["content"]
