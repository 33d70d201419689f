"""``plantmind bench cmapss`` on a generated fleet in NASA's layout, and ``plantmind health
train|predict|list`` on a generic CSV; bad input gives a clear error, not a traceback."""

from __future__ import annotations

import csv

import numpy as np
from _health_data import make_fleet, truncate
from typer.testing import CliRunner

from plantmind.bench.cmapss import nasa_score, run_cmapss
from plantmind.cli import app
from plantmind.health.history import RunHistory
from plantmind.health.rul import RulConfig

runner = CliRunner()


def _write_nasa(path, h: RunHistory, unit0: int = 1) -> None:
    """26 space-separated columns: unit, cycle, 3 settings, 21 sensors (ours padded)."""
    b = h.bounds()
    with path.open("w") as fh:
        for a in range(h.n_assets):
            for i in range(b[a], b[a + 1]):
                sensors = list(h.signals[i]) + [100.0] * (21 - h.signals.shape[1])
                vals = [unit0 + a, int(h.time[i]), *h.settings[i], *sensors]
                fh.write(
                    " ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in vals) + " \n"
                )


def test_nasa_score_penalises_late_more():
    assert nasa_score(np.array([10.0]), np.array([0.0])) > nasa_score(
        np.array([0.0]), np.array([10.0])
    )
    assert nasa_score(np.array([5.0]), np.array([5.0])) == 0.0


def test_bench_cmapss_layout(tmp_path):
    data = tmp_path / "cmapss"
    data.mkdir()
    _write_nasa(data / "train_FD009.txt", make_fleet(24, seed=0))
    test, true = truncate(make_fleet(20, seed=4), seed=2)
    _write_nasa(data / "test_FD009.txt", test)
    (data / "RUL_FD009.txt").write_text("\n".join(f"{int(t)}" for t in true) + "\n")
    cfg = RulConfig(cap=60.0, n_folds=4, max_iter=40, learning_rate=0.1, min_samples_leaf=20)
    summary = run_cmapss(data, "fd009", tmp_path / "out", config=cfg)
    with (tmp_path / "out" / "predictions_FD009.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 20 and list(rows[0])[:4] == ["unit", "rul_pred", "rul_low", "rul_high"]
    assert summary["capped"]["rmse"] < np.std(np.minimum(true, 60.0))
    assert set(summary) >= {
        "as_given",
        "mean_interval_width",
        "train_seconds",
        "inference_ms_per_unit",
    }
    missing = runner.invoke(app, ["bench", "cmapss", "--data", str(data), "--subset", "FD004"])
    assert missing.exit_code == 2 and "missing C-MAPSS file" in missing.output


def _csv(path, h: RunHistory, marker: bool = True) -> None:
    b = h.bounds()
    with path.open("w") as fh:
        fh.write("asset,time,a,b,c,noise,flat" + (",failed" if marker else "") + "\n")
        for a in range(h.n_assets):
            for i in range(b[a], b[a + 1]):
                vals = [h.asset_ids[a], f"{h.time[i]:g}", *(f"{v:.4f}" for v in h.signals[i])]
                if marker:
                    vals.append("1" if i == b[a + 1] - 1 and h.failed[a] else "0")
                fh.write(",".join(vals) + "\n")


def test_health_cli_train_predict_list(tmp_path):
    home = tmp_path / "home"
    _csv(tmp_path / "train.csv", make_fleet(16, seed=0))
    test, _ = truncate(make_fleet(5, seed=8))
    _csv(tmp_path / "test.csv", test, marker=False)
    r = runner.invoke(app, ["health", "train", "--history", str(tmp_path / "train.csv"),
                            "--name", "fleet", "--cap", "60", "--home", str(home)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (home / "health" / "models" / "fleet" / "model.json").is_file()
    r = runner.invoke(app, ["health", "predict", "--history", str(tmp_path / "test.csv"),
                            "--model", "fleet", "--json", "--home", str(home)])  # fmt: skip
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("{")]
    assert len(lines) == 5 and '"rul_low"' in lines[0]
    r = runner.invoke(app, ["health", "list", "--home", str(home)])
    assert r.exit_code == 0 and "fleet" in r.output


def test_health_cli_bad_input(tmp_path):
    _csv(tmp_path / "censored.csv", make_fleet(6, failed=False), marker=True)
    r = runner.invoke(app, ["health", "train", "--history", str(tmp_path / "censored.csv"),
                            "--home", str(tmp_path)])  # fmt: skip
    assert r.exit_code == 2 and "ends in a failure" in r.output
    r = runner.invoke(app, ["health", "train", "--history", str(tmp_path / "censored.csv"),
                            "--settings", "speed", "--home", str(tmp_path)])  # fmt: skip
    assert r.exit_code == 2 and "unknown column" in r.output
    r = runner.invoke(app, ["health", "predict", "--history", str(tmp_path / "censored.csv"),
                            "--model", "nothing", "--home", str(tmp_path)])  # fmt: skip
    assert r.exit_code == 2 and "no model.json" in r.output


def test_health_train_publish_signs_and_uploads_a_version_sites_can_verify(tmp_path):
    """`health train --publish N --keys DIR`: the artifact goes to the hub's registry as
    version N of kind health, with golden inputs from the training runs, and a site that
    imports it reproduces the golden scores (else the import would refuse it)."""
    import json

    from plantmind.bench.rollout import HubThread
    from plantmind.models.agent import SiteModels
    from plantmind.models.bundle import export_bundle, import_bundle

    keys = tmp_path / "keys"
    assert runner.invoke(app, ["models", "keygen", "--keys", str(keys)]).exit_code == 0
    root = json.loads((keys / "root.json").read_text())
    _csv(tmp_path / "train.csv", make_fleet(12, seed=0))
    r = runner.invoke(app, ["health", "train", "--history", str(tmp_path / "train.csv"),
                            "--name", "pump-rul", "--publish", "1", "--home",
                            str(tmp_path / "h0")])  # fmt: skip
    assert r.exit_code != 0 and "--keys" in r.output  # refused before training
    hub = HubThread(tmp_path / "hub", root, tick_s=0)
    try:
        env = {"PLANTMIND_HUB": hub.url, "PLANTMIND_TOKEN": hub.token("engineer")}
        r = runner.invoke(app, ["health", "train", "--history", str(tmp_path / "train.csv"),
                                "--name", "pump-rul", "--cap", "60", "--home",
                                str(tmp_path / "home"), "--publish", "1", "--keys", str(keys)],
                          env=env)  # fmt: skip
        assert r.exit_code == 0, r.output
        assert "published pump-rul v1" in r.output
        bundle = export_bundle(hub.registry, tmp_path / "b.tar", [("pump-rul", 1)])
    finally:
        hub.close()
    site = SiteModels(tmp_path / "site", root=root)
    (row,) = import_bundle(bundle, site)
    assert row["ok"], row
    m = json.loads(
        (tmp_path / "site" / "installed" / "pump-rul" / "1" / "manifest.json").read_text()
    )
    assert m["signed"]["kind"] == "health" and m["signed"]["golden"]["path"] == "golden.json"
