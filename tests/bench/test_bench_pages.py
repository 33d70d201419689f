"""The HTML pages of ``bench assistant``, ``bench cmapss`` and ``bench tune``: self-contained
(no scripts, no external assets), figures inline as SVG with a text equivalent, hostile names
escaped, the numbers still in a table; the commands write them beside their JSON."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from plantmind.bench.pages import (
    assistant_page,
    cmapss_page,
    read_cmapss_predictions,
    write_cmapss_page,
)
from plantmind.bench.tune import render_html as tune_html

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"


def _svgs(page: str) -> list[ET.Element]:
    found = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert found, "no inline figure"
    roots = [ET.fromstring(s) for s in found]
    for r in roots:
        assert r.get("role") == "img" and r.get("aria-label")
    return roots


def _self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page


def _figures(**over):
    f = {"answerable": 8, "unanswerable": 2, "hit_at_1": 0.5, "hit_at_5": 0.875,
         "answerable_wrongly_declined": 0.125, "unanswerable_declined": 1.0}  # fmt: skip
    f.update(over)
    return f


def _assistant_summary():
    return {
        "questions": 14, "answerable": 11, "unanswerable": 3, "latency_p50_ms": 4.2,
        "latency_p95_ms": 9.9, "ingest_pages": 20, "ingest_chunks": 80, "ingest_s": 1.5,
        "dense": False, "model": None, "lockbox": False,
        **_figures(),
        "by_style": {
            "manual": _figures(),
            HOSTILE: _figures(unanswerable=0, unanswerable_declined=None),
            "terse": _figures(answerable=0, hit_at_1=None, hit_at_5=None),
        },
        "baselines": {"bm25": {**_figures(hit_at_1=0.25), "score_auc": 0.7,
                               "by_style": {"manual": _figures(hit_at_1=0.25)}}},
    }  # fmt: skip


def test_assistant_page_plots_rates_per_style_and_recipe():
    page = assistant_page(_assistant_summary())
    _self_contained(page)
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    per_style, per_recipe = _svgs(page)
    labels = ["".join(t.itertext()) for t in per_style.iter(f"{NS}text")]
    assert {"all", "manual", "terse", "hit@1", "hit@5"} <= set(labels)
    assert "n/a" in labels  # the terse style has no hit@k
    assert {"plantmind", "bm25"} <= {"".join(t.itertext()) for t in per_recipe.iter(f"{NS}text")}
    # the numbers stay in a table
    assert "<td>bm25</td><td>all</td><td>10</td><td>0.250</td>" in page
    assert "<td>0.700</td>" in page


def test_assistant_page_without_baselines_has_one_figure():
    s = _assistant_summary()
    del s["baselines"]
    assert len(_svgs(assistant_page(s))) == 1


def _cmapss(tmp_path: Path) -> tuple[dict, Path]:
    out = tmp_path / "out"
    out.mkdir()
    with (out / "predictions_FD009.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit", "rul_pred", "rul_low", "rul_high", "rul_true"])
        w.writerow(["3", "50.00", "40.00", "60.00", "55"])
        w.writerow(["1", "10.00", "5.00", "20.00", "30"])
        w.writerow(["2", "125.00", "100.00", "125.00", "140"])
        w.writerow([HOSTILE, "nan", "nan", "nan", "7"])
    summary = {
        "subset": "FD009", "train_units": 24, "test_units": 4, "regimes": 1,
        "signals_used": ["s1", "s2"], "n_features": 30, "cap": 125.0, "interval": 0.9,
        "capped": {"rmse": 9.5, "mae": 7.0, "nasa_score": 12.3, "coverage": 0.75},
        "as_given": {"rmse": 11.0, "mae": 8.0, "nasa_score": 20.0, "coverage": 0.5},
        "mean_interval_width": 18.3, "train_seconds": 2.0, "inference_ms_per_unit": 0.05,
    }  # fmt: skip
    return summary, out


def test_cmapss_page_plots_predicted_against_true_with_the_interval(tmp_path):
    summary, out = _cmapss(tmp_path)
    rows = read_cmapss_predictions(out / "predictions_FD009.csv")
    page = cmapss_page(summary, rows)
    _self_contained(page)
    assert HOSTILE not in page
    curve, coverage = _svgs(page)
    assert curve.find(f"{NS}polygon") is not None  # the interval band
    assert len(list(curve.iter(f"{NS}polyline"))) >= 1
    assert "1 point(s) missing" in curve.get("aria-label", "")  # the NaN prediction
    assert "Coverage of the 90% intervals" in coverage.get("aria-label", "")
    # ordered by true RUL, every unit in the table, inside/outside its interval
    units = re.findall(r"<tr><td>([^<]+)</td><td>[\d.]+</td>", page.split("<details>")[1])
    assert units == ["&lt;script&gt;alert(1)&lt;/script&gt;", "1", "3", "2"]
    assert page.count("<td>no</td>") == 3 and page.count("<td>yes</td>") == 1
    assert "<td>75.0%</td>" in page and "<td>12.3</td>" in page


def test_write_cmapss_page_lies_beside_the_json(tmp_path):
    summary, out = _cmapss(tmp_path)
    path = write_cmapss_page(summary, out)
    assert path == out / "summary_FD009.html" and "<svg" in path.read_text(encoding="utf-8")


def _write_nasa(path: Path, lives: list[int], cut: list[int] | None, seed: int) -> list[int]:
    """NASA's layout (unit, cycle, 3 settings, 21 sensors) for units wearing out over
    ``lives`` cycles, each cut after ``cut`` cycles when given; the remaining lives."""
    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        for u, life in enumerate(lives, start=1):
            n = cut[u - 1] if cut else life
            for c in range(1, n + 1):
                wear = (c / life) ** 2
                sensors = [100 + 5 * wear * (k + 1) + rng.normal(0, 0.1) for k in range(4)]
                sensors += [100.0] * 17
                vals = [u, c, 0.0, 0.0, 100.0, *sensors]
                fh.write(" ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in vals))
                fh.write("\n")
    return [life - k for life, k in zip(lives, cut or lives, strict=True)]


def test_bench_cmapss_command_writes_the_page(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from plantmind.bench import cmapss as bench_cmapss
    from plantmind.cli import app
    from plantmind.health.rul import RulConfig, RulModel

    data = tmp_path / "cmapss"
    data.mkdir()
    _write_nasa(data / "train_FD009.txt", [60 + 5 * i for i in range(10)], None, seed=0)
    true = _write_nasa(data / "test_FD009.txt", [70, 80, 90, 100], [30, 60, 45, 90], seed=1)
    (data / "RUL_FD009.txt").write_text("\n".join(str(t) for t in true) + "\n")
    small = RulConfig(cap=60.0, n_folds=3, max_iter=20, learning_rate=0.2, min_samples_leaf=20,
                      mlp_weight=0.0, calib_points=20)  # fmt: skip
    # a quick model: the page is under test here, not the model
    monkeypatch.setattr(bench_cmapss, "RulModel", lambda config=None: RulModel(small))
    r = CliRunner().invoke(
        app, ["bench", "cmapss", "--data", str(data), "--subset", "FD009",
              "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    page = (tmp_path / "out" / "summary_FD009.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "out" / "summary_FD009.json").read_text())["test_units"] == 4
    assert len(_svgs(page)) == 2 and "summary_FD009.html" in r.output


def _tune_report():
    def metric(mean, lo, hi):
        return {"mean": mean, "ci95": [lo, hi], "n": 10}

    return {
        "note": "a note",
        "dataset": {"records": 40, "per_split": {"train": 30, "test": 10},
                    "dedup": {"duplicate_rate": 0.0}, "decline_share": 0.1, "leaks": []},
        "training": {"steps": 3, "train_records": 30, "first_loss": 2.0, "last_loss": 1.5,
                     "eval_loss_before": 2.1, "eval_loss_after": 1.9},
        "evaluation": {
            "records": 10,
            "models": {
                "base": {"key_fact_recall": metric(0.3, 0.2, 0.4),
                         "citation_accuracy": metric(0.5, 0.3, 0.7),
                         "decline_accuracy": {"mean": None, "ci95": [None, None], "n": 0},
                         "invented_number_rate": metric(0.1, 0.0, 0.2)},
                HOSTILE: {"key_fact_recall": metric(0.4, 0.3, 0.5),
                          "citation_accuracy": metric(0.6, 0.4, 0.8),
                          "decline_accuracy": metric(0.9, 0.8, 1.0),
                          "invented_number_rate": metric(0.05, 0.0, 0.1)},
            },
            "comparisons": {f"{HOSTILE} - base": {
                "key_fact_recall": {"difference": 0.1, "ci95": [-0.05, 0.2],
                                    "verdict": "no difference shown"}}},
        },
        "timings_s": {"total_s": 1.0},
    }  # fmt: skip


def test_tune_page_draws_the_intervals_with_the_kit():
    page = tune_html(_tune_report())
    _self_contained(page)
    assert HOSTILE not in page
    (chart,) = _svgs(page)
    assert len(list(chart.iter(f"{NS}circle"))) == 7  # decline_accuracy of base: not measured
    assert "not measured" in page and "0.300 [0.200, 0.400] n=10" in page
    tips = ["".join(t.itertext()) for t in chart.iter(f"{NS}title")]
    assert any(t.startswith("key_fact_recall (base): 0.300 [0.200, 0.400]") for t in tips)
