"""The rollout controller on its own (site reports written straight into the registry): the
gate's arithmetic, timeouts, a failed site, supersession, manual rollback needing a signed
statement."""

from __future__ import annotations

import pytest
from _models_builders import make_version

from plantmind.models.registry import Registry, RegistryError
from plantmind.models.rollout import Gate, RolloutController, evaluate_gate

NAME = "line1-detector"


def _metrics(items: int, alerts: int = 0, errors: int = 0, lat: float = 1.0) -> dict:
    return {"items": items, "alerts": alerts, "errors": errors, "latency_ms_p95": lat}


def test_the_gate():
    g = Gate(min_items=50)
    champ = _metrics(1000, alerts=10)
    assert evaluate_gate(g, _metrics(10), champ)[0] is None
    assert evaluate_gate(g, _metrics(100, alerts=1), champ)[0] is True
    ok, why = evaluate_gate(g, _metrics(100, alerts=20), champ)
    assert ok is False and "alert rate" in why
    ok, why = evaluate_gate(g, _metrics(100, lat=30.0), champ)
    assert ok is False and "latency" in why
    # errors fail at once, before min_items
    ok, why = evaluate_gate(g, _metrics(10, errors=6), champ)
    assert ok is False and "error rate" in why
    # one unlucky alert in the first items does not fail a good candidate
    assert evaluate_gate(g, _metrics(50, alerts=1), _metrics(1000, alerts=3))[0] is True
    assert evaluate_gate(g, _metrics(50, alerts=40), _metrics(1000, alerts=3))[0] is False


@pytest.fixture
def reg(tmp_path, keys):
    r = Registry(tmp_path / "reg", keys.root_env)
    for v in (1, 2, 3):
        env, files, rb = make_version(keys, tmp_path, v, [0.5])
        for f in files.values():
            r.blobs.put_file(f)
        r.publish(env, rb if v > 1 else None)
    return r


def _runs(reg: Registry, site: str, version: int, state: str = "active", **m) -> None:
    reg.report(site, {"models": [{"name": NAME, "version": version, "state": state,
                                  "metrics": _metrics(**m) if m else {}}],
                      "deployments": []})  # fmt: skip


def test_a_canary_that_never_activates_times_out_and_rolls_back(reg):
    ctl = RolloutController(reg)
    reg.set_alias("default", NAME, champion=1)
    d = ctl.deploy(NAME, 2, ["a", "b"], canary=1, bake_s=10, activate_timeout_s=5)
    assert reg.desired("a")[0]["models"][0]["version"] == 2
    assert reg.desired("b")[0]["models"][0]["version"] == 1
    ctl.tick(now=d["started"] + 6)
    got = ctl.get(d["id"])
    assert got["state"] == "timed_out"
    assert reg.desired("a")[0]["models"][0]["version"] == 1
    # going back to v1 after having been offered v2 needs the statement: it is sent along
    assert reg.desired("a")[0]["models"][0]["rollback"]["signed"]["from_version"] >= 2


def test_a_failed_site_stops_the_rollout(reg):
    ctl = RolloutController(reg)
    reg.set_alias("default", NAME, champion=1)
    d = ctl.deploy(NAME, 2, ["a", "b"], canary=1, bake_s=10)
    reg.report("a", {"models": [], "deployments": [{"name": NAME, "version": 2,
                                                    "state": "failed"}]})  # fmt: skip
    ctl.tick()
    got = ctl.get(d["id"])
    assert got["state"] == "rolled_back" and "failed" in got["reason"]


def test_bake_then_the_rest_in_batches_then_champion(reg):
    ctl = RolloutController(reg)
    reg.set_alias("default", NAME, champion=1)
    sites = ["a", "b", "c", "d"]
    d = ctl.deploy(NAME, 2, sites, canary=1, bake_s=10, batch=2, gate=Gate(min_items=10))
    t0 = d["started"]
    _runs(reg, "a", 2, items=100)
    for s in sites[1:]:
        _runs(reg, s, 1, items=100)
    ctl.tick(now=t0 + 1)
    assert ctl.get(d["id"])["state"] == "baking"
    ctl.tick(now=t0 + 5)
    assert ctl.get(d["id"])["state"] == "baking"  # the bake is not over
    ctl.tick(now=t0 + 12)
    assert ctl.get(d["id"])["state"] == "rolling"
    assert reg.alias("default", NAME)["candidate_sites"] == ["a", "b", "c"]
    _runs(reg, "b", 2)
    _runs(reg, "c", 2)
    ctl.tick(now=t0 + 13)
    assert reg.alias("default", NAME)["candidate_sites"] == sites
    _runs(reg, "d", 2)
    ctl.tick(now=t0 + 14)
    assert ctl.get(d["id"])["state"] == "done"
    assert reg.alias("default", NAME)["champion"] == 2


def test_a_new_deployment_supersedes_one_in_progress(reg):
    ctl = RolloutController(reg)
    reg.set_alias("default", NAME, champion=1)
    d2 = ctl.deploy(NAME, 2, ["a"], canary=1, bake_s=100)
    d3 = ctl.deploy(NAME, 3, ["a"], canary=1, bake_s=100)
    assert ctl.get(d2["id"])["state"] == "superseded"
    assert ctl.get(d3["id"])["state"] == "canary"


def test_manual_rollback_needs_a_signed_statement(reg, tmp_path, keys):
    ctl = RolloutController(reg)
    reg.set_alias("default", NAME, champion=3)
    with pytest.raises(RegistryError, match="no earlier champion"):
        ctl.rollback(NAME)
    assert "champion is v2" in ctl.rollback(NAME, to_version=2)  # v3's statement: floor 1
    (reg.home / "rollbacks" / NAME / "3.json").unlink()
    (reg.home / "rollbacks" / NAME / "2.json").unlink()
    reg.set_alias("default", NAME, champion=3)
    with pytest.raises(RegistryError, match="no signed rollback"):
        ctl.rollback(NAME, to_version=1)
