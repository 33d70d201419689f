"""The knowledge index: chunks of every ingested document on disk (SQLite under
``<home>/knowledge/``), searched by BM25 (bm25s) and, with the [embed] extra, by dense
embeddings, the two scores mixed (see ``DENSE_WEIGHT``).

Documents are added and removed one at a time (a changed file replaces its old chunks; an
unchanged one is skipped). The BM25 matrix is rebuilt in memory from the stored chunks when
they change (tens of milliseconds for thousands of chunks), so the database is the only
state on disk. A second process (``plantmind docs add`` beside a running edge node) bumps a
generation number; the other process reloads before its next search.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from plantmind.knowledge.chunking import ChunkConfig, chunk_document, doc_id_for
from plantmind.knowledge.documents import Chunk, LoaderError
from plantmind.knowledge.embed import Embedder, EmbeddingsUnavailable, load_embedder
from plantmind.knowledge.loaders import DEFAULT_MAX_PAGES, SUPPORTED_SUFFIXES, load_document
from plantmind.knowledge.text import tokenize
from plantmind.store.sqlite import connect

__all__ = [
    "AddResult",
    "DocumentInfo",
    "Hit",
    "KnowledgeIndex",
    "SearchResult",
    "is_identifier",
]

log = logging.getLogger(__name__)

DB_NAME = "knowledge.db"
_OFF = ("0", "false", "no", "off")
# Fusion: max-normalised BM25 plus DENSE_WEIGHT × cosine. Reciprocal rank fusion (k=60)
# was measured first and lost to BM25 alone on the FAA handbook questions (hit@1 84 % → 64 %):
# ranks throw away how far ahead BM25's best passage is, and the small CPU embedding model
# (first 128 word pieces of a chunk) is the weaker ranker. A score-level mix keeps BM25's
# margins and lets the embedding break near-ties and carry paraphrased questions.
DENSE_WEIGHT = 0.2
# b below the usual 0.75: a plant's index mixes 40-word work orders with 300-word manual
# passages, and full length normalisation lets the short records crowd out the passages.
BM25_K1 = 1.5
BM25_B = 0.45
MAX_QUERY_TERMS = 64
# Contents and index pages mention every topic and explain none; they rank behind text.
KIND_WEIGHT = {"toc": 0.25}
# Windowed embeddings: MiniLM reads at most 128 word pieces, and most manual chunks are
# longer, so a chunk is embedded as overlapping windows of EMBED_WINDOW words (~120 word
# pieces) every EMBED_STRIDE words, at most EMBED_MAX_WINDOWS of them, stored together in
# its embedding blob; a chunk's cosine is its best window's. The embedder key in the meta
# table carries the window settings, so an index embedded otherwise is re-embedded.
EMBED_WINDOW = 90
EMBED_STRIDE = 70
EMBED_MAX_WINDOWS = 6

# The index's migrations (plantmind.store.sqlite, owner "knowledge.index"): append-only. 1 is
# exactly what the index created on every open before versioning, so its files upgrade in
# place.
MIGRATIONS: list[str] = [
    """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
    sha256 TEXT NOT NULL, pages INTEGER NOT NULL, chunks INTEGER NOT NULL,
    added_at REAL NOT NULL, problems TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL, source TEXT NOT NULL, page INTEGER, section TEXT, kind TEXT NOT NULL,
    asset TEXT, date TEXT, text TEXT NOT NULL, embedding BLOB
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, ord);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""",
]


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    id: str
    path: str
    source: str
    kind: str
    pages: int
    chunks: int
    added_at: float
    problems: list[str]


@dataclass(slots=True)
class AddResult:
    """What happened to one file: ``added``, ``replaced`` (changed since last time),
    ``unchanged`` (skipped) or ``failed`` (``error`` says why; other files still go in)."""

    path: str
    status: Literal["added", "replaced", "unchanged", "failed"]
    pages: int = 0
    chunks: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: Chunk
    score: float  # fused score: BM25 / best BM25 + DENSE_WEIGHT × cosine
    bm25: float
    dense: float | None  # cosine similarity, None without embeddings


@dataclass(slots=True)
class SearchResult:
    """Ranked hits and the evidence the assistant's decline rule reads.

    ``coverage`` is the share of the question's information (IDF-weighted terms) found in
    the best hits; ``unknown_terms`` are question terms that appear nowhere in the index.
    """

    query: str
    terms: list[str]
    hits: list[Hit]
    coverage: float
    top_bm25: float
    top_dense: float | None
    unknown_terms: list[str]
    dense_used: bool
    truncated: bool = False
    ms: float = 0.0


ProgressFn = Callable[[str, str, int, int], None]
"""progress(event, path, done, total): event "file" (done/total files), "pages" (through one
document: pages of a PDF, lines of a text file), "embed" (chunks of one document embedded) or
"index" (stored chunks re-read into the search structures after a change)."""

#: Largest file ``add`` reads, in MB (MiB); a larger one is a ``failed`` result naming it.
DEFAULT_MAX_MB = 100.0
_MB = 1 << 20
# Chunks embedded and written per batch: bounds the vectors and row tuples held at once.
_BATCH = 1024


def _expand_paths(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """Files to ingest with the name they are cited by: the file name for a file given
    directly, the path below the folder for a folder ("manuals/P-101_pump_manual.md")."""
    out: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            out.extend(
                (f, f.relative_to(p).as_posix())
                for f in sorted(p.rglob("*"))
                if f.is_file()
                and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            out.append((p, p.name))
    return out


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class KnowledgeIndex:
    """Hybrid search over a folder of documents (see the module docstring).

    Parameters
    ----------
    root:
        Folder of the index (``<home>/knowledge``), created if missing.
    embedder:
        ``"auto"`` (the default): the [embed] extra's model when installed and not switched
        off with ``PLANTMIND_EMBED=0``, else BM25 only (``dense_status`` says why);
        ``None``: BM25 only; or any :class:`Embedder`.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        embedder: Embedder | Literal["auto"] | None = "auto",
        chunking: ChunkConfig | None = None,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.chunking = chunking or ChunkConfig()
        self._lock = threading.RLock()
        # isolation_level="": writes commit through `with self._db:`; foreign keys make
        # removing a document remove its chunks (ON DELETE CASCADE).
        self._db = connect(
            self.root / DB_NAME,
            isolation_level="",
            check_same_thread=False,
            busy_timeout_s=30,
            foreign_keys=True,
            migrations={"knowledge.index": MIGRATIONS},
        )
        self.embedder: Embedder | None
        if embedder == "auto" and os.environ.get("PLANTMIND_EMBED", "1").lower() in _OFF:
            embedder = None
            self.dense_status = "BM25 only: dense embeddings switched off (PLANTMIND_EMBED)"
        if embedder == "auto":
            try:
                self.embedder = load_embedder()
                self.dense_status = f"dense embeddings: {self.embedder.name}"
            except EmbeddingsUnavailable as exc:
                self.embedder = None
                self.dense_status = str(exc)
                log.info("%s", exc)
        else:
            self.embedder = embedder
            if embedder is not None:
                self.dense_status = f"dense embeddings: {embedder.name}"
            elif not hasattr(self, "dense_status"):
                self.dense_status = "BM25 only (dense disabled)"
        self._generation = -1
        self._chunks: list[Chunk] = []
        self._vectors: np.ndarray | None = None
        self._has_vec = np.zeros(0, dtype=bool)
        self._bm25 = None
        self._vocab: dict[str, int] = {}
        self._df = np.zeros(0, dtype=np.int64)
        self._backfill_embeddings()
        self._reload()

    # -- storage ---------------------------------------------------------------------------
    def _db_generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def _backfill_embeddings(self) -> None:
        """Embed chunks stored without a vector (added while the extra was missing) or with
        another model's vector."""
        if self.embedder is None:
            return
        row = self._db.execute("SELECT value FROM meta WHERE key='embedder'").fetchone()
        with self._db:
            if row is None or row[0] != self._embed_key:
                self._db.execute("UPDATE chunks SET embedding = NULL")
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('embedder', ?)",
                    (self._embed_key,),
                )
        rows = self._db.execute(
            "SELECT id, section, kind, text FROM chunks WHERE embedding IS NULL"
        ).fetchall()
        if not rows:
            return
        log.info("embedding %d stored chunk(s) for %s", len(rows), self.embedder.name)
        for start in range(0, len(rows), 256):
            part = rows[start : start + 256]
            blobs = self._embed_blobs([(s, k, t) for _, s, k, t in part])
            with self._db:
                self._db.executemany(
                    "UPDATE chunks SET embedding = ? WHERE id = ?",
                    [(b, r[0]) for b, r in zip(blobs, part, strict=True)],
                )
        with self._db:
            self._bump()

    @property
    def _embed_key(self) -> str:
        assert self.embedder is not None
        return f"{self.embedder.name}+win{EMBED_WINDOW}/{EMBED_STRIDE}/{EMBED_MAX_WINDOWS}"

    def _embed_blobs(self, parts: Sequence[tuple[str | None, str, str]]) -> list[bytes]:
        """Each chunk's window vectors, one blob per chunk ((section, kind, text) each)."""
        assert self.embedder is not None
        texts: list[str] = []
        counts: list[int] = []
        for section, kind, text in parts:
            wins = embed_windows(section, kind, text)
            texts.extend(wins)
            counts.append(len(wins))
        vecs = self.embedder.encode(texts)
        out, at = [], 0
        for c in counts:
            out.append(vecs[at : at + c].astype(np.float32).tobytes())
            at += c
        return out

    def _reload(self, progress: ProgressFn | None = None) -> None:
        """Rebuild the in-memory search state from the stored chunks.

        Memory is what bounds a large index here (a 20 MB manual is ~14,000 chunks and ~3
        million terms), so the rows are read from the cursor one at a time and each chunk's
        terms become a compact array of vocabulary ids at once: no list of every chunk's
        term strings and no per-chunk term set is kept (coverage re-tokenises the top hits
        on demand). The BM25 scores are the same as indexing the term lists directly.
        """
        dim = self.embedder.dim if self.embedder is not None else 0
        chunks: list[Chunk] = []
        ids: list[array[int]] = []
        vocab: dict[str, int] = {}
        df: list[int] = []
        has_vec: list[bool] = []
        total = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        # Window vectors, chunk by chunk in order (a chunk without vectors holds one zero
        # row), and where each chunk's rows start: a chunk's cosine is the maximum over its
        # rows (np.maximum.reduceat). The matrix is sized by SQL first and filled from the
        # cursor, so the blobs are never all held beside it (a 20 MB manual: ~50,000
        # windows, 78 MB). float32: numpy's float16 products are 6x slower.
        vectors: np.ndarray | None = None
        if dim:
            size, valid = self._db.execute(
                "SELECT COALESCE(SUM(CASE WHEN embedding IS NOT NULL AND LENGTH(embedding) > 0 "
                "AND LENGTH(embedding) % ? = 0 THEN LENGTH(embedding) / ? ELSE 1 END), 0), "
                "COALESCE(SUM(CASE WHEN embedding IS NOT NULL AND LENGTH(embedding) > 0 "
                "AND LENGTH(embedding) % ? = 0 THEN 1 ELSE 0 END), 0) FROM chunks",
                (4 * dim, 4 * dim, 4 * dim),
            ).fetchone()
            if valid:
                vectors = np.zeros((int(size), dim), dtype=np.float32)
        starts: list[int] = []
        at = 0
        cursor = self._db.execute(
            "SELECT id, doc_id, source, page, section, kind, text, asset, date, embedding "
            "FROM chunks ORDER BY doc_id, ord"
        )
        for r in cursor:
            c = Chunk(*r[:9])
            row = array("I", [vocab.setdefault(t, len(vocab)) for t in tokenize(_index_text(c))])
            if len(vocab) > len(df):
                df.extend([0] * (len(vocab) - len(df)))
            for term_id in set(row):
                df[term_id] += 1
            blob = r[9]
            ok = bool(blob is not None and dim and len(blob) and len(blob) % (4 * dim) == 0)
            starts.append(at)
            if vectors is not None:
                rows_here = len(blob) // (4 * dim) if ok else 1
                if at + rows_here > len(vectors):  # rows added since the count
                    grow = np.zeros((max(rows_here, len(vectors) // 8), dim), dtype=np.float32)
                    vectors = np.concatenate([vectors, grow])
                if ok:
                    vectors[at : at + rows_here] = np.frombuffer(blob, np.float32).reshape(-1, dim)
                at += rows_here
            has_vec.append(ok)
            chunks.append(c)
            ids.append(row)
            if progress is not None and len(chunks) % 1000 == 0:
                progress("index", "", len(chunks), total)
        if progress is not None:
            progress("index", "", len(chunks), len(chunks))
        if vectors is not None:
            vectors = vectors[:at]
        self._starts = np.array(starts, dtype=np.int64)
        bm25 = None
        if chunks:
            import bm25s

            bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            # bm25s adds its empty token to the dict it is given; the term → id map it keeps
            # is the one the document frequencies below are looked up in.
            bm25.index((ids, vocab), show_progress=False)
        del ids
        self._chunks, self._vectors = chunks, vectors
        self._has_vec = np.array(has_vec, dtype=bool)
        self._vocab = vocab
        self._df = np.array(df, dtype=np.int64)
        self._kind_weight = np.array([KIND_WEIGHT.get(c.kind, 1.0) for c in chunks])
        self._kinds = np.array([c.kind for c in chunks], dtype=object)
        self._bm25 = bm25
        self._generation = self._db_generation()

    def _doc_freq(self, term: str) -> int:
        """How many chunks hold ``term`` (0 when none)."""
        i = self._vocab.get(term)
        return int(self._df[i]) if i is not None and i < len(self._df) else 0

    def refresh(self) -> None:
        """Reload if another process changed the index since the last look."""
        with self._lock:
            if self._db_generation() != self._generation:
                self._reload()

    # -- documents -------------------------------------------------------------------------
    def documents(self) -> list[DocumentInfo]:
        rows = self._db.execute(
            "SELECT id, path, source, kind, pages, chunks, added_at, problems FROM documents "
            "ORDER BY source, path"
        ).fetchall()
        return [
            DocumentInfo(doc_id, path, source, kind, pages, chunks, added_at, json.loads(problems))
            for doc_id, path, source, kind, pages, chunks, added_at, problems in rows
        ]

    def add(
        self,
        paths: Iterable[str | Path],
        *,
        progress: ProgressFn | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        work_order_columns: dict[str, str] | None = None,
        max_mb: float | None = DEFAULT_MAX_MB,
    ) -> list[AddResult]:
        """Ingest files and folders (recursively, supported types only). One bad file is a
        ``failed`` result; the others are still ingested. A file larger than ``max_mb``
        (None: no limit) is refused unread, as a ``failed`` result naming it and the limit."""
        files = _expand_paths(paths)
        results: list[AddResult] = []
        with self._lock:
            for n, (p, source) in enumerate(files):
                if progress is not None:
                    progress("file", str(p), n, len(files))
                results.append(
                    self._add_one(p, source, progress, max_pages, work_order_columns, max_mb)
                )
            if progress is not None:
                progress("file", "", len(files), len(files))
            if any(r.status in ("added", "replaced") for r in results):
                self._reload(progress)
        return results

    def _add_one(
        self,
        p: Path,
        source: str,
        progress: ProgressFn | None,
        max_pages: int,
        work_order_columns: dict[str, str] | None,
        max_mb: float | None,
    ) -> AddResult:
        t0 = time.perf_counter()
        path = str(p.resolve())
        doc_id = doc_id_for(path)
        try:
            # Checked before hashing or reading: a file over the limit costs nothing.
            size = p.stat().st_size if p.is_file() else 0
            if max_mb is not None and size > max_mb * _MB:
                return AddResult(
                    path,
                    "failed",
                    error=f"{p}: {size / _MB:.1f} MB is over the size limit of {max_mb:g} MB "
                    "(raise it with --max-mb)",
                )
            sha = _sha256(p) if p.is_file() else ""
        except OSError as exc:
            return AddResult(path, "failed", error=f"{p}: cannot read ({exc})")
        old = self._db.execute("SELECT sha256 FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if old is not None and old[0] == sha:
            return AddResult(path, "unchanged")
        try:
            doc = load_document(
                path,
                max_pages=max_pages,
                work_order_columns=work_order_columns,
                page_callback=(lambda d, t: progress("pages", path, d, t)) if progress else None,
            )
        except LoaderError as exc:
            return AddResult(path, "failed", error=str(exc), seconds=time.perf_counter() - t0)
        except Exception as exc:  # a loader bug must not stop the other files
            log.exception("loading %s failed", path)
            return AddResult(
                path,
                "failed",
                error=f"{p}: {type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - t0,
            )
        doc.source = source
        chunks = chunk_document(doc, self.chunking)
        doc.blocks = []  # they repeat the chunks' text; only the chunks are written
        with self._db:
            self._db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            self._db.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc_id, path, doc.source, doc.kind, sha, doc.pages, len(chunks),
                    time.time(), json.dumps(doc.problems),
                ),
            )  # fmt: skip
            # In batches, embedded as they go: one document's vectors and row tuples are
            # never all held at once (one transaction still, so a failure leaves no half).
            for start in range(0, len(chunks), _BATCH):
                part = chunks[start : start + _BATCH]
                vectors: list[bytes | None] = [None] * len(part)
                if self.embedder is not None:
                    vectors = list(self._embed_blobs([(c.section, c.kind, c.text) for c in part]))
                    if progress is not None:
                        progress("embed", path, start + len(part), len(chunks))
                self._db.executemany(
                    "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (c.id, doc_id, start + i, c.source, c.page, c.section, c.kind,
                         c.asset, c.date, c.text, vectors[i])
                        for i, c in enumerate(part)
                    ],
                )  # fmt: skip
            if self.embedder is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('embedder', ?)",
                    (self._embed_key,),
                )
            self._bump()
        return AddResult(
            path,
            "replaced" if old is not None else "added",
            pages=doc.pages,
            chunks=len(chunks),
            problems=doc.problems,
            seconds=time.perf_counter() - t0,
        )

    def remove(self, name: str) -> list[DocumentInfo]:
        """Remove the documents whose id, path or file name is ``name``; returns them."""
        resolved = str(Path(name).expanduser().resolve())
        with self._lock:
            gone = [
                d
                for d in self.documents()
                if name in (d.id, d.path, d.source)
                or d.path == resolved
                or d.path.startswith(resolved.rstrip("/") + "/")
            ]
            if gone:
                with self._db:
                    self._db.executemany(
                        "DELETE FROM documents WHERE id = ?", [(d.id,) for d in gone]
                    )
                    self._bump()
                self._reload()
        return gone

    # -- search ----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self._chunks)

    @property
    def idf_max(self) -> float:
        """The IDF of a term found in one chunk only."""
        n = len(self._chunks)
        return math.log(1.0 + (n - 0.5) / 1.5) if n else 1.0

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term (0 when absent)."""
        n = len(self._chunks)
        df = self._doc_freq(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5)) if df else 0.0

    def search(
        self,
        query: str,
        *,
        k: int = 8,
        kinds: Sequence[str] | None = None,
        dense: bool = True,
    ) -> SearchResult:
        """The ``k`` best chunks for ``query`` with the evidence for a decline decision."""
        t0 = time.perf_counter()
        self.refresh()
        with self._lock:
            return self._search(query, k, kinds, dense, t0)

    def _search(
        self, query: str, k: int, kinds: Sequence[str] | None, dense: bool, t0: float
    ) -> SearchResult:
        terms = list(dict.fromkeys(tokenize(query, query=True)))
        truncated = False
        if len(terms) > MAX_QUERY_TERMS:
            # A pasted log or a 10,000-character question: keep its most informative terms.
            terms = sorted(terms, key=self.idf, reverse=True)[:MAX_QUERY_TERMS]
            truncated = True
        n = len(self._chunks)
        empty = SearchResult(query, terms, [], 0.0, 0.0, None, [], False, truncated)
        if n == 0 or not terms:
            empty.ms = (time.perf_counter() - t0) * 1e3
            return empty
        assert self._bm25 is not None
        bm = np.asarray(self._bm25.get_scores(terms), dtype=np.float64)
        weight = self._kind_weight.copy()
        if kinds is not None:
            weight *= np.isin(self._kinds, list(kinds))
        bm_w = bm * weight
        top = float(bm_w.max())
        fused = bm_w / top if top > 0 else np.zeros(n)
        cos = None
        dense_used = False
        if dense and self.embedder is not None and self._vectors is not None:
            qv = self.embedder.encode([query[:2000]])[0]
            best = np.maximum.reduceat((self._vectors @ qv).astype(np.float64), self._starts)
            cos = np.where(self._has_vec & (weight > 0), best, 0.0)
            # Same demotion for contents pages as in BM25, in cosine units.
            cos_w = np.where(weight < 1, cos - 0.15, cos)
            fused = fused + DENSE_WEIGHT * np.maximum(cos_w, 0.0)
            dense_used = True
        candidates = np.flatnonzero((bm_w > 0) | ((cos if cos is not None else bm_w) > 0))
        if len(candidates) == 0:
            empty.unknown_terms = [t for t in terms if self.idf(t) == 0.0]
            empty.ms = (time.perf_counter() - t0) * 1e3
            return empty
        order_arr = candidates[np.argsort(-fused[candidates], kind="stable")[:k]]
        order = [int(i) for i in order_arr]
        hits = [
            Hit(
                self._chunks[i],
                float(fused[i]),
                float(bm[i]),
                float(cos[i]) if cos is not None else None,
            )
            for i in order
        ]
        idfs = {t: self.idf(t) for t in terms}
        total = sum(idfs.values())
        unknown = [t for t in terms if idfs[t] == 0.0]
        # Re-tokenised here rather than kept for every chunk: three chunks per question
        # cost well under a millisecond, a term set per chunk costs ~8 KB each.
        top_sets = [frozenset(tokenize(_index_text(self._chunks[i]))) for i in order[:3]]
        # Coverage: the best of the top hits, by the IDF share of question terms it holds.
        best = 0.0
        for s in top_sets:
            best = max(best, sum(v for t, v in idfs.items() if t in s))
        coverage = best / total if total > 0 else 0.0
        if unknown:
            # Terms absent from every document are missing information too. An identifier
            # (a model or part number: "io-550-n", "a320") is as specific as a term can be and
            # weighs like the rarest one; a plain word may be a synonym the documents say
            # differently and weighs like an average question term.
            known = [v for v in idfs.values() if v > 0]
            rare = self.idf_max
            typical = sum(known) / len(known) if known else rare
            missing = sum(rare if is_identifier(t) else typical for t in unknown)
            coverage = best / (total + missing)
        return SearchResult(
            query=query,
            terms=terms,
            hits=hits,
            coverage=coverage,
            top_bm25=float(bm_w[order[0]]) if order else 0.0,
            top_dense=float(cos[order].max()) if cos is not None and order else None,
            unknown_terms=unknown,
            dense_used=dense_used,
            truncated=truncated,
            ms=(time.perf_counter() - t0) * 1e3,
        )

    def work_orders(self, asset: str, *, limit: int = 5) -> list[Chunk]:
        """The most recent work orders recorded for ``asset`` (by id or name)."""
        self.refresh()
        key = asset.strip().lower()
        with self._lock:
            rows = [
                c
                for c in self._chunks
                if c.kind == "work_order" and c.asset is not None and c.asset.lower() == key
            ]
        rows.sort(key=lambda c: c.date or "", reverse=True)
        return rows[:limit]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> KnowledgeIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_QUANTITY = re.compile(r"^\d+(?:[.,]\d+)?[a-z]{1,4}$")


def is_identifier(term: str) -> bool:
    """Letters and digits together: a model, part or document number ("pt6a-60", "a320",
    "o-360"), but not a number with its unit glued on ("45kw", "2000h")."""
    return (
        any(ch.isdigit() for ch in term)
        and any(ch.isalpha() for ch in term)
        and not _QUANTITY.match(term)
    )


def _index_text(c: Chunk) -> str:
    # The heading is part of what a passage is about: "Magneto timing" above a step list.
    if c.section and c.kind not in ("toc", "work_order"):
        return f"{c.section}\n{c.text}"
    return c.text


def _embed_text(section: str | None, kind: str, text: str) -> str:
    if section and kind not in ("toc", "work_order"):
        return f"{section}: {text}"
    return text


def embed_windows(section: str | None, kind: str, text: str) -> list[str]:
    """The texts a chunk is embedded as: overlapping word windows (see ``EMBED_WINDOW``),
    each with the chunk's heading; a short chunk, a contents page or a work order is one."""
    words = text.split()
    if kind in ("toc", "work_order") or len(words) <= EMBED_WINDOW:
        return [_embed_text(section, kind, text)]
    out = []
    for start in range(0, len(words), EMBED_STRIDE):
        out.append(_embed_text(section, kind, " ".join(words[start : start + EMBED_WINDOW])))
        if start + EMBED_WINDOW >= len(words) or len(out) == EMBED_MAX_WINDOWS:
            break
    return out
