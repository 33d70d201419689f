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
from plantmind.comply.numbering import Open, candidates, fit, inline_starts, reach
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
