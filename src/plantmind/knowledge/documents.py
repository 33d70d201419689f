"""What loaders produce and the index stores: a loaded document as structural blocks, and
the chunks cut from them (source, page, section kept on every piece)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Block", "BlockKind", "Chunk", "LoadedDocument", "LoaderError"]

BlockKind = Literal["heading", "text", "step", "warning", "table", "work_order", "asset", "toc"]


class LoaderError(ValueError):
    """A file could not be read as a document; the message names the file and the reason."""


@dataclass(slots=True)
class Block:
    """One structural piece of a document: a heading, a paragraph, a numbered step, a
    warning or caution, a table, one work order, one asset's sensor sheet."""

    kind: BlockKind
    text: str
    page: int | None = None
    section: str | None = None
    asset: str | None = None
    date: str | None = None
    step: int | None = None


@dataclass(slots=True)
class LoadedDocument:
    """A file read by a loader. ``problems`` lists what was skipped and why (pages without
    extractable text, rows without the mapped columns), so nothing is dropped silently."""

    path: str
    source: str
    kind: str
    pages: int
    blocks: list[Block]
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage: text plus where it comes from (``source`` is the file name,
    ``page`` 1-based or None, ``section`` the nearest heading or record title)."""

    id: str
    doc_id: str
    source: str
    page: int | None
    section: str | None
    kind: str
    text: str
    asset: str | None = None
    date: str | None = None
