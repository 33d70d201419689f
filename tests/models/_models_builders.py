"""Builders of the model-delivery tests: keys, a trust root, detector versions on disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantmind.models.manifest import build_manifest, build_rollback
from plantmind.models.signing import SigningKey, make_root


@dataclass
class Keys:
    root: SigningKey
    targets: SigningKey
    root_env: dict[str, Any]


def new_keys() -> Keys:
    root, targets = SigningKey.generate(), SigningKey.generate()
    return Keys(root, targets, make_root([root], [targets.public_hex]))


def detector_files(folder: Path, weights: list[float], threshold: float = 1.0, *,
                   golden_shift: float = 0.0, alert_policy: dict[str, float] | None = None,
                   ) -> dict[str, Path]:  # fmt: skip
    """settings.json + golden.json of a linear detector (golden off by ``golden_shift``)."""
    folder.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {"weights": weights, "bias": 0.0, "threshold": threshold}
    if alert_policy is not None:
        settings["alert_policy"] = alert_policy
    inputs = [[1.0] * len(weights), [0.5] * len(weights)]
    expected = [sum(w * x for w, x in zip(weights, v, strict=True)) + golden_shift for v in inputs]
    (folder / "settings.json").write_text(json.dumps(settings))
    (folder / "golden.json").write_text(json.dumps({"inputs": inputs, "expected": expected}))
    return {"settings.json": folder / "settings.json", "golden.json": folder / "golden.json"}


def make_version(keys: Keys, folder: Path, version: int, weights: list[float], *,
                 name: str = "line1-detector", threshold: float = 1.0, golden_shift: float = 0.0,
                 expires_s: float = 86400.0, signer: SigningKey | None = None,
                 alert_policy: dict[str, float] | None = None,
                 ) -> tuple[dict[str, Any], dict[str, Path], dict[str, Any]]:  # fmt: skip
    """(manifest envelope, files, rollback statement back to v1) of one detector version."""
    files = detector_files(folder / f"v{version}", weights, threshold, golden_shift=golden_shift,
                           alert_policy=alert_policy)  # fmt: skip
    env = build_manifest(
        name, "detector", version, files, [signer or keys.targets], expires_s=expires_s,
        golden={"path": "golden.json", "tolerance": 1e-9},
    )  # fmt: skip
    rb = build_rollback(name, version, 1, [signer or keys.targets])
    return env, files, rb
