"""Words for lexical search: one tokenizer for documents and questions (lower case,
maintenance shorthand expanded, stop words dropped, Snowball stems via PyStemmer)."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from plantmind.knowledge.shorthand import expand

__all__ = ["STOPWORDS", "stem", "tokenize"]

# Keeps "c/o", "r&r", "o-ring" and "pt6a-67" whole so the shorthand table and part numbers see
# them as written; anything else splits on punctuation.
_TOKEN = re.compile(r"[a-z0-9]+(?:[/&\-'.][a-z0-9]+)*")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _wordset(
    """a an the and or but if then else of to in on at by for with from into onto over under
    is are was were be been being am do does did done doing have has had having can could
    shall should will would may might must i me my we our you your he she it its they them
    their this that these those what which who whom whose when where why how there here
    as so than too very just also not no nor only own same such both each few more most other
    some any all about above below after before again further once up down out off per via
    get gets got need needs needed want tell know please let us ok okay
    whats thats theres heres dont doesnt didnt isnt arent wasnt cant wont shouldnt im ive
    youre weve theyre lets now go goes going gone sure anything something everything
    besides thing things like really actually maybe still already yet ever"""
)

# Question words a technician adds that carry no topic ("what is the procedure for ...").
_QUESTION_NOISE = _wordset("procedure procedures step steps way ways")
_QUESTION_NOISE_STEMS = frozenset({"procedur", "step", "way"})


_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball (Porter 2) English stem of a lower-case word; tokens with digits (part
    numbers, "pt6a") are kept as written."""
    if len(word) <= 3 or not word.isalpha():
        return word
    return _STEMMER.stemWord(word)


_BRITISH = re.compile(r"(?<=[a-z]{3})is(e|ed|es|ing|er|ers|ation|ations)$")


def _american(word: str) -> str:
    """ "-ise" spellings as "-ize" ("depressurise" → "depressurize"), applied to documents
    and questions alike, so either spelling finds the other."""
    return _BRITISH.sub(r"iz\1", word) if len(word) > 6 else word


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """Search terms of ``text``: shorthand expanded, stop words dropped, stemmed.

    With ``query=True`` also drops words that only shape a question ("steps", "procedure").
    """
    out: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        for w in _terms(raw):
            if not (query and w in _QUESTION_NOISE_STEMS):
                out.append(w)
    return out


@lru_cache(maxsize=500_000)
def _terms(raw: str) -> tuple[str, ...]:
    """The search terms of one raw token (cached: documents repeat their words)."""
    raw = raw.strip(".'").removesuffix("'s")
    if raw.endswith("n't") or raw.endswith(("'re", "'ve", "'ll", "'d", "'m")):
        return ()  # contractions: "doesn't", "they're" carry no topic
    words = expand(raw)
    if words == [raw] and any(c in raw for c in "/&-'."):
        # Not shorthand as a whole: the parts may be ("brg/seal" → bearing, seal). Part
        # numbers like "pt6a-67" stay whole as well, so an exact match still counts.
        parts = [p for p in re.split(r"[/&\-'.]", raw) if p]
        words = [w for p in parts for w in expand(p)]
        if "-" in raw:
            words.append(raw)
    return tuple(stem(_american(w)) for w in words if w and w not in STOPWORDS)
