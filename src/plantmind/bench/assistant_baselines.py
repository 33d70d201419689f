"""Plain retrieval recipes scored beside plantmind by ``plantmind bench assistant
--baselines``, over the same chunks the index holds:

* ``bm25s-stem``: bm25s with an English Snowball stemmer and stop words, nothing else;
* ``dense``: MiniLM over each chunk as the embedder sees it (its first word pieces only);
* ``dense-windows``: MiniLM over windows of each chunk within the model's token limit, a
  chunk scored by its best window;
* ``rrf``: reciprocal-rank fusion (k = 60) of ``bm25s-stem`` and ``dense-windows``.

Each ranks chunks; the pages they cite are deduplicated in rank order, so hit@k is over the
first k distinct pages, as for plantmind. None has a decline rule: they answer everything.
``top_score`` of each question is kept so that a threshold's separation (AUC) can be shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plantmind.knowledge.documents import Chunk

__all__ = ["BASELINES", "Baseline", "build_baselines", "rrf", "windows_of"]

BASELINES = ("bm25s-stem", "dense", "dense-windows", "rrf")
RRF_K = 60
WINDOW_WORDS = 170  # ~230 word pieces of English technical prose: within 250
WINDOW_STRIDE = 128


def windows_of(text: str, words: int = WINDOW_WORDS, stride: int = WINDOW_STRIDE) -> list[str]:
    """Overlapping windows of ``words`` words every ``stride`` words, covering the text."""
    toks = text.split()
    if len(toks) <= words:
        return [" ".join(toks)] if toks else [""]
    out = []
    start = 0
    while True:
        out.append(" ".join(toks[start : start + words]))
        if start + words >= len(toks):
            break
        start += stride
    return out


def rrf(rankings: Sequence[np.ndarray], n: int, k: int = RRF_K) -> np.ndarray:
    """Reciprocal-rank fusion scores over ``n`` items from rankings (item indices, best
    first)."""
    score = np.zeros(n)
    for order in rankings:
        score[order] += 1.0 / (k + 1.0 + np.arange(len(order)))
    return score


@dataclass
class Baseline:
    """A ranker: ``rank(question)`` → chunk indices, best first, and its top score."""

    name: str
    rank: Callable[[str], tuple[np.ndarray, float]]
    notes: dict[str, Any] = field(default_factory=dict)


def _page_key(c: Chunk) -> tuple[str, int]:
    return c.source, c.page if c.page is not None else 1


def build_baselines(
    chunks: list[Chunk],
    embed: Callable[[list[str]], np.ndarray] | None,
    *,
    chunk_vectors: np.ndarray | None = None,
    progress: Callable[[str], None] = print,
    depth: int = 200,
) -> list[Baseline]:
    """The baselines over ``chunks``; the dense ones only when ``embed`` is given
    (``chunk_vectors``: the index's own whole-chunk vectors, reused for ``dense``)."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    texts = [f"{c.section}\n{c.text}" if c.section else c.text for c in chunks]
    corpus_tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    bm = bm25s.BM25()
    bm.index(corpus_tokens, show_progress=False)
    n = len(chunks)

    def bm25_scores(q: str) -> np.ndarray:
        qt = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        ids = qt.ids[0] if hasattr(qt, "ids") else qt[0]
        inv = {v: k for k, v in qt.vocab.items()}
        words = [inv[i] for i in ids if inv.get(i)]
        words = [w for w in words if w in bm.vocab_dict]
        if not words:
            return np.zeros(n)
        return np.asarray(bm.get_scores(words), dtype=np.float64)

    def rank_bm25(q: str) -> tuple[np.ndarray, float]:
        s = bm25_scores(q)
        order = np.argsort(-s, kind="stable")[:depth]
        return order, float(s[order[0]]) if n else 0.0

    out = [Baseline("bm25s-stem", rank_bm25)]
    if embed is None:
        return out

    if chunk_vectors is None:
        chunk_vectors = embed(texts)

    def rank_dense(q: str) -> tuple[np.ndarray, float]:
        assert chunk_vectors is not None
        s = chunk_vectors @ embed([q])[0]
        order = np.argsort(-s, kind="stable")[:depth]
        return order, float(s[order[0]])

    out.append(Baseline("dense", rank_dense))

    owner: list[int] = []
    wtexts: list[str] = []
    for i, c in enumerate(chunks):
        for w in windows_of(c.text):
            wtexts.append(f"{c.section}: {w}" if c.section else w)
            owner.append(i)
    progress(f"baselines: embedding {len(wtexts)} windows of {n} chunks")
    wvec = np.concatenate([embed(wtexts[s : s + 256]) for s in range(0, len(wtexts), 256)], axis=0)
    owner_arr = np.array(owner)

    def window_scores(q: str) -> np.ndarray:
        s = wvec @ embed([q])[0]
        best = np.full(n, -1.0)
        np.maximum.at(best, owner_arr, s)
        return best

    def rank_windows(q: str) -> tuple[np.ndarray, float]:
        s = window_scores(q)
        order = np.argsort(-s, kind="stable")[:depth]
        return order, float(s[order[0]])

    def rank_rrf(q: str) -> tuple[np.ndarray, float]:
        a = np.argsort(-bm25_scores(q), kind="stable")[:depth]
        b = np.argsort(-window_scores(q), kind="stable")[:depth]
        s = rrf([a, b], n)
        order = np.argsort(-s, kind="stable")[:depth]
        return order, float(s[order[0]])

    out.append(Baseline("dense-windows", rank_windows, {"windows": len(wtexts)}))
    out.append(Baseline("rrf", rank_rrf, {"k": RRF_K}))
    return out


def pages_in_order(chunks: list[Chunk], order: np.ndarray, k: int = 5) -> list[Chunk]:
    """The first chunk of each of the first ``k`` distinct pages in ``order``."""
    seen: set[tuple[str, int]] = set()
    out = []
    for i in order:
        c = chunks[int(i)]
        key = _page_key(c)
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
        if len(out) == k:
            break
    return out


def auc(pos: list[float], neg: list[float]) -> float | None:
    """P(score of a random ``pos`` > one of ``neg``), ties half: how well a threshold on
    the score would separate answerable (pos) from unanswerable (neg) questions."""
    if not pos or not neg:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([1] * len(pos) + [0] * len(neg), [*pos, *neg]))
