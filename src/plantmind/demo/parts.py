"""Generated part images for the demo and the tests: a machined surface (brushed texture,
lighting gradient, a bore) with optional injected defects (scratch, pit, stain, chip) and the
defect's true mask. Deterministic for a seed.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, uniform_filter1d

__all__ = ["PART_DEFECTS", "make_part", "png_bytes", "write_parts"]

PART_DEFECTS = ("scratch", "pit", "stain", "chip")


def make_part(
    seed: int,
    defect: str | None = None,
    size: tuple[int, int] = (160, 160),
    colour: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One part image, uint8 (H, W, 1) or (H, W, 3), and its (H, W) bool defect mask."""
    rng = np.random.default_rng(seed)
    h, w = size
    # brushed metal: noise smeared along one direction, plus a slow lighting gradient
    noise = rng.standard_normal((h, w))
    brushed = uniform_filter1d(noise, size=max(3, w // 8), axis=1) * 3.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    light = rng.uniform(-1, 1) * (xx / w - 0.5) + rng.uniform(-1, 1) * (yy / h - 0.5)
    base = 128 + rng.uniform(-12, 12) + 25 * light + 6 * brushed
    # a bore at a slightly varying position: part of every good image
    cy, cx = h * (0.5 + rng.uniform(-0.03, 0.03)), w * (0.5 + rng.uniform(-0.03, 0.03))
    r = min(h, w) * 0.18
    d = np.hypot(yy - cy, xx - cx)
    base = np.where(d < r, 60 + 4 * brushed, base)
    base += np.clip(3 - np.abs(d - r), 0, 3) * 15  # bright chamfer
    mask = np.zeros((h, w), dtype=bool)
    if defect is not None:
        if defect not in PART_DEFECTS:
            raise ValueError(f"unknown defect {defect!r}; choose one of {', '.join(PART_DEFECTS)}")
        # away from the bore, so that the defect is on the surface
        while True:
            py, px = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
            if np.hypot(py - cy, px - cx) > r + 0.12 * min(h, w):
                break
        if defect == "scratch":
            ang = rng.uniform(0, np.pi)
            length = rng.uniform(0.2, 0.4) * min(h, w)
            t = (xx - px) * np.cos(ang) + (yy - py) * np.sin(ang)
            n = -(xx - px) * np.sin(ang) + (yy - py) * np.cos(ang)
            mask = (np.abs(t) < length / 2) & (np.abs(n) < 1.2) & (d > r + 2)
            base = np.where(mask, base - rng.uniform(45, 70), base)
        elif defect == "pit":
            rr = rng.uniform(2.5, 5.0)
            dd = np.hypot(yy - py, xx - px)
            mask = dd < rr
            base = base - 70 * np.exp(-((dd / rr) ** 2))
        elif defect == "stain":
            blob = gaussian_filter(rng.standard_normal((h, w)), 4)
            blob *= np.exp(-((yy - py) ** 2 + (xx - px) ** 2) / (2 * (0.07 * min(h, w)) ** 2))
            mask = blob > 0.25 * blob.max()
            base = np.where(mask, base + rng.choice([-1, 1]) * rng.uniform(35, 50), base)
        else:  # chip: a bite out of the part's edge, showing the dark fixture behind it
            side = rng.integers(0, 4)
            ey, ex = [(0, px), (h - 1, px), (py, 0), (py, w - 1)][side]
            mask = np.hypot(yy - ey, xx - ex) < rng.uniform(0.06, 0.1) * min(h, w)
            base = np.where(mask, 20 + 3 * noise, base)
    img = np.clip(base + rng.normal(0, 2, (h, w)), 0, 255).astype(np.uint8)
    if colour:
        tint = np.array([1.0, 0.97, 0.9]) * rng.uniform(0.95, 1.05, 3)
        out = np.clip(img[:, :, None] * tint, 0, 255).astype(np.uint8)
    else:
        out = img[:, :, None]
    return out, mask


def png_bytes(img: np.ndarray) -> bytes:
    """Encode (H, W, 1|3) uint8 as PNG."""
    arr = img[:, :, 0] if img.shape[2] == 1 else img
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def write_parts(
    folder: str | Path,
    n: int,
    seed: int = 0,
    defect: str | None = None,
    size: tuple[int, int] = (160, 160),
    colour: bool = False,
) -> list[Path]:
    """Write ``n`` part images (PNG) to ``folder``; with ``defect``, each has that defect."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img, _ = make_part(seed * 100_003 + i, defect, size, colour)
        p = out / f"part_{seed}_{i:05d}.png"
        p.write_bytes(png_bytes(img))
        paths.append(p)
    return paths
