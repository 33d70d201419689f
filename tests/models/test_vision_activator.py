"""An inspection station's model as a signed model version (kind ``vision-station``): golden
images computed at the centre and reproduced at the site before the swap, a version whose
golden images do not reproduce refused with ``golden``, a damaged graph with ``load``; the
stations follow the verified versions and every inspection names the version that scored it;
``plantmind inspect train --publish`` signs and publishes a trained station."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

_MISSING = [m for m in ("torch", "onnx", "onnxruntime", "PIL") if not importlib.util.find_spec(m)]
pytestmark = pytest.mark.skipif(
    bool(_MISSING), reason=f"station models need the [vision-train] extra ({_MISSING} missing)"
)

NAME = "qs-line1"
STATION = "QS-T"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> list[Path]:
    from plantmind.demo.parts import write_parts

    return write_parts(tmp_path_factory.mktemp("good"), 24, seed=1, size=(80, 96))


@pytest.fixture(scope="module")
def station_model(tmp_path_factory, good) -> Path:
    """A small station model folder, as ``VisionStations.train`` leaves it."""
    from plantmind.vision.train import TrainConfig, train_model

    out = tmp_path_factory.mktemp("station") / "model"
    cfg = TrainConfig(size=48, widths=(8, 16, 32), steps=20, batch_size=8, holdout=0.3, seed=3)
    train_model(good, out, STATION, cfg)
    return out


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _publish(reg: Any, keys: Any, folder: Path, version: int, golden: dict[str, Any],
             work: Path) -> dict[str, Any]:  # fmt: skip
    from plantmind.models.manifest import build_manifest, build_rollback

    files = _files(folder)
    gpath = work / f"golden-{version}.json"
    gpath.write_text(json.dumps(golden))
    files["golden.json"] = gpath
    env = build_manifest(NAME, "vision-station", version, files, [keys.targets],
                         golden={"path": "golden.json", "tolerance": 1e-4})  # fmt: skip
    for f in files.values():
        reg.blobs.put_file(f)
    reg.publish(env, build_rollback(NAME, version, 1, [keys.targets]) if version > 1 else None)
    return env


def _import(reg: Any, site: Any, version: int, work: Path) -> dict[str, Any]:
    from plantmind.models.bundle import export_bundle, import_bundle

    (row,) = import_bundle(export_bundle(reg, work / f"b{version}.tar", [(NAME, version)]), site)
    return row


def _darken(item: dict[str, str]) -> dict[str, str]:
    """The same golden image with a dark square pasted over its middle (a "defect")."""
    from PIL import Image

    img = np.array(Image.open(io.BytesIO(base64.b64decode(item["image_b64"]))))
    h, w = img.shape[:2]
    img[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 0
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return {"image_b64": base64.b64encode(buf.getvalue()).decode()}


def test_a_station_model_travels_signed_and_the_stations_name_it(
    station_model, good, keys, tmp_path
):
    from plantmind.core.plant import Station
    from plantmind.models.activators import VisionStationActivator, golden_doc, golden_images
    from plantmind.models.agent import SiteModels
    from plantmind.models.manifest import Manifest
    from plantmind.models.registry import Registry
    from plantmind.vision.runtime import InspectionModel
    from plantmind.vision.station import VisionStations

    act = VisionStationActivator()
    inputs = golden_images(good[:3])
    doc = golden_doc(act, _files(station_model), inputs)
    assert len(doc["expected"]) == 3 and all(0.0 <= s <= 1.0 for s in doc["expected"])
    # a golden image scores what the station model gives the image itself (PNG is lossless)
    direct = InspectionModel(station_model).score(base64.b64decode(inputs[0]["image_b64"]))
    assert doc["expected"][0] == pytest.approx(direct.score, abs=1e-9)

    reg = Registry(tmp_path / "reg", keys.root_env)
    env = _publish(reg, keys, station_model, 1, doc, tmp_path)
    site = SiteModels(tmp_path / "site", root=keys.root_env)
    vision = VisionStations(tmp_path / "edge", [Station(id=STATION, name="line 1 QS")])
    vision.follow_models(site)
    try:
        assert _import(reg, site, 1, tmp_path)["ok"]
        loaded = site.slots[NAME].current
        assert loaded is not None and loaded.version == 1
        assert loaded.digest == Manifest.from_signed(env["signed"]).digest
        assert act.score(loaded.model, inputs) == pytest.approx(doc["expected"], abs=1e-6)

        rec, _ = vision.inspect(STATION, good[5])
        ident = {"name": NAME, "version": 1, "digest": loaded.digest}
        assert rec.model == ident
        assert rec.score == pytest.approx(InspectionModel(station_model).score(good[5]).score)
        (back,) = vision.results(STATION)
        assert back.model == ident and back.to_dict()["model"] == ident  # stored, read back
        # the station works on its own copy: a review refits thresholds there, and the
        # verified version on the site's disk still checks out
        vision.review(rec.id, "good", "test")
        assert site.verified_install(site.check_offer(env)) is not None
    finally:
        vision.close()

    # a model trained at the node claims no registry version
    vision2 = VisionStations(tmp_path / "edge2", [Station(id=STATION, name="line 1 QS")])
    try:
        shutil.copytree(station_model, vision2.model_dir(STATION))
        rec2, _ = vision2.inspect(STATION, good[5])
        assert rec2.model is None and vision2.results(STATION)[0].model is None
    finally:
        vision2.close()


def test_golden_images_that_do_not_reproduce_are_refused(station_model, good, keys, tmp_path):
    from plantmind.core.plant import Station
    from plantmind.models.activators import VisionStationActivator, golden_doc, golden_images
    from plantmind.models.agent import SiteModels
    from plantmind.models.registry import Registry
    from plantmind.vision.station import VisionStations

    act = VisionStationActivator()
    files = _files(station_model)
    inputs = golden_images(good[:3])
    reg = Registry(tmp_path / "reg", keys.root_env)
    _publish(reg, keys, station_model, 1, golden_doc(act, files, inputs), tmp_path)
    # v2: one golden image changed after its score was computed (then everything signed)
    doc = golden_doc(act, files, inputs)
    doc["inputs"][1] = _darken(doc["inputs"][1])
    assert abs(act.score(act.load(files, None), doc["inputs"])[1] - doc["expected"][1]) > 1e-3
    _publish(reg, keys, station_model, 2, doc, tmp_path)
    # v3: a damaged graph (signed as it is)
    broken = tmp_path / "broken"
    shutil.copytree(station_model, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    _publish(reg, keys, broken, 3, golden_doc(act, files, inputs), tmp_path)

    site = SiteModels(tmp_path / "site", root=keys.root_env)
    vision = VisionStations(tmp_path / "edge", [Station(id=STATION, name="line 1 QS")])
    vision.follow_models(site)
    try:
        assert _import(reg, site, 1, tmp_path)["ok"]
        for version, reason in ((2, "golden"), (3, "load")):
            row = _import(reg, site, version, tmp_path)
            assert not row["ok"]
            assert site.refusals[-1]["reason"] == reason, site.refusals[-1]
            assert site.deployments[NAME]["state"] == "failed"
            cur = site.slots[NAME].current
            assert cur is not None and cur.version == 1  # the running model untouched
            assert vision.model(STATION).registry["version"] == 1  # and the station's
        assert "golden input 1" in site.refusals[-2]["message"]
    finally:
        vision.close()


def test_inspect_train_publishes_a_station_with_golden_images(good, keys, tmp_path):
    from plantmind.bench.rollout import HubThread
    from plantmind.cli import app
    from plantmind.models.agent import SiteModels
    from plantmind.models.bundle import export_bundle, import_bundle
    from plantmind.models.manifest import Manifest

    runner = CliRunner()
    kdir = tmp_path / "keys"
    assert runner.invoke(app, ["models", "keygen", "--keys", str(kdir)]).exit_code == 0
    root = json.loads((kdir / "root.json").read_text())
    gdir = tmp_path / "good"
    gdir.mkdir()
    for p in good:
        shutil.copy(p, gdir / p.name)
    args = ["inspect", "train", "--station", "QS-P", "--good", str(gdir), "--steps", "10",
            "--size", "48", "--method", "station", "--home", str(tmp_path / "home")]  # fmt: skip
    r = runner.invoke(app, [*args, "--publish", "1"])
    assert r.exit_code != 0 and "--publish needs --keys" in r.output
    hub = HubThread(tmp_path / "hub", root, tick_s=0)
    try:
        env = {"PLANTMIND_HUB": hub.url, "PLANTMIND_TOKEN": hub.token("engineer")}
        r = runner.invoke(app, [*args, "--publish", "1", "--name", NAME, "--keys", str(kdir)],
                          env=env)  # fmt: skip
        assert r.exit_code == 0, r.output
        assert f"published {NAME} v1" in r.output
        signed = hub.registry.manifest(NAME, 1)["signed"]
        m = Manifest.from_signed(signed)
        assert m.kind == "vision-station" and m.golden is not None
        assert m.golden["tolerance"] == pytest.approx(1e-4)
        paths = {f.path for f in m.files}
        assert {"model.json", "model.onnx", "golden.json"} <= paths
        assert signed["metrics"]["n_train"] > 0 and "threshold_fail" in signed["metrics"]
        golden = json.loads(hub.registry.blobs.read_bytes(
            next(f.sha256 for f in m.files if f.path == "golden.json")))  # fmt: skip
        assert len(golden["inputs"]) == 4 and len(golden["expected"]) == 4
        bundle = export_bundle(hub.registry, tmp_path / "b.tar", [(NAME, 1)])
    finally:
        hub.close()
    site = SiteModels(tmp_path / "site", root=root)
    (row,) = import_bundle(bundle, site)
    assert row["ok"], row  # the site reproduced the golden scores before the swap


def _meta(vision: Any) -> dict[str, Any]:
    return json.loads((vision.model_dir(STATION) / "model.json").read_text())


def _site_following_v1(station_model: Path, good: list[Path], keys: Any, work: Path
                       ) -> tuple[dict[str, Any], Any, list[Any], Any, Any]:  # fmt: skip
    """v1 of the station model signed with golden images at a hub registry, and a site whose
    stations follow its verified versions (v1 not yet imported)."""
    from plantmind.core.plant import Station
    from plantmind.models.activators import VisionStationActivator, golden_doc, golden_images
    from plantmind.models.agent import SiteModels
    from plantmind.models.registry import Registry
    from plantmind.vision.station import VisionStations

    doc = golden_doc(VisionStationActivator(), _files(station_model), golden_images(good[:3]))
    reg = Registry(work / "reg", keys.root_env)
    _publish(reg, keys, station_model, 1, doc, work)
    stations = [Station(id=STATION, name="line 1 QS")]
    site = SiteModels(work / "site", root=keys.root_env)
    vision = VisionStations(work / "edge", stations)
    vision.follow_models(site)
    return doc, reg, stations, site, vision


def test_a_restart_keeps_the_installed_version_and_its_refitted_thresholds(
    station_model, good, keys, tmp_path
):
    """The site announces its current version at every start: the station already running
    that version keeps its copy (thresholds refitted by reviews included); a new version is
    installed."""
    from plantmind.models.agent import SiteModels
    from plantmind.vision.station import VisionStations

    doc, reg, stations, site, vision = _site_following_v1(station_model, good, keys, tmp_path)
    try:
        assert _import(reg, site, 1, tmp_path)["ok"]
        delivered = _meta(vision)["thresholds"]
        rec, _ = vision.inspect(STATION, good[5])
        vision.review(rec.id, "good", "test")
        refitted = _meta(vision)["thresholds"]
        assert refitted["n_good"] == delivered["n_good"] + 1
    finally:
        vision.close()

    # restart: new site and stations on the same homes, v1 announced again by restore()
    site = SiteModels(tmp_path / "site", root=keys.root_env)
    vision = VisionStations(tmp_path / "edge", stations)
    vision.follow_models(site)
    try:
        site.restore()
        assert site.slots[NAME].current is not None  # it was announced
        assert _meta(vision)["thresholds"] == refitted
        assert vision.model(STATION).registry["version"] == 1
        assert vision.model(STATION).thresholds.to_dict() == refitted
        # a new version is still put in service
        _publish(reg, keys, station_model, 2, doc, tmp_path)
        assert _import(reg, site, 2, tmp_path)["ok"]
        assert vision.model(STATION).registry["version"] == 2
        assert _meta(vision)["thresholds"] == delivered
    finally:
        vision.close()


def test_a_model_trained_here_after_the_install_outlives_a_restart(
    station_model, good, keys, tmp_path
):
    from plantmind.models.agent import SiteModels
    from plantmind.vision.station import VisionStations
    from plantmind.vision.train import TrainConfig

    doc, reg, stations, site, vision = _site_following_v1(station_model, good, keys, tmp_path)
    try:
        assert _import(reg, site, 1, tmp_path)["ok"]
        installed = vision.installed(STATION)
        assert installed is not None and installed["version"] == 1
        cfg = TrainConfig(size=48, widths=(8, 16, 32), steps=5, batch_size=8, holdout=0.3, seed=4)
        local_id = vision.train(STATION, good, cfg).meta.model_id
        assert vision.model(STATION).registry is None
        assert vision.model(STATION).meta.model_id == local_id
    finally:
        vision.close()

    site = SiteModels(tmp_path / "site", root=keys.root_env)
    vision = VisionStations(tmp_path / "edge", stations)
    vision.follow_models(site)
    try:
        site.restore()  # v1 announced again: the operator's newer model stays
        assert site.slots[NAME].current is not None
        assert vision.model(STATION).registry is None
        assert vision.model(STATION).meta.model_id == local_id
        _publish(reg, keys, station_model, 2, doc, tmp_path)
        assert _import(reg, site, 2, tmp_path)["ok"]  # a new version replaces it
        assert vision.model(STATION).registry["version"] == 2
        assert vision.installed(STATION)["version"] == 2
    finally:
        vision.close()


def test_a_refit_racing_an_install_does_not_write_over_the_new_version(
    station_model, good, tmp_path, monkeypatch
):
    """A version swapped in between the refit's read of the model and its save: the old
    instance does not write its model.json over the new version's, nor become current again;
    the refit is the new model's."""
    from plantmind.core.plant import Station
    from plantmind.vision.station import VisionStations

    v2 = tmp_path / "v2"
    shutil.copytree(station_model, v2)
    meta = json.loads((v2 / "model.json").read_text())
    meta["model_id"] = "delivered-v2"
    (v2 / "model.json").write_text(json.dumps(meta))
    vision = VisionStations(tmp_path / "edge", [Station(id=STATION, name="line 1 QS")])
    try:
        vision.install_model(STATION, station_model, {"name": NAME, "version": 1, "digest": "d1"})
        old = vision.model(STATION)
        real = vision.model

        def racing(station_id: str) -> Any:
            got = real(station_id)
            monkeypatch.setattr(vision, "model", real)  # once
            vision.install_model(station_id, v2, {"name": NAME, "version": 2, "digest": "d2"})
            return got

        monkeypatch.setattr(vision, "model", racing)
        thr = vision.refit_thresholds(STATION)
        now = vision.model(STATION)
        assert now is not old and now.registry["version"] == 2
        assert now.meta.model_id == "delivered-v2"
        written = _meta(vision)
        assert written["model_id"] == "delivered-v2"
        assert written["thresholds"] == thr.to_dict() == now.thresholds.to_dict()
    finally:
        vision.close()
