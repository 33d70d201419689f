"""Where a technical term sits next to a value: the words just before a measured value
("*shaft diameter* shall be 20 mm", "*Durchmesser* von 20 mm", "*diamètre de l'arbre* doit
être de 20 mm", "*轴径*必须为20毫米") and just after a count ("200 pcs *ball bearings*").

This is what makes "term not in glossary" precise: only a noun phrase attached to a value
is a candidate, so ordinary words never fire. The rules are structural (skip the linking
verb and qualifiers, collect content words, stop at a function word or punctuation), with
a short list of instruction verbs for the languages that do not capitalise nouns."""

from __future__ import annotations

import re

from plantmind.language.lexicon import (
    ACTION_VERBS,
    ARTICLES,
    CONNECTORS,
    LINKING,
    OF,
    QUALIFIERS,
    calendar_words,
    is_function_word,
)
from plantmind.language.segments import Span, is_cjk, words
from plantmind.language.units import lookup

__all__ = ["term_after", "term_before"]

_MAX_WORDS = 4
_MAX_CJK = 8
_GAP_OK = re.compile(r"^[\s'’\-:=()]*$")
# CJK: linking and qualifying words between a term and its value, and characters that end
# a term (prepositions, conjunctions, request words)
_ZH_LINK = (
    "必须", "应当", "应该", "不小于", "不大于", "不超过", "至少", "最多", "大约", "等于", "务必",
    "须", "宜", "可以", "为", "是", "约", "应", "的", "达到", "到", "至", "：", ":", "=",
)  # fmt: skip
# verbs that open an instruction before a value (交付200件, 加热到80℃): not terms
_ZH_VERBS = (
    "交付", "交货", "提供", "发送", "发货", "使用", "加热", "冷却", "拧紧", "调整", "订购", "确认",
    "检查", "测量", "储存", "存放", "保持", "设定", "增加", "减少", "需要",
)  # fmt: skip
_ZH_STOP = set("在请于和与及或前后把将从由对向给共按以下")


def _is_content(word: str, lang: str | None) -> bool:
    lw = word.lower()
    if is_function_word(lw) or lw in ACTION_VERBS or lookup(word) is not None:
        return False
    if lw in calendar_words():
        return False
    return len(word) >= 2


def _noun_like(ws: list[Span], lang: str | None) -> bool:
    if lang == "de":  # German nouns are capitalised
        return any(w.text[:1].isupper() for w in ws)
    return True


def term_before(text: str, anchor: int, clause_start: int, lang: str | None) -> Span | None:
    """The term that a value starting at ``anchor`` belongs to, looking back to
    ``clause_start``; None when none is written there."""
    if anchor > clause_start and is_cjk(text[anchor - 1 : anchor] or " "):
        return _cjk_before(text, anchor, clause_start)
    ws = words(text, clause_start, anchor)
    i = len(ws) - 1
    edge = anchor

    def gap_ok(w: Span, right: int) -> bool:
        return bool(_GAP_OK.match(text[w.end : right]))

    while i >= 0 and ws[i].text.lower() in (LINKING | QUALIFIERS) and gap_ok(ws[i], edge):
        edge = ws[i].start
        i -= 1
    got: list[Span] = []
    while i >= 0 and gap_ok(ws[i], edge) and len(got) < _MAX_WORDS + 2:
        w = ws[i]
        lw = w.text.lower()
        if lw in ARTICLES and lw not in OF:
            # inside a term only after "of"/"de": "diameter of *the* shaft"
            prev = ws[i - 1].text.lower() if i > 0 else ""
            if not got or prev not in OF:
                break
            got.append(w)
        elif (lw in OF and got) or _is_content(w.text, lang):
            got.append(w)
        else:
            break
        edge = w.start
        i -= 1
    while got and got[-1].text.lower() in CONNECTORS:
        got.pop()
    got.reverse()
    content = [w for w in got if w.text.lower() not in CONNECTORS]
    if not content or len(content) > _MAX_WORDS or not _noun_like(content, lang):
        return None
    return Span.of(text, got[0].start, got[-1].end)


def term_after(text: str, anchor: int, clause_end: int, lang: str | None) -> Span | None:
    """The thing counted by a count ending at ``anchor`` ("200 pcs *ball bearings*")."""
    j = anchor
    while j < clause_end and text[j].isspace():
        j += 1
    if j < clause_end and is_cjk(text[j]):
        return _cjk_after(text, j, clause_end)
    ws = words(text, anchor, clause_end)
    got: list[Span] = []
    edge = anchor
    for w in ws:
        if not _GAP_OK.match(text[edge : w.start]):
            break
        lw = w.text.lower()
        if not got and lw in ("of", "de", "d", "von", "x", "di", "do", "da", "del"):
            edge = w.end
            continue
        if (lw in CONNECTORS and got) or _is_content(w.text, lang):
            got.append(w)
        else:
            break
        edge = w.end
        if len([g for g in got if g.text.lower() not in CONNECTORS]) >= _MAX_WORDS:
            break
    while got and got[-1].text.lower() in CONNECTORS:
        got.pop()
    content = [w for w in got if w.text.lower() not in CONNECTORS]
    if not content or not _noun_like(content, lang):
        return None
    return Span.of(text, got[0].start, got[-1].end)


def _cjk_before(text: str, anchor: int, clause_start: int) -> Span | None:
    end = anchor
    changed = True
    while changed:
        changed = False
        while end > clause_start and text[end - 1].isspace():
            end -= 1
        for w in _ZH_LINK:
            if text[clause_start:end].endswith(w):
                end -= len(w)
                changed = True
                break
    start = end
    while (
        start > clause_start
        and end - start < _MAX_CJK
        and is_cjk(text[start - 1])
        and text[start - 1] not in _ZH_STOP
    ):
        start -= 1
    if end - start < 2 or text[start:end].endswith(_ZH_VERBS):
        return None
    return Span.of(text, start, end)


def _cjk_after(text: str, start: int, clause_end: int) -> Span | None:
    if text[start] == "的":
        start += 1
    end = start
    while (
        end < clause_end
        and end - start < _MAX_CJK
        and is_cjk(text[end])
        and text[end] not in _ZH_STOP
    ):
        end += 1
    if end - start < 2 or text[start:end].startswith(_ZH_VERBS):
        return None
    return Span.of(text, start, end)
