"""Results name the registry version of the model that produced them: live health summaries
after a health version was put into service (none for a local artifact), and routed calls
answered by a tier's registry model (result and log row; none for a configured model)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from plantmind.connectors.simulator import PlantSimulator
from plantmind.core.plant import example_plant_path, load_plant
from plantmind.core.routing import LlmSettings
from plantmind.demo.pump import PUMP_MODEL_CONFIG, simulate_bearing_histories
from plantmind.edge.node import EdgeNode
from plantmind.health.artifact import save_model
from plantmind.health.rul import RulModel
from plantmind.health.service import HealthService
from plantmind.llm.client import ChatResult
from plantmind.llm.policy import Task
from plantmind.llm.router import Router
from plantmind.models.activators import LoadedModel
from plantmind.models.agent import SiteModels
from plantmind.models.bundle import export_bundle, import_bundle
from plantmind.models.manifest import build_manifest
from plantmind.models.registry import Registry

T0 = 1_767_600_000.0


@pytest.fixture(scope="module")
def plant():
    return load_plant(example_plant_path())


@pytest.fixture(scope="module")
def pump(plant) -> RulModel:
    hist = simulate_bearing_histories(plant, n_runs=6, seed=1)
    cfg = dataclasses.replace(PUMP_MODEL_CONFIG, max_iter=15, n_folds=2)
    m = RulModel(cfg).fit(hist)
    m.trained_on.update(cycle_s=10.0, asset_kind="centrifugal_pump")
    return m


def _run(service: HealthService, node: EdgeNode, sim: PlantSimulator, seconds: float
         ) -> list[dict[str, Any]]:  # fmt: skip
    """The last summaries after ``seconds`` more of the plant."""
    got: list[list[dict[str, Any]]] = []
    service.listeners.append(got.append)
    until = sim.now + seconds
    while sim.now < until:
        node.ingest(sim.step(30))
    service.listeners.remove(got.append)
    return got[-1]


def test_health_summaries_name_the_registry_version(plant, pump, keys, tmp_path):
    folder = save_model(pump, tmp_path / "artifact")
    files = {p.name: p for p in sorted(folder.iterdir())}
    env = build_manifest("pump-rul", "health", 3, files, [keys.targets])
    reg = Registry(tmp_path / "reg", keys.root_env)
    for f in files.values():
        reg.blobs.put_file(f)
    reg.publish(env)
    site = SiteModels(tmp_path / "site", root=keys.root_env)

    node = EdgeNode(plant, tmp_path / "edge", restore=False)
    service = HealthService(plant, {}).attach(node)
    service.follow_models(site)
    sim = PlantSimulator(plant, seed=3, start_ts=T0)
    try:
        before = {s["asset_id"]: s for s in _run(service, node, sim, 120)}
        assert before["P-101"]["method"] != "model" and "model" not in before["P-101"]
        (row,) = import_bundle(export_bundle(reg, tmp_path / "b.tar", [("pump-rul", 3)]), site)
        assert row["ok"], row
        ident = {"name": "pump-rul", "version": 3, "digest": site.slots["pump-rul"].current.digest}
        after = {s["asset_id"]: s for s in _run(service, node, sim, 600)}
        assert after["P-101"]["method"] == "model" and after["P-101"]["model"] == ident
        assert service.get("P-101").to_dict()["model"] == ident
        # an asset of another kind is not claimed by the pump's model
        other = [s for s in after.values() if s["kind"] != "centrifugal_pump"]
        assert other and all("model" not in s for s in other)
        # v4 was trained on 5 s cycles, this monitor buckets 10 s: refused before the swap
        # (the site's inventory keeps naming v3, the version health really uses)
        pump.trained_on["cycle_s"] = 5.0
        try:
            folder4 = save_model(pump, tmp_path / "artifact4")
        finally:
            pump.trained_on["cycle_s"] = 10.0
        files4 = {p.name: p for p in sorted(folder4.iterdir())}
        for f in files4.values():
            reg.blobs.put_file(f)
        reg.publish(build_manifest("pump-rul", "health", 4, files4, [keys.targets]))
        (row,) = import_bundle(export_bundle(reg, tmp_path / "b4.tar", [("pump-rul", 4)]), site)
        assert not row["ok"], row
        assert site.refusals[-1]["reason"] == "incompatible", site.refusals[-1]
        assert (
            "5 s cycles" in site.refusals[-1]["message"] and "10 s" in site.refusals[-1]["message"]
        )
        assert site.current_doc()["pump-rul"]["version"] == 3
        assert site.deployments and any(
            d.get("version") == 4 and d["state"] == "failed" for d in site.deployments.values()
        )
        # v5 is for an asset kind this site does not have: refused too, v3 keeps serving
        pump.trained_on["asset_kind"] = "gas_turbine"
        try:
            folder5 = save_model(pump, tmp_path / "artifact5")
        finally:
            pump.trained_on["asset_kind"] = "centrifugal_pump"
        files5 = {p.name: p for p in sorted(folder5.iterdir())}
        for f in files5.values():
            reg.blobs.put_file(f)
        reg.publish(build_manifest("pump-rul", "health", 5, files5, [keys.targets]))
        (row,) = import_bundle(export_bundle(reg, tmp_path / "b5.tar", [("pump-rul", 5)]), site)
        assert not row["ok"], row
        assert site.refusals[-1]["reason"] == "incompatible", site.refusals[-1]
        assert "would serve no asset" in site.refusals[-1]["message"]
        assert site.current_doc()["pump-rul"]["version"] == 3
        later = {s["asset_id"]: s for s in _run(service, node, sim, 60)}
        assert later["P-101"]["model"] == ident
    finally:
        node.close()

    # the same model from a local artifact: its summaries claim no registry version
    node2 = EdgeNode(plant, tmp_path / "edge2", restore=False)
    local = HealthService(plant, {"centrifugal_pump": pump}).attach(node2)
    try:
        sim2 = PlantSimulator(plant, seed=3, start_ts=T0)
        p101 = {s["asset_id"]: s for s in _run(local, node2, sim2, 600)}["P-101"]
        assert p101["method"] == "model" and "model" not in p101
    finally:
        node2.close()


class _Echo:
    """A chat client answering with its own name."""

    available = True

    def __init__(self, name: str) -> None:
        self.name = name

    def chat(self, messages: Any, **_: Any) -> ChatResult:
        return ChatResult(f"from {self.name}", self.name, 1.0, {"completion_tokens": 2})

    def close(self) -> None:
        pass


def test_routed_calls_name_the_registry_version_of_the_tier(tmp_path):
    router = Router(LlmSettings(), home=tmp_path, clients={"edge": _Echo("configured")})
    try:
        task = Task("assist.answer", [{"role": "user", "content": "which oil?"}])
        res = router.run(task)
        assert res.placement == "edge" and res.model == "configured" and res.model_ref is None
        ref = {"name": "plant-lm", "version": 4, "digest": "ab" * 32}
        router.use_model("edge", _Echo("delivered"), ref)
        res2 = router.run(Task("assist.answer", [{"role": "user", "content": "again"}]))
        assert res2.text == "from delivered" and res2.model_ref == ref
        assert res2.to_dict()["model_ref"] == ref
        router.log.flush()
        newest, oldest = router.log.recent(2)
        assert newest["model_ref"] == ref and newest["model"] == "delivered"
        assert oldest["model_ref"] is None
        # a model without registry identity clears the stamp
        router.use_model("edge", _Echo("local"))
        assert (
            router.run(Task("assist.answer", [{"role": "user", "content": "x"}])).model_ref is None
        )
        with pytest.raises(ValueError, match="tier"):
            router.use_model("cloud", _Echo("x"))
    finally:
        router.close()


class _Listeners:
    """What a router follows: the site models' ``listeners`` (SiteModels' interface)."""

    def __init__(self) -> None:
        self.listeners: list[Any] = []

    def announce(self, loaded: LoadedModel, kind: str) -> None:
        for listener in self.listeners:
            listener(loaded, kind)


def test_a_router_tier_follows_the_delivered_language_model(tmp_path):
    site = _Listeners()
    router = Router(LlmSettings(), home=tmp_path)
    router.follow_models(site)
    try:
        ask = Task("assist.answer", [{"role": "user", "content": "q"}], can_wait=False)
        assert router.run(ask).placement == "fallback"  # no edge model yet
        site.announce(LoadedModel("plant-lm", 2, "cd" * 32, _Echo("v2")), "llm-base")
        site.announce(LoadedModel("pump-rul", 9, "ef" * 32, object()), "health")  # not a tier's
        res = router.run(Task("assist.answer", [{"role": "user", "content": "q"}]))
        assert res.placement == "edge" and res.text == "from v2"
        assert res.model_ref == {"name": "plant-lm", "version": 2, "digest": "cd" * 32}
    finally:
        router.close()
