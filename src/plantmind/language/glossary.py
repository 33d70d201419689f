"""The plant glossary (term base): one concept per row, its term(s) in each language, read
from CSV (``concept,en,de,fr,es,zh``; several terms in a cell separated by ``|``; optional
``kind`` column naming what the concept measures: length, mass, count, ...). Finding its
terms in a message normalises them to the concept id."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantmind.language.segments import CJK, Span
from plantmind.language.units import KINDS

__all__ = ["Glossary", "GlossaryError", "TermMatch"]

_LANG_COL = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?$")
_IGNORED_COLS = {"note", "notes", "description", "comment"}
# regular plural endings, on a term's last word
_PLURAL = {
    "en": "(?:s|es)?", "de": "(?:e|en|n|s|er|es|ern)?", "fr": "(?:s|x)?", "es": "(?:s|es)?",
    "pt": "(?:s|es)?", "nl": "(?:en|s)?",
}  # fmt: skip


class GlossaryError(ValueError):
    """A glossary file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A glossary term found in a message: its span, the concept, the term as the
    glossary spells it and the language column it came from."""

    span: Span
    concept: str
    term: str
    language: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": self.span.to_dict(),
            "concept": self.concept,
            "term": self.term,
            "language": self.language,
        }


def _term_regex(term: str, lang: str) -> re.Pattern[str]:
    if re.search(f"[{CJK}]", term):
        return re.compile(re.escape(term))
    # the plural ending may sit on any word: the head noun is last in English and German
    # compounds, first in French and Spanish ("roulements à billes")
    plural = _PLURAL.get(lang.split("-")[0].split("_")[0], "")
    parts = re.split(r"(\s+|-|['’])", term.strip())
    body = ""
    for p in parts:
        if not p:
            continue
        if p.isspace() or p == "-":
            body += r"[\s\-]+"
        elif p in "'’":
            body += r"['’]\s*"
        else:
            body += re.escape(p) + (plural if len(p) > 2 else "")
    return re.compile(rf"(?<![^\W\d_]){body}(?![^\W\d_])", re.IGNORECASE)


class Glossary:
    """``entries``: concept → language → terms; ``kinds``: concept → what it measures."""

    def __init__(
        self,
        entries: Mapping[str, Mapping[str, Sequence[str]]],
        kinds: Mapping[str, str] | None = None,
        source: str = "",
    ) -> None:
        self.entries = {c: {lang: list(ts) for lang, ts in by.items()} for c, by in entries.items()}
        self.kinds = dict(kinds or {})
        self.source = source
        self._patterns: list[tuple[re.Pattern[str], str, str, str]] = []
        for concept, by_lang in self.entries.items():
            for lang, terms in by_lang.items():
                for t in terms:
                    self._patterns.append((_term_regex(t, lang), concept, t, lang))

    @property
    def concepts(self) -> list[str]:
        return list(self.entries)

    @property
    def languages(self) -> list[str]:
        return sorted({lang for by in self.entries.values() for lang in by})

    def term(self, concept: str, language: str) -> str | None:
        """The concept's first term in ``language`` (None if the glossary has none)."""
        terms = self.entries.get(concept, {}).get(language)
        return terms[0] if terms else None

    def kind(self, concept: str) -> str | None:
        return self.kinds.get(concept)

    def merged(self, extra: Mapping[str, Mapping[str, Sequence[str]]]) -> Glossary:
        """This glossary plus ``extra`` terms (a spec's own terms for its items)."""
        entries = {c: {lang: list(ts) for lang, ts in by.items()} for c, by in self.entries.items()}
        for concept, by_lang in extra.items():
            for lang, terms in by_lang.items():
                have = entries.setdefault(concept, {}).setdefault(lang, [])
                have.extend(t for t in terms if t not in have)
        return Glossary(entries, self.kinds, self.source)

    def find(self, text: str) -> list[TermMatch]:
        """Every term in ``text``, longest first where two overlap."""
        found: list[TermMatch] = []
        for rx, concept, term, lang in self._patterns:
            for m in rx.finditer(text):
                found.append(TermMatch(Span.of(text, m.start(), m.end()), concept, term, lang))
        found.sort(key=lambda t: (-(t.span.end - t.span.start), t.span.start))
        kept: list[TermMatch] = []
        used = bytearray(len(text))
        for t in found:
            if not any(used[t.span.start : t.span.end]):
                kept.append(t)
                used[t.span.start : t.span.end] = b"\x01" * (t.span.end - t.span.start)
        return sorted(kept, key=lambda t: t.span.start)

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def from_csv(cls, path: str | Path) -> Glossary:
        """Read a glossary CSV; :class:`GlossaryError` names the file and line of a problem."""
        p = Path(path)
        try:
            with p.open(encoding="utf-8-sig", newline="") as f:
                rows = list(csv.reader(f))
        except OSError as exc:
            raise GlossaryError(f"{p}: cannot read ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise GlossaryError(f"{p}: not UTF-8 text") from None
        return cls.from_rows(rows, source=str(p))

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[str]], source: str = "<rows>") -> Glossary:
        it = iter(rows)
        header = next(it, None)
        if not header or not any(h.strip() for h in header):
            raise GlossaryError(f"{source}: empty (expected a header such as concept,en,de,fr)")
        cols = [h.strip() for h in header]
        if "concept" not in cols:
            raise GlossaryError(f"{source}: line 1: no 'concept' column (got {', '.join(cols)})")
        langs: dict[int, str] = {}
        for i, c in enumerate(cols):
            if c in ("concept", "kind") or c.lower() in _IGNORED_COLS:
                continue
            if not _LANG_COL.match(c):
                raise GlossaryError(
                    f"{source}: line 1: column {c!r} is not a language code (e.g. en, de, zh)"
                )
            langs[i] = c.replace("_", "-")
        if not langs:
            raise GlossaryError(f"{source}: line 1: no language columns")
        ci, ki = cols.index("concept"), cols.index("kind") if "kind" in cols else None
        entries: dict[str, dict[str, list[str]]] = {}
        kinds: dict[str, str] = {}
        owner: dict[tuple[str, str], tuple[str, int]] = {}
        for lineno, row in enumerate(it, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(cols):
                raise GlossaryError(
                    f"{source}: line {lineno}: {len(row)} cells, header has {len(cols)}"
                )
            row = list(row) + [""] * (len(cols) - len(row))
            concept = row[ci].strip()
            if not concept:
                raise GlossaryError(f"{source}: line {lineno}: empty concept")
            if concept in entries:
                raise GlossaryError(f"{source}: line {lineno}: concept {concept!r} appears twice")
            if ki is not None and row[ki].strip():
                kind = row[ki].strip()
                if kind not in KINDS:
                    raise GlossaryError(
                        f"{source}: line {lineno}: kind {kind!r} is not one of {', '.join(KINDS)}"
                    )
                kinds[concept] = kind
            by_lang: dict[str, list[str]] = {}
            for i, lang in langs.items():
                terms = [t.strip() for t in row[i].split("|") if t.strip()]
                for t in terms:
                    key = (lang, t.casefold())
                    if key in owner and owner[key][0] != concept:
                        other, line = owner[key]
                        raise GlossaryError(
                            f"{source}: line {lineno}: {lang} term {t!r} is also concept "
                            f"{other!r} (line {line}); a term must name one concept"
                        )
                    owner[key] = (concept, lineno)
                if terms:
                    by_lang[lang] = terms
            if not by_lang:
                raise GlossaryError(f"{source}: line {lineno}: concept {concept!r} has no terms")
            entries[concept] = by_lang
        if not entries:
            raise GlossaryError(f"{source}: no concepts (only a header)")
        return cls(entries, kinds, source)
