"""A tiny magnetic-tile-shaped folder of generated parts (no real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from plantmind.demo.parts import PART_DEFECTS, make_part


def write_fake_mt(root: Path, n_free: int = 40, n_defect: int = 3, size=(64, 64)) -> Path:
    from plantmind.bench.inspect import DEFECT_CLASSES

    (root / "MT_Free" / "Imgs").mkdir(parents=True, exist_ok=True)
    for i in range(n_free):
        img, _ = make_part(1000 + i, size=size)
        Image.fromarray(img[:, :, 0]).save(root / "MT_Free" / "Imgs" / f"f{i}.jpg", quality=95)
    for k, cls in enumerate(DEFECT_CLASSES):
        d = root / f"MT_{cls}" / "Imgs"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n_defect):
            img, mask = make_part(5000 + 10 * k + i, PART_DEFECTS[k % len(PART_DEFECTS)], size)
            Image.fromarray(img[:, :, 0]).save(d / f"d{i}.jpg", quality=95)
            Image.fromarray((mask * 255).astype(np.uint8)).save(d / f"d{i}.png")
    return root
