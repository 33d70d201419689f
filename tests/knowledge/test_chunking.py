"""Chunking follows structure: never across a page or section, procedures whole with their
warnings, long prose cut at sentence ends, source/page/section on every chunk."""

from __future__ import annotations

from plantmind.knowledge.chunking import ChunkConfig, chunk_document
from plantmind.knowledge.documents import Block, LoadedDocument


def _doc(blocks: list[Block]) -> LoadedDocument:
    return LoadedDocument("/x/sop.md", "sop.md", "markdown", 2, blocks)


def test_warning_stays_with_its_step_and_steps_stay_together():
    blocks = [
        Block("heading", "4. Procedure", 1, "4. Procedure"),
        Block("step", "1. Isolate.", 1, "4. Procedure", step=1),
        Block("warning", "WARNING: hot surface.", 1, "4. Procedure"),
        Block("step", "2. Open the casing.", 1, "4. Procedure", step=2),
        Block("step", "3. Pull the rotor.", 1, "4. Procedure", step=3),
    ]
    (chunk,) = chunk_document(_doc(blocks))
    assert chunk.kind == "procedure" and chunk.section == "4. Procedure" and chunk.page == 1
    assert "WARNING: hot surface.\n2. Open the casing." in chunk.text


def test_split_between_units_never_inside_a_warning_step_pair():
    blocks = [Block("heading", "Steps", 1, "Steps")]
    for i in range(1, 30):
        if i % 5 == 0:
            blocks.append(Block("warning", f"CAUTION: caution number {i} " + "x " * 5, 1, "Steps"))
        blocks.append(Block("step", f"{i}. step {i} " + "word " * 12, 1, "Steps", step=i))
    chunks = chunk_document(_doc(blocks), ChunkConfig(target=60, maximum=120))
    assert len(chunks) > 3
    for c in chunks:
        assert not c.text.rstrip().splitlines()[-1].startswith("CAUTION")  # never cut after
        assert c.section == "Steps"


def test_chunks_do_not_cross_pages_or_sections():
    blocks = [
        Block("text", "alpha " * 20, 1, "A"),
        Block("text", "beta " * 20, 2, "A"),
        Block("heading", "B", 2, "B"),
        Block("text", "gamma " * 20, 2, "B"),
    ]
    chunks = chunk_document(_doc(blocks))
    assert [(c.page, c.section) for c in chunks] == [(1, "A"), (2, "A"), (2, "B")]
    assert all(c.source == "sop.md" for c in chunks)


def test_long_paragraph_cut_at_sentence_ends():
    text = " ".join(f"Sentence number {i} says something useful here." for i in range(200))
    chunks = chunk_document(
        _doc([Block("text", text, 3, "S")]), ChunkConfig(target=100, maximum=150)
    )
    assert len(chunks) >= 5
    assert all(c.text.endswith(".") and len(c.text.split()) <= 150 for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_work_orders_are_one_chunk_each_with_asset_and_date():
    blocks = [
        Block("work_order", f"Work order {i}.", None, f"work order {i}", "P-1", f"2024-01-0{i}")
        for i in range(1, 4)
    ]
    chunks = chunk_document(_doc(blocks))
    assert [(c.kind, c.asset, c.date) for c in chunks] == [
        ("work_order", "P-1", f"2024-01-0{i}") for i in range(1, 4)
    ]
