"""The deterministic matcher: does a procedure passage meet a requirement? Key-concept
overlap, without a model.

A requirement's concepts are its content words (stemmed, with synonyms and spelling
variants folded: "utilize"/"use", "yearly"/"annually", "de-energize"/"deenergize",
"contractor"/"outside personnel"), without the words every clause shares ("employer",
"shall", "paragraph"). Each concept weighs by its inverse document frequency *in the
standard itself*: "lockout" is everywhere in a lockout standard and says little; "acid",
"nylon" or "certify" name what one clause asks for. The requirement's *key concepts* are
its heaviest ones.

A requirement's *key concepts* are the heaviest concepts of its main obligation (its first
sentence that obliges). A passage is read as windows of one or two consecutive sentences
(plus its section heading); the best window gives the evidence, with ``score`` (the share
of the requirement's concept weight it holds) and ``key share`` (the share of its key
concepts). Status:

* **covered**: score at least :data:`COVERED`, key share at least :data:`KEY_SHARE`, and
  the window holds the obligation's action (the first concept after its modal verb:
  "shall be *inspected*", "shall *certify*"), so that "test the hydraulic guard" does not
  pass for "inspect the hydraulic guard";
* **missing**: score below :data:`PARTIAL`, or, with a score below :data:`COVERED`, the
  mean of score and key share below :data:`MISSING_STRENGTH` (the subject of the
  requirement is absent even where some of its words occur);
* **partial**: anything between.

The thresholds lean towards "partial": a false "covered" hides a gap, a false "partial"
costs a reviewer a look.

Known limits: it reads words, not meaning. A procedure that says the opposite of a
requirement with the same words is "covered"; one that meets a requirement in entirely
different words is "missing" or "partial"; and a passage that recombines the requirement's
words ("test the steam guard" beside "inspect the hydraulic interlock" for "inspect the
hydraulic guard") can pass for it (``plantmind bench comply`` measures this on a synthetic
set built that way). The report says which judge decided every row.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from plantmind.comply.thesaurus import PHRASES, STEM_CONCEPTS
from plantmind.knowledge.text import tokenize

__all__ = [
    "COVERED",
    "PARTIAL",
    "ConceptModel",
    "Match",
    "Status",
    "match_requirement",
    "units",
]

Status = Literal["covered", "partial", "missing"]

COVERED = 0.6
PARTIAL = 0.3
KEY_SHARE = 0.75
KEY_BAND = 0.9
MISSING_STRENGTH = 0.35
WINDOW_COST = 0.06
CONTEXT_BONUS = 0.15
CONTEXT_WEIGHT = 0.5
MAX_WINDOW = 2
REQUIRE_ACTION = True

# Words every clause of a standard uses, and light words the tokenizer's stop list keeps
# (pronouns, light verbs, connectives): they carry no concept of their own. Stems.
_BOILERPLATE = frozenset(
    {
        "section", "paragraph", "subpart", "requir", "accord", "follow", "includ", "employ",
        "ensur", "least", "thereof", "etc", "manner", "whenev", "necessari", "necessarili",
        "appropri", "applic", "unless", "provis", "titl", "set", "forth", "shall", "must",
        "mean", "general", "addit", "criteria", "case", "within", "specifi", "meet",
        "his", "her", "him", "hers", "himself", "herself", "one", "ones", "make", "made",
        "take", "taken", "given", "give", "becom", "regard", "relat", "otherw", "whether",
        "upon", "toward", "prior", "dure", "order", "possibl", "exist", "longer", "until",
        "consist", "occur", "result", "therefor", "howev", "either", "neither", "among",
        "achiev", "togeth", "consid", "well", "obtain", "afford",
    }
)  # fmt: skip


def concepts(text: str) -> list[str]:
    """The concept terms of ``text`` (see the module docstring)."""
    for pattern, repl in PHRASES:
        text = pattern.sub(repl, text)
    out: list[str] = []
    for t in tokenize(text):
        if "-" in t and not any(ch.isdigit() for ch in t):
            continue  # a hyphenated compound: its parts are tokens of their own
        t = STEM_CONCEPTS.get(t, t)
        if len(t) > 1 and t not in _BOILERPLATE and not (t.isdigit() and len(t) == 1):
            out.append(t)
    return out


class ConceptModel:
    """Concept weights learnt from the standard's own clauses (inverse document frequency,
    BM25's form)."""

    def __init__(self, texts: Iterable[str]) -> None:
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            df.update(set(concepts(text)))
            n += 1
        self.df = df
        self.n = max(n, 1)

    def weight(self, term: str) -> float:
        d = self.df.get(term, 0)
        return math.log(1.0 + (self.n - d + 0.5) / (d + 0.5))


@dataclass(slots=True)
class Match:
    """The matcher's verdict on one requirement: status, the best passage (index into the
    passages given) and the window of it that matched, the concepts found and not found."""

    status: Status
    score: float = 0.0
    key_share: float = 0.0
    passage: int | None = None
    evidence: str = ""
    found: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)


_UNIT_SPLIT = re.compile(r"(?<=[.!?:])\s+(?=[A-Z0-9\"“(*•-])|\n+|\s+(?=[-•]\s)")


def units(text: str) -> list[str]:
    """Sentences and list items of a passage (Markdown emphasis removed)."""
    text = text.replace("**", "").replace("__", "")
    return [u.strip(" -•*") for u in _UNIT_SPLIT.split(text) if u and u.strip(" -•*")]


@lru_cache(maxsize=4096)
def _read_passage(
    section: str, body: str
) -> tuple[frozenset[str], tuple[str, ...], tuple[frozenset[str], ...]]:
    """A passage's heading concepts, sentences and their concepts (cached: the same
    passages come back for many requirements)."""
    sents = tuple(units(body))
    return frozenset(concepts(section)), sents, tuple(frozenset(concepts(s)) for s in sents)


_ACTION = re.compile(r"\b(?:shall|must|(?:is|are)\s+required\s+to)\s+((?:\w+\s+){0,4}\w+)", re.I)
_SKIP = frozenset({"not", "never", "also", "be", "been", "have", "clearly", "and", "only"})


def action_of(main: str) -> str | None:
    """The action a main obligation asks for: the first concept after its modal verb
    ("shall be inspected" → inspect, "shall not be used" → use); None if it has none."""
    m = _ACTION.search(main)
    if m is None:
        return None
    for word in m.group(1).split():
        w = word.lower()
        if w in _SKIP or w.endswith("ly"):
            continue
        found = concepts(w)
        if found:
            return found[0]
    return None


def key_concepts(weights: dict[str, float], main: str) -> set[str]:
    """The heaviest concepts of the requirement's main obligation (within
    :data:`KEY_BAND` of the heaviest)."""
    mine = {t: weights[t] for t in concepts(main) if t in weights}
    if not mine:
        return set()
    top = max(mine.values())
    return {t for t, w in mine.items() if w >= KEY_BAND * top}


def match_requirement(
    model: ConceptModel,
    text: str,
    context: str,
    passages: Sequence[tuple[str | None, str]],
    *,
    main: str | None = None,
) -> Match:
    """Judge one requirement against passages given as (section heading, text). ``main``
    is its main obligation (default: the whole text), where its key concepts come from;
    ``context`` (the lead-in of a list item, titles above it) only helps choose between
    windows: a list item is met by its own words, not by its lead-in's."""
    own = {t: model.weight(t) for t in dict.fromkeys(concepts(text))}
    ctx = {
        t: CONTEXT_WEIGHT * model.weight(t)
        for t in dict.fromkeys(concepts(context))
        if t not in own
    }
    total = sum(own.values())
    total_ctx = sum(ctx.values()) or 1.0
    if total <= 0 or not passages:
        return Match("missing", absent=sorted(own, key=lambda t: -own[t]))
    keys = key_concepts(own, main or text)
    action = action_of(main or text) if REQUIRE_ACTION else None
    if action is not None and action not in own:
        action = None
    best: tuple[float, float, int, int, int] | None = None
    best_terms: set[str] = set()
    best_text = ""
    for pi, (section, body) in enumerate(passages):
        head, sents, sent_terms = _read_passage(section or "", body)
        for i in range(len(sents)):
            acc = set(head)
            for j in range(i, min(i + MAX_WINDOW, len(sents))):
                acc |= sent_terms[j]
                hit = acc & own.keys()
                score = sum(own[t] for t in hit) / total
                share = len(hit & keys) / len(keys) if keys else 1.0
                ctx_share = sum(w for t, w in ctx.items() if t in acc) / total_ctx
                # a longer window must earn its extra sentences
                value = score + 0.5 * share + CONTEXT_BONUS * ctx_share - WINDOW_COST * (j - i)
                cand = (round(value, 6), share, -(j - i), -pi, -i)
                if best is None or cand > best:
                    best = cand
                    best_terms = hit
                    best_text = " ".join(sents[i : j + 1])
    if best is None:
        return Match("missing", absent=sorted(own, key=lambda t: -own[t]))
    score = sum(own[t] for t in best_terms) / total
    share = len(best_terms & keys) / len(keys) if keys else 1.0
    if score >= COVERED and share >= KEY_SHARE and (action is None or action in best_terms):
        status: Status = "covered"
    elif score < PARTIAL or ((score + share) / 2 < MISSING_STRENGTH and score < COVERED):
        status = "missing"
    else:
        status = "partial"
    return Match(
        status,
        round(score, 3),
        round(share, 3),
        -best[3],
        best_text,
        sorted(best_terms, key=lambda t: -own[t]),
        sorted(set(own) - best_terms, key=lambda t: -own[t]),
    )
