"""Structure-aware chunking: blocks → passages that never cross a page or a section, keep a
numbered procedure's steps together (with the warning or caution that precedes a step), and
keep a table whole where it fits. Every chunk records source, page and section."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from plantmind.knowledge.documents import Block, Chunk, LoadedDocument

__all__ = ["ChunkConfig", "chunk_document", "doc_id_for"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[(\"“])")
_SINGLE = frozenset(("work_order", "asset"))


@dataclass(frozen=True)
class ChunkConfig:
    """Sizes in words. ``target`` is where a chunk is closed at the next unit boundary;
    ``maximum`` is where a unit itself (a long paragraph) is cut at sentence ends. About
    two chunks per manual page: each chunk costs one embedding at ingestion, the budget
    that keeps ingestion above 20 pages/s on two CPU cores."""

    target: int = 300
    maximum: int = 450


def doc_id_for(path: str) -> str:
    """A stable id for a document from its absolute path."""
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:12]


def _words(text: str) -> int:
    return len(text.split())


def _split_long(text: str, maximum: int, target: int) -> list[str]:
    """Cut a paragraph longer than ``maximum`` words at sentence ends near ``target``."""
    if _words(text) <= maximum:
        return [text]
    pieces: list[str] = []
    buf: list[str] = []
    n = 0
    for sentence in _SENTENCE_END.split(text):
        w = _words(sentence)
        if buf and n + w > target:
            pieces.append(" ".join(buf))
            buf, n = [], 0
        if w > maximum:  # one run-on "sentence" (a flattened figure list): cut by words
            words = sentence.split()
            for i in range(0, len(words), target):
                pieces.append(" ".join(words[i : i + target]))
            continue
        buf.append(sentence)
        n += w
    if buf:
        pieces.append(" ".join(buf))
    return pieces


def _units(blocks: list[Block]) -> list[list[Block]]:
    """Blocks grouped into units the chunker never splits: warnings/cautions with the step
    that follows them, a step with its sub-steps (already one block), a heading alone."""
    units: list[list[Block]] = []
    pending: list[Block] = []
    for b in blocks:
        if b.kind == "warning":
            pending.append(b)
            continue
        if pending and b.kind == "step" and b.page == pending[-1].page:
            units.append([*pending, b])
        else:
            if pending:
                units.append(pending)
            units.append([b])
        pending = []
    if pending:
        units.append(pending)
    return units


def chunk_document(doc: LoadedDocument, config: ChunkConfig | None = None) -> list[Chunk]:
    """The chunks of ``doc`` in reading order."""
    cfg = config or ChunkConfig()
    doc_id = doc_id_for(doc.path)
    chunks: list[Chunk] = []

    def emit(kind: str, text: str, page: int | None, section: str | None, b: Block | None) -> None:
        text = text.strip()
        if not text:
            return
        chunks.append(
            Chunk(
                id=f"{doc_id}:{len(chunks)}",
                doc_id=doc_id,
                source=doc.source,
                page=page,
                section=section,
                kind=kind,
                text=text,
                asset=b.asset if b else None,
                date=b.date if b else None,
            )
        )

    buf: list[str] = []
    buf_words = 0
    buf_kind = "text"
    key: tuple[int | None, str | None] = (None, None)

    def flush() -> None:
        nonlocal buf, buf_words, buf_kind
        if buf:
            emit(buf_kind, "\n".join(buf), key[0], key[1], None)
        buf, buf_words, buf_kind = [], 0, "text"

    for unit in _units(doc.blocks):
        first = unit[0]
        if first.kind in _SINGLE or first.kind == "toc":
            flush()
            for piece in _split_long(first.text, cfg.maximum, cfg.target):
                emit(first.kind, piece, first.page, first.section, first)
            continue
        if first.kind == "heading":
            flush()
            key = (first.page, first.section)
            continue
        unit_key = (first.page, first.section)
        if unit_key != key:
            flush()
            key = unit_key
        text = "\n".join(b.text for b in unit)
        kinds = {b.kind for b in unit}
        if _words(text) > cfg.maximum:
            # A step whose wrapped lines ran into prose (flattened PDF text) is cut like a
            # paragraph; its pieces stay marked as procedure text.
            flush()
            kind = "procedure" if kinds & {"step", "warning"} else "text"
            for piece in _split_long(text, cfg.maximum, cfg.target):
                emit(kind, piece, first.page, first.section, None)
            continue
        if buf and buf_words + _words(text) > cfg.target:
            flush()
        buf.append(text)
        buf_words += _words(text)
        # A passage holding steps is a procedure: the assistant quotes it as steps.
        if kinds & {"step", "warning"}:
            buf_kind = "procedure"
        elif "table" in kinds and buf_kind == "text":
            buf_kind = "table"
    flush()
    return chunks
