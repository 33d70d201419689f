"""The ``llm:`` section of plant.yaml and the policy's decisions: a safe default, fail
closed for confidential data, contradictions found at load time with the rules named."""

from __future__ import annotations

import pytest
import yaml

from plantmind.core.plant import PlantConfigError, example_plant_path, load_plant, parse_plant
from plantmind.core.routing import Endpoints, LlmSettings, ModelEndpoint, RoutingRule, RuleWhen
from plantmind.llm.policy import Policy, Task, UnknownTaskKind

EDGE = {"url": "http://127.0.0.1:1/v1", "model": "small"}
CENTRAL = {"url": "http://127.0.0.1:2/v1", "model": "large"}


def settings(**kw) -> LlmSettings:
    return LlmSettings.model_validate(kw)


def task(kind="assist.answer", sensitivity=None, **kw) -> Task:
    return Task(kind, [{"role": "user", "content": "x" * kw.pop("chars", 40)}], sensitivity, **kw)


def test_default_policy_edge_if_configured_else_fallback():
    d = Policy(settings()).decide(task())
    assert d.placement == "fallback" and d.rule == "default"
    assert "edge model is not configured" in d.reason
    d = Policy(settings(endpoints={"edge": EDGE})).decide(task())
    assert (d.placement, d.tier, d.rule) == ("edge", "edge", "default")
    # a central endpoint alone does not attract anything: nothing to the centre by default
    d = Policy(settings(endpoints={"central": CENTRAL})).decide(task(sensitivity="public"))
    assert d.placement == "fallback"


POLICY = {
    "endpoints": {"edge": EDGE, "central": CENTRAL},
    "kinds": {"report.summarise": {"sensitivity": "public", "latency_budget_ms": 60000}},
    "rules": [
        {"name": "judge-central", "when": {"kinds": ["comply.*"],
         "sensitivities": ["public", "internal"]}, "place": "central", "on_unreachable": "queue"},
        {"name": "big-public", "when": {"sensitivities": ["public"], "min_tokens": 2000},
         "place": "central", "on_unreachable": "edge"},
        {"name": "vision-off", "when": {"kinds": ["vision.explain"]}, "place": "fallback"},
        {"name": "line2", "when": {"requesters": ["line2-*"]}, "place": "edge",
         "on_unreachable": "fail"},
    ],
}  # fmt: skip


def test_rules_first_match_and_fail_closed():
    p = Policy(settings(**POLICY))
    d = p.decide(task("comply.judge", "internal"))
    assert (d.placement, d.rule) == ("central", "judge-central")
    # confidential judge: no central rule matches it, so the edge model (the default) answers
    d = p.decide(task("comply.judge", "confidential"))
    assert (d.placement, d.rule) == ("edge", "default")
    assert p.decide(task("report.summarise", chars=10_000)).rule == "big-public"
    # a kind's sensitivity is a floor: declaring "public" for an internal kind changes nothing
    d = p.decide(task("assist.answer", "public", chars=10_000))
    assert d.sensitivity == "internal" and d.rule == "default"
    assert p.decide(task("vision.explain")).placement == "fallback"
    assert p.decide(task(requester="line2-hmi")).rule == "line2"


def test_unreachable_tiers_follow_on_unreachable():
    p = Policy(settings(**POLICY))
    only_edge = lambda t: t == "edge"  # noqa: E731
    nothing = lambda t: False  # noqa: E731
    d = p.decide(task("comply.judge"), only_edge)
    assert d.placement == "queue" and d.tier == "central" and "unreachable" in d.reason
    d = p.decide(task("comply.judge", can_wait=False), only_edge)
    assert d.placement == "fallback" and "cannot wait" in d.reason
    d = p.decide(task("report.summarise", chars=10_000), only_edge)
    assert d.placement == "edge" and "falls back to the edge" in d.reason
    assert p.decide(task("report.summarise", chars=10_000), nothing).placement == "fallback"
    d = p.decide(task(requester="line2-hmi"), nothing)
    assert d.placement == "refused" and "says fail" in d.reason


def test_a_policy_built_in_code_still_fails_closed():
    # model_construct skips validation: the decision itself must refuse
    rule = RoutingRule.model_construct(name="all-central", when=RuleWhen(), place="central")
    bad = LlmSettings.model_construct(
        endpoints=Endpoints(central=ModelEndpoint(**CENTRAL)), rules=[rule]
    )
    d = Policy(bad).decide(task(sensitivity="restricted"))
    assert d.placement == "refused" and "restricted data never leaves the site" in d.reason
    assert "all-central" in d.reason


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(UnknownTaskKind, match=r"unknown task kind 'assist\.anwser'.*known:"):
        Policy(settings()).decide(task("assist.anwser"))


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            [{"name": "leak", "when": {"kinds": ["comply.*"]}, "place": "central"}],
            ["rule 'leak' (rules[0]): places confidential, restricted tasks on the central"],
        ),
        (
            [{"name": "a", "place": "edge"}, {"name": "a", "place": "fallback",
              "when": {"kinds": ["chat"]}}],
            ["rule 'a' (rules[1]): duplicate name (first at rules[0])"],
        ),
        (
            [{"name": "catch-all", "place": "edge"},
             {"name": "judge", "when": {"kinds": ["comply.judge"]}, "place": "fallback"}],
            ["rule 'judge' (rules[1]) can never match: rule 'catch-all' (rules[0]) comes first"],
        ),
        (
            [{"name": "typo", "when": {"kinds": ["comply.jduge"]}, "place": "edge"}],
            ["rule 'typo' (rules[0]): kind 'comply.jduge' matches no task kind"],
        ),
        (
            [{"name": "odd", "when": {"min_tokens": 500, "max_tokens": 100}, "place": "edge"}],
            ["rule 'odd' (rules[0]): min_tokens 500 > max_tokens 100"],
        ),
        (
            [{"name": "wait", "when": {"kinds": ["comply.judge"], "sensitivities": ["public"]},
              "place": "central", "on_unreachable": "queue"}],
            ["rule 'wait' (rules[0]): queues for the central model, but llm.endpoints.central"],
        ),
    ],
)  # fmt: skip
def test_contradictions_are_found_at_load_time_and_name_the_rules(rules, expected):
    with pytest.raises(ValueError) as info:
        settings(endpoints={"edge": EDGE}, rules=rules)
    for text in expected:
        assert text in str(info.value)


def test_plant_yaml_errors_point_at_the_llm_section(tmp_path):
    doc = yaml.safe_load(example_plant_path().read_text(encoding="utf-8"))
    doc["llm"] = {
        "endpoints": {"central": CENTRAL},
        "rules": [{"name": "all-to-central", "place": "central"}],
    }
    with pytest.raises(PlantConfigError) as info:
        parse_plant(yaml.safe_dump(doc), "plant.yaml")
    msg = str(info.value)
    assert "llm" in msg and "all-to-central" in msg and "confidential" in msg
    doc["llm"] = {"endpoints": {"edge": {**EDGE, "api_key": "sk-secret"}}}
    with pytest.raises(PlantConfigError, match="api_key"):
        parse_plant(yaml.safe_dump(doc), "plant.yaml")


def test_the_example_plant_loads_and_needs_no_model():
    plant = load_plant(example_plant_path())
    assert plant.llm.endpoints.edge is None and plant.llm.endpoints.central is None
    assert Policy(plant.llm).decide(task()).placement == "fallback"


def test_redaction_patterns_are_validated():
    with pytest.raises(ValueError, match="invalid regex"):
        settings(redaction={"patterns": [{"name": "bad", "regex": "E(\\d+"}]})
    with pytest.raises(ValueError, match="either 'terms' or 'regex'"):
        settings(redaction={"patterns": [{"name": "none"}]})
    with pytest.raises(ValueError, match="matches the empty string"):
        settings(redaction={"patterns": [{"name": "empty", "regex": "x*"}]})


def test_the_commented_example_in_the_example_plant_is_valid():
    text = example_plant_path().read_text(encoding="utf-8")
    start = text.index("# llm:")
    block = "\n".join(line[2:] for line in text[start:].splitlines() if line.startswith("# "))
    plant = parse_plant(text + "\n" + block, "example llm section")
    assert [r.name for r in plant.llm.rules] == ["judge-centrally", "big-translations"]
    assert Policy(plant.llm).decide(task("comply.judge", "internal")).placement == "central"
    assert Policy(plant.llm).decide(task("recipe.check", "public")).sensitivity == "restricted"
