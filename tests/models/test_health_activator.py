"""A health (remaining-life) artifact as a signed model version: published from its folder
with golden scores computed at the centre, installed at a site, scored the same there."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from plantmind.bench.rollout import HubThread
from plantmind.cli import app
from plantmind.health.artifact import save_model
from plantmind.health.rul import RulModel
from plantmind.models.agent import SiteModels
from plantmind.models.bundle import export_bundle, import_bundle

# the generated fleets of tests/health, loaded by path (test folders are not packages)
_spec = importlib.util.spec_from_file_location(
    "_models_health_data", Path(__file__).parents[1] / "health" / "_health_data.py"
)
assert _spec is not None and _spec.loader is not None
_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_data)
FAST, make_fleet = _data.FAST, _data.make_fleet


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> tuple[Path, RulModel]:
    cfg = dataclasses.replace(FAST, max_iter=15, n_folds=2)
    model = RulModel(cfg).fit(make_fleet(12, seed=0))
    folder = tmp_path_factory.mktemp("rul") / "model"
    save_model(model, folder)
    return folder, model


def test_a_health_artifact_travels_signed_and_scores_the_same(artifact, tmp_path):
    folder, model = artifact
    keys = tmp_path / "keys"
    assert CliRunner().invoke(app, ["models", "keygen", "--keys", str(keys)]).exit_code == 0
    root = json.loads((keys / "root.json").read_text())
    rows = np.random.default_rng(0).normal(size=(4, len(model.feature_names))).tolist()
    (tmp_path / "inputs.json").write_text(json.dumps(rows))
    hub = HubThread(tmp_path / "hub", root, tick_s=0)
    try:
        env = {"PLANTMIND_HUB": hub.url, "PLANTMIND_TOKEN": hub.token("engineer")}
        args = ["models", "publish", "pump-rul", "1", "--keys", str(keys), "--kind", "health",
                "--dir", str(folder), "--golden-inputs", str(tmp_path / "inputs.json")]  # fmt: skip
        r = CliRunner().invoke(app, args, env=env)
        assert r.exit_code == 0, r.output
        bundle = export_bundle(hub.registry, tmp_path / "b.tar", [("pump-rul", None)])
    finally:
        hub.close()
    site = SiteModels(tmp_path / "site", root=root)
    (row,) = import_bundle(bundle, site)
    assert row["ok"], row
    loaded = site.slots["pump-rul"].current
    assert loaded is not None and loaded.version == 1
    x = np.asarray(rows)
    np.testing.assert_allclose(loaded.model.predict_features(x), model.predict_features(x))
