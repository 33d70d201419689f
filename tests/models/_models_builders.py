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


def check_ranges(client: Any, sha256: str, whole: bytes) -> None:
    """Every kind of ``Range`` a blob route may see, against ``client`` (an httpx client
    with a token): one byte range gives 206, an unsatisfiable one 416 with
    ``Content-Range: bytes */size``, anything else the whole file (200); the connection
    survives each of them."""
    size = len(whole)
    assert size > 20
    url = f"/api/models/blobs/{sha256}"
    partial = {
        "bytes=10-": (10, size),
        "bytes=2-5": (2, 6),
        "bytes=-5": (size - 5, size),
        "bytes=-99999999": (0, size),
        "bytes=0-99999999": (0, size),
        "BYTES=2-5": (2, 6),  # the unit is case-insensitive
        f"bytes={size - 1}-{size - 1}": (size - 1, size),
        "bytes=-" + "9" * 5000: (0, size),  # more digits than int() takes
        "bytes=00002-00005": (2, 6),
    }
    unsatisfiable = ["bytes=-0", f"bytes={size}-", "bytes=99999-", "bytes=5-2",
                     f"bytes={size}-{size + 5}", "bytes=" + "9" * 5000 + "-"]  # fmt: skip
    ignored = ["bytes=--5", "bytes=1_0-", "bytes=+1-", "bytes=-+5", "bytes= 1-", "bytes=1 -5",
               "bytes=0-1,3-4", "bytes=-", "bytes=1", "items=0-5", "bytes=0x1-", "nonsense",
               "bytes=1-2-3", "bytes=-1_0"]  # fmt: skip
    for header, (start, end) in partial.items():
        r = client.get(url, headers={"Range": header})
        assert r.status_code == 206, (header[:40], r.status_code, r.text[:200])
        assert r.content == whole[start:end], header[:40]
        assert r.headers["content-range"] == f"bytes {start}-{end - 1}/{size}", header[:40]
        assert r.headers["content-length"] == str(end - start), header[:40]
    for header in unsatisfiable:
        r = client.get(url, headers={"Range": header})
        assert r.status_code == 416, (header[:40], r.status_code)
        assert r.headers["content-range"] == f"bytes */{size}", header[:40]
    for header in ignored:
        r = client.get(url, headers={"Range": header})
        assert r.status_code == 200, (header[:40], r.status_code)
        assert r.content == whole, header[:40]
        assert "content-range" not in r.headers, header[:40]
        assert r.headers["content-length"] == str(size), header[:40]
    r = client.get(url)
    assert r.status_code == 200 and r.content == whole


def check_empty_ranges(client: Any, sha256: str) -> None:
    """An empty file: every byte range is unsatisfiable (416), no Range gives 200."""
    url = f"/api/models/blobs/{sha256}"
    for header in ["bytes=0-", "bytes=-5", "bytes=0-0"]:
        r = client.get(url, headers={"Range": header})
        assert r.status_code == 416, (header, r.status_code)
        assert r.headers["content-range"] == "bytes */0", header
    for headers in [{}, {"Range": "bytes=1_0-"}]:
        r = client.get(url, headers=headers)
        assert r.status_code == 200 and r.content == b"", headers
