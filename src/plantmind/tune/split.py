"""The train / eval / test split, grouped so that no test record shares a source passage or a
near-duplicate with a training record: records are joined into groups (union-find) when they
read the same passage or are near-duplicates (Jaccard ≥ 0.8), and whole groups are assigned,
per task, by a seeded hash of the group's key. Declines and every task reach the held-out
splits when they have groups enough."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from plantmind.tune.dedup import GROUP_JACCARD, near_duplicate_pairs
from plantmind.tune.records import Record

__all__ = ["SplitConfig", "group_records", "leaks", "split_records"]


@dataclass(frozen=True, slots=True)
class SplitConfig:
    eval_fraction: float = 0.1
    test_fraction: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("eval_fraction", "test_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {v}")
        if self.eval_fraction + self.test_fraction >= 1.0:
            raise ValueError("eval_fraction + test_fraction must leave records to train on")


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_records(records: Sequence[Record], threshold: float = GROUP_JACCARD) -> list[int]:
    """The group (index of its first record) of each record: same passage or near-duplicate."""
    uf = _UnionFind(len(records))
    by_passage: dict[str, int] = {}
    for i, r in enumerate(records):
        for p in r.passages:
            if p in by_passage:
                uf.union(by_passage[p], i)
            else:
                by_passage[p] = i
    for i, j, _ in near_duplicate_pairs(records, threshold):
        uf.union(i, j)
    return [uf.find(i) for i in range(len(records))]


def _rank(key: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big")


def split_records(records: Sequence[Record], config: SplitConfig | None = None) -> list[Record]:
    """Set ``split`` and ``group`` on every record (in place; returned for chaining)."""
    cfg = config or SplitConfig()
    roots = group_records(records)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, root in enumerate(roots):
        groups[root].append(i)
    # a group's key is the sorted ids of its records: stable across runs and record order
    keyed = {
        root: "|".join(sorted(records[i].id for i in members)) for root, members in groups.items()
    }
    by_task: dict[str, list[int]] = defaultdict(list)
    for root, members in groups.items():
        by_task[records[members[0]].task].append(root)
    for _task, roots_of_task in sorted(by_task.items()):
        ordered = sorted(roots_of_task, key=lambda g: _rank(keyed[g], cfg.seed))
        total = sum(len(groups[g]) for g in ordered)
        want_test = cfg.test_fraction * total
        want_eval = cfg.eval_fraction * total
        n_test = n_eval = 0
        for g in ordered:
            size = len(groups[g])
            if (
                len(ordered) >= 3
                and n_test < want_test
                and n_test + size <= max(want_test * 1.5, 1)
            ):
                split, n_test = "test", n_test + size
            elif (
                len(ordered) >= 3
                and n_eval < want_eval
                and n_eval + size <= max(want_eval * 1.5, 1)
            ):
                split, n_eval = "eval", n_eval + size
            else:
                split = "train"
            for i in groups[g]:
                records[i].split = split
                records[i].group = hashlib.sha256(keyed[g].encode()).hexdigest()[:16]
    return list(records)


def leaks(
    records: Sequence[Record], threshold: float = GROUP_JACCARD
) -> list[tuple[str, str, str]]:
    """Pairs ``(test id, train id, why)`` that break the split: a shared passage, or a
    near-duplicate at ``threshold``. Empty for a split made by :func:`split_records`."""
    out: list[tuple[str, str, str]] = []
    train_passages: dict[str, str] = {}
    for r in records:
        if r.split == "train":
            for p in r.passages:
                train_passages.setdefault(p, r.id)
    for r in records:
        if r.split == "test":
            for p in r.passages:
                if p in train_passages:
                    out.append((r.id, train_passages[p], f"shares passage {p[:12]}"))
    for i, j, sim in near_duplicate_pairs(records, threshold):
        a, b = records[i], records[j]
        if {a.split, b.split} == {"train", "test"}:
            test, train = (a, b) if a.split == "test" else (b, a)
            out.append((test.id, train.id, f"near-duplicate (Jaccard {sim:.2f})"))
    return out
