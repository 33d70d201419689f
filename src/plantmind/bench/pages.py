"""Self-contained HTML pages for benchmarks that otherwise write only JSON: ``bench assistant``
(hit@k and decline rates per question style and per recipe) and ``bench cmapss`` (remaining
life predicted against the truth for every test unit, with the interval, and the intervals'
coverage). Each page is built from the bench's own summary (and, for C-MAPSS, its predictions
CSV), keeps every number of its figures in a table, and needs no scripts or external assets
(figures are inline SVG from :mod:`plantmind.web.svg`)."""

from __future__ import annotations

import csv
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plantmind.web.svg import PALETTE, bar_chart, figure, line_chart

__all__ = [
    "assistant_page",
    "cmapss_page",
    "read_cmapss_predictions",
    "write_assistant_page",
    "write_cmapss_page",
]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:64em;color:#1d1d1f}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.4em 0 1em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f2f2f2}
figure{margin:1em 0 1.4em}figcaption{font-size:12px;color:#555;max-width:52em}
.small{font-size:12px;color:#555}
table.by td:nth-child(-n+2),table.by th:nth-child(-n+2){text-align:left}
"""

#: the rates of ``bench assistant`` and their names on the page
_RATES = (
    ("hit_at_1", "hit@1"),
    ("hit_at_5", "hit@5"),
    ("unanswerable_declined", "unanswerable declined"),
    ("answerable_wrongly_declined", "answerable wrongly declined"),
)
_RATE_COLOURS = {"hit@1": PALETTE[0], "hit@5": PALETTE[5], "unanswerable declined": PALETTE[2],
                 "answerable wrongly declined": PALETTE[1]}  # fmt: skip


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _num(v: object, fmt: str = "{:.3f}") -> str:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return "-" if v is None else _e(v)
    return fmt.format(v)


def _page(title: str, body: Sequence[str]) -> str:
    return "\n".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            *body,
            "</body></html>\n",
        ]
    )


def _rate(fig: Mapping[str, Any], key: str) -> float | None:
    v = fig.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def assistant_page(summary: Mapping[str, Any]) -> str:
    """The page of one ``bench assistant`` summary (``summary.json``)."""
    styles: dict[str, Any] = dict(summary.get("by_style") or {})
    groups = {"all": summary, **styles}
    recipes: dict[str, Any] = {"plantmind": summary, **(summary.get("baselines") or {})}
    lock = " (lockbox)" if summary.get("lockbox") else ""
    title = f"plantmind bench assistant{lock}"
    head = [
        f"<h1>Technician assistant: retrieval and declines{_e(lock)}</h1>",
        "<p class='small'>"
        f"{_e(summary.get('questions'))} question(s): {_e(summary.get('answerable'))} "
        f"answerable, {_e(summary.get('unanswerable'))} unanswerable; dense retrieval "
        f"{'on' if summary.get('dense') else 'off'}; model {_e(summary.get('model') or 'none')}; "
        f"latency p50 {_num(summary.get('latency_p50_ms'), '{:.1f}')} ms, p95 "
        f"{_num(summary.get('latency_p95_ms'), '{:.1f}')} ms; ingested "
        f"{_e(summary.get('ingest_pages'))} page(s), {_e(summary.get('ingest_chunks'))} "
        f"chunk(s) in {_num(summary.get('ingest_s'), '{:.1f}')} s.</p>",
        "<p>hit@k: the share of answerable questions whose gold page is among the first k "
        "retrieved. Higher is better for every rate except <i>answerable wrongly "
        "declined</i>.</p>",
    ]
    body = list(head)
    body.append(
        figure(
            bar_chart(
                list(groups),
                {name: [_rate(g, key) for g in groups.values()] for key, name in _RATES},
                title="plantmind per question style",
                domain=(0.0, 1.0),
                value_format="{:.2f}",
                tick_format="{:.0%}",
                colors=_RATE_COLOURS,
                bar_height=12,
                unit="share of the questions it applies to",
            ),
            "Rates over all questions and per question style; a style without answerable "
            "(or unanswerable) questions has no hit@k (or decline) rate: n/a.",
        )
    )
    if len(recipes) > 1:
        body.append(
            figure(
                bar_chart(
                    list(recipes),
                    {name: [_rate(r, key) for r in recipes.values()] for key, name in _RATES},
                    title="plantmind and the plain recipes, all questions",
                    domain=(0.0, 1.0),
                    value_format="{:.2f}",
                    tick_format="{:.0%}",
                    colors=_RATE_COLOURS,
                    bar_height=12,
                    unit="share of the questions it applies to",
                ),
                "Every recipe over the same chunks; a plain recipe declines on a cut of its "
                "top score (see the bench's documentation).",
            )
        )
    cols = ["recipe", "style", "n", *(name for _, name in _RATES), "AUC"]
    body.append(
        "<h2>Numbers</h2><table class='by'><thead><tr>"
        + "".join(f"<th>{_e(c)}</th>" for c in cols)
        + "</tr></thead><tbody>"
    )
    for rname, fig in recipes.items():
        for style, f in [("all", fig), *(fig.get("by_style") or {}).items()]:
            n = (f.get("answerable") or 0) + (f.get("unanswerable") or 0)
            body.append(
                f"<tr><td>{_e(rname)}</td><td>{_e(style)}</td><td>{n}</td>"
                + "".join(f"<td>{_num(f.get(key))}</td>" for key, _ in _RATES)
                + f"<td>{_num(f.get('score_auc')) if style == 'all' else ''}</td></tr>"
            )
    body.append("</tbody></table>")
    llm = summary.get("llm")
    if isinstance(llm, Mapping) and llm:
        body.append("<h2>Model (in-process)</h2><table><tbody>")
        body.extend(f"<tr><td>{_e(k)}</td><td>{_num(v)}</td></tr>" for k, v in llm.items())
        body.append("</tbody></table>")
    return _page(title, body)


def write_assistant_page(summary: Mapping[str, Any], path: Path) -> Path:
    """Write :func:`assistant_page` to ``path`` (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(assistant_page(summary), encoding="utf-8")
    return path


def read_cmapss_predictions(path: Path) -> list[dict[str, Any]]:
    """The rows of ``predictions_FD00x.csv``: unit, and the floats rul_pred, rul_low,
    rul_high, rul_true (NaN where a cell is not a number)."""

    def num(s: str | None) -> float:
        try:
            return float(s) if s is not None else math.nan
        except ValueError:
            return math.nan

    with path.open(newline="", encoding="utf-8") as fh:
        return [
            {"unit": r.get("unit", ""),
             **{k: num(r.get(k)) for k in ("rul_pred", "rul_low", "rul_high", "rul_true")}}
            for r in csv.DictReader(fh)
        ]  # fmt: skip


def cmapss_page(summary: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]]) -> str:
    """The page of one ``bench cmapss`` subset: its summary and its per-unit predictions."""
    subset = str(summary.get("subset", ""))
    cap = float(summary.get("cap", math.nan))
    level = summary.get("interval")
    level_txt = f"{level:.0%}" if isinstance(level, int | float) else "the"
    rows = sorted(
        predictions,
        key=lambda r: (
            not math.isfinite(r["rul_true"]),
            r["rul_true"] if math.isfinite(r["rul_true"]) else 0.0,
        ),
    )
    x = list(range(1, len(rows) + 1))
    capped, given = summary.get("capped") or {}, summary.get("as_given") or {}
    body = [
        f"<h1>C-MAPSS {_e(subset)}: remaining useful life</h1>",
        "<p class='small'>"
        f"{_e(summary.get('train_units'))} training and {_e(summary.get('test_units'))} test "
        f"unit(s), {_e(summary.get('regimes'))} regime(s), "
        f"{len(summary.get('signals_used') or [])} signal(s), {_e(summary.get('n_features'))} "
        f"feature(s); trained in {_num(summary.get('train_seconds'), '{:.1f}')} s, "
        f"{_num(summary.get('inference_ms_per_unit'), '{:.3f}')} ms per unit.</p>",
        figure(
            line_chart(
                x,
                {
                    "true RUL": [r["rul_true"] for r in rows],
                    "predicted RUL": [r["rul_pred"] for r in rows],
                },
                band=([r["rul_low"] for r in rows], [r["rul_high"] for r in rows]),
                band_label=f"{level_txt} interval",
                title=f"Predicted vs true remaining life, {len(rows)} test unit(s)",
                x_label="test units, ordered by true RUL",
                y_label="RUL (cycles)",
                colors={"true RUL": "#1d1d1f", "predicted RUL": PALETTE[1]},
                dots=["predicted RUL"],
                width=720,
                height=340,
            ),
            f"Each test unit at its last cycle: the truth (RUL file), the prediction and its "
            f"{level_txt} interval. The model learns min(RUL, {cap:g}): above {cap:g} cycles "
            "it cannot tell, so predictions and intervals stop at the cap.",
        ),
        figure(
            bar_chart(
                [f"truth capped at {cap:g}", "truth as given"],
                {
                    "observed coverage": [_rate(capped, "coverage"), _rate(given, "coverage")],
                    "nominal": [level if isinstance(level, int | float) else None] * 2,
                },
                title=f"Coverage of the {level_txt} intervals",
                domain=(0.0, 1.0),
                value_format="{:.0%}",
                tick_format="{:.0%}",
                colors={"observed coverage": PALETTE[0], "nominal": "#999999"},
                width=560,
            ),
            "Share of test units whose true RUL lies inside its interval, against the "
            "share the intervals are calibrated for.",
        ),
        "<h2>Scores</h2><table><thead><tr><th>truth</th><th>RMSE</th><th>MAE</th>"
        "<th>NASA score</th><th>coverage</th></tr></thead><tbody>",
    ]
    for name, s in ((f"capped at {cap:g}", capped), ("as given", given)):
        body.append(
            f"<tr><td>{_e(name)}</td><td>{_num(s.get('rmse'), '{:.2f}')}</td>"
            f"<td>{_num(s.get('mae'), '{:.2f}')}</td>"
            f"<td>{_num(s.get('nasa_score'), '{:.1f}')}</td>"
            f"<td>{_num(s.get('coverage'), '{:.1%}')}</td></tr>"
        )
    body.append(
        "</tbody></table><p>Mean interval width "
        f"{_num(summary.get('mean_interval_width'), '{:.1f}')} cycles.</p>"
        f"<details><summary>Every test unit ({len(rows)})</summary><table><thead><tr>"
        "<th>unit</th><th>true RUL</th><th>predicted</th><th>low</th><th>high</th>"
        "<th>inside</th></tr></thead><tbody>"
    )
    for r in rows:
        inside = r["rul_low"] <= r["rul_true"] <= r["rul_high"]
        body.append(
            f"<tr><td>{_e(r['unit'])}</td><td>{_num(r['rul_true'], '{:g}')}</td>"
            + "".join(
                f"<td>{_num(r[k], '{:.1f}')}</td>" for k in ("rul_pred", "rul_low", "rul_high")
            )
            + f"<td>{'yes' if inside else 'no'}</td></tr>"
        )
    body.append("</tbody></table></details>")
    return _page(f"plantmind bench cmapss {subset}", body)


def write_cmapss_page(summary: Mapping[str, Any], out: Path) -> Path:
    """``OUT/summary_FD00x.html`` beside the subset's JSON, from the summary and
    ``OUT/predictions_FD00x.csv``."""
    subset = str(summary["subset"])
    rows = read_cmapss_predictions(out / f"predictions_{subset}.csv")
    path = out / f"summary_{subset}.html"
    path.write_text(cmapss_page(summary, rows), encoding="utf-8")
    return path
