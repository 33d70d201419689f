"""``plantmind bench comply --layouts --gaps``: the compliance checks that hold on material the
tool was not built on.

* **Layout sweep** (:func:`layout_sweep`): the layout corpus of
  :mod:`plantmind.bench.comply_layouts` (one made-up standard rendered one paragraph a line,
  in the eCFR's inline layout, in ISO decimal clauses, and as PDFs with running headers,
  footers, hyphenation and two columns), the made-up EU regulation of the same module
  (``eu-articles``: articles, numbered paragraphs, points, an annex; ``pdf-eu``: it as a
  one-column PDF), and the made-up eCFR-inline regulation of
  :mod:`plantmind.bench.comply_corpus.ecfr_inline`; with the shared 29 CFR 1910.147 when its
  path is given. Extraction recall and precision at full designators per layout.
* **Gap finding** (:func:`gap_scores`): ``comply check`` of the corpus's plant procedures
  (:mod:`plantmind.bench.comply_corpus.gaps`) against their standards: how many of the
  deliberate gaps come out "missing", how many requirements the procedure does meet are
  called "missing" (false gaps), and how many it meets only in part are called "covered".
  ``lockbox=True`` adds the procedure kept back for one final evaluation.

The judge is whatever ``comply check`` uses (the deterministic matcher without a model), and
the figures say so.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plantmind.bench import comply_layouts as layouts
from plantmind.bench.comply_corpus import ecfr_inline, gold_1910_147
from plantmind.bench.comply_corpus.gaps import SOP_DIR, SOPS
from plantmind.comply.check import load_requirements, run_check

__all__ = ["LOCKBOX", "gap_scores", "layout_sweep"]

#: the procedure kept for one final evaluation
LOCKBOX = "lockout_checklist"

_LAYOUT_STYLE = {"one-per-line": "cfr", "ecfr-inline": "cfr", "iso": "iso"}


def _designator(paragraph: str, section: str) -> str:
    """``1910.147(c)(1)`` → ``(c)(1)``; ISO ids stay as they are."""
    return paragraph.removeprefix(section).strip()


def _scores(got: list[str], want: list[str]) -> dict[str, Any]:
    hit = set(got) & set(want)
    return {
        "requirements": len(want),
        "extracted": len(got),
        "recall": round(len(hit) / len(want), 3) if want else None,
        "precision": round(len(hit) / len(got), 3) if got else None,
        "missed": sorted(set(want) - set(got))[:10],
        "extra": sorted(set(got) - set(want))[:10],
    }


def _extract(path: Path, section: str) -> list[str]:
    _, reqs = load_requirements(path)
    return [_designator(r.paragraph, section) for r in reqs]


def layout_sweep(cfr: Path | None = None) -> dict[str, dict[str, Any]]:
    """Extraction recall and precision per layout (see the module docstring)."""
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="plantmind-layouts-") as tmp:
        root = Path(tmp)
        renderings: list[tuple[str, Path, str]] = []
        for name, style in _LAYOUT_STYLE.items():
            text = getattr(layouts, name.replace("-", "_"))()
            path = root / f"{name}.md"
            path.write_text(text, encoding="utf-8")
            renderings.append((name, path, style))
        cfr_text = layouts.one_per_line()
        renderings.append(
            ("pdf-one-column", layouts.write_pdf_pages(root / "one.pdf", cfr_text), "cfr")
        )
        for order in ("row-by-row", "column-by-column"):
            pdf = layouts.write_two_column_pdf(
                root / f"{order}.pdf", cfr_text, row_by_row=order == "row-by-row"
            )
            renderings.append((f"pdf-two-column-{order}", pdf, "cfr"))
        for name, path, style in renderings:
            want = [d for d, _ in layouts.expected(style)]
            section = layouts.SECTION if style == "cfr" else ""
            out[name] = _scores(_extract(path, section), want)
        # the made-up EU regulation, in Markdown and as a one-column PDF
        eu = root / "eu-articles.md"
        eu.write_text(layouts.eu_articles(), encoding="utf-8")
        eu_pdf = layouts.write_pdf_pages(
            root / "eu.pdf", layouts.eu_plain(), header=layouts.EU_HEADER
        )
        for name, path in (("eu-articles", eu), ("pdf-eu", eu_pdf)):
            out[name] = _scores(_extract(path, ""), list(layouts.EU_GOLD))
        made_up = root / "ecfr_inline_regulation.md"
        made_up.write_text(ecfr_inline.TEXT, encoding="utf-8")
        out["ecfr-inline-regulation"] = _scores(
            _extract(made_up, ecfr_inline.SECTION), list(ecfr_inline.GOLD)
        )
    if cfr is not None:
        out["29-cfr-1910.147"] = _scores(
            _extract(cfr, gold_1910_147.SECTION), list(gold_1910_147.GOLD)
        )
    return out


def _standard(name: str, cfr: Path | None, work: Path) -> tuple[Path | None, str]:
    if name == "1910.147":
        return cfr, gold_1910_147.SECTION
    path = work / "ecfr_inline_regulation.md"
    path.write_text(ecfr_inline.TEXT, encoding="utf-8")
    return path, ecfr_inline.SECTION


def gap_scores(
    out: Path,
    cfr: Path | None = None,
    *,
    lockbox: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Gap finding per procedure of the corpus (see the module docstring). A procedure
    whose standard is not available (1910.147 without ``cfr``) is reported as skipped."""
    say = progress or (lambda s: None)
    results: dict[str, dict[str, Any]] = {}
    for name, case in SOPS.items():
        if name == LOCKBOX and not lockbox:
            continue
        work = Path(out) / name
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        standard, section = _standard(case["standard"], cfr, work)
        if standard is None:
            results[name] = {"skipped": "29 CFR 1910.147 not given (--cfr)"}
            continue
        report = run_check(standard, [SOP_DIR / case["sop"]], work / "check")
        status = {_designator(r.paragraph, section): r.status for r in report.rows}
        gaps, partial = set(case["gaps"]), set(case["partial"])
        met = set(case["covered"])
        results[name] = {
            "requirements": len(report.rows),
            "statuses": dict(Counter(status.values())),
            "gaps": len(gaps),
            "gaps_found": sum(status.get(g) == "missing" for g in gaps),
            "gaps_not_found": sorted(g for g in gaps if status.get(g) != "missing"),
            "false_gaps": sum(status.get(p) == "missing" for p in met | partial),
            "partial_called_covered": sum(status.get(p) == "covered" for p in partial),
            "judged_by": report.judged_by,
            "lockbox": name == LOCKBOX,
        }
        r = results[name]
        say(f"{name}: {r['gaps_found']}/{r['gaps']} gaps found, {r['false_gaps']} false gaps")
    return results
