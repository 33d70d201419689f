"""The compliance report: a self-contained HTML page (no external assets, no scripts, every
text escaped) with the summary (counts, who judged, what was not analysed and why), its
figures as inline SVG (requirements by status; status per top-level clause; every
requirement in the standard's order as a strip) and the coverage matrix, and the same
summary as JSON."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plantmind.comply.matrix import MatrixRow
from plantmind.web.svg import bar_chart, empty_figure, heat_strip

__all__ = ["STATUS_COLOURS", "clause_of", "render_html", "write_html", "write_summary"]

_STATUSES = ("covered", "partial", "missing")
#: the figures' colours, the same hues as the matrix rows, dark enough to carry white text
STATUS_COLOURS = {"covered": "#2e8540", "partial": "#d99a00", "missing": "#c0392b"}
_STATUS_VALUE = {"missing": 0.0, "partial": 0.5, "covered": 1.0}

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d1d1f}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
.counts span{display:inline-block;margin-right:1.5em;font-weight:600}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2;position:sticky;top:0}
td.req{max-width:34em}td.ev{max-width:30em;color:#333}
.covered{background:#e4f5e4}.partial{background:#fff4d6}.missing{background:#fde2e1}
.small{font-size:12px;color:#555}
ul.na li{margin:.2em 0}
figure{margin:1em 0 1.4em}figcaption{font-size:12px;color:#555;max-width:52em}
table.fig{width:auto;margin:.4em 0 1em}table.fig td{text-align:right}
table.fig td:first-child{text-align:left}
"""

_CFR_TOP = re.compile(r"^(.*?\([^)]*\))")
_DOTTED_TOP = re.compile(r"^((?:[A-Za-z]+\s+)?(?:[A-Z]|[A-Z]?\d+))(?:\.\d+)+")


def clause_of(paragraph: str) -> str:
    """The top-level clause a paragraph belongs to: ``1910.147(c)(7)(ii)`` → ``1910.147(c)``,
    ``4.2.1`` → ``4``; anything else is its own clause."""
    p = paragraph.strip()
    m = _CFR_TOP.match(p)
    if m:
        return m.group(1)
    m = _DOTTED_TOP.match(p)
    return m.group(1) if m else p


def _figures(counts: Mapping[str, Any], rows: Sequence[MatrixRow]) -> list[str]:
    """The summary's figures with a table of their numbers beside each."""
    status_counts = [int(counts.get(s, 0) or 0) for s in _STATUSES]
    total = sum(status_counts)
    out = [
        "<h2>Figures</h2><figure>",
        empty_figure("Requirements by status", "no requirements to count")
        if total == 0
        else bar_chart(
            list(_STATUSES),
            {"requirements": status_counts},
            title="Requirements by status",
            unit="requirements",
            value_format="{:.0f}",
            row_colors=[STATUS_COLOURS[s] for s in _STATUSES],
            width=560,
            bar_height=20,
        ),
        f"<figcaption>How many of the {total} requirement(s) the procedures cover, cover in "
        "part, or miss (the counts above).</figcaption></figure>",
    ]
    clauses: dict[str, dict[str, int]] = {}
    for r in rows:
        per = clauses.setdefault(clause_of(r.paragraph), dict.fromkeys(_STATUSES, 0))
        if r.status in per:
            per[r.status] += 1
    if clauses:
        names = list(clauses)
        out += [
            "<figure>",
            bar_chart(
                names,
                {s: [clauses[c][s] for c in names] for s in _STATUSES},
                title="Status per top-level clause",
                unit="requirements",
                value_format="{:.0f}",
                colors=STATUS_COLOURS,
                stacked=True,
                width=640,
            ),
            "<figcaption>Requirements of each top-level clause by status, in the "
            "standard's order; the numbers are in the table below.</figcaption></figure>",
            "<table class='fig'><thead><tr><th>clause</th>"
            + "".join(f"<th>{s}</th>" for s in _STATUSES)
            + "<th>share covered</th></tr></thead><tbody>",
            *(
                f"<tr><td>{_e(c)}</td>"
                + "".join(f"<td>{clauses[c][s]}</td>" for s in _STATUSES)
                + f"<td>{_share(clauses[c])}</td></tr>"
                for c in names
            ),
            "</tbody></table>",
            "<figure>",
            heat_strip(
                [(r.paragraph, _STATUS_VALUE.get(r.status)) for r in rows],
                title="Every requirement in the standard's order",
                stops=(
                    STATUS_COLOURS["missing"],
                    STATUS_COLOURS["partial"],
                    STATUS_COLOURS["covered"],
                ),
                legend=[("missing", 0.0), ("partial", 0.5), ("covered", 1.0)],
                value_text=_status_name,
                cell_width=16 if len(rows) > 40 else 40,
                cell_height=22,
                width=640,
            ),
            "<figcaption>One cell per requirement, left to right and row by row as in the "
            "matrix (hover a cell for its paragraph): where the gaps lie.</figcaption></figure>",
        ]
    return out


def _status_name(v: float) -> str:
    return min(_STATUS_VALUE, key=lambda s: abs(_STATUS_VALUE[s] - v))


def _share(per: Mapping[str, int]) -> str:
    n = sum(per.values())
    return f"{per['covered'] / n:.0%}" if n else "-"


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def render_html(summary: Mapping[str, Any], rows: Sequence[MatrixRow]) -> str:
    """The report page for a check's ``summary`` (see :func:`write_summary`) and rows."""
    counts = summary.get("counts", {})
    judged = summary.get("judged_by", {})
    na: list[str] = list(summary.get("not_analysed", []))
    parts: list[str] = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Compliance: {_e(summary.get('standard'))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Compliance of procedures with {_e(summary.get('standard'))}</h1>",
        "<p class='small'>"
        f"{_e(summary.get('pages'))} page(s), {_e(summary.get('clauses'))} clause(s), "
        f"{_e(summary.get('requirements'))} requirement(s); procedures: "
        f"{_e(', '.join(summary.get('procedures', [])))}; generated {_e(summary.get('generated_at'))}"
        "</p>",
        "<h2>Summary</h2><p class='counts'>",
        *(
            f"<span class='{s}'>{_e(s)}: {_e(counts.get(s, 0))}</span>"
            for s in ("covered", "partial", "missing")
        ),
        "</p><p><b>Judged by:</b></p><ul>",
        *(f"<li>{_e(k)}: {_e(v)} row(s)</li>" for k, v in judged.items()),
        "</ul>",
        *_figures(counts, rows),
    ]
    if not summary.get("model"):
        parts.append(
            "<p>No model judged this check: every row was judged by the deterministic "
            "key-concept matcher, which reads words, not meaning (see each row's note).</p>"
        )
    others = summary.get("not_requirements") or {}
    if others:
        parts.append(
            "<p><b>Clauses read but not requirements:</b> "
            + ", ".join(f"{_e(k)} {_e(v)}" for k, v in others.items())
            + " (headings, definitions, notes, scope statements, informative text, "
            "lead-ins whose list items are the requirements, permissions and "
            "recommendations).</p>"
        )
    parts.append("<h2>Not analysed</h2>")
    if na:
        parts.append("<ul class='na'>" + "".join(f"<li>{_e(x)}</li>" for x in na) + "</ul>")
    else:
        parts.append("<p>Everything in the standard and the procedures was analysed.</p>")
    parts.append(
        "<h2>Coverage matrix</h2><table><thead><tr><th>paragraph</th><th>requirement</th>"
        "<th>modality</th><th>status</th><th>evidence</th><th>judged by</th></tr></thead><tbody>"
    )
    for r in rows:
        where = r.evidence_source
        if r.evidence_page is not None:
            where += f", p. {r.evidence_page}"
        if r.evidence_section:
            where += f", {r.evidence_section}"
        ev = (
            f"<div class='small'>{_e(where)}</div>{_e(r.evidence_text)}"
            if r.evidence_source
            else "<span class='small'>no passage cited</span>"
        )
        note = f"<div class='small'>{_e(r.note)}</div>" if r.note else ""
        parts.append(
            f"<tr class='{_e(r.status)}'><td>{_e(r.paragraph)}</td><td class='req'>"
            f"{_e(r.requirement)}</td><td>{_e(r.modality)}</td><td>{_e(r.status)}</td>"
            f"<td class='ev'>{ev}{note}</td><td>{_e(r.judged_by)}</td></tr>"
        )
    parts.append("</tbody></table></body></html>\n")
    return "\n".join(parts)


def write_html(summary: Mapping[str, Any], rows: Sequence[MatrixRow], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(summary, rows), encoding="utf-8")
    return path


def write_summary(summary: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
