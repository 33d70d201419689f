"""Bounds on what one ``add`` reads: a file over the size limit is refused, named with the
limit, and the other files still go in; progress is reported within one long text file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from plantmind.cli import app
from plantmind.knowledge.index import KnowledgeIndex

MANUAL = """# Pump P-7 manual

## Seal
A weeping mechanical seal of up to 5 drops per minute may run until the next stop.
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    small = tmp_path / "pump.md"
    small.write_text(MANUAL, encoding="utf-8")
    big = tmp_path / "big.txt"
    # ~1.2 MB: over a 1 MB limit, small enough to keep the test fast
    big.write_text("Inspect the coupling guard before every start.\n\n" * 25_000)
    return small, big


def test_a_file_over_the_limit_is_refused_and_the_others_added(tmp_path: Path) -> None:
    small, big = _files(tmp_path)
    with KnowledgeIndex(tmp_path / "idx", embedder=None) as index:
        results = {Path(r.path).name: r for r in index.add([small, big], max_mb=1)}
        assert results["pump.md"].status == "added"
        refused = results["big.txt"]
        assert refused.status == "failed"
        assert refused.error is not None
        assert "big.txt" in refused.error and "size limit of 1 MB" in refused.error
        assert [d.source for d in index.documents()] == ["pump.md"]
        assert index.search("mechanical seal drops").hits[0].chunk.source == "pump.md"


def test_no_limit_reads_the_file_and_reports_progress_through_it(tmp_path: Path) -> None:
    _, big = _files(tmp_path)
    events: list[tuple[str, int, int]] = []
    with KnowledgeIndex(tmp_path / "idx", embedder=None) as index:
        (result,) = index.add(
            [big], max_mb=None, progress=lambda e, _p, d, t: events.append((e, d, t))
        )
        assert result.status == "added"
    lines = [(d, t) for e, d, t in events if e == "pages"]
    assert len(lines) > 1 and lines[-1][0] == lines[-1][1]  # moved within the one file
    assert any(e == "index" for e, _, _ in events)


def test_cli_max_mb_reports_the_refused_file_and_adds_the_rest(tmp_path: Path) -> None:
    small, big = _files(tmp_path)
    home = str(tmp_path / "h")
    args = ["docs", "add", str(small), str(big), "--home", home, "--no-embed", "--max-mb", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "added" in result.output and "pump.md" in result.output
    assert "big.txt" in result.output and "size limit of 1 MB" in result.output
