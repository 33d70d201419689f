"""Bad inputs get a clear error naming the file and the problem, and nothing breaks."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from plantmind.demo.parts import make_part, png_bytes, write_parts
from plantmind.vision.images import ImageError, list_images, load_image
from plantmind.vision.threshold import NotEnoughGoodImages
from plantmind.vision.train import TrainConfig, TrainingError, train_model


def huge_png_header(width: int = 20_000, height: int = 20_000) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` (8-bit grey) with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_not_an_image(tmp_path: Path):
    p = tmp_path / "notes.png"
    p.write_text("this is not a picture")
    with pytest.raises(ImageError, match=r"notes\.png: not an image"):
        load_image(p)


def test_truncated_file(tmp_path: Path):
    data = png_bytes(make_part(1, None, (120, 120))[0])
    p = tmp_path / "cut.png"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.png: truncated or corrupt"):
        load_image(p)


def test_huge_image_is_refused_from_its_header(tmp_path: Path):
    p = tmp_path / "huge.png"
    p.write_bytes(huge_png_header())
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageError, match=r"huge\.png: image too large"):
        load_image(p)
    # refused before decoding: no 400 MB buffer was ever allocated
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000


def test_wrong_number_of_channels():
    colour = png_bytes(make_part(2, None, (64, 64), colour=True)[0])
    with pytest.raises(ImageError, match="wrong number of channels: the model expects grey"):
        load_image(colour, channels=1, source="cam3.png")
    grey = png_bytes(make_part(2, None, (64, 64))[0])
    assert load_image(grey, channels=1).shape == (64, 64, 1)
    assert load_image(colour, channels=3).shape == (64, 64, 3)


def test_empty_training_folder(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    assert list_images([tmp_path / "empty"]) == []
    with pytest.raises(TrainingError, match="no good images"):
        train_model([], tmp_path / "m")


def test_training_folder_of_non_images_names_the_files(tmp_path: Path):
    bad = tmp_path / "a.jpg"
    bad.write_bytes(b"nope")
    with pytest.raises(TrainingError, match=r"a\.jpg: not an image"):
        train_model([bad], tmp_path / "m")


def test_too_few_good_images_to_set_a_threshold(tmp_path: Path):
    paths = write_parts(tmp_path / "few", 12, seed=4, size=(64, 64))
    with pytest.raises(NotEnoughGoodImages, match="too few good images to set a threshold"):
        train_model(paths, tmp_path / "m", cfg=TrainConfig(size=32, widths=(4, 8), steps=2))


def test_bad_files_among_good_ones_are_skipped_and_reported(tmp_path: Path):
    paths = write_parts(tmp_path / "ok", 24, seed=5, size=(64, 64))
    (tmp_path / "ok" / "broken.png").write_bytes(b"\x89PNG garbage")
    result = train_model(
        list_images([tmp_path / "ok"]),
        tmp_path / "m",
        cfg=TrainConfig(size=32, widths=(4, 8), steps=2, batch_size=4),
    )
    assert [Path(p).name for p, _ in result.skipped] == ["broken.png"]
    assert result.meta.n_train + result.meta.n_holdout == len(paths)
    assert np.isfinite(result.holdout_scores).all()
