"""``plantmind models ...`` end to end against a hub over HTTP (keygen, publish, list, show,
deploy, status, rollback, export, import, key rotation) and the bundle's own refusals."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from _models_builders import detector_files, make_version
from typer.testing import CliRunner

from plantmind.bench.rollout import HubThread
from plantmind.cli import app
from plantmind.cli.models import parse_duration
from plantmind.models.agent import SiteModels
from plantmind.models.bundle import export_bundle, import_bundle
from plantmind.models.registry import Registry
from plantmind.models.signing import TrustedRoot, TrustError

runner = CliRunner()
NAME = "line1-detector"


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    r = runner.invoke(app, list(args), env=env)
    assert r.exit_code == 0, r.output
    return r.output


def test_parse_duration():
    assert parse_duration("90") == 90 and parse_duration("1m30s") == 90
    assert parse_duration("2h") == 7200 and parse_duration("365d") == 365 * 86400
    with pytest.raises(Exception, match="duration"):
        parse_duration("soon")


def test_the_models_commands_against_a_hub(tmp_path):
    keys = tmp_path / "keys"
    _run("models", "keygen", "--keys", str(keys))
    assert runner.invoke(app, ["models", "keygen", "--keys", str(keys)]).exit_code == 2
    root_env = json.loads((keys / "root.json").read_text())
    hub = HubThread(tmp_path / "hub", root_env, tick_s=0)
    try:
        env = {"PLANTMIND_HUB": hub.url, "PLANTMIND_TOKEN": hub.token("engineer")}
        for v in (1, 2):
            files = detector_files(tmp_path / f"v{v}", [0.2 * v] * 3)
            _run("models", "publish", NAME, str(v), "--keys", str(keys), "--golden",
                 "golden.json", "--file", str(files["settings.json"]), "--file",
                 str(files["golden.json"]), env=env)  # fmt: skip
        out = _run("models", "list", env=env)
        assert f"{NAME} (detector): v1, v2" in out
        assert '"version": 2' in _run("models", "show", NAME, "2", env=env)
        _run("models", "deploy", NAME, "1", "--sites", "s1,s2", "--canary", "0", "--bake", "0s",
             env=env)  # fmt: skip
        site = SiteModels(tmp_path / "site", root=root_env, healthy_after_s=0)
        # the air-gapped path: export at the centre, import at the site
        bundle = tmp_path / "b.tar"
        _run("models", "export", f"{NAME}@1", "--bundle", str(bundle), "--registry",
             str(tmp_path / "hub" / "models"))  # fmt: skip
        out = _run("models", "import", str(bundle), "--home", str(tmp_path / "site"))
        assert f"{NAME} v1: active" in out
        assert f"{NAME} v1 [default] rolling" in _run("models", "status", env=env)
        assert "stopped" in _run("models", "rollback", NAME, env=env)
        # rotation: a new targets key, pushed to the hub
        _run("models", "keygen", "--keys", str(keys), "--rotate", "--hub", hub.url, env=env)
        assert hub.registry.roots() == [1, 2]
        assert TrustedRoot(root_env).update(hub.registry.root_envelope(2)).version == 2
        files = detector_files(tmp_path / "v3", [0.7] * 3)
        _run("models", "publish", NAME, "3", "--keys", str(keys), "--golden", "golden.json",
             "--file", str(files["settings.json"]), "--file", str(files["golden.json"]),
             env=env)  # fmt: skip
        # a bundle carries the new root, so the air-gapped site follows the rotation
        _run("models", "export", NAME, "--bundle", str(bundle), "--registry",
             str(tmp_path / "hub" / "models"))  # fmt: skip
        out = _run("models", "import", str(bundle), "--home", str(tmp_path / "site"))
        assert f"{NAME} v3: active" in out
        del site
    finally:
        hub.close()


def test_bundles_refuse_what_a_pull_refuses(tmp_path, keys):
    reg = Registry(tmp_path / "reg", keys.root_env)
    for v in (1, 2):
        env, files, rb = make_version(keys, tmp_path, v, [0.5, 0.5])
        for f in files.values():
            reg.blobs.put_file(f)
        reg.publish(env, rb)
    site = SiteModels(tmp_path / "site", root=keys.root_env)
    whole = export_bundle(reg, tmp_path / "b2.tar", [(NAME, 2)])
    assert import_bundle(whole, site)[0]["ok"]

    # cut short anywhere, even exactly between two tar members
    data = whole.read_bytes()
    for n in (len(data) // 3, 700):
        cut = tmp_path / f"cut{n}.tar"
        cut.write_bytes(data[:n])
        with pytest.raises(TrustError, match="truncated"):
            import_bundle(cut, site)
    with tarfile.open(whole) as t:
        names = t.getnames()
        first = t.getmember(names[1])
    boundary = tmp_path / "boundary.tar"
    with tarfile.open(whole) as src, tarfile.open(boundary, "w") as dst:
        for m in src.getmembers()[:2]:
            dst.addfile(m, src.extractfile(m))
    assert first is not None
    with pytest.raises(TrustError, match="truncated"):
        import_bundle(boundary, site)

    # an older version in a bundle, without its rollback statement: refused, v2 kept
    old = export_bundle(reg, tmp_path / "b1.tar", [(NAME, 1)])
    (reg.home / "rollbacks" / NAME / "2.json").unlink()
    old_no_rb = export_bundle(reg, tmp_path / "b1n.tar", [(NAME, 1)])
    row = import_bundle(old_no_rb, site)[0]
    assert not row["ok"] and "no signed rollback" in row["reason"]
    assert site.slots[NAME].current.version == 2
    # with it (exported while the statement was there): a rollback, allowed
    assert import_bundle(old, site)[0]["ok"] and site.slots[NAME].current.version == 1
    assert site.deployments[NAME]["state"] == "rolled_back"


def test_restore_falls_back_to_the_previous_version_when_a_file_rots(tmp_path, keys):
    site = SiteModels(tmp_path / "site", root=keys.root_env)
    for v in (1, 2):
        env, files, rb = make_version(keys, tmp_path, v, [0.1 * v])

        def fetch(f, files: dict[str, Path] = files) -> None:
            site.blobs.put_file(next(p for p in files.values() if p.name == Path(f.path).name))

        assert site.apply(env, rb, fetch)
    bad = tmp_path / "site" / "installed" / NAME / "2" / "settings.json"
    bad.write_text(bad.read_text().replace("0.2", "0.3"))
    again = SiteModels(tmp_path / "site")
    again.restore()
    assert again.slots[NAME].current.version == 1
    assert any(r["reason"] in ("bad-hash", "bad-size") for r in again.refusals)
