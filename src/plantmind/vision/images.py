"""Reading inspection images safely (size checked from the header before decoding, truncated
files and wrong channel counts refused with the file named) and turning them into the fixed-size,
per-image normalised arrays the models see.

Only Pillow and numpy: this module is part of the edge runtime, which has no torch.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "ImageError",
    "list_images",
    "load_image",
    "normalise",
    "region_mask",
    "resize",
    "working_shape",
]

#: Largest image accepted (pixels). A 20,000 × 20,000 upload is refused from its header, before
#: Pillow allocates anything (a decompression bomb would otherwise take gigabytes).
MAX_PIXELS = 50_000_000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class ImageError(ValueError):
    """An image could not be used; the message names the file and the problem."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


def _open(data: bytes | str | Path, source: str) -> Image.Image:
    try:
        fp = io.BytesIO(data) if isinstance(data, bytes | bytearray) else open(data, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise ImageError(source, "file not found") from None
    except OSError as exc:
        raise ImageError(source, f"cannot read: {exc.strerror or exc}") from None
    try:
        with warnings.catch_warnings():
            # Pillow warns (and errors past 2×) on decompression bombs; we check ourselves
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                img = Image.open(fp)
            except Image.DecompressionBombError as exc:
                # Pillow refuses from the header alone; its message gives the pixel count
                raise ImageError(
                    source, f"image too large, refused before decoding ({exc})"
                ) from None
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(
                source,
                f"image too large: {w} × {h} pixels, the most accepted is {MAX_PIXELS:,} pixels",
            )
        if w < 8 or h < 8:
            raise ImageError(source, f"image is {w} × {h} pixels; at least 8 × 8 is needed")
        try:
            img.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(source, f"truncated or corrupt image data ({exc})") from None
        return img
    except UnidentifiedImageError:
        raise ImageError(source, "not an image (unknown or unsupported format)") from None
    finally:
        fp.close()


def load_image(
    data: bytes | str | Path, channels: int | None = None, source: str | None = None
) -> np.ndarray:
    """Decode an image to ``uint8`` of shape (H, W, C) with C = 1 (grey) or 3 (RGB).

    ``channels`` asks for a channel count; an image that does not have it is refused (a colour
    image for a grey model, or a grey one for a colour model, is a wrong camera or a wrong
    station, not something to convert silently). ``None`` keeps what the file has.
    """
    src = source or (str(data) if not isinstance(data, bytes | bytearray) else "<upload>")
    img = _open(data, src)
    mode = img.mode
    if mode in ("L", "I;16", "I", "F", "1", "LA", "P") and not (
        mode == "P" and "transparency" not in img.info and _palette_is_colour(img)
    ):
        got = 1
        if mode in ("I;16", "I", "F"):
            arr = np.asarray(img, dtype=np.float64)
            lo, hi = float(arr.min()), float(arr.max())
            arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else arr * 0.0
            out = arr.astype(np.uint8)[:, :, None]
        else:
            out = np.asarray(img.convert("L"), dtype=np.uint8)[:, :, None]
    elif mode in ("RGB", "RGBA", "CMYK", "YCbCr", "P", "RGBX", "LAB", "HSV"):
        got = 3
        out = np.asarray(img.convert("RGB"), dtype=np.uint8)
    else:
        raise ImageError(src, f"unsupported pixel mode {mode!r}")
    if channels is not None and got != channels:
        want = "grey (1 channel)" if channels == 1 else "colour (3 channels)"
        have = "grey (1 channel)" if got == 1 else "colour (3 channels)"
        raise ImageError(
            src, f"wrong number of channels: the model expects {want}, image is {have}"
        )
    return np.ascontiguousarray(out)


def _palette_is_colour(img: Image.Image) -> bool:
    pal = img.getpalette() or []
    rgb = np.asarray(pal, dtype=np.int16).reshape(-1, 3)
    return bool(np.any(rgb[:, 0] != rgb[:, 1]) or np.any(rgb[:, 1] != rgb[:, 2]))


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def working_shape(
    aspects: Sequence[float], size: int, align: int = 32, max_aspect: float = 4.0
) -> tuple[int, int]:
    """The (height, width) a station's images are brought to: a square ``size`` × ``size``
    when the parts' aspect ratios (width / height) vary (parts shot at no fixed framing:
    squashing keeps them comparable), else the parts' common aspect kept, the short side
    ``size`` and the long side a multiple of ``align`` (a long part stays long instead of
    being squashed; at most ``max_aspect`` : 1)."""
    a = np.asarray([x for x in aspects if x > 0], dtype=np.float64)
    if a.size == 0:
        return size, size
    lo, mid, hi = np.quantile(a, [0.1, 0.5, 0.9])
    if hi / lo > 1.25 or 0.8 < mid < 1.25:
        return size, size
    r = min(max(mid, 1 / max_aspect), max_aspect)
    long = max(size, round(size * max(r, 1 / r) / align) * align)
    return (size, long) if r > 1 else (long, size)


def resize(img: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """(H, W, C) uint8 → (size, size, C) or, for ``size`` = (h, w), (h, w, C) uint8 (bilinear,
    with antialiasing when shrinking)."""
    h, w = _hw(size)
    chans = [
        np.asarray(
            Image.fromarray(img[:, :, c]).resize((w, h), Image.Resampling.BILINEAR),
            dtype=np.uint8,
        )
        for c in range(img.shape[2])
    ]
    return np.stack(chans, axis=2)


def normalise(img: np.ndarray) -> np.ndarray:
    """Per-image, per-channel standardisation: (H, W, C) uint8 → (C, H, W) float32.

    Inspection lighting drifts and magnetic-tile images differ in exposure; standardising each
    image removes that before the model sees it (a global shading defect still shows as shape).
    """
    x = img.astype(np.float32).transpose(2, 0, 1)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = x.std(axis=(1, 2), keepdims=True)
    return (x - mean) / np.maximum(std, 4.0)


def region_mask(
    height: int,
    width: int,
    size: int | tuple[int, int],
    include: Sequence[object] = (),
    exclude: Sequence[object] = (),
) -> np.ndarray | None:
    """A (size, size) (or ``size`` = (h, w)) float32 mask of where defects count, from a station's rectangles given in
    the original image's pixels (objects with x, y, width, height). None when the whole image
    counts."""
    if not include and not exclude:
        return None
    full = np.zeros((height, width), dtype=np.float32) if include else np.ones((height, width))
    for r in include:
        full[r.y : r.y + r.height, r.x : r.x + r.width] = 1.0  # type: ignore[attr-defined]
    for r in exclude:
        full[r.y : r.y + r.height, r.x : r.x + r.width] = 0.0  # type: ignore[attr-defined]
    small = np.asarray(
        Image.fromarray((full * 255).astype(np.uint8)).resize(
            _hw(size)[::-1], Image.Resampling.NEAREST
        ),
        dtype=np.float32,
    )
    return (small > 127).astype(np.float32)


def list_images(sources: Iterable[str | Path]) -> list[Path]:
    """Image files from folders (searched recursively), files, and text files listing paths
    (one per line); sorted, so a seed means the same split every time."""
    out: list[Path] = []
    for s in sources:
        p = Path(s)
        if p.is_dir():
            out.extend(q for q in sorted(p.rglob("*")) if q.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file() and p.suffix.lower() in (".txt", ".lst", ".list"):
            base = p.parent
            for line in p.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    q = Path(line)
                    out.append(q if q.is_absolute() else base / q)
        else:
            out.append(p)
    return out
