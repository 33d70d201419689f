"""The loader conformance suite: the same checks on every registered document loader.

Every loader must: read a small sample of its format (written here, one per loader, under each
of its suffixes) into blocks with the page and section structure the format carries; be the
one :func:`loader_for` picks for its suffixes, in any case; and turn a missing, empty,
whitespace-only or garbage file into a :class:`LoaderError` that names the file, both through
:func:`load_document` and through its own ``load``.

A loader registered without an entry in :data:`SAMPLES` fails
:func:`test_every_registered_loader_has_a_conformance_sample`: a new format comes with its
sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from plantmind.knowledge.documents import LoadedDocument, LoaderError
from plantmind.knowledge.loader_registry import (
    Loader,
    LoadOptions,
    loader_for,
    register_loader,
    registered_loaders,
    supported_suffixes,
)
from plantmind.knowledge.loaders import (
    SUPPORTED_SUFFIXES,
    HtmlLoader,
    MarkdownLoader,
    PdfLoader,
    PlainTextLoader,
    PlantSheetLoader,
    WorkOrderCsvLoader,
    load_document,
)

PdfWriter = Callable[[Path, list[str]], Path]


@dataclass(frozen=True)
class Sample:
    """A small file of one format and what its loader must make of it."""

    write: Callable[[Path, PdfWriter], None]  # write the sample at the path given
    phrases: tuple[str, ...]  # each appears in some block's text
    pages: frozenset[int | None]  # the page numbers the blocks carry
    doc_pages: int  # LoadedDocument.pages
    sections: frozenset[str]  # sections that some block carries
    block_kinds: frozenset[str]  # kinds that some block has
    problems: tuple[str, ...] = field(default=())  # each appears in some problem


def _pdf(path: Path, pdf: PdfWriter) -> None:
    pdf(path, ["1.1 Lubrication\nCheck the oil level weekly.", "", "1.2 Seals\nReplace the seal."])


def _markdown(path: Path, pdf: PdfWriter) -> None:
    path.write_text(
        "<!-- page 1 -->\n# Pump seal change\n\n## Procedure\n\n1. Isolate the pump.\n\n"
        "WARNING: the casing may be hot.\n<!-- page 2 -->\n| Item | Torque |\n|---|---|\n"
        "| Gland nut | 25 N·m |\n",
        encoding="utf-8",
    )


def _text(path: Path, pdf: PdfWriter) -> None:
    path.write_text("LUBRICATION\nUse ISO VG 68 oil.\n\fSEALS\nStep 1: drain the casing.\n")


def _html(path: Path, pdf: PdfWriter) -> None:
    path.write_text(
        "<html><head><script>var a=1;</script></head><body><h2>Lubrication</h2>"
        "<p>Use ISO VG 68 oil.</p><ol><li>Stop the pump.</li></ol>"
        "<table><tr><th>Part</th><th>Qty</th></tr><tr><td>Oil</td><td>0.9 L</td></tr></table>"
        "</body></html>",
        encoding="utf-8",
    )


def _work_orders(path: Path, pdf: PdfWriter) -> None:
    path.write_text(
        "wo_id,equipment_id,actual_finish,wo_description,primary_code\n"
        "WO7,P-101,2024-03-01,seal leak,M005\n"
        "WO8,P-101,2024-04-01,,\n",
        encoding="utf-8",
    )


def _plant_sheet(path: Path, pdf: PdfWriter) -> None:
    path.write_text(
        "version: 1\nname: Test works\nsites:\n  - id: s1\n    name: Site one\n"
        "    timezone: UTC\n    lines:\n      - id: l1\n        name: Line one\n"
        "        assets:\n          - id: P-7\n            name: Feed pump\n"
        "            kind: centrifugal_pump\n            signals:\n"
        "              - {id: P-7.vibration_rms, name: Vibration, unit: mm/s, "
        "expected_range: [0.0, 4.5], sample_rate_hz: 1}\n",
        encoding="utf-8",
    )


# One entry per registered loader class; a new loader adds its own (see the module docstring).
SAMPLES: dict[type[Loader], Sample] = {
    PdfLoader: Sample(
        _pdf,
        phrases=("Check the oil level weekly.", "Replace the seal."),
        pages=frozenset({1, 3}),
        doc_pages=3,
        sections=frozenset({"1.1 Lubrication", "1.2 Seals"}),
        block_kinds=frozenset({"heading", "text"}),
        problems=("without extractable text",),
    ),
    MarkdownLoader: Sample(
        _markdown,
        phrases=("Isolate the pump.", "Gland nut"),
        pages=frozenset({1, 2}),
        doc_pages=2,
        sections=frozenset({"Procedure"}),
        block_kinds=frozenset({"heading", "step", "warning", "table"}),
    ),
    PlainTextLoader: Sample(
        _text,
        phrases=("Use ISO VG 68 oil.", "drain the casing"),
        pages=frozenset({1, 2}),
        doc_pages=2,
        sections=frozenset({"LUBRICATION", "SEALS"}),
        block_kinds=frozenset({"heading", "text", "step"}),
    ),
    HtmlLoader: Sample(
        _html,
        phrases=("Use ISO VG 68 oil.", "0.9 L"),
        pages=frozenset({None}),
        doc_pages=1,
        sections=frozenset({"Lubrication"}),
        block_kinds=frozenset({"heading", "text", "step", "table"}),
    ),
    WorkOrderCsvLoader: Sample(
        _work_orders,
        phrases=("Symptom: seal leak.",),
        pages=frozenset({None}),
        doc_pages=0,
        sections=frozenset({"work order WO7"}),
        block_kinds=frozenset({"work_order"}),
        problems=("1 row(s) without symptom",),
    ),
    PlantSheetLoader: Sample(
        _plant_sheet,
        phrases=("P-7.vibration_rms", "unit mm/s: normal range 0 to 4.5 mm/s"),
        pages=frozenset({None}),
        doc_pages=0,
        sections=frozenset({"Feed pump (P-7)"}),
        block_kinds=frozenset({"asset"}),
    ),
}

LOADERS = registered_loaders()
CASES = [(loader, suffix) for loader in LOADERS for suffix in loader.suffixes]


def _id(value: object) -> str:
    return type(value).__name__ if isinstance(value, Loader) else str(value)


def _sample(loader: Loader) -> Sample:
    sample = SAMPLES.get(type(loader))
    assert sample is not None, f"{type(loader).__name__} has no conformance sample in SAMPLES"
    return sample


def test_every_registered_loader_has_a_conformance_sample() -> None:
    missing = [type(lo).__name__ for lo in registered_loaders() if type(lo) not in SAMPLES]
    assert not missing, f"registered loaders without a conformance sample: {missing}"
    # and no sample for a class that is no longer registered (a stale harness tests nothing)
    registered = {type(lo) for lo in registered_loaders()}
    assert set(SAMPLES) <= registered, set(SAMPLES) - registered


def test_supported_suffixes_are_the_registry() -> None:
    assert tuple(SUPPORTED_SUFFIXES) == supported_suffixes()
    assert list(SUPPORTED_SUFFIXES) == [s for lo in LOADERS for s in lo.suffixes]
    assert len(set(SUPPORTED_SUFFIXES)) == len(SUPPORTED_SUFFIXES)


def _check(doc: LoadedDocument, loader: Loader, sample: Sample, path: Path) -> None:
    assert doc.kind == loader.kind
    assert doc.path == str(path) and doc.source == path.name
    assert doc.blocks, "no blocks"
    assert all(b.text.strip() for b in doc.blocks)
    text = "\n".join(b.text for b in doc.blocks)
    for phrase in sample.phrases:
        assert phrase in text, phrase
    assert {b.page for b in doc.blocks} == sample.pages
    assert doc.pages == sample.doc_pages
    assert sample.sections <= {b.section for b in doc.blocks}
    assert sample.block_kinds <= {b.kind for b in doc.blocks}
    for problem in sample.problems:
        assert any(problem in p for p in doc.problems), doc.problems


@pytest.mark.parametrize(("loader", "suffix"), CASES, ids=_id)
def test_reads_its_sample_with_structure(
    loader: Loader, suffix: str, tmp_path: Path, make_pdf: PdfWriter
) -> None:
    sample = _sample(loader)
    path = tmp_path / f"sample{suffix}"
    sample.write(path, make_pdf)
    _check(load_document(path), loader, sample, path)
    _check(loader.load(path), loader, sample, path)
    _check(loader.load(str(path), LoadOptions()), loader, sample, path)


@pytest.mark.parametrize(("loader", "suffix"), CASES, ids=_id)
def test_is_the_loader_for_its_suffixes(loader: Loader, suffix: str, tmp_path: Path) -> None:
    assert loader_for(tmp_path / f"a{suffix}") is loader
    assert loader_for(f"B{suffix.upper()}") is loader
    assert suffix in SUPPORTED_SUFFIXES


@pytest.mark.parametrize(
    "content",
    [b"", b"  \n\n\t  \n", b"\x00\x01\x02garbage\xff" * 64],
    ids=["empty", "whitespace", "garbage"],
)
@pytest.mark.parametrize("loader", LOADERS, ids=_id)
def test_an_unreadable_file_is_a_loader_error_naming_it(
    loader: Loader, content: bytes, tmp_path: Path
) -> None:
    path = tmp_path / f"bad-{loader.kind}{loader.suffixes[0]}"
    path.write_bytes(content)
    for read in (load_document, loader.load):
        with pytest.raises(LoaderError) as info:
            read(path)
        assert str(path) in str(info.value)
        if not content:
            assert "empty file" in str(info.value)


@pytest.mark.parametrize("loader", LOADERS, ids=_id)
def test_a_missing_file_is_a_loader_error_naming_it(loader: Loader, tmp_path: Path) -> None:
    path = tmp_path / f"missing{loader.suffixes[0]}"
    for read in (load_document, loader.load):
        with pytest.raises(LoaderError, match="no such file") as info:
            read(path)
        assert str(path) in str(info.value)


# --- the registry ------------------------------------------------------------------------------


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the registry for the test to change; the real one is restored after."""
    from plantmind.knowledge import loader_registry

    monkeypatch.setattr(loader_registry, "_BY_SUFFIX", dict(loader_registry._BY_SUFFIX))


def test_a_registered_loader_is_used_by_load_document(
    scratch_registry: None, tmp_path: Path
) -> None:
    @register_loader
    class LogLoader(PlainTextLoader):
        suffixes = (".log",)
        kind = "log"

    path = tmp_path / "pump.LOG"
    path.write_text("SEALS\nReplace the seal.\n")
    assert ".log" in SUPPORTED_SUFFIXES and SUPPORTED_SUFFIXES[-1] == ".log"
    doc = load_document(path)
    assert doc.kind == "log" and doc.blocks[-1].section == "SEALS"
    assert isinstance(loader_for(path), LogLoader)


def test_registering_a_taken_or_bad_suffix_is_refused(scratch_registry: None) -> None:
    class OtherCsv(WorkOrderCsvLoader):
        suffixes = (".csv",)

    with pytest.raises(ValueError, match=r"\.csv already has loader WorkOrderCsvLoader"):
        register_loader(OtherCsv)
    assert type(loader_for("x.csv")) is WorkOrderCsvLoader
    register_loader(OtherCsv, replace=True)
    assert type(loader_for("x.csv")) is OtherCsv

    class Upper(PlainTextLoader):
        suffixes = (".LOG",)

    with pytest.raises(ValueError, match="lower-case"):
        register_loader(Upper)

    class NoSuffix(PlainTextLoader):
        suffixes = ()

    with pytest.raises(ValueError, match="no suffixes"):
        register_loader(NoSuffix)


def test_an_unsupported_suffix_names_the_file_and_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(LoaderError) as info:
        load_document(path)
    assert str(info.value) == (
        f"{path}: unsupported file type .docx; supported: {', '.join(SUPPORTED_SUFFIXES)}"
    )
    with pytest.raises(LoaderError, match=r"unsupported file type \(none\)"):
        loader_for(tmp_path / "README")
