"""Exact and near-duplicate records: MinHash signatures over character 5-grams of the
normalised question and answer, candidates from locality-sensitive hashing (``datasketch``),
each candidate pair confirmed by its exact Jaccard similarity. Plant data repeats itself (of
4,249 work-order texts in one real export, 106 are unique), so this runs before the split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from plantmind.tune.records import Record, normalise

__all__ = [
    "GROUP_JACCARD",
    "REMOVE_JACCARD",
    "DedupReport",
    "jaccard",
    "near_duplicate_pairs",
    "remove_duplicates",
    "shingles",
]

#: records this similar are the same exchange: the later one is removed
REMOVE_JACCARD = 0.9
#: records this similar must not be split apart (a test record this close to a training
#: record would measure recall of the training set, not knowledge)
GROUP_JACCARD = 0.8
SHINGLE = 5
NUM_PERM = 128


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    """Character ``k``-grams of the normalised text (the whole text when shorter)."""
    t = normalise(text)
    if len(t) <= k:
        return {t}
    return {t[i : i + k] for i in range(len(t) - k + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _minhash_lsh(sets: Sequence[set[str]], threshold: float) -> list[tuple[int, int]]:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError as exc:  # pragma: no cover - the extra is part of the test install
        raise RuntimeError(
            "near-duplicate removal needs datasketch: pip install 'plantmind[tune]'"
        ) from exc
    # LSH at a lower threshold than asked: it proposes, the exact Jaccard decides
    lsh = MinHashLSH(threshold=max(0.05, threshold - 0.15), num_perm=NUM_PERM)
    hashes = []
    for i, s in enumerate(sets):
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch([x.encode("utf-8") for x in sorted(s)])
        hashes.append(m)
        lsh.insert(str(i), m)
    pairs: set[tuple[int, int]] = set()
    for i, m in enumerate(hashes):
        for key in lsh.query(m):
            j = int(key)
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def near_duplicate_pairs(
    records: Sequence[Record], threshold: float = GROUP_JACCARD
) -> list[tuple[int, int, float]]:
    """Index pairs ``(i, j, jaccard)`` with ``i < j`` whose exact Jaccard is ≥ ``threshold``."""
    sets = [shingles(r.content()) for r in records]
    out = []
    for i, j in _minhash_lsh(sets, threshold):
        sim = jaccard(sets[i], sets[j])
        if sim >= threshold:
            out.append((i, j, sim))
    return out


@dataclass(slots=True)
class DedupReport:
    """What removal did: counts in and out, exact and near duplicates removed (with the kept
    record's id for each removed one, so a reviewer can check a removal)."""

    records_in: int
    exact: int
    near: int
    removed: dict[str, str] = field(default_factory=dict)  # removed id -> kept id

    @property
    def records_out(self) -> int:
        return self.records_in - self.exact - self.near

    @property
    def duplicate_rate(self) -> float:
        return (self.exact + self.near) / self.records_in if self.records_in else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "records_in": self.records_in,
            "records_out": self.records_out,
            "exact_duplicates": self.exact,
            "near_duplicates": self.near,
            "duplicate_rate": round(self.duplicate_rate, 4),
            "near_threshold": REMOVE_JACCARD,
        }


def remove_duplicates(
    records: Sequence[Record], threshold: float = REMOVE_JACCARD
) -> tuple[list[Record], DedupReport]:
    """Keep the first of every exact duplicate (same id) and of every near-duplicate cluster
    (Jaccard ≥ ``threshold``); the order of the kept records is unchanged."""
    seen: dict[str, str] = {}
    unique: list[Record] = []
    removed: dict[str, str] = {}
    exact = 0
    for r in records:
        if r.id in seen:
            exact += 1
            continue
        seen[r.id] = r.id
        unique.append(r)
    drop: set[int] = set()
    for i, j, _ in near_duplicate_pairs(unique, threshold):
        if i in drop:  # i already went to an earlier record: j is compared with that one
            continue
        if j not in drop:
            drop.add(j)
            removed[unique[j].id] = unique[i].id
    kept = [r for k, r in enumerate(unique) if k not in drop]
    return kept, DedupReport(len(records), exact, len(drop), removed)
