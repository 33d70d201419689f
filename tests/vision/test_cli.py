"""``plantmind inspect train / run / review`` end to end on generated parts."""

from __future__ import annotations

import csv
import json

import numpy as np
from typer.testing import CliRunner

from plantmind.cli import app
from plantmind.demo.parts import write_parts

runner = CliRunner()


def test_train_run_review(tmp_path, good_dir):
    home = tmp_path / "home"
    r = runner.invoke(
        app,
        ["inspect", "train", "--station", "NEW-1", "--good", str(good_dir), "--steps", "30",
         "--size", "48", "--pretrained-size", "64", "--home", str(home)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "station NEW-1: trained on" in r.output
    local = json.loads((home / "vision" / "stations.json").read_text())
    assert [st["id"] for st in local] == ["NEW-1"]
    meta = json.loads((home / "vision" / "NEW-1" / "model" / "model.json").read_text())
    # the automatic choice: every candidate's validation figures in the model card and printed
    auto = meta["extra"]["auto"]
    assert meta["kind"] == "auto" and auto["choice"]
    names = [c["name"] for c in auto["candidates"]]
    assert "station/positional" in names  # parts in a fixture, by default
    assert [c["name"] for c in auto["candidates"] if c["chosen"]] == ["+".join(auto["choice"])]
    assert all(0.0 <= c["val_auroc"] <= 1.0 for c in auto["candidates"])
    assert f"chosen: {'+'.join(auto['choice'])}" in r.output and "val AUROC" in r.output
    shape = tuple(auto["out_shape"])
    imgs = write_parts(tmp_path / "new", 3, seed=9, size=(100, 80), defect="pit")
    (tmp_path / "new" / "junk.png").write_bytes(b"junk")
    out, hm = tmp_path / "scores.csv", tmp_path / "hm"
    r = runner.invoke(
        app,
        ["inspect", "run", "--station", "NEW-1", str(tmp_path / "new"), "--out", str(out),
         "--heatmaps", str(hm), "--home", str(home)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open()))
    assert [k for k in rows[0]] == ["path", "score", "verdict"]
    assert {row["verdict"] for row in rows if row["path"].endswith("junk.png")} == {"error"}
    for p in imgs:
        assert np.load(hm / f"{p.stem}.npy").shape == shape
    r = runner.invoke(app, ["inspect", "review", "--home", str(home)])
    assert r.exit_code == 0 and "Review queue" in r.output


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "none").mkdir()
    r = runner.invoke(
        app, ["inspect", "train", "--station", "X", "--good", str(tmp_path / "none"),
              "--home", str(tmp_path / "h")],
    )  # fmt: skip
    assert r.exit_code == 2
    assert "no images found" in r.output


def test_parts_at_any_position_get_a_global_density(tmp_path, good_dir):
    from plantmind.core.plant import Station
    from plantmind.vision.density import PatchDensity
    from plantmind.vision.station import VisionStations
    from plantmind.vision.train import TrainConfig

    home = tmp_path / "home"
    r = runner.invoke(
        app,
        ["inspect", "train", "--station", "ANY-1", "--good", str(good_dir), "--steps", "10",
         "--size", "48", "--any-position", "--method", "station", "--home", str(home)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    model = home / "vision" / "ANY-1" / "model"
    assert json.loads((model / "model.json").read_text())["extra"]["density_positional"] is False
    assert not PatchDensity.load(model / "density.npz").positional
    # a station in plant.yaml that says its parts are not in a fixture
    vision = VisionStations(
        tmp_path / "h2", [Station(id="Q-2", name="loose", fixed_position=False)]
    )
    try:
        cfg = TrainConfig(
            size=48, widths=(8, 16, 32), steps=10, batch_size=4, holdout=0.3, pretrained_size=64
        )
        result = vision.train("Q-2", sorted(good_dir.glob("*.png")), cfg)
        # the automatic choice tries global densities only
        kinds = {
            m.split("/")[1] for c in result.meta.extra["auto"]["candidates"] for m in c["members"]
        }
        assert kinds <= {"global", "heatmap"} and "global" in kinds
    finally:
        vision.close()
