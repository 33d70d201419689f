"""The clause tree of a standard: numbered paragraphs with their full ids, headings, run-in
titles, definitions, notes and list items, each with its parent.

Layouts read (the same standard gives the same tree in each):

* **one paragraph a line** (the OSHA text of 29 CFR 1910.147), with or without blank lines
  between paragraphs;
* **the eCFR's inline layout**: a paragraph, its heading and its first sub-paragraphs on one
  line (``(c) Employee participation. (1) Employers shall …``, several levels deep) and lists
  inline in a sentence (``… the following: (i) Toxicity information; (ii) …; and (iii) …``).
  A line is cut before an enumerator that follows ". ", ": ", "; ", "; and", "; or," or a
  dash (:func:`~plantmind.comply.numbering.inline_starts`); the cut stands only where the
  enumerator continues the numbering, so "paragraph (c)(1) of this section", "two (2)" and
  "(see (b))" stay text;
* **wrapped text** (a PDF's lines, hard-wrapped files): lines are joined, a hyphenation is
  undone, and a line that opens with "(c)(1) of this section" after "… by paragraph"
  continues the sentence; running headers, footers, page numbers and two columns are dealt
  with when the PDF is read (:mod:`plantmind.comply.layout`);
* **definitions**: unnumbered terms (``Facility means …``, one a line or a paragraph, the
  first on the heading's line) or 29 CFR 1910.147's ``Term.   Text``, and numbered terms
  under "Terms and definitions".

Two numbering styles are read:

* **CFR style** (OSHA, 29 CFR): ``(a)`` → ``(1)`` → ``(i)`` → ``(A)`` → ``(1)`` → ``(i)``
  (:mod:`plantmind.comply.numbering`). Each enumerator is read as the interpretation that
  continues the sequence (the next sibling of an open level, or the first child of the
  innermost); when two do, the one under which more of the following enumerators continue
  wins, then the innermost. ``(c)(4)(ii)`` at the start of a paragraph is an explicit path.
* **Decimal style** (ISO, IEC, EN, DIN): ``4``, ``4.2``, ``4.2.1`` (``4.2.1 — Title`` too),
  annex clauses ``A.1``, with ``a)`` / ``1)`` list items (ids ``4.2.1 a)``,
  ``4.2.1 a) 1)``), dash bullets, ``NOTE``, ``NOTE 1 to entry``, ``EXAMPLE``,
  ``ANMERKUNG``. A clause whose title stands alone (``7.5.3 Control of documented
  information``) takes the text paragraphs after it as its own text. A number that does not
  continue its parent's clauses ("3.5 m") is text.

* **EU legislative layout** (EU regulations and directives: the Machinery Regulation
  (EU) 2023/1230, ATEX 2014/34/EU, the PED), detected from the document (two "Article N"
  headings, or one and an EU act's marks: ``Regulation (EU)``, ``2014/34/EU``, "Whereas:",
  "HAVE ADOPTED") so the other layouts are unaffected (:func:`_parse_eu`). Articles
  ("Article 10" on its own line, a Markdown heading or bold, with its title on the next
  line, or "Article 10 — Title" on one line), CHAPTER/SECTION headings, numbered paragraphs
  ``1.``, points ``(a)`` (``(1)`` in a definitions article), sub-points ``(i)``, indents
  ``—``/``-``, and unnumbered subparagraphs; annexes (``ANNEX III`` and its title line)
  with decimal clauses ``1.``, ``1.1.``, ``1.1.2.`` and their points. Ids follow the EU
  citation convention: ``Article 10`` (an unnumbered article's body), ``Article 10(2)``,
  ``Article 10(2)(a)``, ``Article 10(2)(a)(i)``, ``Article 10(2)(a), first indent``,
  ``Article 10(3), second subparagraph``, ``Annex III 1.1.2``, ``Annex III 1.1.2(a)``.
  ``(i)``/``(v)``/``(x)`` read as a letter or a roman numeral by what follows (a sub-list
  opens after a lead-in ending ":"). The preamble (citations, "Whereas:" and the recitals
  ``Recital 1`` …, up to "HAVE ADOPTED THIS REGULATION:") and the closing formula ("This
  Regulation shall be binding in its entirety …", "Done at …") are informative; annexes are
  normative unless they say informative. In a PDF (no blank lines) a paragraph ends at a
  line that ends a sentence well short of the line width, so a subparagraph whose last line
  before it fills the column is joined to it.

An enumerator that continues no sequence starts a fresh list only after a heading or a
lead-in paragraph (an appendix's own numbered steps); otherwise the paragraph is listed in
:attr:`ClauseTree.not_analysed` with the reason, never dropped silently.

Regions under an ``Appendix``/``Annex`` heading are informative unless the heading says
normative or mandatory (29 CFR 1910.147's appendix is a "non-mandatory guideline").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from plantmind.comply.ingest import StandardText
from plantmind.comply.layout import join_wrapped
from plantmind.comply.numbering import Open, candidates, fit, inline_starts, reach, roman
from plantmind.knowledge.loaders import split_lines, text_pages

__all__ = [
    "Clause",
    "ClauseKind",
    "ClauseTree",
    "UnplacedPassage",
    "parse_clauses",
    "parse_text",
]

ClauseKind = Literal["paragraph", "item", "heading", "definition", "note", "exception", "text"]


@dataclass(slots=True)
class Clause:
    """One node of the tree.

    ``id`` is the full paragraph id (``1910.147(c)(4)(ii)(B)``, ``4.2.1 b)``, or a derived
    one for unnumbered text: ``1910.147(b)[Lockout]``); ``label`` the enumerator as written;
    ``title`` a run-in title ("Durable"); ``heading_only`` a numbered paragraph that is only a
    title; ``informative`` text in an informative appendix or annex."""

    id: str
    kind: ClauseKind
    text: str
    label: str = ""
    title: str = ""
    heading_only: bool = False
    parent: str | None = None
    depth: int = 0
    page: int | None = None
    informative: bool = False
    children: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        """The text without its run-in title."""
        if self.title and self.text.startswith(self.title):
            return self.text[len(self.title) :].lstrip(" .—–-:").strip()
        return self.text


@dataclass(frozen=True, slots=True)
class UnplacedPassage:
    """Something in the standard the parser could not place: where, an excerpt, and why."""

    where: str
    text: str
    reason: str


@dataclass(slots=True)
class ClauseTree:
    source: str
    section: str | None
    clauses: list[Clause]
    not_analysed: list[UnplacedPassage]
    pages: int
    problems: list[str] = field(default_factory=list)
    by_id: dict[str, Clause] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id = {c.id: c for c in self.clauses}

    def parent_of(self, clause: Clause) -> Clause | None:
        return self.by_id.get(clause.parent) if clause.parent else None

    def ancestors(self, clause: Clause) -> list[Clause]:
        """Parent first, root last."""
        out: list[Clause] = []
        p = self.parent_of(clause)
        while p is not None and len(out) < 64:
            out.append(p)
            p = self.parent_of(p)
        return out


# --- paragraphs -------------------------------------------------------------------------

_TOKEN = r"(?:[a-z]{1,5}|[A-Z]{1,2}|\d{1,3})"
_CHAIN = re.compile(
    rf"^(?:§\s*)?(?P<sec>\d+(?:\.\d+)+)?(?P<chain>(?:\({_TOKEN}\))+)(?=\s|$|[—–])\s*(?P<rest>.*)$",
    re.DOTALL,
)
_PAREN = re.compile(rf"\(({_TOKEN})\)")
_NUM = r"(?:\d{1,3}|[A-Z])(?:\.\d{1,3}){1,6}"  # 4.2.1, and A.1 in an annex
_DECIMAL = re.compile(rf"^(?P<num>{_NUM})\.?(?=\s)\s+(?:[—–]\s+)?(?P<rest>[^\s—–].*)$", re.DOTALL)
_NUM_ALONE = re.compile(rf"^{_NUM}\.?$")  # "3.1" on its own line, the term on the next
_TOP = re.compile(r"^(?P<num>\d{1,3})\.?\s+(?P<rest>[A-Z][^.;:]{1,90})$")
_LETTER_ITEM = re.compile(r"^(?P<lab>[a-z])\)\s+(?P<rest>\S.*)$", re.DOTALL)
_DIGIT_ITEM = re.compile(r"^(?P<lab>\d{1,2})\)\s+(?P<rest>\S.*)$", re.DOTALL)
_BULLET = re.compile(r"^[-*•·▪◦—–]\s+(?P<rest>\S.*)$", re.DOTALL)
_MD_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<rest>.*?)\s*#*$")
_SECTION = re.compile(r"^§+\s*(?P<num>\d+(?:\.\d+)+)\b")
_APPENDIX = re.compile(r"^(?P<word>appendix|annex)\s+(?P<id>[A-Z0-9]{1,3})\b", re.IGNORECASE)
_NOTE = re.compile(
    r"^(?:(?:NOTES?|EXAMPLES?|ANMERKUNG(?:EN)?|BEISPIELE?)\b(?:\s+\d+)?\s*(?:to entry)?"
    r"\s*[:.\-–—]?|(?:Notes?|Examples?)(?:\s+\d+)?(?:\s+to entry)?\s*[:.\-–—]"
    r"|Notes?(?:\s+\d+)?\s+to\s+(?:paragraphs?|§|sections?|table|figure)\s[^:]{1,60}:)"
    r"\s*(?P<rest>.*)$",
    re.DOTALL,
)
_EXCEPTION = re.compile(r"^Exceptions?\b[^:]{0,60}:\s*(?P<rest>.*)$", re.DOTALL)
_ALERT = re.compile(
    r"^(?:CAUTION|WARNING|DANGER|Caution|Warning|Danger)\s*[:!—–-]\s*(?P<rest>.*)$", re.DOTALL
)
_DEFINITION = re.compile(r"^(?P<term>[A-Z][^.:;]{0,80}?)(?:\.\s+|:\s+)(?P<def>\S.*)$", re.DOTALL)
_MEANS = re.compile(
    r"^[\"“]?(?P<term>[A-Z][\w\s/\-,()]{1,60}?)[\"”]?\s+(?:means|is defined as)\b", re.DOTALL
)
# a sentence of a definitions paragraph that starts the next term: "… process. Facility means"
_NEXT_MEANS = re.compile(r"(?<=[.;])\s+(?=[\"“]?[A-Z][\w/\-]*(?:\s[\w/\-]+){0,6}[\"”]?\s+means\b)")
_DEFINITIONS_TITLE = re.compile(r"^definitions?\b", re.I)
_MODAL = re.compile(r"\b(shall|must|may|should|required)\b", re.IGNORECASE)
_EMPHASIS = re.compile(
    r"(\*\*|__|(?<!\w)\*(?!\s)|(?<=\S)\*(?!\w)|(?<![\w\\])_(?=[A-Za-z(])|(?<=[\w.)])_(?!\w))"
)
_STARTERS = (
    _CHAIN,
    _DECIMAL,
    _NUM_ALONE,
    _LETTER_ITEM,
    _DIGIT_ITEM,
    _BULLET,
    _NOTE,
    _EXCEPTION,
    _ALERT,
)
# a line that opens with an enumerator but continues a cross-reference wrapped at the end of
# the line before: "… required by paragraph" / "(c)(1) of this section"
_REFERENCE_END = re.compile(
    r"\b(?:paragraphs?|sections?|§|of|in|under|see|to|by|with|at|from)$", re.I
)
_REFERENCE_REST = re.compile(r"^(?:of|through|thru|and|or|to|in|under|above|below)\b")


@dataclass(slots=True)
class _Para:
    text: str
    page: int | None
    lines: int = 1
    md_level: int = 0  # 1..6 for a Markdown heading line
    inline: bool = False  # cut from the line before at an inline enumerator
    eu: str = ""  # EU layout: "article", "annex", "heading", "title"; "" for a body paragraph


def _clean(line: str) -> str:
    # pdfium writes a hyphen at a line end as \x02 (and keeps it when it joins the lines);
    # a soft hyphen likewise: a hyphenation, undone by join_wrapped at a line end
    line = line.rstrip()
    if line.endswith(("\x02", "\u00ad")):
        line = line[:-1] + "-"
    line = line.replace("\x02", "").replace("\u00ad", "")
    line = _EMPHASIS.sub("", line.replace("\u00a0", " ").rstrip())
    return line.replace("\\(", "(").replace("\\)", ")")


UNWRAPPED_LINE = 200
LOOK_AHEAD = 400  # enumerators read ahead to settle an ambiguous one (to the next heading)


def _starts_paragraph(s: str, cur: _Para | None) -> bool:
    """Whether line ``s`` opens a paragraph after the paragraph ``cur``."""
    if cur is not None and (m := _CHAIN.match(s) or _DECIMAL.match(s)):
        # a wrapped cross-reference or quantity ("paragraph" / "(c)(1) of this section",
        # "at least" / "3.5 m from"), not an enumerator
        before = cur.text.rstrip()
        if not before.endswith((".", ":", ";", "—", "–")) and (
            _REFERENCE_END.search(before)
            or _REFERENCE_REST.match(m.group("rest"))
            or (m.re is _DECIMAL and m.group("rest")[:1].islower())
        ):
            return False
    if any(r.match(s) for r in _STARTERS) or s.startswith(("§", "Appendix", "Annex")):
        return True
    if cur is not None and _TOP.match(s) and cur.text.rstrip().endswith((".", ":", ";")):
        return True  # "4 Inspection and maintenance" after the text of 3.4
    # one definition a line: "Facility means …" after "Catastrophe means … ."
    return bool(
        cur is not None
        and _MEANS.match(s)
        and cur.text.rstrip().endswith((".", ";"))
        and (_MEANS.match(cur.text) or _DEFINITIONS_TITLE.search(_strip_enumerator(cur.text)))
    )


def _strip_enumerator(s: str) -> str:
    m = _CHAIN.match(s)
    return m.group("rest") if m else s


def _paragraphs(text: StandardText) -> list[_Para]:
    """Lines → paragraphs: a blank line, a Markdown heading or a line that opens a numbered
    paragraph, a list item or a note ends the paragraph before it; other lines continue it
    (wrapped text, PDF line breaks, hyphenation undone). A numbered paragraph is then cut
    at its inline enumerators (:func:`_inline_pieces`)."""
    out: list[_Para] = []
    cur: _Para | None = None
    # lines longer than any wrapped line: the text is not wrapped, one paragraph a line
    # (eCFR text without blank lines)
    unwrapped = any(len(ln) > UNWRAPPED_LINE for _, lines in text.pages for ln in lines)
    for page, lines in text.pages:
        for raw in lines:
            s = _clean(raw).strip()
            if not s or s.startswith("<!--"):
                cur = None
                continue
            if unwrapped:
                cur = None
            if m := _MD_HEADING.match(s):
                out.append(_Para(m.group("rest").strip(), page, 1, len(m.group("hashes"))))
                cur = None
                continue
            if cur is None or _starts_paragraph(s, cur):
                cur = _Para(s, page)
                out.append(cur)
            else:
                cur.text = join_wrapped(cur.text, s)
                cur.lines += 1
    return [piece for p in out for piece in _inline_pieces(p)]


def _inline_pieces(p: _Para) -> list[_Para]:
    """A numbered paragraph cut before each enumerator inside it that may open a paragraph
    (eCFR: "(c) Employee participation. (1) Employers shall …", "… the following: (i) Toxicity
    information; (ii) …"). The pieces after the first are marked ``inline``: the tree joins
    one back to the text before it when its enumerator continues no sequence."""
    if not _CHAIN.match(p.text):
        return [p]
    starts = inline_starts(p.text)
    if not starts:
        return [p]
    pieces = [p.text[a:b].strip() for a, b in pairwise([0, *starts, len(p.text)])]
    out = [_Para(pieces[0], p.page, p.lines, p.md_level)]
    out += [_Para(t, p.page, 1, 0, inline=True) for t in pieces[1:] if t]
    return out


# --- titles -----------------------------------------------------------------------------

_DASH_TITLE = re.compile(r"^(?P<t>[A-Z][^.;:—–]{0,100}?)\s*(?:—|–|--)\s*(?P<rest>.*)$", re.DOTALL)
_RUNIN_TITLE = re.compile(r"^(?P<t>[A-Z][^.;:]{0,110}?)\.\s{2,}(?P<rest>\S.*)$", re.DOTALL)


_SHORT_TITLE = re.compile(r"^(?P<t>[A-Z][^.;:]{0,60}?)\.\s+(?P<rest>[A-Z(]\S*.*)$", re.DOTALL)
# a title names a topic; a short sentence has a verb
_FINITE = re.compile(
    r"\b(?:is|are|was|were|be|been|does|do|did|has|have|had|shall|must|may|should|will|can|"
    r"cannot|not|applies|covers)\b",
    re.I,
)


def _title(body: str) -> tuple[str, bool]:
    """The run-in title of a numbered paragraph and whether the paragraph is only a title."""
    if (m := _DASH_TITLE.match(body)) and len(m.group("t").split()) <= 12:
        return m.group("t").strip(), not m.group("rest").strip()
    if (m := _RUNIN_TITLE.match(body)) and len(m.group("t").split()) <= 14:
        return m.group("t").strip(), False
    # one space after the title (PDF text loses the double space): only a verbless phrase
    if (
        (m := _SHORT_TITLE.match(body))
        and len(m.group("t").split()) <= 8
        and not _FINITE.search(m.group("t"))
    ):
        return m.group("t").strip(), False
    words = body.split()
    if (
        words
        and len(words) <= 6
        and body[0].isupper()
        and not body.rstrip().endswith((";", ":", ","))
        and not _FINITE.search(body)
    ):
        return body.rstrip(" .").strip(), True
    return "", False


def _body(text: str, title: str) -> str:
    return text[len(title) :].lstrip(" .—–-:").strip() if text.startswith(title) else text


def _is_plain_heading(p: _Para) -> bool:
    s = p.text
    words = s.split()
    return (
        p.lines == 1
        and 1 <= len(words) <= 10
        and len(s) <= 90
        and (s[0].isupper() or s[0].isdigit())
        and not s.endswith((".", ":", ";", ","))
        and not _MODAL.search(s)
    )


def _informative(heading: str) -> bool:
    h = heading.lower()
    if re.search(r"non-?mandatory|informative", h):
        return True
    return not re.search(r"\bnormative\b|\bmandatory\b", h)


# --- the tree ---------------------------------------------------------------------------


class _Builder:
    def __init__(self, text: StandardText) -> None:
        self.text = text
        self.clauses: list[Clause] = []
        self.by_id: dict[str, Clause] = {}
        self.not_analysed: list[UnplacedPassage] = []
        self.section: str | None = None
        self.prefix = ""  # id prefix of the region ("1910.147", "1910.147 Appendix A")
        self.region: str | None = None  # id of the region's heading
        self.informative = False
        self.stack: list[Open] = []
        self.base: str | None = None  # parent of the first level of the current list
        self.container: str | None = None  # where unnumbered paragraphs go
        self.restart_ok = False
        self.pending_note = False
        self.decimals: dict[str, str] = {}  # "4.2" -> clause id
        self.top_numbers: list[int] = []
        self.item_owner: str | None = None  # the numbered clause "a)" items belong to
        self.last_letter_item: str | None = None
        self.counters: dict[str, int] = {}
        self.numbered = False  # a CFR-style paragraph was read
        self.decimal_last: dict[str, int] = {}  # "4.2" -> number of its last child clause
        self.foldable: str | None = None  # a numbered title whose text follows it

    # -- helpers
    def _unique(self, cid: str) -> str:
        if cid not in self.by_id:
            return cid
        k = 2
        while f"{cid} #{k}" in self.by_id:
            k += 1
        return f"{cid} #{k}"

    def add(
        self,
        kind: ClauseKind,
        cid: str,
        text: str,
        parent: str | None,
        page: int | None,
        label: str = "",
        title: str = "",
        heading_only: bool = False,
    ) -> Clause:
        cid = self._unique(cid)
        depth = self.by_id[parent].depth + 1 if parent in self.by_id else 0
        c = Clause(
            cid, kind, text, label, title, heading_only, parent, depth, page, self.informative
        )
        self.clauses.append(c)
        self.by_id[cid] = c
        if parent in self.by_id:
            self.by_id[parent].children.append(cid)
        return c

    def _next_n(self, key: str) -> int:
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    def _skip(self, p: _Para, reason: str) -> None:
        where = f"page {p.page}" if p.page is not None else "text"
        if self.container:
            where += f", after {self.container}"
        excerpt = p.text if len(p.text) <= 160 else p.text[:157] + "..."
        self.not_analysed.append(UnplacedPassage(where, excerpt, reason))

    def _in_definitions(self) -> bool:
        cid = self.container
        for _ in range(3):
            c = self.by_id.get(cid) if cid else None
            if c is None:
                return False
            if re.search(
                r"\bdefinitions?\b|\bterms and definitions\b", c.title or c.text[:80], re.I
            ):
                return True
            cid = c.parent
        return False

    # -- regions and headings
    def heading(self, p: _Para) -> None:
        s = p.text.rstrip(" —–-").strip()
        if m := _APPENDIX.match(s):
            word = m.group("word").capitalize()
            label = f"{word} {m.group('id')}"
            self.prefix = f"{self.section} {label}" if self.section else label
            self.informative = _informative(s)
            c = self.add("heading", self.prefix, s, None, p.page, label=label, title=s)
            self.region = c.id
            self._reset(c.id)
            if m.group("id").isalpha() and len(m.group("id")) == 1:
                self.decimals[m.group("id").upper()] = c.id  # its clauses: A.1, A.1.1
            return
        if (m := _SECTION.match(s)) and not _APPENDIX.search(s):
            self.section = m.group("num")
            self.prefix = self.section
            self.informative = False
            c = self.add(
                "heading", self.section, s, None, p.page, label=f"§ {self.section}", title=s
            )
            self.region = c.id
            self._reset(c.id)
            self.restart_ok = False
            return
        cid = f"{self.prefix} {s}".strip() if len(s) <= 60 else f"{self.prefix} {s[:57]}...".strip()
        c = self.add("heading", cid, s, self.region, p.page, title=s)
        self.foldable = None
        self.container = c.id
        self.restart_ok = True
        self.item_owner = None

    def _reset(self, base: str | None) -> None:
        self.stack = []
        self.base = base
        self.container = base
        self.restart_ok = True
        self.item_owner = None

    # -- numbered paragraphs
    def paren(self, p: _Para, m: re.Match[str], ahead: list[str]) -> bool:
        """A CFR-style numbered paragraph; False (and nothing recorded) for an inline piece
        whose enumerator continues no sequence: the caller joins it to the text before."""
        toks = _PAREN.findall(m.group("chain"))
        rest = m.group("rest").strip()
        stack = self.stack
        new: list[Open] | None = None
        if len(toks) > 1:
            new = self._explicit(toks)
        else:
            tok = toks[0]
            fits = []
            for level, n in candidates(tok):
                k = fit(stack, level, n)
                if k is not None:
                    fits.append((level, n, k))
            if fits:
                # the reading under which most of the enumerators after it continue, then
                # the innermost
                level, n, k = max(
                    fits,
                    key=lambda f: (
                        reach([*stack[: f[2]], Open(f[0], f[1], tok, "")], ahead)
                        if len(fits) > 1
                        else 0,
                        f[0],
                    ),
                )
                new = [*stack[:k], Open(level, n, tok, "")]
            elif not p.inline and (self.restart_ok or not self.numbered):
                firsts = [(lv, n) for lv, n in candidates(tok) if n == 1]
                if not firsts and not self.numbered:
                    # an excerpt may start anywhere: "(h)" as the first paragraph
                    firsts = candidates(tok)
                if firsts:
                    level, n = min(firsts)
                    self.base = self.container
                    new = [Open(level, n, tok, "")]
        if new is None:
            if p.inline:
                return False
            after = stack[-1].id if stack else "the start"
            self._skip(p, f"numbering ({toks[-1]}) does not continue the sequence after {after}")
            return True
        base_id = self.by_id[self.base].id if self.base in self.by_id else None
        prefix = self.prefix if base_id in (None, self.region) else base_id
        path = "".join(f"({o.tok})" for o in new)
        parent = new[-2].id if len(new) > 1 else (self.base if self.base else None)
        title, heading_only = _title(rest)
        terms: list[str] = []
        if title and _DEFINITIONS_TITLE.match(title) and _MEANS.match(_body(rest, title)):
            # "(b) Definitions. Atmospheric tank means …": the title, then its terms
            terms = _NEXT_MEANS.split(_body(rest, title))
            rest, heading_only = title + ".", True
        c = self.add(
            "paragraph",
            f"{prefix}{path}",
            rest,
            parent,
            p.page,
            label=f"({new[-1].tok})",
            title=title,
            heading_only=heading_only,
        )
        new[-1] = Open(new[-1].level, new[-1].ordinal, new[-1].tok, c.id)
        self.stack = new
        self.numbered = True
        self.container = c.id
        self.item_owner = c.id
        self.last_letter_item = None
        self.restart_ok = False
        self.foldable = c.id if heading_only else None
        for term in terms:
            self.unnumbered(_Para(term, p.page))
        return True

    def join_to_last(self, p: _Para) -> None:
        """An inline piece that opens no paragraph: back into the text it was cut from."""
        if self.clauses:
            last = self.clauses[-1]
            last.text = f"{last.text} {p.text}"
            last.heading_only = False

    def _explicit(self, toks: list[str]) -> list[Open] | None:
        """``(c)(4)(ii)``: levels 1, 2, 3 … in order; the ids of open levels are kept."""
        out: list[Open] = []
        path = ""
        for depth, tok in enumerate(toks, start=1):
            cands = [(lv, n) for lv, n in candidates(tok) if lv == depth]
            if not cands:
                return None
            path += f"({tok})"
            out.append(Open(depth, cands[0][1], tok, f"{self.prefix}{path}"))
        self.base = self.region
        return out

    def decimal(self, p: _Para, num: str, rest: str) -> bool:
        """An ISO/IEC-style numbered clause: the next sibling under its parent clause (or the
        first child), else False (a number in the text: "3.5 m from the floor")."""
        parts = num.split(".")
        parent_num = ".".join(parts[:-1])
        if parent_num not in self.decimals:
            return False
        last = self.decimal_last.get(parent_num, 0)
        if int(parts[-1]) not in (last + 1, 1 if last == 0 else -1):
            return False
        self.decimal_last[parent_num] = int(parts[-1])
        parent = self.decimals[parent_num]
        title, heading_only = _title(rest)
        if not title and len(rest.split()) <= 12 and not rest.endswith((".", ";", ":")):
            title, heading_only = rest, not _MODAL.search(rest)
        kind: ClauseKind = "paragraph"
        if self._definitions_under(parent):
            kind = "definition"
        if num[0].isalpha():  # an annex clause: "A.2" names the annex itself
            cid = f"{self.section} {num}" if self.section else num
        else:
            cid = f"{self.prefix} {num}".strip() if self.prefix and self.region else num
        c = self.add(
            kind,
            cid,
            rest,
            parent,
            p.page,
            label=num,
            title=title,
            heading_only=heading_only and kind != "definition",
        )
        self.decimals[num] = c.id
        self._after_numbered(c.id)
        self.foldable = (
            c.id if c.heading_only or (kind == "paragraph" and c.text == title) else None
        )
        return True

    def top(self, p: _Para, num: int, rest: str) -> bool:
        prev = self.top_numbers[-1] if self.top_numbers else 0
        if not (num == prev + 1 or (not self.top_numbers and num <= 3)):
            return False
        self.top_numbers.append(num)
        cid = f"{self.prefix} {num}".strip() if self.prefix and self.region else str(num)
        c = self.add(
            "paragraph",
            cid,
            rest,
            self.region,
            p.page,
            label=str(num),
            title=rest,
            heading_only=True,
        )
        self.decimals[str(num)] = c.id
        self._after_numbered(c.id)
        self.foldable = c.id
        return True

    def _definitions_under(self, cid: str | None) -> bool:
        c = self.by_id.get(cid) if cid else None
        return bool(c and re.search(r"\bdefinitions?\b", c.title or c.text[:80], re.I))

    def _after_numbered(self, cid: str) -> None:
        self.stack = []
        self.base = cid
        self.container = cid
        self.item_owner = cid
        self.last_letter_item = None
        self.restart_ok = False

    def item(self, p: _Para, label: str, rest: str, kind: str) -> None:
        self.foldable = None
        owner = self.item_owner or self.container
        if kind == "digit" and self.last_letter_item:
            owner = self.last_letter_item
        label = f"•{self._next_n(f'bullet:{owner}')}" if kind == "bullet" else f"{label})"
        cid = f"{owner} {label}" if owner else label
        c = self.add("item", cid, rest, owner, p.page, label=label)
        if kind == "letter":
            self.last_letter_item = c.id
        self.container = c.id if kind != "bullet" else self.container

    # -- unnumbered paragraphs
    def _note(self, text: str, parent: str | None, page: int | None) -> None:
        kind: ClauseKind = "exception" if _EXCEPTION.match(text) else "note"
        n = self._next_n(f"{kind}:{parent}")
        self.add(kind, f"{parent or ''} {kind} {n}".strip(), text, parent, page)

    def unnumbered(self, p: _Para) -> None:
        s = p.text
        parent = self.container
        foldable, self.foldable = self.foldable, None
        if self.pending_note:
            self.pending_note = False
            self._note(s, parent, p.page)
            return
        if m := _NOTE.match(s):
            if not m.group("rest").strip():
                self.pending_note = True  # "Note:" on its own line: the next paragraph
                return
            self._note(m.group("rest").strip(), parent, p.page)
            return
        if _EXCEPTION.match(s) or _ALERT.match(s):
            self._note(s, parent, p.page)
            return
        if (m := _MEANS.match(s)) or (self._in_definitions() and (m := _DEFINITION.match(s))):
            term = m.group("term").strip()
            if len(term.split()) <= 8:
                self.add("definition", f"{parent or ''}[{term}]", s, parent, p.page, title=term)
                return
        if foldable is not None and foldable == parent and foldable in self.by_id:
            # a numbered title ("7.5.3 Control of documented information") whose text comes
            # in the paragraphs after it: they are that clause's text
            c = self.by_id[foldable]
            c.text = f"{c.text.rstrip()} {s}" if c.text != c.title else f"{c.title}.  {s}"
            c.heading_only = False
            self.foldable = c.id
            if s.rstrip().endswith(":") or re.search(r"\bfollowing\b", s, re.I):
                self.restart_ok = True
            return
        c = self.add(
            "text", f"{parent or ''} ¶{self._next_n(f'text:{parent}')}".strip(), s, parent, p.page
        )
        # a lead-in ("... the following steps shall be taken:") may start a fresh list
        if s.rstrip().endswith(":") or re.search(r"\bfollowing\b", s, re.I):
            self.restart_ok = True
            self.container = c.id


def _first_token(p: _Para) -> tuple[str, bool] | None:
    m = _CHAIN.match(p.text)
    if not m:
        return None
    toks = _PAREN.findall(m.group("chain"))
    return toks[0], len(toks) > 1


def parse_clauses(text: StandardText) -> ClauseTree:
    """The clause tree of a standard read by :func:`~plantmind.comply.ingest.read_standard`."""
    if _is_eu(text):
        return _parse_eu(text)
    paras = _paragraphs(text)
    b = _Builder(text)
    firsts = [_first_token(p) for p in paras]
    # the first enumerators of the next numbered paragraphs, for the look-ahead; an explicit
    # path or a heading (where numbering may restart) ends it
    ahead: list[list[str]] = [[] for _ in paras]
    upcoming: list[str] = []
    for i in range(len(paras) - 1, -1, -1):
        ahead[i] = upcoming
        f = firsts[i]
        if f is not None:
            upcoming = [] if f[1] else [f[0], *upcoming[: LOOK_AHEAD - 1]]
        elif paras[i].md_level or _SECTION.match(paras[i].text) or _APPENDIX.match(paras[i].text):
            upcoming = []
    for i, p in enumerate(paras):
        s = p.text
        if p.md_level:
            if _CHAIN.match(s) or _DECIMAL.match(s) or _TOP.match(s):
                pass  # a numbered clause written as a Markdown heading
            else:
                b.heading(p)
                continue
        if m := _CHAIN.match(s):
            if not b.paren(p, m, ahead[i]):
                b.join_to_last(p)
            continue
        if p.inline:  # cannot happen (pieces open with an enumerator); kept for safety
            b.join_to_last(p)
            continue
        if (m := _DECIMAL.match(s)) and b.decimal(p, m.group("num"), m.group("rest").strip()):
            continue
        if (m := _TOP.match(s)) and p.lines == 1 and b.top(p, int(m.group("num")), m.group("rest")):
            continue
        if m := _LETTER_ITEM.match(s):
            b.item(p, m.group("lab"), m.group("rest").strip(), "letter")
            continue
        if m := _DIGIT_ITEM.match(s):
            b.item(p, m.group("lab"), m.group("rest").strip(), "digit")
            continue
        if m := _BULLET.match(s):
            b.item(p, "", m.group("rest").strip(), "bullet")
            continue
        if (
            (_SECTION.match(s) or _APPENDIX.match(s))
            and len(s.split()) <= 25
            and not b.pending_note
        ):
            b.heading(p)
            continue
        if _is_plain_heading(p) and not b.pending_note and not _NOTE.match(s):
            b.heading(p)
            continue
        b.unnumbered(p)
    return ClauseTree(
        source=text.name,
        section=b.section,
        clauses=b.clauses,
        not_analysed=b.not_analysed,
        pages=text.n_pages,
        problems=list(text.problems),
        by_id=b.by_id,
    )


def parse_text(text: str, name: str = "standard.txt") -> ClauseTree:
    """The clause tree of a string (tests, and callers that already hold the text)."""
    pages = text_pages(split_lines(text))
    n = max((k for k, _ in pages if k is not None), default=1)
    return parse_clauses(StandardText(name, name, pages, n))


# --- the EU legislative layout ----------------------------------------------------------

_DASH = r"(?:\s*[—–]\s*|\s+-{1,2}\s+)"  # "Article 10-compliant" is no heading
_EU_ARTICLE = re.compile(rf"^Article\s+(?P<id>\d{{1,3}}[a-z]?)(?:{_DASH}(?P<title>\S.*))?$")
_EU_ANNEX = re.compile(
    rf"^(?P<word>ANNEX|Annex)\s+(?P<id>[IVXL]{{1,6}}|\d{{1,2}}|[A-Z])(?:{_DASH}(?P<title>\S.*))?$"
)
_EU_DIVISION = re.compile(
    r"^(?P<word>CHAPTER|SECTION|TITLE|PART|Chapter|Section|Title|Part)\s+"
    rf"(?P<id>[IVXL]{{1,6}}|\d{{1,2}})\.?(?:{_DASH}(?P<title>\S.*))?$"
)
_EU_PARA = re.compile(r"^(?P<num>\d{1,3})\.\s+(?P<rest>\S.*)$", re.DOTALL)
_EU_DECIMAL = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2}){1,5})\.?\s+(?P<rest>\S.*)$", re.DOTALL)
_EU_POINT = re.compile(r"^\((?P<tok>[a-z]{1,2}|[ivxl]{1,6}|\d{1,3})\)\s+(?P<rest>\S.*)$", re.DOTALL)
_EU_INDENT = re.compile(r"^[—–-]\s+(?P<rest>\S.*)$", re.DOTALL)
_EU_WHEREAS = re.compile(r"^Whereas\s*:?$", re.I)
_EU_ADOPTED = re.compile(r"^HAVE\s+ADOPTED\b")
_EU_CLOSING = re.compile(
    r"^(?:This\s+(?:Regulation|Directive|Decision)\s+shall\s+be\s+binding\s+in\s+its\s+"
    r"entirety|Done\s+at\b)"
)
# marks only an act itself carries (a standard's foreword cites "Directive 2006/42/EC" too)
_EU_MARKER = re.compile(r"\bHAVE\s+ADOPTED\b|^Whereas\b")
# an act's own title line ("Regulation (EU) 2023/1230 of the European Parliament ..."):
# at the start of a line, short, not a sentence
_EU_TITLE = re.compile(
    r"^(?:Commission\s+)?(?:Implementing\s+|Delegated\s+)?(?:Regulation|Directive|Decision)\s+"
    r"(?:\((?:EU|EC|EEC|Euratom)\)\s+(?:No\s+)?\d{1,4}/\d{1,4}|\d{4}/\d{1,4}/(?:EU|EC|EEC))\b"
)
_CLAUSE_NUMBER = re.compile(r"^\d{1,2}(?:\.\d{1,2}){1,5}\s+\S")  # "4.2.1 The designer ..."
_EU_DEFINED = re.compile(r"^['‘\"“][^'’\"”]{1,80}['’\"”]\s+means\b")
_EU_ROMAN = {roman(n): n for n in range(1, 40)}
_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
]
_ENDED = re.compile(r"(?:[.:;,]|[;,]\s+(?:and|or))$")


def _ordinal(n: int) -> str:
    return _ORDINALS[n - 1] if n <= len(_ORDINALS) else f"{n}th"


def _heading_line(s: str) -> str:
    m = _MD_HEADING.match(s)
    return m.group("rest").strip() if m else s


def _is_eu(text: StandardText) -> bool:
    """Whether the text is laid out as an EU act: two "Article N" headings, or one and an EU
    act's own marks ("Whereas:", "HAVE ADOPTED"). An "Article N" line counts only as a
    heading: after a blank line, a Markdown heading or a line that ends a sentence (not
    "… as referred to in" / "Article 5" / "of the Directive" wrapped in a PDF). Decimal
    clauses ("4.2.1 …") before the first article make it a standard, not an act."""
    articles = 0
    marker = False
    prev = ""
    for _, lines in text.pages:
        for raw in lines:
            line = _clean(raw).strip()
            md = bool(_MD_HEADING.match(line))
            s = _heading_line(line)
            if not s:
                prev = ""
                continue
            heading_place = (
                md or not prev or bool(_ENDED.search(prev)) or bool(_MD_HEADING.match(prev))
            )
            if _EU_ARTICLE.match(s) and heading_place:
                articles += 1
            elif _EU_MARKER.search(s) or (
                _EU_TITLE.match(s) and len(s.split()) <= 30 and not s.endswith(".")
            ):
                marker = True
            elif not articles and _CLAUSE_NUMBER.match(s):
                return False
            if articles >= 2 or (articles and marker):
                return True
            prev = line
    return False


def _eu_head(s: str, md: bool, cur: _Para | None) -> str:
    """The kind of heading line ``s`` is ("article", "annex", "heading"), or ""."""
    after_text = cur is not None and not _ENDED.search(cur.text.rstrip())
    if _EU_ARTICLE.match(s):
        return "" if after_text and not md else "article"
    if m := _EU_ANNEX.match(s):
        ok = md or m.group("word").isupper() or m.group("title")
        return "annex" if ok and (md or not after_text) else ""
    if m := _EU_DIVISION.match(s):
        return "heading" if md or (m.group("word").isupper() and not after_text) else ""
    return ""


def _eu_title_line(s: str) -> bool:
    return (
        len(s.split()) <= 16
        and not s.rstrip().endswith((".", ";", ":", ","))
        and not any(r.match(s) for r in (_EU_PARA, _EU_DECIMAL, _EU_POINT, _EU_INDENT))
    )


def _eu_numbered_title(rest: str) -> bool:
    """A numbered line that is only a title ("1.1.2. Principles of safety integration")."""
    r = rest.rstrip()
    return len(r.split()) <= 8 and not r.endswith((".", ";", ":", ",")) and not _MODAL.search(r)


def _eu_paragraphs(text: StandardText) -> list[_Para]:
    """Lines → paragraphs in the EU layout: headings (article, annex, chapter, section) and
    the title line after a bare one are paragraphs of their own; a numbered paragraph
    ("2."), a point ("(a)"), an indent ("—") or an annex clause ("1.1.2.") opens a paragraph
    after a line that ends a sentence or a list entry; other lines continue the paragraph
    (wrapped text, hyphenation undone). A numbered paragraph opens only where it continues
    the numbering, so "… referred to in Article" / "25." stays text."""
    out: list[_Para] = []
    cur: _Para | None = None
    expect_title = False
    last_num = 0
    lengths = sorted(len(_clean(ln).strip()) for _, lines in text.pages for ln in lines)
    unwrapped = bool(lengths) and lengths[-1] > UNWRAPPED_LINE
    # a wrapped text's line width: a sentence's last line well short of it ends the paragraph
    # (a PDF has no blank lines between an article's subparagraphs)
    width = lengths[int(len(lengths) * 0.9)] if lengths else 0
    prev = ""
    in_annex = False
    for page, lines in text.pages:
        for raw in lines:
            s = _clean(raw).strip()
            if not s or s.startswith("<!--"):
                cur = None
                continue
            md = _MD_HEADING.match(s)
            level = len(md.group("hashes")) if md else 0
            if md:
                s = md.group("rest").strip()
            if unwrapped:
                cur = None
            head = _eu_head(s, md is not None, cur)
            last = out[-1] if out else None
            if (
                not head
                and not md
                and last is not None
                and last.eu in ("heading", "title")
                and cur is None
                and s.isupper()
                and s[:1].isalpha()
                and not expect_title
            ):
                last.text = join_wrapped(last.text, s)  # a heading wrapped: "… OF ECONOMIC"
                last.lines += 1
                continue
            if head:
                out.append(_Para(s, page, 1, level, eu=head))
                m = (_EU_ARTICLE if head == "article" else _EU_ANNEX).match(s) or (
                    _EU_DIVISION.match(s)
                )
                expect_title = not (m and m.group("title"))
                cur = None
                if head != "heading":
                    last_num = 0
                    in_annex = head == "annex"
                continue
            if expect_title:
                expect_title = False
                if _eu_title_line(s):
                    out.append(_Para(s, page, 1, level, eu="title"))
                    cur = None
                    continue
            if md:
                out.append(_Para(s, page, 1, level, eu="heading"))
                cur = None
                continue
            start = cur is None
            if (
                cur is not None
                and cur.text.endswith(".")
                and len(prev) < 0.75 * width
                and s[:1].isupper()
            ):
                start = True  # the line before ended a paragraph well short of the width
            elif cur is not None and _ENDED.search(cur.text.rstrip()):
                if m := _EU_PARA.match(s):
                    start = int(m.group("num")) in (1, last_num + 1) and not (
                        _REFERENCE_REST.match(m.group("rest"))
                    )
                elif m := _EU_DECIMAL.match(s):
                    start = not m.group("rest")[:1].islower()
                else:
                    start = bool(
                        _EU_POINT.match(s)
                        or _EU_INDENT.match(s)
                        or _EU_WHEREAS.match(s)
                        or _EU_ADOPTED.match(s)
                        or _EU_CLOSING.match(s)
                    )
            if start:
                cur = _Para(s, page)
                out.append(cur)
                m = _EU_PARA.match(s) or _EU_DECIMAL.match(s)
                if m and m.re is _EU_PARA:
                    last_num = int(m.group("num"))
                if m and (in_annex or m.re is _EU_DECIMAL) and _eu_numbered_title(m.group("rest")):
                    cur = None  # a clause's title alone: its text follows on the next line
            elif cur is not None:
                cur.text = join_wrapped(cur.text, s)
                cur.lines += 1
            prev = s
    return out


def _eu_readings(tok: str) -> list[tuple[str, int]]:
    """(style, ordinal) readings of a point's token: (1) digit, (a) letter, (i) roman."""
    if tok.isdigit():
        return [("digit", int(tok))]
    out = [("roman", _EU_ROMAN[tok])] if tok in _EU_ROMAN else []
    if len(set(tok)) == 1 and len(tok) <= 2:
        out.append(("letter", ord(tok[0]) - 96 + 26 * (len(tok) - 1)))
    return out


@dataclass(slots=True)
class _Point:
    style: str
    ordinal: int
    id: str


def _eu_fit(stack: list[_Point], style: str, n: int) -> int | None:
    """Where a point (style, n) goes: the index of the level it continues or opens."""
    for i in range(len(stack) - 1, -1, -1):
        if stack[i].style == style:
            return i if stack[i].ordinal == n - 1 else None
    return len(stack) if n == 1 else None


class _EUBuilder(_Builder):
    """The tree of an EU act: ``Article 10``, ``Article 10(2)``, ``Article 10(2)(a)``,
    ``Article 10(2)(a)(i)``, ``Article 10(2)(a), first indent``, ``Article 10(3), second
    subparagraph``; ``Annex III 1.1.2``, ``Annex III 1.1.2(a)``; ``Recital 3``."""

    def __init__(self, text: StandardText) -> None:
        super().__init__(text)
        self.informative = True  # the preamble (citations, recitals) until the first article
        self.division: str | None = None
        self.unit: str | None = None  # the article or annex
        self.para: str | None = None  # its numbered paragraph (an annex: its clause)
        self.points: list[_Point] = []
        self.point_base: str | None = None
        self.last_para = 0
        self.in_annex = False
        self.recitals = False
        self.closing = False
        self.pending_title: str | None = None

    def _open(self, cid: str) -> None:
        self.para = cid
        self.points = []
        self.point_base = cid

    def division_heading(self, p: _Para) -> None:
        s = p.text
        cid = s if len(s) <= 60 else s[:57] + "..."
        c = self.add("heading", cid, s, self.unit if self.in_annex else None, p.page, title=s)
        self.pending_title = c.id
        if not self.in_annex:
            self.division = c.id
            self.unit = self.para = None
            self.points = []
            self.foldable = None

    def article(self, p: _Para) -> None:
        m = _EU_ARTICLE.match(p.text)
        assert m is not None
        self.informative = self.closing = self.in_annex = False
        label = f"Article {m.group('id')}"
        title = (m.group("title") or "").strip()
        c = self.add(
            "paragraph", label, title, self.division, p.page, label, title, heading_only=True
        )
        self.unit, self.last_para = c.id, 0
        self._open(c.id)
        self.para = None
        self.foldable = c.id
        self.pending_title = None if title else c.id

    def annex(self, p: _Para) -> None:
        m = _EU_ANNEX.match(p.text)
        assert m is not None
        self.closing, self.in_annex = False, True
        title = (m.group("title") or "").strip()
        self.informative = bool(re.search(r"non-?mandatory|informative", title, re.I))
        label = f"Annex {m.group('id')}"
        c = self.add("paragraph", label, title, None, p.page, label, title, heading_only=True)
        self.unit, self.division = c.id, None
        self._open(c.id)
        self.para = None
        self.decimals, self.decimal_last = {"": c.id}, {}
        self.foldable = c.id
        self.pending_title = None if title else c.id

    def title(self, p: _Para) -> None:
        c = self.by_id.get(self.pending_title) if self.pending_title else None
        self.pending_title = None
        if c is None:
            self.body(p, None)
            return
        if c.kind == "heading":
            c.title = c.text = f"{c.text} — {p.text}"
            return
        c.title = c.text = p.text
        if c.label.startswith("Annex") and re.search(r"non-?mandatory|informative", p.text, re.I):
            self.informative = c.informative = True

    def preamble(self, p: _Para) -> None:
        s = p.text
        if _EU_WHEREAS.match(s):
            self.recitals = True
        elif _EU_ADOPTED.match(s):
            self.recitals = False
        elif self.recitals and (m := _EU_POINT.match(s)) and m.group("tok").isdigit():
            tok = m.group("tok")
            self.add("paragraph", f"Recital {tok}", m.group("rest"), None, p.page, f"({tok})")
            return
        self.add("text", f"Preamble ¶{self._next_n('preamble')}", s, None, p.page)

    def body(self, p: _Para, nxt: str | None) -> None:
        s = p.text
        if self.unit is None and not self.closing and (self.division is None or self.informative):
            self.preamble(p)
            return
        if _EU_CLOSING.match(s):
            self.closing = self.informative = True
        if self.closing:
            self.add("text", f"Closing ¶{self._next_n('closing')}", s, None, p.page)
            return
        if self.unit is None:  # text under a chapter heading, before its first article
            parent = self.division
            self.add("text", f"{parent} ¶{self._next_n(f'text:{parent}')}", s, parent, p.page)
            return
        if self.in_annex and (m := _EU_PARA.match(s) or _EU_DECIMAL.match(s)):
            if self.annex_clause(p, m.group("num"), m.group("rest").strip()):
                return
        elif (m := _EU_PARA.match(s)) and int(m.group("num")) == self.last_para + 1:
            self.paragraph(p, int(m.group("num")), m.group("rest").strip())
            return
        elif m:
            self._skip(p, f"paragraph {m.group('num')}. does not follow {self.last_para}.")
            return
        if m := _EU_POINT.match(s):
            if not self.point(p, m.group("tok"), m.group("rest").strip(), nxt):
                where = self.points[-1].id if self.points else self.point_base
                self._skip(p, f"point ({m.group('tok')}) does not continue the points of {where}")
            return
        if m := _EU_INDENT.match(s):
            self.indent(p, m.group("rest").strip())
            return
        self.subparagraph(p)

    def paragraph(self, p: _Para, n: int, rest: str) -> None:
        assert self.unit is not None
        c = self.add("paragraph", f"{self.unit}({n})", rest, self.unit, p.page, f"{n}.")
        self.last_para = n
        self.foldable = None
        self._open(c.id)

    def annex_clause(self, p: _Para, num: str, rest: str) -> bool:
        """``1.``, ``1.1.``, ``1.1.2.`` in an annex: the next clause under its parent."""
        parts = num.split(".")
        parent_num = ".".join(parts[:-1])
        if parent_num not in self.decimals:
            return False
        last = self.decimal_last.get(parent_num, 0)
        if int(parts[-1]) != last + 1:
            return False
        self.decimal_last[parent_num] = int(parts[-1])
        title, heading_only = _title(rest)
        if not title and _eu_numbered_title(rest):
            title, heading_only = rest, True
        c = self.add(
            "paragraph",
            f"{self.unit} {num}",
            rest,
            self.decimals[parent_num],
            p.page,
            num,
            title,
            heading_only,
        )
        self.decimals[num] = c.id
        self._open(c.id)
        self.foldable = c.id if heading_only else None
        return True

    def point(self, p: _Para, tok: str, rest: str, nxt: str | None) -> bool:
        stack = self.points
        fits: list[tuple[int, str, int]] = []
        for style, n in _eu_readings(tok):
            k = _eu_fit(stack, style, n)
            if k is not None:
                fits.append((k, style, n))
        if not fits:
            return False

        def score(f: tuple[int, str, int]) -> tuple[int, int]:
            k, style, n = f
            after = [*stack[:k], _Point(style, n, "")]
            goes_on = nxt is not None and any(
                _eu_fit(after, st, m) is not None for st, m in _eu_readings(nxt)
            )
            inner = self.by_id.get(stack[-1].id if stack else self.point_base or "")
            # a lead-in ("… namely:") whose list has not started opens a sub-list
            lead_in = inner is not None and inner.text.rstrip().endswith(":") and not inner.children
            return int(goes_on), k if lead_in else -k

        k, style, n = max(fits, key=score)
        base = self.point_base or self.unit
        parent = stack[k - 1].id if k else base
        pc = self.by_id.get(parent) if parent else None
        if k == 0 and pc is not None and pc.kind == "text":  # a subparagraph's points
            cid = f"{parent}, point ({tok})"
        else:
            cid = f"{parent}({tok})"
        kind: ClauseKind = "definition" if _EU_DEFINED.match(rest) else "paragraph"
        c = self.add(kind, cid, rest, parent, p.page, f"({tok})")
        self.points = [*stack[:k], _Point(style, n, c.id)]
        self.foldable = None
        return True

    def indent(self, p: _Para, rest: str) -> None:
        parent = self.points[-1].id if self.points else self.point_base or self.unit
        n = self._next_n(f"indent:{parent}")
        self.add("item", f"{parent}, {_ordinal(n)} indent", rest, parent, p.page, "—")
        self.foldable = None

    def subparagraph(self, p: _Para) -> None:
        s = p.text
        owner = self.para or self.unit
        if owner is None:
            return
        c = self.by_id[owner]
        if self.foldable == owner:
            # an article's (or an annex clause's) title: the text after it is its own
            c.text = f"{c.title}.  {s}" if c.title else s
            c.heading_only = False
            self.foldable = None
            self.points = []
            self.point_base = owner
            return
        first = 1 if c.heading_only else 0
        n = self._next_n(f"sub:{owner}") + 1 - first
        sub = self.add("text", f"{owner}, {_ordinal(n)} subparagraph", s, owner, p.page)
        self.points = []
        self.point_base = sub.id if s.rstrip().endswith(":") else owner


def _point_token(p: _Para) -> str | None:
    m = _EU_POINT.match(p.text) if not p.eu else None
    return m.group("tok") if m else None


def _parse_eu(text: StandardText) -> ClauseTree:
    """The clause tree of an act in the EU legislative layout (see the module docstring)."""
    paras = _eu_paragraphs(text)
    b = _EUBuilder(text)
    for i, p in enumerate(paras):
        if p.eu == "article":
            b.article(p)
        elif p.eu == "annex":
            b.annex(p)
        elif p.eu == "heading":
            if b.unit is None and b.division is None and not _EU_DIVISION.match(p.text):
                # the act's own title, before the preamble
                b.add("heading", p.text[:60], p.text, None, p.page, title=p.text)
            else:
                b.division_heading(p)
        elif p.eu == "title":
            b.title(p)
        else:
            b.body(p, _point_token(paras[i + 1]) if i + 1 < len(paras) else None)
    return ClauseTree(
        source=text.name,
        section=None,
        clauses=b.clauses,
        not_analysed=b.not_analysed,
        pages=text.n_pages,
        problems=list(text.problems),
        by_id=b.by_id,
    )
