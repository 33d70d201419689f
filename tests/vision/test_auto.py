"""The automatic choice: extractors behind one interface (each equal through onnxruntime and
torch), rank-calibrated ensembles, realistic validation defects, aspect kept, the fallback
when the pretrained extractor's packages are missing."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from plantmind.demo.parts import PART_DEFECTS, make_part, png_bytes
from plantmind.vision import extractors
from plantmind.vision.auto import HEATMAP_RULES, PixelTable, choose_heatmap, train_auto
from plantmind.vision.defects import VALIDATION_KINDS, add_real_defect
from plantmind.vision.ensemble import rank_calibrate
from plantmind.vision.images import list_images, normalise, resize, working_shape
from plantmind.vision.net import SegNet
from plantmind.vision.runtime import InspectionModel
from plantmind.vision.train import TrainConfig, torch_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LITE0_MISSING = extractors.lite0_missing()
needs_lite0 = pytest.mark.skipif(LITE0_MISSING is not None, reason=str(LITE0_MISSING))


def _cfg(**kw) -> TrainConfig:
    base = dict(
        size=48, widths=(8, 16, 32), steps=30, batch_size=8, holdout=0.5, seed=3,
        pretrained_size=64, threads=1,
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def auto_model(tmp_path_factory, good_dir):
    out = tmp_path_factory.mktemp("auto")
    result = train_auto(list_images([good_dir]), out, "QS-A", _cfg(keep_candidates=True))
    return out, result


def _images(shape=(96, 112)) -> list[np.ndarray]:
    imgs = [make_part(700 + i, None, shape)[0] for i in range(3)]
    return imgs + [make_part(800 + i, d, shape)[0] for i, d in enumerate(PART_DEFECTS)]


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


# -- ONNX equivalence, every extractor ------------------------------------------------------
@needs_lite0
def test_lite0_onnx_equals_torch(tmp_path):
    module = extractors.load_lite0(1)
    shape = (64, 96)
    extractors.export_features_onnx(module, tmp_path / "l.onnx", 1, shape)
    batch = np.stack([normalise(resize(im, shape)) for im in _images()])
    ref = extractors.torch_features(module, batch)
    got = _session(tmp_path / "l.onnx").run(None, {"image": batch})[0]
    assert got.shape == ref.shape == (len(batch), 152, 8, 12)  # stride 8, 40 + 112 channels
    assert np.abs(got - ref).max() < 1e-3 * max(1.0, float(np.abs(ref).max()))
    # the pretrained features see a defect: they differ between a good and a pitted part
    assert np.abs(ref[0] - ref[4]).max() > 0.1


def test_station_net_onnx_equals_torch_at_a_non_square_shape(auto_model):
    out, result = auto_model
    auto = result.meta.extra["auto"]
    net = SegNet(1, tuple(result.meta.extra["widths"]))
    net.load_state_dict(torch.load(out / "model.pt"))
    shape = tuple(auto["extractors"]["station"]["shape"])
    batch = np.stack([normalise(resize(im, shape)) for im in _images()])
    ref_h, ref_f = torch_outputs(net, batch)
    got_h, got_f = _session(out / "station.onnx").run(None, {"image": batch})
    assert np.abs(got_h[:, 0] - ref_h).max() < 1e-4
    assert np.abs(got_f - ref_f).max() < 1e-3 * max(1.0, float(np.abs(ref_f).max()))


# -- the automatic choice -------------------------------------------------------------------
def test_choice_and_every_candidate_in_the_model_card(auto_model):
    out, _result = auto_model
    meta = json.loads((out / "model.json").read_text())
    auto = meta["extra"]["auto"]
    cands = auto["candidates"]
    chosen = [c for c in cands if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["members"] == auto["choice"]
    names = {c["name"] for c in cands}
    assert {"station/heatmap", "station/positional", "station/global"} <= names
    if LITE0_MISSING is None:
        assert {"lite0/positional", "lite0/global"} <= names
        assert any("station" in c["name"] and "lite0" in c["name"] for c in cands)  # ensembles
    else:
        assert auto["notes"] and "EfficientNet-Lite0" in auto["notes"][0]
    # the chosen one is the best by the recorded objective within the time budget (ties: the
    # fewest members), never a candidate slower than the budget when a faster one exists
    within = [c for c in cands if c["ms"] <= 50.0]
    assert chosen[0]["objective"] >= max(c["objective"] for c in within) - 0.0021
    v = auto["validation"]
    assert v["draws"] == 3
    assert v["defective"] == 2 * v["draws"] * v["good"] > 0
    # the shown heatmap: the pick of the recorded rule (default: worst_kind) from the
    # validation draws, within the budget; every rule's pick and its held-out figures recorded
    heat = [c for c in cands if c["heatmap"]]
    assert len(heat) == 1 and heat[0]["members"] == auto["heatmap_choice"]
    assert auto["heatmap_rule"] == "worst_kind"
    assert set(auto["heatmap_rules"]) == set(HEATMAP_RULES)
    assert heat[0]["name"] == auto["heatmap_rules"]["worst_kind"]["pick"]
    assert all(0.0 <= r["left_out_kind"] <= 1.0 for r in auto["heatmap_rules"].values())
    assert all(0.0 <= c["val_pixel_auroc"] <= 1.0 for c in cands)
    assert all(len(c["val_pixel_draws"]) == 3 for c in cands)
    assert all(set(c["val_pixel_kinds"]) == set(VALIDATION_KINDS) for c in cands)
    # worst_kind: no candidate has a better lowest pixel AUROC over the kinds (all fit the
    # budget here; recorded figures are rounded to 1e-4)
    worst = [min(c["val_pixel_kinds"].values()) for c in cands]
    assert min(heat[0]["val_pixel_kinds"].values()) >= max(worst) - 1e-3
    # margin's pick is beaten by the pooled best by no more than the draws' spread
    margin = next(c for c in cands if c["name"] == auto["heatmap_rules"]["margin"]["pick"])
    best = max(cands, key=lambda c: c["val_pixel_auroc"])
    diff = np.subtract(best["val_pixel_draws"], margin["val_pixel_draws"])
    assert diff.mean() <= diff.std(ddof=1) + 1e-3
    assert auto["ms"] >= chosen[0]["ms"]


def test_auto_model_scores_at_the_edge_like_in_training(auto_model, good_dir):
    out, result = auto_model
    model = InspectionModel(out)
    assert model.auto is not None
    # the held-out scores recorded at training are what the runtime computes for those images
    good = [model.score(p).score for p in sorted(good_dir.glob("*.png"))]
    held = np.asarray(result.meta.extra["holdout_scores"])
    assert np.all(np.isin(np.round(held, 4), np.round(good, 4)))
    bad = [model.score(png_bytes(im)).score for im in _images()[3:]]
    assert np.mean(bad) > np.mean(good)
    scored = model.score(png_bytes(_images()[4]))
    assert scored.heatmap.shape == tuple(result.meta.extra["auto"]["out_shape"])
    # the score from the chosen members, the heatmap from the heatmap choice's
    rt = model.auto
    per = rt.scorer_outputs(rt.outputs(_images()[4]))
    want = np.mean([per[m][1] for m in result.meta.extra["auto"]["heatmap_choice"]], axis=0)
    assert np.allclose(scored.heatmap, want, atol=1e-6)
    assert scored.score == pytest.approx(rt.combine(per, rt.members)[0])
    assert scored.heatmap.min() >= 0.0 and scored.heatmap.max() <= 1.0


def test_fallback_to_the_station_net_without_the_packages(tmp_path, good_dir, monkeypatch):
    monkeypatch.setattr(
        "plantmind.vision.auto.lite0_missing", lambda: "needs efficientnet-lite-pytorch"
    )
    result = train_auto(list_images([good_dir]), tmp_path / "m", "QS-B", _cfg(steps=5))
    auto = result.meta.extra["auto"]
    assert auto["notes"] == ["needs efficientnet-lite-pytorch"]
    assert all(m.startswith("station/") for c in auto["candidates"] for m in c["members"])
    assert not (tmp_path / "m" / "lite0.onnx").exists()
    assert InspectionModel(tmp_path / "m").score(png_bytes(_images()[0])).score >= 0.0


def test_lite0_missing_names_the_packages(monkeypatch):
    real = extractors.importlib.util.find_spec
    monkeypatch.setattr(
        extractors.importlib.util,
        "find_spec",
        lambda name: None if name.startswith("efficientnet") else real(name),
    )
    why = extractors.lite0_missing()
    assert why is not None and "efficientnet-lite-pytorch" in why and "vision-train" in why
    with pytest.raises(extractors.ExtractorUnavailable):
        extractors.load_lite0()


# -- pieces ---------------------------------------------------------------------------------
def test_rank_calibration_keeps_defects_ordered_past_the_highest_good():
    g = np.sort(np.array([1.0, 2.0, 3.0, 4.0]))
    assert rank_calibrate(0.5, g) == 0.0
    assert rank_calibrate(2.0, g) == 0.5
    assert rank_calibrate(4.0, g) == 1.0
    a, b = rank_calibrate(5.0, g), rank_calibrate(9.0, g)
    assert 1.0 < a < b  # not saturated at 1
    assert a == pytest.approx(1.0 + 1.0 / 1.5)  # (5 − 4) / (4 − median 2.5)


def test_every_validation_kind_changes_the_image_inside_its_mask():
    rng = np.random.default_rng(0)
    x = normalise(make_part(5, None, (80, 120))[0])
    for kind in VALIDATION_KINDS:
        y, m = add_real_defect(x, rng, (kind,))
        assert y.shape == x.shape and m.shape == x.shape[1:]
        assert m.sum() > 0, kind
        diff = np.abs(y - x).max(axis=0)
        assert diff[m > 0].mean() > 0.3 and diff[m == 0].max() < diff[m > 0].max(), kind


def test_working_shape_keeps_a_common_aspect_and_squares_a_mixed_one():
    assert working_shape([0.4] * 20, 256) == (640, 256)  # tall parts, 2.5 : 1
    assert working_shape([2.5] * 20, 256) == (256, 640)
    assert working_shape([0.44, 0.86, 2.3, 1.0, 0.7], 256) == (256, 256)  # no common framing
    assert working_shape([1.05] * 5, 128) == (128, 128)
    assert working_shape([10.0] * 5, 64) == (64, 256)  # at most 4 : 1


def test_long_parts_keep_their_aspect_end_to_end(tmp_path):
    from plantmind.demo.parts import write_parts

    paths = write_parts(tmp_path / "long", 24, seed=4, size=(160, 64))  # 2.5 : 1, tall
    result = train_auto(paths, tmp_path / "m", "QS-L", _cfg(steps=5, keep_candidates=True))
    auto = result.meta.extra["auto"]
    assert auto["out_shape"] == [160, 64]
    assert auto["extractors"]["station"]["shape"] == [128, 64]
    model = InspectionModel(tmp_path / "m")
    scored = model.score(png_bytes(make_part(3, "pit", (160, 64))[0]))
    assert scored.heatmap.shape == (160, 64) and scored.height == 160


class _LocalGraph:
    """A stand-in session: full-resolution map and stride-8 block means (a local operation,
    so tiles with enough margin must give exactly the whole image's outputs)."""

    class _In:
        name = "image"

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def get_inputs(self):
        return [self._In()]

    def run(self, _names, feed):
        x = feed["image"]
        self.shapes.append(x.shape)
        n, c, h, w = x.shape
        blocks = x.reshape(n, c, h // 8, 8, w // 8, 8).mean(axis=(3, 5))
        return [x * 2.0, blocks]


def test_tiles_give_the_whole_images_outputs_with_bounded_inputs():
    from plantmind.vision.ensemble import run_extractor

    x = np.random.default_rng(0).normal(size=(2, 1, 160, 352)).astype(np.float32)
    whole = run_extractor(_LocalGraph(), x)
    graph = _LocalGraph()
    tiled = run_extractor(graph, x, tile=128)
    assert {s for s in graph.shapes} == {(2, 1, 128, 128)}  # never more than one tile at once
    assert len(graph.shapes) == 3 * 6
    for a, b in zip(whole, tiled, strict=True):
        assert a.shape == b.shape
        assert np.allclose(a, b)


def test_a_long_working_shape_is_trained_and_scored_in_tiles(tmp_path):
    from plantmind.demo.parts import write_parts

    paths = write_parts(tmp_path / "long", 24, seed=5, size=(160, 64))
    cfg = _cfg(steps=5, tile=128, keep_candidates=True)
    result = train_auto(paths, tmp_path / "m", "QS-T", cfg)
    ex = result.meta.extra["auto"]["extractors"]
    assert ex["station"]["tile"] is None  # 128 × 64: one pass
    if LITE0_MISSING is None:
        assert ex["lite0"]["tile"] == 128  # 160 × 64 > 128: tiles
        assert _session(tmp_path / "m" / "lite0.onnx").get_inputs()[0].shape[2:] == [128, 128]
    model = InspectionModel(tmp_path / "m")
    good = model.score(png_bytes(make_part(40, None, (160, 64))[0]))
    held = np.asarray(result.meta.extra["holdout_scores"])
    assert good.heatmap.shape == (160, 64) and np.isfinite(held).all()


# -- the heatmap rules, on made-up validation histograms ------------------------------------
def _table(figures: dict[str, list[float]]) -> PixelTable:
    """A PixelTable whose candidates reach roughly the given pixel AUROC per draw: positives
    at a bin that beats that share of the (uniform) negatives."""
    draws = len(next(iter(figures.values())))
    pix = PixelTable(list(figures), draws, VALIDATION_KINDS)
    n = pix.good[next(iter(figures))].size
    for c, per in figures.items():
        pix.good[c][:] = 1.0
        for d, a in enumerate(per):
            for k in range(len(VALIDATION_KINDS)):
                pix.pos[c][d, k, int(a * (n - 1))] = 10.0
    return pix


def test_heatmap_rules_on_a_near_tie_and_a_clear_winner():
    cost = {"cheap": (0, 1, 10.0), "dear": (1, 2, 40.0)}
    # near tie that the first draw decides for the dearer one: margin keeps the cheap one
    pix = _table({"cheap": [0.90, 0.93, 0.91], "dear": [0.93, 0.91, 0.92]})
    assert choose_heatmap(pix, list(cost), cost, "single") == "dear"
    assert choose_heatmap(pix, list(cost), cost, "margin") == "cheap"
    assert choose_heatmap(pix, list(cost), cost, "worst_kind") == "dear"  # same in every kind
    # a clear winner in every draw: every rule takes it
    pix = _table({"cheap": [0.80, 0.81, 0.79], "dear": [0.93, 0.94, 0.92]})
    for rule in HEATMAP_RULES:
        assert choose_heatmap(pix, list(cost), cost, rule) == "dear", rule
    pix = _table({"cheap": [0.80, 0.81, 0.79]})
    assert abs(pix.auroc("cheap", [1]) - 0.81) < 0.01
    with pytest.raises(ValueError):
        choose_heatmap(pix, ["cheap"], cost, "best-on-test")
