"""A station model on a user-supplied ONNX feature extractor (e.g. a network the plant already
runs), for sites that have one: per-location Gaussian statistics of its features over good
images (after PaDiM, Defard et al., ICPR 2021, with a diagonal covariance), fitted in one
streaming pass (Welford), so memory is the size of one feature map whatever the number of
images. No torch: onnxruntime and numpy only.

The backbone must take the standardised image (N, C, S, S) (see
:func:`~plantmind.vision.images.normalise`) and return (N, F, h, w) features. The statistics and
the heatmap steps are appended to the backbone's graph, so the result is one ONNX file that the
runtime (:class:`~plantmind.vision.runtime.InspectionModel`) scores like any other model.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from plantmind.vision.images import ImageError, load_image, normalise, resize
from plantmind.vision.runtime import META_FILE, MODEL_FILE, ModelMeta, image_score
from plantmind.vision.threshold import MIN_GOOD, NotEnoughGoodImages, Thresholds

__all__ = ["train_backbone_model"]


def _heat(z: np.ndarray) -> np.ndarray:
    """Mean squared z-score over channels (≈ 1 on good parts) → [0, 1)."""
    return 1.0 - np.exp(-np.maximum(z - 1.0, 0.0) / 4.0)


def _append_head(backbone: Path, out: Path, mean: np.ndarray, std: np.ndarray, size: int) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(backbone))
    g = model.graph
    feat = g.output[0].name
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    h, w = mean.shape[1:]

    def const(name: str, arr: np.ndarray) -> str:
        g.initializer.append(numpy_helper.from_array(arr, name))
        return name

    mu = const("pm_mean", mean[None].astype(np.float32))
    sd = const("pm_std", std[None].astype(np.float32))
    nodes = [
        helper.make_node("Sub", [feat, mu], ["pm_c"]),
        helper.make_node("Div", ["pm_c", sd], ["pm_z"]),
        helper.make_node("Mul", ["pm_z", "pm_z"], ["pm_z2"]),
    ]
    if opset >= 18:
        axes = const("pm_axes", np.array([1], dtype=np.int64))
        nodes.append(helper.make_node("ReduceMean", ["pm_z2", axes], ["pm_zm"], keepdims=1))
    else:
        nodes.append(helper.make_node("ReduceMean", ["pm_z2"], ["pm_zm"], axes=[1], keepdims=1))
    one = const("pm_one", np.array(1.0, dtype=np.float32))
    zero = const("pm_zero", np.array(0.0, dtype=np.float32))
    quarter = const("pm_m4", np.array(-0.25, dtype=np.float32))
    scales = const("pm_scales", np.array([1, 1, size / h, size / w], dtype=np.float32))
    nodes += [
        helper.make_node("Sub", ["pm_zm", one], ["pm_e"]),
        helper.make_node("Max", ["pm_e", zero], ["pm_ep"]),
        helper.make_node("Mul", ["pm_ep", quarter], ["pm_en"]),
        helper.make_node("Exp", ["pm_en"], ["pm_ex"]),
        helper.make_node("Sub", [one, "pm_ex"], ["pm_heat"]),
        helper.make_node("Resize", ["pm_heat", "", scales], ["heatmap"], mode="linear"),
    ]
    g.node.extend(nodes)
    del g.output[:]
    g.output.append(
        helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, ["n", 1, size, size])
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def train_backbone_model(
    good: Sequence[str | Path],
    out_dir: str | Path,
    backbone: str | Path,
    station: str = "station",
    size: int = 128,
    holdout: float = 0.15,
    false_reject_rate: float = 0.01,
    topk: float = 0.005,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> ModelMeta:
    """Fit the feature statistics on ``good`` images and write ``model.onnx`` + ``model.json``
    to ``out_dir``. Unusable files are skipped and listed in the metadata."""
    import onnxruntime as ort

    t0 = time.perf_counter()
    paths = [Path(p) for p in good]
    if not paths:
        raise ValueError("no good images given (the folder or list is empty)")
    sess = ort.InferenceSession(str(backbone), providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    order = np.random.default_rng(seed).permutation(len(paths))
    n_hold = max(MIN_GOOD, round(holdout * len(paths)))
    if len(paths) - n_hold < MIN_GOOD:
        raise NotEnoughGoodImages(
            f"too few good images to set a threshold: {len(paths)} given, at least "
            f"{n_hold + MIN_GOOD} needed"
        )
    hold = [paths[i] for i in order[:n_hold]]
    train = [paths[i] for i in order[n_hold:]]
    channels: int | None = None
    skipped: list[list[str]] = []
    n = 0
    mean = m2 = None
    for k, p in enumerate(train):
        try:
            img = load_image(p, channels=channels)
        except ImageError as exc:
            skipped.append([str(p), exc.problem])
            continue
        channels = img.shape[2]
        f = sess.run(None, {in_name: normalise(resize(img, size))[None]})[0][0].astype(np.float64)
        n += 1
        if mean is None:
            mean, m2 = np.zeros_like(f), np.zeros_like(f)
        d = f - mean
        mean += d / n
        m2 += d * (f - mean)
        if progress is not None:
            progress("fitting", k + 1, len(train))
    if mean is None or m2 is None or n < 2:
        raise ValueError(f"fewer than 2 usable training images among {len(train)}")
    std = np.sqrt(m2 / (n - 1)) + 1e-3
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _append_head(Path(backbone), out / MODEL_FILE, mean, std, size)
    full = ort.InferenceSession(str(out / MODEL_FILE), providers=["CPUExecutionProvider"])
    scores = []
    for p in hold:
        try:
            x = normalise(resize(load_image(p, channels=channels), size))[None]
        except ImageError as exc:
            skipped.append([str(p), exc.problem])
            continue
        scores.append(image_score(full.run(None, {in_name: x})[0][0, 0], None, topk))
    thr = Thresholds.fit(scores, false_reject_rate)
    meta = ModelMeta(
        station=station,
        size=size,
        channels=channels or 1,
        kind="backbone",
        topk=topk,
        model_id=uuid.uuid4().hex[:12],
        trained_at=time.time(),
        n_train=n,
        n_holdout=len(scores),
        train_seconds=round(time.perf_counter() - t0, 2),
        thresholds=thr.to_dict(),
        extra={
            "backbone": str(backbone),
            "holdout_scores": [round(float(s), 6) for s in scores],
            "skipped": skipped,
        },
    )
    (out / META_FILE).write_text(meta.to_json(), encoding="utf-8")
    return meta
