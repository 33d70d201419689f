"""CFR paragraph enumerators: what ``(a)``, ``(1)``, ``(i)``, ``(A)`` can mean, which reading
continues an open sequence, and where an enumerator starts a paragraph in the middle of a
line (the eCFR's inline layout) rather than cite one.

The eCFR's six paragraph levels (1 CFR 21.11) are ``(a)`` → ``(1)`` → ``(i)`` → ``(A)`` →
``(1)`` → ``(i)``; plain text loses the italics that tell level 5 from level 2 and level 6
from level 3, and ``(i)``, ``(v)``, ``(x)`` are letters as well as roman numerals. This
module only answers questions about enumerators; :mod:`plantmind.comply.clauses` builds the
tree with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CFR_LEVELS",
    "Open",
    "candidates",
    "enumerator",
    "fit",
    "fits_any",
    "inline_starts",
    "letters",
    "reach",
    "roman",
]

CFR_LEVELS = 6

_ROMAN_VALUES = (
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
)


def roman(n: int) -> str:
    """1 → ``i`` … 39 → ``xxxix`` (lower case, as the CFR writes them)."""
    out = []
    for value, sym in _ROMAN_VALUES:
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)


_ROMAN = {roman(n): n for n in range(1, 40)}


def letters(n: int) -> str:
    """1 → ``a`` … 26 → ``z``, 27 → ``aa`` … 52 → ``zz`` (the CFR doubles letters past z)."""
    return chr(96 + (n - 1) % 26 + 1) * ((n - 1) // 26 + 1)


def _letter_ordinal(tok: str) -> int | None:
    t = tok.lower()
    if not t.isalpha() or len(set(t)) != 1 or len(t) > 2:
        return None
    return ord(t[0]) - 96 + 26 * (len(t) - 1)


def enumerator(level: int, n: int) -> str:
    """The token (without brackets) of ordinal ``n`` at CFR ``level`` 1-6."""
    if level in (2, 5):
        return str(n)
    if level in (3, 6):
        return roman(n)
    if level == 4:
        return letters(n).upper()
    return letters(n)


def candidates(tok: str) -> list[tuple[int, int]]:
    """The (level, ordinal) readings of one enumerator token (CFR levels 1-6)."""
    if tok.isdigit():
        return [(2, int(tok)), (5, int(tok))]
    if tok.isupper():
        n = _letter_ordinal(tok)
        return [(4, n)] if n else []
    out: list[tuple[int, int]] = []
    if tok in _ROMAN:
        out += [(3, _ROMAN[tok]), (6, _ROMAN[tok])]
    n = _letter_ordinal(tok)
    if n:
        out.append((1, n))
    return out


@dataclass(frozen=True, slots=True)
class Open:
    """An open paragraph on the path to the current one: its level, ordinal, token, id."""

    level: int
    ordinal: int
    tok: str
    id: str


def fit(stack: list[Open], level: int, n: int) -> int | None:
    """Where (level, n) continues the open path ``stack``: the index it replaces (a next
    sibling) or ``len(stack)`` (the first child of the innermost); None when it continues
    nothing."""
    for k in range(len(stack) - 1, -1, -1):
        if stack[k].level == level:
            return k if stack[k].ordinal == n - 1 else None
        if stack[k].level < level:
            break
    top = stack[-1].level if stack else 0
    if n == 1 and level == top + 1:
        return len(stack)
    return None


def fits_any(stack: list[Open], tok: str) -> bool:
    """Whether some reading of ``tok`` continues ``stack``."""
    return any(fit(stack, lv, n) is not None for lv, n in candidates(tok))


def reach(stack: list[Open], toks: list[str], limit: int = 400) -> int:
    """How many of the next enumerators ``toks`` (up to ``limit``) some reading continues
    from ``stack``: the look-ahead that settles ``(i)`` letter or roman, ``(2)`` level 2 or
    level 5. A search over (position, open levels), each state visited once."""
    toks = toks[:limit]
    memo: dict[tuple[int, tuple[tuple[int, int], ...]], int] = {}

    def go(i: int, path: tuple[tuple[int, int], ...]) -> int:
        if i == len(toks):
            return 0
        if (i, path) in memo:
            return memo[(i, path)]
        opened = [Open(lv, n, "", "") for lv, n in path]
        best = 0
        for level, n in candidates(toks[i]):
            k = fit(opened, level, n)
            if k is None:
                continue
            best = max(best, 1 + go(i + 1, (*path[:k], (level, n))))
            if best == len(toks) - i:
                break
        memo[(i, path)] = best
        return best

    return go(0, tuple((o.level, o.ordinal) for o in stack))


# An enumerator inside a line starts a paragraph only after the end of a sentence, a colon,
# a semicolon ("; and", "; or,") or a dash: "(c) Employee participation. (1) Employers
# shall …", "… the following: (i) Toxicity information; (ii) …". After a word
# ("paragraph (c)(1)", "section", "of") it is a cross-reference.
_TOKEN = r"(?:[a-z]{1,5}|[A-Z]{1,2}|\d{1,3})"
_INLINE = re.compile(rf"(?:[.:;]|;\s+(?:and|or),?|[—–]|:\s*[—–])\s+(?P<enum>\({_TOKEN}\))(?=\s+\S)")
# what follows a cross-reference, never a paragraph's text
_REFERENCE_AFTER = re.compile(r"\s+(?:of|through|thru|to|and|or|in|under|above|below)\b|\s*[,)(]")


def inline_starts(text: str) -> list[int]:
    """The offsets in ``text`` of enumerators that may start a paragraph inside the line
    (single tokens only: an explicit path such as ``(b)(2)`` inside a line is a reference).
    Whether each one does is for the caller to decide by the numbering sequence."""
    out: list[int] = []
    for m in _INLINE.finditer(text):
        start = m.start("enum")
        end = m.end("enum")
        if _REFERENCE_AFTER.match(text, end):
            continue
        if _depth(text, start) > 0:  # inside brackets: "(see (1) above; (2) …)"
            continue
        out.append(start)
    return out


def _depth(text: str, end: int) -> int:
    depth = 0
    for ch in text[:end]:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
    return depth
