"""The compliance report: a self-contained HTML page (no external assets, every text
escaped) with the summary (counts, who judged, what was not analysed and why) and the
coverage matrix, and the same summary as JSON."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plantmind.comply.matrix import MatrixRow

__all__ = ["render_html", "write_html", "write_summary"]

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
"""


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
