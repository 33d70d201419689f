"""``run_comply_bench`` on a short synthetic standard: every generated requirement is
extracted, the phases are timed, and the figures are the ones the CLI prints."""

from __future__ import annotations

from plantmind.bench.comply import run_comply_bench
from plantmind.comply.synth import CHARS_PER_PAGE, generate


def test_synthetic_standard_has_the_asked_size_and_markers():
    data = generate(20, seed=1)
    assert 19 * CHARS_PER_PAGE <= len(data.standard) <= 22 * CHARS_PER_PAGE
    assert "<!-- page 20 -->" in data.standard
    assert data.met and data.omitted and data.requirements == len(data.met | data.omitted)
    assert generate(20, seed=1).standard == data.standard  # deterministic


def test_bench_figures(tmp_path):
    r = run_comply_bench(tmp_path, pages=20, seed=2)
    assert r["pages"] >= 20 and r["requirements"] == r["requirements_generated"] > 0
    assert r["within_target"] and r["seconds_total"] < r["target_s"]
    assert sum(r["counts"].values()) == r["requirements"]
    assert r["judged_by"] == {"deterministic matcher (no model configured)": r["requirements"]}
    assert (
        sum(r["ground_truth_met"].values()) + sum(r["ground_truth_omitted"].values())
        == (r["requirements"])
    )
    assert (tmp_path / "check" / "matrix.csv").is_file() and r["peak_rss_mb"] > 0
