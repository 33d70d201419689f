"""``bench short``: the generated files are deterministic and labelled where the anomaly is,
and the product's model beats the plain baselines on them in the same run."""

from __future__ import annotations

import json

import numpy as np

from plantmind.bench.short import format_short, run_short
from plantmind.bench.short_files import KINDS, STYLES, generate, write_csv


def test_generated_files_are_deterministic_and_normal_before_the_anomaly(tmp_path) -> None:
    for style in STYLES:
        for kind in KINDS:
            a, b = generate(style, kind, 7), generate(style, kind, 7)
            assert np.array_equal(a.values, b.values) and a.values.shape[1] == 8
            first = int(np.argmax(a.label))
            assert a.label.sum() >= 100 and first >= a.normal_rows + 20
            assert a.normal_rows >= int(0.3 * len(a.values))
    path = write_csv(generate("process", "shift", 1), tmp_path / "f.csv")
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("timestamp,flow,") and header.endswith(",anomaly")


def test_the_product_beats_the_library_baselines_on_generated_files(tmp_path) -> None:
    summary = run_short(None, tmp_path)
    gen = summary["generated"]
    ours, lw, iso = gen["ours"], gen["lw-ewma"], gen["iforest"]
    assert ours["f1"] > max(lw["f1"], iso["f1"])
    assert ours["far"] < 0.10 < min(lw["far"], iso["far"])
    files = ours["files"]
    assert len(files) == len(STYLES) * len(KINDS) * 3
    assert all(f["learned_rows"] <= f["normal_rows"] + 1 for f in files)  # never learns a fault
    assert json.loads((tmp_path / "summary.json").read_text())["seeds"] == [0, 1, 2]
    text = format_short(summary, per_file=True)
    assert "ours     all" in text and "1–398" in text
