"""Model artifacts: a versioned directory holding ``model.json`` (format version, training data,
features, metrics, settings), ``arrays.npz`` (normalisation and calibration) and
the trees and networks as flat arrays). No pickle: loading an artifact runs no code from it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from plantmind.health.features import FeatureSpec
from plantmind.health.mlp import MlpEnsemble
from plantmind.health.regimes import RegimeNormalizer
from plantmind.health.rul import RulConfig, RulModel
from plantmind.health.trees import TreeEnsemble

__all__ = ["FORMAT", "FORMAT_VERSION", "ArtifactError", "load_model", "read_metadata", "save_model"]

FORMAT = "plantmind.health.rul"
FORMAT_VERSION = 1


class ArtifactError(ValueError):
    """An artifact that is missing, damaged, or of a format this version cannot read."""


def save_model(model: RulModel, path: Path | str, *, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` into the directory ``path`` (created; existing files replaced)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg = asdict(model.config)
    cfg["features"] = model.config.features.to_dict()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": cfg,
        "signals": model.signal_names,
        "settings": model.setting_names,
        "used_signals": model.used_signals,
        "features": model.feature_names,
        "n_regimes": model.normalizer.k,
        "trained_on": model.trained_on,
        "metrics": model.metrics,
        "n_trees": model.ensemble.n_trees if model.ensemble is not None else 0,
        **(extra or {}),
    }
    if model.ensemble is None:
        raise ArtifactError("model is not trained")
    arrays = {**model.normalizer.arrays(), **model.ensemble.arrays()}
    if model.mlp is not None:
        arrays.update(model.mlp.arrays())
    arrays["bin_edges"] = model.bin_edges
    for k, r in enumerate(model.residuals):
        arrays[f"residuals_{k}"] = r
    # allow_pickle given explicitly (numpy's default) so the stubs don't match **arrays to it
    np.savez(path / "arrays.npz", allow_pickle=True, **arrays)
    # metadata last: a directory with model.json is a complete artifact
    (path / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return path


def read_metadata(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: no model.json (not a health model directory)") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}/model.json: {exc}") from None
    if meta.get("format") != FORMAT:
        raise ArtifactError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format version {meta['format_version']} is newer than this plantmind "
            f"reads ({FORMAT_VERSION}); upgrade plantmind"
        )
    return meta


def load_model(path: Path | str) -> RulModel:
    """Load a model written by :func:`save_model`."""
    path = Path(path)
    meta = read_metadata(path)
    cfg = dict(meta["config"])
    cfg["features"] = FeatureSpec.from_dict(cfg["features"])
    cfg["mlp_hidden"] = tuple(cfg.get("mlp_hidden", ()))
    model = RulModel(RulConfig(**cfg))
    try:
        with np.load(path / "arrays.npz", allow_pickle=False) as data:
            model.normalizer = RegimeNormalizer.from_arrays(data)
            model.bin_edges = np.asarray(data["bin_edges"])
            model.residuals = [
                np.asarray(data[f"residuals_{k}"]) for k in range(len(model.bin_edges) + 1)
            ]
            model.ensemble = TreeEnsemble.from_arrays(data)
            if "mlp_shape" in data.files:
                model.mlp = MlpEnsemble.from_arrays(data)
    except (OSError, KeyError, ValueError) as exc:
        raise ArtifactError(f"{path}: damaged artifact ({exc})") from None
    model.signal_names = list(meta["signals"])
    model.setting_names = list(meta["settings"])
    model.metrics = dict(meta.get("metrics", {}))
    model.trained_on = dict(meta.get("trained_on", {}))
    return model
