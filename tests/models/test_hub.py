"""The hub's model routes over real HTTP with edge agents in the test process: publish,
desired state with an ETag, resumable downloads, activation, inventory, staged rollout with a
failed gate rolled back, manual rollback, key rotation followed by the sites."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from _models_builders import Keys, check_empty_ranges, check_ranges, make_version

from plantmind.bench.rollout import HubThread
from plantmind.models.activators import DetectorSettingsActivator
from plantmind.models.agent import EdgeAgent
from plantmind.models.client import HubClient, HubError
from plantmind.models.rollout import Gate
from plantmind.models.signing import SigningKey, make_root

NAME = "line1-detector"


@pytest.fixture
def hub(tmp_path, keys):
    h = HubThread(tmp_path / "hub", keys.root_env, tick_s=0)
    yield h
    h.close()


def _agent(hub: HubThread, keys: Keys, tmp_path: Path, site: str, **kw) -> EdgeAgent:
    kw.setdefault("healthy_after_s", 0.0)
    return EdgeAgent(hub.url, site, hub.token("operator", site), tmp_path / site,
                     root=keys.root_env, heartbeat_s=0.0, **kw)  # fmt: skip


def _publish(hub, keys, tmp_path, version, weights, **kw):
    env, files, rb = make_version(keys, tmp_path / "pub", version, weights, **kw)
    with HubClient(hub.url, hub.token("engineer")) as c:
        return c.publish(env, files, rb)


def _running(agent: EdgeAgent) -> int | None:
    slot = agent.slots.get(NAME)
    return slot.current.version if slot and slot.current else None


def test_publish_needs_an_engineer_and_refuses_bad_signatures(hub, keys, tmp_path):
    env, files, _ = make_version(keys, tmp_path, 1, [0.5])
    with HubClient(hub.url, hub.token("viewer")) as c, pytest.raises(HubError, match="403"):
        c.publish(env, files)
    with HubClient(hub.url, hub.token("engineer")) as c:
        env["signed"]["version"] = 2  # changed after signing
        with pytest.raises(HubError, match="bad-signature"):
            c.publish(env, files)
        env["signed"]["version"] = 1
        assert c.publish(env, files)["version"] == 1
        assert c.models()[0]["versions"][0]["version"] == 1
        # the blob upload checks its hash
        r = c.client.put("/api/models/blobs/" + "0" * 64, content=b"x")
        assert r.status_code == 422


def test_desired_etag_range_download_and_inventory(hub, keys, tmp_path):
    _publish(hub, keys, tmp_path, 1, [0.5, 0.5])
    hub.registry.set_alias("default", NAME, champion=1)
    token = hub.token("operator", "s1")
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}) as c:
        r = c.get("/api/sites/s1/desired")
        assert r.status_code == 200 and r.json()["models"][0]["version"] == 1
        etag = r.headers["etag"]
        assert c.get("/api/sites/s1/desired", headers={"If-None-Match": etag}).status_code == 304
        assert c.get("/api/sites/s2/desired").status_code == 403  # another site's token
        f = r.json()["models"][0]["manifest"]["signed"]["files"][1]
        whole = c.get(f"/api/models/blobs/{f['sha256']}").content
        part = c.get(f"/api/models/blobs/{f['sha256']}", headers={"Range": "bytes=10-"})
        assert part.status_code == 206 and part.content == whole[10:]
    hub.registry.set_alias("default", NAME, champion=1)
    a = _agent(hub, keys, tmp_path, "s1")
    try:
        a.sync_once()
        assert _running(a) == 1
        inv = {r["site"]: r for r in HubClient(hub.url, hub.token("viewer")).inventory()}
        m = inv["s1"]["models"][0]
        assert (m["name"], m["version"], m["state"]) == (NAME, 1, "healthy")
        assert len(m["digest"]) == 64 and m["since"] > 0
    finally:
        a.close()


def test_a_cut_download_resumes_from_where_it_stopped(hub, keys, tmp_path):
    env, files, rb = make_version(keys, tmp_path / "pub", 1, [0.1] * 5000)  # ~25 kB settings
    with HubClient(hub.url, hub.token("engineer")) as c:
        c.publish(env, files, rb)
    hub.registry.set_alias("default", NAME, champion=1)
    a = _agent(hub, keys, tmp_path, "s1")
    f = next(e for e in env["signed"]["files"] if e["path"] == "settings.json")
    data = files["settings.json"].read_bytes()
    part = a.blobs.partial / f"{f['sha256']}.part"
    part.write_bytes(data[:7000])  # what a cut download left
    seen: list[str | None] = []
    orig = a.client.stream

    def spy(method, url, **kw):
        seen.append(kw.get("headers", {}).get("Range"))
        return orig(method, url, **kw)

    a.client.stream = spy  # type: ignore[method-assign]
    try:
        a.sync_once()
        assert "bytes=7000-" in seen
        assert _running(a) == 1
    finally:
        a.close()


def test_a_canary_that_fails_the_gate_is_rolled_back(hub, keys, tmp_path):
    sites = ["s1", "s2", "s3"]
    _publish(hub, keys, tmp_path, 1, [0.25] * 4, threshold=0.9)
    agents = [_agent(hub, keys, tmp_path, s) for s in sites]
    ctl = hub.rollout
    try:
        ctl.deploy(NAME, 1, sites, canary=0, bake_s=0)
        for a in agents:
            a.sync_once()
        ctl.tick()
        assert hub.registry.alias("default", NAME)["champion"] == 1

        _publish(hub, keys, tmp_path, 2, [0.25] * 4, threshold=0.1)  # alerts on everything
        d = ctl.deploy(NAME, 2, sites, canary=1, bake_s=30)
        for a in agents:
            a.sync_once()
        assert [_running(a) for a in agents] == [2, 1, 1]  # only the canary
        assert ctl.get(d["id"])["state"] == "baking"
        import random

        rng = random.Random(0)
        for a in agents:
            for _ in range(200):
                a.slots[NAME].process([rng.random() for _ in range(4)],
                                      DetectorSettingsActivator.detect)  # fmt: skip
            a.send_report()
        ctl.tick()
        got = ctl.get(d["id"])
        assert got["state"] == "rolled_back" and "alert rate" in got["reason"]
        for a in agents:
            a.sync_once()
        assert [_running(a) for a in agents] == [1, 1, 1]
        assert agents[0].deployments[NAME]["state"] in ("rolled_back", "healthy")
        ctl.tick()
        assert ctl.get(d["id"])["rollback_complete"] is not None
    finally:
        for a in agents:
            a.close()


def test_a_healthy_rollout_goes_canary_bake_rest_and_alerts_carry_the_version(hub, keys, tmp_path):
    sites = ["s1", "s2", "s3"]
    _publish(hub, keys, tmp_path, 1, [0.25] * 4)
    agents = [_agent(hub, keys, tmp_path, s) for s in sites]
    ctl = hub.rollout
    try:
        ctl.deploy(NAME, 1, sites, canary=0, bake_s=0)
        for a in agents:
            a.sync_once()
        _publish(hub, keys, tmp_path, 2, [0.3] * 4, threshold=1.0)
        d = ctl.deploy(NAME, 2, sites, canary=1, bake_s=0.5, gate=Gate(min_items=10))
        for a in agents:
            a.sync_once()
        for a in agents:
            for _ in range(50):
                a.slots[NAME].process([0.5] * 4, DetectorSettingsActivator.detect)
            a.send_report()
        time.sleep(0.6)
        ctl.tick()
        assert ctl.get(d["id"])["state"] == "rolling"
        for a in agents:
            a.sync_once()
        ctl.tick()
        assert ctl.get(d["id"])["state"] == "done"
        assert hub.registry.alias("default", NAME)["champion"] == 2
        assert [_running(a) for a in agents] == [2, 2, 2]
        out = agents[2].slots[NAME].process([1.0] * 4, DetectorSettingsActivator.detect)
        assert out["alert"] and out["model_version"] == 2 and len(out["model_digest"]) == 64
        # manual rollback: back to v1, with the rollback statement published with v2
        with HubClient(hub.url, hub.token("engineer")) as c:
            assert "v1" in c.rollback(NAME)
        for a in agents:
            a.sync_once()
        assert [_running(a) for a in agents] == [1, 1, 1]
        # the last two versions stay on the site
        assert sorted(p.name for p in (tmp_path / "s1" / "installed" / NAME).iterdir()) == [
            "1",
            "2",
        ]
    finally:
        for a in agents:
            a.close()


def test_a_site_that_cannot_activate_reports_failed_and_the_rollout_stops(hub, keys, tmp_path):
    sites = ["s1", "s2"]
    _publish(hub, keys, tmp_path, 1, [0.25] * 4)
    agents = [_agent(hub, keys, tmp_path, s) for s in sites]
    ctl = hub.rollout
    try:
        ctl.deploy(NAME, 1, sites, canary=0, bake_s=0)
        for a in agents:
            a.sync_once()
        _publish(hub, keys, tmp_path, 2, [0.25] * 4, golden_shift=1.0)  # golden fails
        d = ctl.deploy(NAME, 2, sites, canary=1, bake_s=5)
        agents[0].sync_once()
        assert _running(agents[0]) == 1
        assert agents[0].deployments[NAME]["state"] == "failed"
        ctl.tick()
        got = ctl.get(d["id"])
        assert got["state"] == "rolled_back" and "failed" in got["reason"]
    finally:
        for a in agents:
            a.close()


def test_sites_follow_a_key_rotation(hub, keys, tmp_path):
    _publish(hub, keys, tmp_path, 1, [0.25] * 4)
    hub.registry.set_alias("default", NAME, champion=1)
    a = _agent(hub, keys, tmp_path, "s1")
    try:
        a.sync_once()
        new_targets = SigningKey.generate()
        env2 = make_root([keys.root], [new_targets.public_hex], version=2)
        with HubClient(hub.url, hub.token("engineer")) as c:
            assert c.add_root(env2) == 2
        env, files, rb = make_version(keys, tmp_path / "p2", 2, [0.3] * 4, signer=new_targets)
        with HubClient(hub.url, hub.token("engineer")) as c:
            c.publish(env, files, rb)
        hub.registry.set_alias("default", NAME, champion=2)
        a.sync_once()
        assert a.root.version == 2 and _running(a) == 2
        # the old targets key is revoked: a version it signs is refused
        env3, files3, _ = make_version(keys, tmp_path / "p3", 3, [0.3] * 4)
        with HubClient(hub.url, hub.token("engineer")) as c, pytest.raises(HubError):
            c.publish(env3, files3)
    finally:
        a.close()


def test_a_hub_without_a_registry_answers_503_and_reports_are_scoped(tmp_path, hub):
    from fastapi.testclient import TestClient

    from plantmind.central.service import CentralService, default_db_url

    bare = CentralService(default_db_url(tmp_path / "bare"), tmp_path / "bare")
    try:
        with TestClient(bare.app()) as c:
            h = {"Authorization": f"Bearer {bare.tokens.create('viewer')}"}
            assert c.get("/api/models", headers=h).status_code == 503
    finally:
        bare.close()
    with httpx.Client(base_url=hub.url) as c:
        h1 = {"Authorization": f"Bearer {hub.token('operator', 's1')}"}
        assert c.post("/api/sites/s2/models/status", json={}, headers=h1).status_code == 403
        assert c.post("/api/sites/s1/models/status", json={"models": []}, headers=h1).json()["ok"]
        viewer = {"Authorization": f"Bearer {hub.token('viewer')}"}
        assert c.post("/api/sites/s1/models/status", json={}, headers=viewer).status_code == 403
        assert c.get("/api/models/inventory", headers=viewer).json()[0]["site"] == "s1"
        assert c.get("/api/models/inventory").status_code == 401


def test_a_download_past_its_timeout_is_reported_timed_out(hub, keys, tmp_path):
    env, files, rb = make_version(keys, tmp_path / "pub", 1, [0.1] * 20000)  # ~100 kB
    with HubClient(hub.url, hub.token("engineer")) as c:
        c.publish(env, files, rb)
    hub.registry.set_alias("default", NAME, champion=1)
    a = _agent(hub, keys, tmp_path, "s1", chunk_bytes=4096, chunk_pause_s=0.05,
               deploy_timeout_s=0.2)  # fmt: skip
    try:
        a.sync_once()
        assert _running(a) is None
        assert a.deployments[NAME]["state"] == "timed_out"
        rep = hub.registry.site_report("s1")
        assert rep is not None and rep["deployments"][0]["state"] == "timed_out"
    finally:
        a.close()


def test_the_hub_service_serves_the_registry_that_models_init_made(tmp_path, keys):
    """`plantmind models init` makes <home>/models; `central run` (CentralService) then
    serves it: a published version is listed, the 503 names the command when it is absent."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from plantmind.central.service import CentralService, default_db_url
    from plantmind.cli import app as cli

    home = tmp_path / "hub"
    bare = CentralService(default_db_url(home), home)
    try:
        with TestClient(bare.app()) as c:
            h = {"Authorization": f"Bearer {bare.tokens.create('viewer')}"}
            r = c.get("/api/models", headers=h)
            assert r.status_code == 503 and "plantmind models init" in r.json()["detail"]
    finally:
        bare.close()
    root = tmp_path / "root.json"
    root.write_text(json.dumps(keys.root_env))
    res = CliRunner().invoke(cli, ["models", "init", "--root", str(root), "--home", str(home)])
    assert res.exit_code == 0, res.output
    svc = CentralService(default_db_url(home), home)
    try:
        env, files, rb = make_version(keys, tmp_path / "pub", 1, [0.5])
        assert svc.models is not None
        for f in files.values():
            svc.models.blobs.put_file(f)
        svc.models.publish(env, rb)
        with TestClient(svc.app()) as c:
            h = {"Authorization": f"Bearer {svc.tokens.create('viewer')}"}
            listed = c.get("/api/models", headers=h)
            assert listed.status_code == 200
            assert [m["name"] for m in listed.json()] == [NAME]
    finally:
        svc.close()


def test_a_local_blob_folder_answers_every_range_like_a_url_store(hub, keys, tmp_path):
    """Range on the local folder (FileResponse): one byte range 206, an unsatisfiable one
    416 with ``bytes */size``, anything else (``--5``, ``1_0``, several ranges) the whole
    file, never a dropped connection (the same table as the URL store's test)."""
    whole = bytes(range(256)) * 4
    sha = hub.registry.blobs.put_bytes(whole)
    empty = hub.registry.blobs.put_bytes(b"")
    assert hub.registry.blobs.local_path(sha) is not None
    token = hub.token("viewer")
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}) as c:
        check_ranges(c, sha, whole)
        check_empty_ranges(c, empty)
        assert c.get("/api/models/blobs/" + "0" * 64).status_code == 404


def test_a_relative_blob_folder_in_config_is_under_the_registry_home(tmp_path, keys, monkeypatch):
    """``"blobs": "store"`` in ``<home>/models/config.json`` is ``<home>/models/store``,
    wherever the hub is started; ``models init --blobs rel`` names a folder from the
    working directory and keeps it absolute."""
    from typer.testing import CliRunner

    from plantmind.cli import app as cli
    from plantmind.models.registry import Registry
    from plantmind.models.store import ContentStore

    home = tmp_path / "hub" / "models"
    home.mkdir(parents=True)
    (home / "config.json").write_text(json.dumps({"blobs": "store"}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    reg = Registry(home, keys.root_env)
    assert isinstance(reg.blobs, ContentStore) and reg.blobs.root == home / "store"
    sha = reg.blobs.put_bytes(b"weights")
    assert (home / "store" / "sha256" / sha[:2] / sha).is_file()
    assert not (elsewhere / "store").exists()

    root = tmp_path / "root.json"
    root.write_text(json.dumps(keys.root_env))
    other = tmp_path / "other-hub"
    args = ["models", "init", "--root", str(root), "--home", str(other), "--blobs", "files"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert json.loads((other / "models" / "config.json").read_text())["blobs"] == str(
        elsewhere / "files"
    )
    assert Registry(other / "models").blobs.local_path(sha) == (
        elsewhere / "files" / "sha256" / sha[:2] / sha
    )


def test_models_init_refuses_to_move_a_registry_off_the_files_it_holds(tmp_path, keys):
    """``init --blobs`` elsewhere while ``<home>/models/blobs/sha256`` holds files the new
    store lacks is refused, naming the folder; once they are copied over it goes on."""
    import shutil

    from typer.testing import CliRunner

    from plantmind.cli import app as cli
    from plantmind.models.registry import Registry

    root = tmp_path / "root.json"
    root.write_text(json.dumps(keys.root_env))
    home = tmp_path / "hub"
    args = ["models", "init", "--root", str(root), "--home", str(home)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    sha = Registry(home / "models").blobs.put_bytes(b"weights")
    folder = home / "models" / "blobs" / "sha256"
    new = tmp_path / "new-store"
    res = CliRunner().invoke(cli, [*args, "--blobs", str(new)])
    assert res.exit_code == 2, res.output
    assert str(folder) in res.output and "Copy" in res.output and "404" in res.output
    assert not (home / "models" / "config.json").exists()  # the location is unchanged
    assert Registry(home / "models").blobs.has(sha)  # still served from the folder
    # the same store again is no move
    res = CliRunner().invoke(cli, [*args, "--blobs", str(home / "models" / "blobs")])
    assert res.exit_code == 0, res.output
    shutil.copytree(folder, new / "sha256", dirs_exist_ok=True)
    res = CliRunner().invoke(cli, [*args, "--blobs", str(new)])
    assert res.exit_code == 0, res.output
    reg = Registry(home / "models")
    assert reg.blobs.has(sha) and reg.blobs.local_path(sha) == new / "sha256" / sha[:2] / sha
