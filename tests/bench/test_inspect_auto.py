"""``plantmind bench inspect`` on a tiny magnetic-tile-shaped folder of generated parts: the
automatic choice per seed, every candidate, the leave-one-class-out table, ms per image."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(
        any(importlib.util.find_spec(m) is None for m in ("torch", "onnx", "onnxruntime")),
        reason="needs the [vision-train] extra",
    ),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def fake_mt(tmp_path_factory) -> Path:
    from _fake_mt import write_fake_mt

    return write_fake_mt(tmp_path_factory.mktemp("mt"), n_free=34, n_defect=2)


def _cfg():
    from plantmind.vision.train import TrainConfig

    return TrainConfig(
        size=48, widths=(8, 16, 32), steps=10, batch_size=4, holdout=0.45, pretrained_size=64,
        threads=1,
    )  # fmt: skip


def test_bench_runs_seeds_candidates_and_loco(fake_mt, tmp_path):
    from plantmind.bench.inspect import DEFECT_CLASSES, run_auto_bench

    out = tmp_path / "b"
    r = run_auto_bench(fake_mt, out, _cfg(), seeds=(0, 1))
    assert [s["seed"] for s in r["seeds"]] == [0, 1]
    for s in r["seeds"]:
        assert 0.0 <= s["image_auroc"] <= 1.0 and 0.0 <= s["pixel_auroc"] <= 1.0
        assert s["ms_per_image_256_one_core"] > 0
        cands = r["candidates"][s["seed"]]
        # every candidate tried is reported with its test figures; one is the choice
        assert len(cands) >= 3 and sum(c["chosen"] for c in cands) == 1
        chosen = next(c for c in cands if c["chosen"])
        assert chosen["name"] == s["choice"] and chosen["image_auroc"] == s["image_auroc"]
        assert set(chosen["per_class"]) == set(DEFECT_CLASSES)
    loco = r["loco"]
    assert sorted({row["left_out"] for row in loco}) == sorted(DEFECT_CLASSES)
    assert len(loco) == 2 * len(DEFECT_CLASSES)
    for row in loco:
        # chosen by the other four classes: the best of them there, whatever it does here
        seed = next(s for s in r["seeds"] if s["seed"] == row["seed"])
        cands = r["candidates"][seed["seed"]]
        others = [k for k in DEFECT_CLASSES if k != row["left_out"]]
        best = max(sum(c["per_class"][k] for k in others) for c in cands)
        pick = next(c for c in cands if c["name"] == row["chosen_without_class"])
        assert sum(pick["per_class"][k] for k in others) == pytest.approx(best)
        assert row["auroc_on_left_out"] == pick["per_class"][row["left_out"]]
    saved = json.loads((out / "summary.json").read_text())
    assert saved["image_auroc"] == r["image_auroc"]
    # --reuse reads a seed already run instead of training again
    again = run_auto_bench(fake_mt, out, _cfg(), seeds=(0,), reuse=True)
    assert again["seeds"][0]["train_seconds"] == r["seeds"][0]["train_seconds"]


def test_bench_cli_prints_the_tables(fake_mt, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import plantmind.vision.train as train_mod
    from plantmind.cli import app

    small = _cfg()
    monkeypatch.setattr(train_mod, "TrainConfig", lambda **kw: small)
    r = CliRunner().invoke(
        app,
        ["bench", "inspect", "--data", str(fake_mt), "--out", str(tmp_path / "c"), "--seed", "0",
         "--loco"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "seed 0: choice" in r.output and "ms/image (256 × 256" in r.output
    assert "Candidates, seed 0" in r.output and "Leave one defect class out" in r.output
