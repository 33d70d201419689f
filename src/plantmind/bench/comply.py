"""``plantmind bench comply``: a long synthetic standard (300 pages by default) checked
against generated procedures without a model: seconds per phase, peak memory, and the
matcher's agreement with the generator's ground truth.

The ground truth is what the generator put in the procedures. The synthetic procedures
recombine the standard's words on purpose ("test the steam guard" beside "inspect the
hydraulic guard"), which is the bag-of-concepts matcher's known weak spot: read its
agreement figures as a lower bound, not as the accuracy on real documents.
"""

from __future__ import annotations

import platform
import resource
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plantmind.comply.check import load_requirements, run_check
from plantmind.comply.synth import generate

__all__ = ["TARGET_S", "run_comply_bench"]

TARGET_S = 60.0


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_comply_bench(
    out: Path,
    pages: int = 300,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Generate, extract and check; the figures as a dict (see the module docstring)."""
    say = progress or (lambda s: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    data = generate(pages, seed)
    standard = out / "standard.md"
    standard.write_text(data.standard, encoding="utf-8")
    procs = out / "procedures"
    shutil.rmtree(procs, ignore_errors=True)
    procs.mkdir()
    for name, text in data.procedures.items():
        (procs / name).write_text(text, encoding="utf-8")
    gen_s = time.perf_counter() - t
    say(f"generated {len(data.standard):,} characters and {len(data.procedures)} procedure(s)")

    t = time.perf_counter()
    tree, reqs = load_requirements(standard)
    extract_s = time.perf_counter() - t
    say(f"extract: {tree.pages} pages, {len(tree.clauses):,} clauses, {len(reqs):,} requirements")

    check_dir = out / "check"
    shutil.rmtree(check_dir, ignore_errors=True)  # measure indexing from scratch
    report = run_check(standard, procs, check_dir)
    say(f"check: {report.counts} in {report.seconds['total']:.1f} s")

    status = {r.paragraph: r.status for r in report.rows}
    omitted = Counter(status.get(k, "not extracted") for k in data.omitted)
    met = Counter(status.get(k, "not extracted") for k in data.met)
    total = report.seconds["total"]
    return {
        "pages": tree.pages,
        "characters": len(data.standard),
        "clauses": len(tree.clauses),
        "requirements": len(reqs),
        "requirements_generated": data.requirements,
        "procedure_files": len(data.procedures),
        "seconds_generate": round(gen_s, 2),
        "seconds_extract": round(extract_s, 2),
        **{f"seconds_check_{k}": round(v, 2) for k, v in report.seconds.items()},
        "seconds_total": round(total, 2),
        "target_s": TARGET_S,
        "within_target": total <= TARGET_S,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "counts": report.counts,
        "judged_by": report.judged_by,
        "ground_truth_met": dict(met),
        "ground_truth_omitted": dict(omitted),
        "not_analysed": len(report.not_analysed),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
    }
