"""An alert raised after a detector update carries the new version: the edge node follows
the site's verified models (bundle import here; a pull goes through the same activation),
a refused version leaves the stamped one as it was, and a restart stamps the version
restored from disk."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from _models_builders import make_version

from plantmind.core.plant import example_plant_path, load_plant
from plantmind.detect.robust import RobustConfig
from plantmind.edge.node import EdgeNode
from plantmind.models.agent import SiteModels
from plantmind.models.bundle import export_bundle, import_bundle
from plantmind.models.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "edge"))
from edge_batches import ticks

NAME = "line1-detector"


def _raise(node: EdgeNode, t0: float, rng: np.random.Generator):
    node.ingest(ticks(node.index, t0, 20, rng, bump={"P-101.bearing_temperature": 0.5}))
    (alert,) = node.tracker.open_alerts()
    return alert


def test_alerts_after_a_detector_update_carry_its_version(tmp_path, keys):
    reg = Registry(tmp_path / "reg", keys.root_env)
    for v in (1, 2):
        # v2 also changes the node's alert policy: it must wait 4 hot samples, not 3
        policy = {"persist": 4, "critical": 0.95} if v == 2 else None
        env, files, rb = make_version(keys, tmp_path, v, [0.5, 0.5], alert_policy=policy)
        for f in files.values():
            reg.blobs.put_file(f)
        reg.publish(env, rb)
    bad_env, bad_files, _ = make_version(keys, tmp_path / "bad", 3, [0.5, 0.5], golden_shift=1.0)
    for f in bad_files.values():
        reg.blobs.put_file(f)
    reg.publish(bad_env)

    plant = load_plant(example_plant_path())
    node = EdgeNode(
        plant, tmp_path / "edge", restore=False, detector_config=RobustConfig(warmup=100)
    )
    site = SiteModels(tmp_path / "site", root=keys.root_env)
    node.follow_models(site)
    rng = np.random.default_rng(0)
    try:
        node.learn(ticks(node.index, 0.0, 300, rng))
        before = _raise(node, 300.0, rng)
        assert "model" not in before.details  # no delivered model yet: nothing claimed
        assert import_bundle(export_bundle(reg, tmp_path / "b1.tar", [(NAME, 1)]), site)[0]["ok"]
        assert import_bundle(export_bundle(reg, tmp_path / "b2.tar", [(NAME, 2)]), site)[0]["ok"]
        # a version that fails its golden check is refused: the stamp stays on v2
        assert not import_bundle(export_bundle(reg, tmp_path / "b3.tar", [(NAME, 3)]), site)[0][
            "ok"
        ]
        assert node.tracker.model is not None and node.tracker.model["version"] == 2
        assert node.tracker.model["digest"] == site.slots[NAME].current.digest
        assert node.tracker.policy.persist == 4 and node.tracker.policy.critical == 0.95
    finally:
        node.close()

    # after a restart the version restored from disk is the one stamped
    node2 = EdgeNode(
        plant, tmp_path / "edge2", restore=False, detector_config=RobustConfig(warmup=100)
    )
    try:
        site2 = SiteModels(tmp_path / "site", root=keys.root_env)
        node2.follow_models(site2)
        site2.restore()
        node2.learn(ticks(node2.index, 0.0, 300, rng))
        after = _raise(node2, 300.0, rng)
        assert after.details["model"]["name"] == NAME and after.details["model"]["version"] == 2
        assert node2.tracker.policy.persist == 4
    finally:
        node2.close()


def test_a_detector_version_with_a_bad_alert_policy_is_refused(tmp_path, keys):
    reg = Registry(tmp_path / "reg", keys.root_env)
    env, files, rb = make_version(keys, tmp_path, 1, [0.5], alert_policy={"persistence": 3})
    for f in files.values():
        reg.blobs.put_file(f)
    reg.publish(env, rb)
    site = SiteModels(tmp_path / "site", root=keys.root_env)
    row = import_bundle(export_bundle(reg, tmp_path / "b.tar", [(NAME, 1)]), site)[0]
    assert not row["ok"] and "persistence" in str(row)
    assert NAME not in site.slots  # nothing half-activated


def test_edge_service_pulls_a_detector_version_and_its_alerts_carry_it(tmp_path, keys):
    """`plantmind edge run --models-hub`: the agent runs in the edge process, pulls over
    HTTP, and the running node's next alert names the delivered version."""
    import asyncio
    import time

    from plantmind.bench.rollout import HubThread
    from plantmind.edge.service import EdgeService
    from plantmind.models.client import HubClient

    hub = HubThread(tmp_path / "hub", keys.root_env, tick_s=0)
    plant = load_plant(example_plant_path())
    service = EdgeService(
        plant, tmp_path / "edge", site="riverside", restore=False,
        detector_config=RobustConfig(warmup=100),
    )  # fmt: skip
    try:
        env, files, rb = make_version(keys, tmp_path / "pub", 1, [0.5], alert_policy={"persist": 2})
        with HubClient(hub.url, hub.token("engineer")) as c:
            c.publish(env, files, rb)
        hub.rollout.deploy(NAME, 1, ["riverside"], canary=0, bake_s=0)
        agent = service.follow_hub_models(
            hub.url, hub.token("operator", "riverside"), root=keys.root_env, interval_s=0.2
        )
        deadline = time.monotonic() + 20
        while service.node.tracker.model is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.node.tracker.model is not None, agent.report()
        assert service.node.tracker.policy.persist == 2
        rng = np.random.default_rng(1)
        service.learn(ticks(service.node.index, 0.0, 300, rng))
        alert = _raise(service.node, 300.0, rng)
        assert alert.details["model"] == {
            "name": NAME, "version": 1, "digest": agent.slots[NAME].current.digest,
        }  # fmt: skip
    finally:
        asyncio.run(service.close())
        hub.close()
