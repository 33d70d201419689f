"""Modal words per language and their strength: mandatory ("shall", "muss", "doit",
"debe", "必须"), recommended ("should", "soll"/"sollte", "devrait", "debería", "应该"/"宜")
or permitted ("may", "darf", "peut", "puede", "可以"). Negation changes some of them:
"darf nicht" and "must not" are prohibitions (mandatory), "muss nicht" and "need not"
release (permitted). Follows ISO/IEC Directives Part 2 (shall/should/may), DIN 820-2
(muss/sollte/darf), GB/T 1.1 (应/宜/可). "can"/"kann" express capability, not a
requirement's strength (both directives), so they are not modal words here; French "peut"
and Spanish "puede" serve both and are read as permission."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from plantmind.language.segments import Span

__all__ = ["RANK", "Modal", "Strength", "find_modals", "modality_languages", "strength_of"]

Strength = Literal["mandatory", "recommended", "permitted"]
RANK: dict[str, int] = {"permitted": 1, "recommended": 2, "mandatory": 3}
_M, _R, _P = "mandatory", "recommended", "permitted"

# word or phrase -> (strength, strength when negated). Phrases are matched before words.
_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "shall": (_M, _M), "must": (_M, _M), "is required to": (_M, _M),
        "are required to": (_M, _M), "has to": (_M, _P), "have to": (_M, _P),
        "is mandatory": (_M, _M), "should": (_R, _R), "ought to": (_R, _R),
        "is recommended": (_R, _R), "are recommended": (_R, _R), "need not": (_P, _P),
        "may": (_P, _M),
    },
    "de": {
        "muss": (_M, _P), "müssen": (_M, _P), "musst": (_M, _P), "ist zu": (_M, _M),
        "sind zu": (_M, _M), "ist verpflichtend": (_M, _M), "zwingend": (_M, _M),
        "soll": (_R, _R), "sollen": (_R, _R), "sollte": (_R, _R), "sollten": (_R, _R),
        "darf": (_P, _M), "dürfen": (_P, _M), "braucht nicht": (_P, _P),
    },
    "fr": {
        "doit": (_M, _M), "doivent": (_M, _M), "devra": (_M, _M), "devront": (_M, _M),
        "il faut": (_M, _M), "est tenu de": (_M, _M), "sont tenus de": (_M, _M),
        "est obligatoire": (_M, _M), "devrait": (_R, _R), "devraient": (_R, _R),
        "il est recommandé": (_R, _R), "peut": (_P, _M), "peuvent": (_P, _M),
        "pourra": (_P, _M), "pourront": (_P, _M),
    },
    "es": {
        "debe": (_M, _M), "deben": (_M, _M), "deberá": (_M, _M), "deberán": (_M, _M),
        "tiene que": (_M, _P), "tienen que": (_M, _P), "ha de": (_M, _M), "han de": (_M, _M),
        "es obligatorio": (_M, _M), "debería": (_R, _R), "deberían": (_R, _R),
        "se recomienda": (_R, _R), "puede": (_P, _M), "pueden": (_P, _M), "podrá": (_P, _M),
        "podrán": (_P, _M),
    },
    "it": {
        "deve": (_M, _M), "devono": (_M, _M), "dovrà": (_M, _M), "dovranno": (_M, _M),
        "dovrebbe": (_R, _R), "dovrebbero": (_R, _R), "può": (_P, _M), "possono": (_P, _M),
    },
    "pt": {
        "deve": (_M, _M), "devem": (_M, _M), "deverá": (_M, _M), "deverão": (_M, _M),
        "deveria": (_R, _R), "deveriam": (_R, _R), "pode": (_P, _M), "podem": (_P, _M),
    },
    "zh": {
        # GB/T 1.1: 应 shall, 宜 should, 可 may; everyday 必须/须/应当 vs 应该
        "必须": (_M, _M), "务必": (_M, _M), "应当": (_M, _M), "须": (_M, _M),
        "不得": (_M, _M), "禁止": (_M, _M), "严禁": (_M, _M), "不应": (_M, _M),
        "不可": (_M, _M), "应该": (_R, _R), "不应该": (_R, _R), "宜": (_R, _R),
        "不宜": (_R, _R), "建议": (_R, _R), "可以": (_P, _P), "无须": (_P, _P),
        "无需": (_P, _P), "不必": (_P, _P),
    },
}  # fmt: skip
# words whose modal reading is excluded by a neighbour: 便宜 (cheap), 适宜 (suitable),
# 须知 (notes), 必须 handled as one word; "May" before a day or year is the month
_ZH_NOT = re.compile(r"便宜|适宜|须知|必须|无须")
_INFINITIVE = re.compile(r"\s+[a-zäöüß]+(?:en|ern|eln)\b")
_NEGATION = {
    "en": re.compile(r"^\s*not\b|^n't", re.IGNORECASE),
    "de": re.compile(r"^[^.;:!?,]{0,60}?\b(?:nicht|kein\w*)\b", re.IGNORECASE),
    "es": re.compile(r"\bno\s+$", re.IGNORECASE),
    "it": re.compile(r"\bnon\s+$", re.IGNORECASE),
    "pt": re.compile(r"\bnão\s+$", re.IGNORECASE),
    "fr": re.compile(r"\bne\s+$|\bn['’]\s*$", re.IGNORECASE),
}


@dataclass(frozen=True, slots=True)
class Modal:
    span: Span
    word: str
    strength: str
    language: str
    negated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": self.span.to_dict(),
            "word": self.word,
            "strength": self.strength,
            "language": self.language,
            "negated": self.negated,
        }


def modality_languages() -> tuple[str, ...]:
    """Languages whose modal words we know."""
    return tuple(_WORDS)


@cache
def _pattern(lang: str) -> re.Pattern[str]:
    alts = sorted(_WORDS[lang], key=len, reverse=True)
    body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts)
    if lang == "zh":
        return re.compile(f"(?:{body})")
    return re.compile(rf"(?<![^\W\d_])(?:{body})(?![^\W\d_])", re.IGNORECASE)


def _negated(text: str, m: re.Match[str], lang: str, end_of_clause: int) -> bool:
    if lang == "zh":
        return False  # the negated forms are words of their own (不得, 不应)
    rx = _NEGATION.get(lang)
    if rx is None:
        return False
    if lang in ("en", "de"):
        return bool(rx.match(text[m.end() : end_of_clause]))
    return bool(rx.search(text[max(0, m.start() - 12) : m.start()]))


def find_modals(text: str, lang: str, start: int = 0, end: int | None = None) -> list[Modal]:
    """Modal words of ``lang`` in ``text[start:end]`` (one clause or sentence)."""
    if lang not in _WORDS:
        return []
    stop = len(text) if end is None else end
    out: list[Modal] = []
    for m in _pattern(lang).finditer(text, start, stop):
        word = re.sub(r"\s+", " ", m.group()).lower()
        if lang == "zh" and word in ("须", "宜"):
            ctx = _ZH_NOT.search(text, max(0, m.start() - 1), min(stop, m.end() + 1))
            if ctx and ctx.start() <= m.start() < ctx.end():
                continue
        if lang == "en" and word == "may" and m.group()[0] == "M":
            nxt = text[m.end() : m.end() + 3].strip()
            if m.start() > start and (nxt[:1].isdigit() or text[m.start() - 2 : m.start()] == "in"):
                continue  # "in May", "May 3": the month
        if word in ("ist zu", "sind zu") and not _INFINITIVE.match(text, m.end()):
            continue  # "ist zu prüfen" (is to be checked), not "ist zu hoch" (too high)
        base, neg = _WORDS[lang][word]
        negated = _negated(text, m, lang, stop)
        strength = neg if negated else base
        out.append(Modal(Span.of(text, m.start(), m.end()), word, strength, lang, negated))
    return out


def strength_of(word: str) -> str:
    """The strength of a spec's modality: a strength name or a modal word of any known
    language ("shall", "muss", "debe", "必须"); ValueError if neither."""
    w = re.sub(r"\s+", " ", word.strip()).lower()
    if w in RANK:
        return w
    for lang, table in _WORDS.items():
        key = w if lang != "zh" else word.strip()
        if key in table:
            return table[key][0]
    known = ", ".join(sorted({*RANK, "shall", "should", "may", "muss", "doit", "debe", "必须"}))
    raise ValueError(f"unknown modality {word!r} (e.g. {known})")
