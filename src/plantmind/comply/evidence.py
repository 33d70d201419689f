"""Evidence for requirements: the plant's procedures in a knowledge index (BM25 over small
passages), and for each requirement the passages most likely to meet it.

Passages are smaller than the assistant's (about 120 words instead of 300): a requirement is
met by a sentence or a step, and a smaller passage keeps the retrieval from rewarding a
section that merely mentions every word somewhere. Dense embeddings are off by default: the
judge reads concepts, not paraphrases, and BM25 alone keeps a 300-page standard in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plantmind.comply.ingest import ComplyError
from plantmind.comply.requirements import Requirement
from plantmind.knowledge.chunking import ChunkConfig
from plantmind.knowledge.index import AddResult, KnowledgeIndex
from plantmind.knowledge.loaders import SUPPORTED_SUFFIXES

__all__ = ["EVIDENCE_CHUNKING", "Passage", "ProcedureIndex", "procedure_files"]

EVIDENCE_CHUNKING = ChunkConfig(target=120, maximum=180)
# Documents a procedures folder may hold; work-order CSVs and plant.yaml are not procedures.
PROCEDURE_SUFFIXES = tuple(s for s in SUPPORTED_SUFFIXES if s not in (".csv", ".yaml", ".yml"))


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved passage of a procedure: where it is and its text."""

    source: str
    page: int | None
    section: str | None
    text: str
    score: float


def procedure_files(procedures: Path | Sequence[Path]) -> list[Path]:
    """The procedure documents in a folder (recursively) or a list of files and folders;
    raises :class:`ComplyError` naming the path when there are none."""
    items = [procedures] if isinstance(procedures, Path | str) else list(procedures)
    files: list[Path] = []
    for raw in items:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in PROCEDURE_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
            if not found:
                raise ComplyError(
                    f"{p}: no procedure documents (supported: {', '.join(PROCEDURE_SUFFIXES)})"
                )
            files.extend(found)
        elif p.is_file():
            if p.suffix.lower() not in PROCEDURE_SUFFIXES:
                raise ComplyError(
                    f"{p}: unsupported file type {p.suffix or '(none)'} for a procedure; "
                    f"supported: {', '.join(PROCEDURE_SUFFIXES)}"
                )
            files.append(p)
        else:
            raise ComplyError(f"{p}: no such file or folder")
    return files


class ProcedureIndex:
    """The procedures of one check, indexed under ``root`` (BM25 only unless an embedder is
    given; see :class:`~plantmind.knowledge.index.KnowledgeIndex`)."""

    def __init__(self, root: Path, *, embedder: object | None = None) -> None:
        self.index = KnowledgeIndex(root, embedder=embedder, chunking=EVIDENCE_CHUNKING)  # type: ignore[arg-type]

    def add(
        self,
        files: Sequence[Path],
        progress: Callable[[str, str, int, int], None] | None = None,
    ) -> list[AddResult]:
        """Index the files; a file that cannot be read is a ``failed`` result, not an error.
        Files indexed by an earlier run that are not in ``files`` are removed."""
        wanted = {str(Path(f).resolve()) for f in files}
        for doc in self.index.documents():
            if doc.path not in wanted:
                self.index.remove(doc.path)
        # files given one by one: each is cited by its file name
        return self.index.add(list(files), progress=progress)

    @property
    def size(self) -> int:
        return self.index.size

    def retrieve(self, req: Requirement, *, k: int = 6) -> list[Passage]:
        """The ``k`` passages that best match a requirement's text and context."""
        query = req.text if not req.context else f"{req.text}\n{req.context}"
        res = self.index.search(query, k=k, dense=False)
        return [
            Passage(h.chunk.source, h.chunk.page, h.chunk.section, h.chunk.text, h.score)
            for h in res.hits
        ]

    def close(self) -> None:
        self.index.close()
