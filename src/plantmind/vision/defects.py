"""Synthetic defects pasted onto good images, with their masks: what the segmentation model
learns to find when no real defect has been seen (after DRAEM, Zavrtanik et al., ICCV 2021,
"DRAEM – A discriminatively trained reconstruction embedding for surface anomaly detection",
and CutPaste, Li et al., CVPR 2021).

Kinds, mixed at random: Perlin-shaped patches of foreign texture, CutPaste scars, dark or bright
blobs (pits, spots), thin crack-like strokes, chips at the part's edge and large soft shading.
All work on per-image standardised (C, H, W) float32 arrays, numpy only.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import uniform_filter

__all__ = ["DEFECT_KINDS", "VALIDATION_KINDS", "add_defect", "add_real_defect", "perlin_mask"]

DEFECT_KINDS = ("texture", "scar", "blob", "crack", "edge", "shading")


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise: a random ``cells`` × ``cells`` grid upsampled bicubically (a cheap stand-in
    for Perlin noise, with the same blob-like, scale-controlled shapes)."""
    grid = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    img = Image.fromarray(grid, mode="F").resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32)


def perlin_mask(rng: np.random.Generator, size: int, coverage: float | None = None) -> np.ndarray:
    """A (size, size) 0/1 mask of irregular blobs from two octaves of smooth noise."""
    cells = int(rng.choice([2, 4, 8, 16]))
    n = _smooth_noise(rng, size, cells) + 0.5 * _smooth_noise(rng, size, min(cells * 2, 32))
    cov = coverage if coverage is not None else float(rng.uniform(0.02, 0.2))
    thr = np.quantile(n, 1.0 - cov)
    return (n > thr).astype(np.float32)


def _ellipse(size: int, cy: float, cx: float, ry: float, rx: float, angle: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(angle), np.sin(angle)
    u, v = (dx * c + dy * s) / rx, (-dx * s + dy * c) / ry
    return u * u + v * v  # < 1 inside


def _texture(rng: np.random.Generator, x: np.ndarray, other: np.ndarray | None) -> np.ndarray:
    c, size, _ = x.shape
    choice = rng.integers(0, 3) if other is not None else rng.integers(1, 3)
    if choice == 0:
        assert other is not None
        # another good image, rotated and contrast-changed: realistic but out of place
        tex = np.rot90(other, k=int(rng.integers(1, 4)), axes=(1, 2)) * rng.uniform(0.5, 2.0)
        return np.ascontiguousarray(tex) + rng.uniform(-1.5, 1.5)
    if choice == 1:
        tex = np.stack([_smooth_noise(rng, size, int(rng.integers(16, 64))) for _ in range(c)])
        return tex * rng.uniform(0.7, 2.5) + rng.uniform(-1.5, 1.5)
    # stripes: machining marks in the wrong direction
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    a = rng.uniform(0, np.pi)
    f = rng.uniform(0.15, 0.8)
    s = np.sin((xx * np.cos(a) + yy * np.sin(a)) * f) * rng.uniform(1.0, 2.5)
    return np.broadcast_to(s, x.shape).astype(np.float32) + rng.uniform(-1.0, 1.0)


def add_defect(
    x: np.ndarray,
    rng: np.random.Generator,
    other: np.ndarray | None = None,
    kinds: tuple[str, ...] = DEFECT_KINDS,
) -> tuple[np.ndarray, np.ndarray]:
    """Paste one random defect onto the standardised image ``x`` (C, H, W); returns the new
    image and its (H, W) 0/1 mask. ``other`` (same shape) is a different good image, a source
    of foreign texture."""
    size = x.shape[1]
    kind = str(rng.choice(list(kinds)))
    out = x.copy()
    mask = np.zeros((size, size), dtype=np.float32)
    if kind == "texture":
        m = perlin_mask(rng, size)
        beta = rng.uniform(0.5, 1.0)
        tex = _texture(rng, x, other)
        out = x * (1 - beta * m) + tex * beta * m
        mask = m
    elif kind == "scar":
        ph = int(rng.integers(max(3, size // 40), max(4, size // 5)))
        pw = int(rng.integers(max(3, size // 40), max(4, size // 3)))
        if rng.random() < 0.5:
            ph, pw = pw, ph
        sy, sx = rng.integers(0, size - ph), rng.integers(0, size - pw)
        dy, dx = rng.integers(0, size - ph), rng.integers(0, size - pw)
        patch = x[:, sy : sy + ph, sx : sx + pw]
        if rng.random() < 0.5:
            patch = patch[:, ::-1, :]
        patch = patch * rng.uniform(0.6, 1.6) + rng.uniform(-1.2, 1.2)
        out[:, dy : dy + ph, dx : dx + pw] = patch
        mask[dy : dy + ph, dx : dx + pw] = 1.0
    elif kind == "blob":
        for _ in range(int(rng.integers(1, 4))):
            r = rng.uniform(1.5, size / 12)
            d = _ellipse(
                size,
                rng.uniform(0, size),
                rng.uniform(0, size),
                r,
                r * rng.uniform(0.5, 1.5),
                rng.uniform(0, np.pi),
            )
            amp = rng.uniform(1.5, 4.0) * (-1 if rng.random() < 0.7 else 1)
            prof = np.exp(-d * 1.5)
            out = out + amp * prof[None]
            mask = np.maximum(mask, (d < 1.0).astype(np.float32))
    elif kind == "crack":
        n = int(rng.integers(10, 60))
        y, x0 = rng.uniform(0, size), rng.uniform(0, size)
        ang = rng.uniform(0, 2 * np.pi)
        width = rng.uniform(0.6, 2.0)
        pts = []
        for _ in range(n):
            ang += rng.normal(0, 0.35)
            y, x0 = y + np.sin(ang) * 1.5, x0 + np.cos(ang) * 1.5
            pts.append((y, x0))
        p = np.asarray(pts, dtype=np.float32)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        lo = np.clip(p.min(0) - 4, 0, size).astype(int)
        hi = np.clip(p.max(0) + 5, 0, size).astype(int)
        sub_y, sub_x = yy[lo[0] : hi[0], lo[1] : hi[1]], xx[lo[0] : hi[0], lo[1] : hi[1]]
        dist = np.full(sub_y.shape, 1e9, dtype=np.float32)
        for py, px in p:
            dist = np.minimum(dist, (sub_y - py) ** 2 + (sub_x - px) ** 2)
        dist = np.sqrt(dist)
        amp = rng.uniform(1.5, 4.0) * (-1 if rng.random() < 0.8 else 1)
        prof = np.clip(1.0 - dist / (width + 0.5), 0, 1)
        out[:, lo[0] : hi[0], lo[1] : hi[1]] += amp * prof[None]
        mask[lo[0] : hi[0], lo[1] : hi[1]] = (prof > 0.2).astype(np.float32)
    elif kind == "edge":
        side = int(rng.integers(0, 4))
        r = rng.uniform(size / 20, size / 6)
        along = rng.uniform(0, size)
        cy, cx = [(0.0, along), (size - 1.0, along), (along, 0.0), (along, size - 1.0)][side]
        d = _ellipse(size, cy, cx, r, r * rng.uniform(0.6, 2.0), rng.uniform(0, np.pi))
        m = (d < 1.0).astype(np.float32)
        level = float(x.min()) - rng.uniform(0.0, 1.0) if rng.random() < 0.7 else float(x.max())
        out = x * (1 - m) + level * m
        mask = m
    else:  # shading: a large soft region brighter or darker than the rest
        m = perlin_mask(rng, size, coverage=float(rng.uniform(0.1, 0.35)))
        soft = uniform_filter(m, size=max(3, size // 16))
        amp = rng.uniform(0.8, 2.0) * (-1 if rng.random() < 0.5 else 1)
        out = x + amp * soft[None]
        mask = m
    # a defect that changed (almost) nothing is not a defect
    changed = np.abs(out - x).max(axis=0) > 0.3
    mask = mask * changed
    return out.astype(np.float32), mask.astype(np.float32)


#: Kinds that real parts show, used to *validate* candidates at training (``inspect train``'s
#: automatic choice): none of them is what the station's net trains on, so the choice rewards
#: features that generalise rather than the net's memory of its own training defects.
VALIDATION_KINDS = ("scratch", "dent", "edge_crack", "contamination", "missing")


def _polyline_dist(size_hw: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    """Distance of every pixel to the nearest of ``pts`` ((K, 2) y, x)."""
    h, w = size_hw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.full((h, w), 1e9, dtype=np.float32)
    for py, px in pts:
        d = np.minimum(d, (yy - py) ** 2 + (xx - px) ** 2)
    return np.sqrt(d)


def add_real_defect(
    x: np.ndarray, rng: np.random.Generator, kinds: tuple[str, ...] = VALIDATION_KINDS
) -> tuple[np.ndarray, np.ndarray]:
    """One defect of a kind real parts show, on the standardised image ``x`` (C, H, W), of
    moderate contrast (a validation set that every method passes chooses nothing): long thin
    scratches, dents (a lit side and a shadowed side), cracks running in from an edge,
    contamination (soft-edged stains), missing material (a flat hole or broken-off corner).
    Returns the new image and its (H, W) 0/1 mask."""
    _, h, w = x.shape
    kind = str(rng.choice(list(kinds)))
    side = min(h, w)
    out = x.copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "scratch":
        y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
        ang = rng.uniform(0, np.pi)
        length = rng.uniform(0.2, 0.7) * side
        bend = rng.normal(0, 0.002)
        t = np.linspace(-0.5, 0.5, max(8, int(length)))
        pts = np.stack(
            [y0 + np.sin(ang + bend * t * length) * t * length, x0 + np.cos(ang) * t * length], 1
        )
        d = _polyline_dist((h, w), pts)
        width = rng.uniform(0.5, 1.5)
        prof = np.clip(1.0 - d / (width + 0.5), 0, 1)
        amp = rng.uniform(1.0, 2.5) * (1 if rng.random() < 0.5 else -1)
        out = out + amp * prof[None]
        mask = (prof > 0.2).astype(np.float32)
    elif kind == "dent":
        cy, cx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
        r = rng.uniform(0.04, 0.12) * side
        d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (r * r)
        bump = np.exp(-d2 * 2.0)
        ang = rng.uniform(0, 2 * np.pi)
        # the slope lit from one side: the derivative of the bump along the light direction
        shade = -(np.cos(ang) * (xx - cx) + np.sin(ang) * (yy - cy)) / r * bump
        out = out + rng.uniform(1.0, 2.5) * shade[None]
        mask = (d2 < 1.0).astype(np.float32)
    elif kind == "edge_crack":
        border = int(rng.integers(0, 4))
        along = rng.uniform(0.1, 0.9)
        start = [(0.0, along * w), (h - 1.0, along * w), (along * h, 0.0), (along * h, w - 1.0)]
        y, x0 = start[border]
        ang = [np.pi / 2, -np.pi / 2, 0.0, np.pi][border] + rng.normal(0, 0.4)
        steps: list[tuple[float, float]] = []
        for _ in range(int(rng.uniform(0.08, 0.3) * side / 1.2) + 4):
            ang += rng.normal(0, 0.3)
            y, x0 = y + np.sin(ang) * 1.2, x0 + np.cos(ang) * 1.2
            steps.append((y, x0))
        d = _polyline_dist((h, w), np.asarray(steps, dtype=np.float32))
        prof = np.clip(1.0 - d / rng.uniform(1.0, 2.5), 0, 1)
        out = out - rng.uniform(1.5, 3.5) * prof[None]
        mask = (prof > 0.2).astype(np.float32)
    elif kind == "contamination":
        m = np.zeros((h, w), dtype=np.float32)
        for _ in range(int(rng.integers(1, 5))):
            r = rng.uniform(0.01, 0.06) * side
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            d = ((yy - cy) / r) ** 2 + ((xx - cx) / (r * rng.uniform(0.5, 2.0))) ** 2
            m = np.maximum(m, np.exp(-d))
        soft = uniform_filter(m, size=3)
        out = out + rng.uniform(0.8, 2.0) * (-1 if rng.random() < 0.7 else 1) * soft[None]
        mask = (m > 0.3).astype(np.float32)
    else:  # missing material: a hole or a broken-off corner, flat and dark (or background)
        level = float(x.min()) - rng.uniform(0.0, 0.5)
        if rng.random() < 0.5:
            cy, cx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
            ry, rx = rng.uniform(0.02, 0.08) * side, rng.uniform(0.02, 0.08) * side
            m = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1.0).astype(np.float32)
        else:
            cy = 0.0 if rng.random() < 0.5 else h - 1.0
            cx = 0.0 if rng.random() < 0.5 else w - 1.0
            a, b = rng.uniform(0.05, 0.2) * side, rng.uniform(0.05, 0.2) * side
            m = (np.abs(yy - cy) / a + np.abs(xx - cx) / b < 1.0).astype(np.float32)
        noise = rng.normal(0, 0.1, size=(h, w)).astype(np.float32)
        out = x * (1 - m) + (level + noise) * m
        mask = m
    changed = np.abs(out - x).max(axis=0) > 0.3
    return out.astype(np.float32), (mask * changed).astype(np.float32)
