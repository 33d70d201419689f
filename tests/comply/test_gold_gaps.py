"""Consistency of the gold gap labels of ``plantmind.bench.comply_corpus.gaps`` against the gold requirement lists:
every requirement of a procedure's standard is labelled exactly once, each procedure has
enough deliberate gaps, and the procedure files are there. Needs no shared data."""

from __future__ import annotations

import re

import pytest

from plantmind.bench.comply_corpus import ecfr_inline as gold_ecfr_inline
from plantmind.bench.comply_corpus import gold_1910_147
from plantmind.bench.comply_corpus.gaps import SOP_DIR, SOPS

GOLD = {"1910.147": gold_1910_147.GOLD, "ecfr_inline": gold_ecfr_inline.GOLD}


@pytest.mark.parametrize("name", sorted(SOPS))
def test_every_requirement_labelled_once(name: str) -> None:
    sop = SOPS[name]
    gold = GOLD[sop["standard"]]
    gaps, partial, covered = sop["gaps"], sop["partial"], sop["covered"]
    labelled = [*gaps, *partial, *covered]
    assert len(gaps) == len(set(gaps))
    assert len(labelled) == len(set(labelled)), "a designator in more than one group"
    assert set(labelled) == set(gold), (
        f"unlabelled: {sorted(set(gold) - set(labelled))}; "
        f"not in gold: {sorted(set(labelled) - set(gold))}"
    )
    assert all(isinstance(v, str) and v.strip() for v in (*partial.values(), *covered.values()))


@pytest.mark.parametrize("name", sorted(SOPS))
def test_enough_gaps(name: str) -> None:
    assert len(SOPS[name]["gaps"]) >= 6


@pytest.mark.parametrize("name", sorted(SOPS))
def test_sop_file_exists_and_is_substantial(name: str) -> None:
    path = SOP_DIR / SOPS[name]["sop"]
    assert path.is_file()
    text = path.read_text(encoding="utf-8")
    assert len(re.findall(r"\w+", text)) >= 1000
    assert re.search(r"^#{1,3} ", text, re.M), "no Markdown headings"


def test_lockout_sops_have_different_gaps() -> None:
    a = set(SOPS["lockout_program"]["gaps"])
    b = set(SOPS["lockout_checklist"]["gaps"])
    assert len(a & b) <= 2
