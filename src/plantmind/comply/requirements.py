"""Requirements from a clause tree: which clauses oblige someone to do something, and with
what modality. The tree may come from any layout :mod:`plantmind.comply.clauses` reads (CFR
one paragraph a line or eCFR inline, ISO decimal clauses, PDF text); the rules are the same,
and a requirement is one designated paragraph or list item (``(c)(1)``,
``(f)(1)(iii)(D)``, ``7.5.3.2``, ``7.5.3.2 a)``).

The rules, in order (the first that applies decides):

1. Headings, titles alone, definitions, notes and exceptions are not requirements.
2. Text in an informative appendix or annex is not a requirement.
3. A scope or application statement ("This standard does not cover …", "applies to …",
   "is covered by this standard only if …") is not a requirement, nor is anything under it
   (its list items are conditions of scope, even when one reads "an employee is required to").
4. A clause with an obligation ("shall", "must", "is/are required", "shall not", "must not",
   "is prohibited", a sentence opening with "Ensure"/"Verify") is a requirement, unless its
   only obligation is a pure lead-in to a list: "… shall include the following:", "the
   following sequence of actions shall be followed:". A lead-in with content of its own
   ("shall outline the scope, purpose … including, but not limited to, the following:",
   "shall be singularly identified; …; and shall meet the following requirements:") is a
   requirement itself; so is "shall develop written procedures … and shall address the
   following elements" (an obligation of its own, then the lead-in).
5. The items of a list introduced by an obligation are requirements (they inherit the
   lead-in's modality), whatever their own wording: "(E) Tags may evoke a false sense of
   security" under "employees shall be trained in the following limitations of tags" is a
   required training topic, not a permission. A list item that is only a title is not, nor
   is the title of a sub-list ("(i) Steps for each operating phase: (A) …"): its items
   inherit the obligation through it. A note or exception under an item does not make the
   item a title.
6. Anything else ("may", "should", a statement of fact) is not a requirement; its modality is
   still reported. An EU act's commencement ("This Regulation shall enter into force on …",
   "It shall apply from …") is a statement: it says when the act applies, and obliges no one.

Sentences opening with "Exception" inside a clause are skipped when looking for obligations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from plantmind.comply.clauses import Clause, ClauseTree

__all__ = [
    "ClauseLabel",
    "Requirement",
    "extract_requirements",
    "label_clauses",
    "main_obligation",
    "modality_of",
]

_PROHIBIT = re.compile(
    r"\b(?:shall|must)\s+(?:not|never)\b|\b(?:is|are)\s+(?:strictly\s+)?prohibited\b|"
    r"\bmay\s+not\b|\bshall\s+no\b",
    re.I,
)
_SHALL = re.compile(r"\bshall\b", re.I)
_MUST = re.compile(r"\bmust\b", re.I)
_REQUIRED = re.compile(r"\b(?:is|are)\s+(?:also\s+)?required\b(?!\s+by\b)", re.I)
_IMPERATIVE = re.compile(r"^(?:ensure|verify)\b", re.I)
_MAY = re.compile(r"\bmay\b", re.I)
_SHOULD = re.compile(r"\bshould\b", re.I)
_SCOPE = re.compile(
    r"\bthis\s+(?:standard|section|part|document|specification|regulation|code)\s+"
    r"(?:covers|does\s+not\s+(?:cover|apply)|applies|is\s+intended|specifies|establishes)\b|"
    r"\b(?:not\s+)?covered\s+by\s+this\s+(?:standard|section|part)\b|"
    r"\bdoes\s+not\s+(?:apply|cover)\b|\bnot\s+within\s+the\s+scope\b",
    re.I,
)
# an EU act's commencement: "This Regulation shall enter into force on …", "It shall apply
# from …" says when the act applies, and obliges no one
_COMMENCEMENT = re.compile(
    r"\b(?:(?:This|The\s+present)\s+(?:Regulation|Directive|Decision)|It|They|Articles?\s+"
    r"[\w\s(),]{1,40}?)\s+shall\s+(?:enter\s+into\s+force|apply\s+from|be\s+binding\s+in\s+"
    r"its\s+entirety)\b",
    re.I,
)  # the act (or its articles) as the subject: "Contractors shall apply from day one …" obliges
_FOLLOWING = re.compile(r"\b(?:the\s+following|as\s+follows)\b", re.I)
_AND_SHALL = re.compile(r",?\s+and\s+(?=(?:shall|must)\b)", re.I)
_INCLUDING = re.compile(r"\bincluding\b[^;]*\bthe\s+following\b", re.I)
# a sentence end: punctuation, space, an upper-case letter or an opening bracket; not after
# the abbreviations a standard uses mid-sentence
_SENTENCE = re.compile(r"(?<!\betc)(?<!\be\.g)(?<!\bi\.e)(?<!\bNo)(?<=[.!?])\s+(?=[A-Z(“\"])")


@dataclass(frozen=True, slots=True)
class ClauseLabel:
    """What one clause is: ``requirement`` and its ``modality`` (for a requirement: shall,
    shall not, must, must not, required, ensure; otherwise heading, definition, note,
    exception, informative, scope, may, should, statement); ``why`` in words."""

    clause: Clause
    requirement: bool
    modality: str
    why: str
    lead_in: str | None = None  # the clause whose obligation a list item inherits


@dataclass(frozen=True, slots=True)
class Requirement:
    """A requirement: its paragraph id, text, modality, parent, page, and ``context``: the
    words that give a terse clause its meaning (its titles and the lead-in of its list)."""

    paragraph: str
    text: str
    modality: str
    parent: str | None
    page: int | None
    context: str = ""
    inherited: bool = False
    main: str = ""  # the main obligation: its first sentence that obliges (or the item)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def modality_of(text: str) -> str | None:
    """The obligation in ``text`` (shall not, must not, shall, must, required, ensure), or
    None. Sentences opening with "Exception" do not count."""
    found: list[str] = []
    for s in _sentences(text):
        if s.lstrip().lower().startswith("exception"):
            continue
        if m := _PROHIBIT.search(s):
            found.append("must not" if m.group(0).lower().startswith("must") else "shall not")
        if _SHALL.search(_PROHIBIT.sub(" ", s)):
            found.append("shall")
        if _MUST.search(_PROHIBIT.sub(" ", s)):
            found.append("must")
        if _REQUIRED.search(s):
            found.append("required")
        if _IMPERATIVE.match(s.strip()):
            found.append("ensure")
    if not found:
        return None
    positive = [f for f in found if not f.endswith("not")]
    # a clause that obliges and also prohibits is reported by its positive obligation
    return positive[0] if positive else found[0]


def main_obligation(text: str) -> str:
    """The first sentence of ``text`` that states an obligation (the whole text if none)."""
    for s in _sentences(text):
        if not s.lstrip().lower().startswith("exception") and modality_of(s):
            return s
    return text


def _obligation_parts(text: str) -> list[str]:
    parts: list[str] = []
    for s in _sentences(text):
        if s.lstrip().lower().startswith("exception"):
            continue
        for piece in s.split(";"):
            # "shall develop written procedures … and shall address the following": two
            parts.extend(p for p in _AND_SHALL.split(piece) if p.strip() and modality_of(p))
    return parts


def _pure_lead_in(part: str, last: bool) -> bool:
    """An obligation whose object is the list that follows ("shall include the following:")."""
    p = part.strip()
    if _FOLLOWING.search(p):
        return not _INCLUDING.search(p)
    if last and p.endswith(":"):
        # "The program shall include:" — nothing after the verb but the list
        m = re.search(r"\b(?:shall|must|required)\b(.*)$", p, re.I)
        return m is not None and len(m.group(1).split()) <= 4
    return False


def _has_list(c: Clause, tree: ClauseTree) -> bool:
    """Whether numbered paragraphs or list items come under ``c`` (notes do not count)."""
    return any(tree.by_id[k].kind in ("paragraph", "item") for k in c.children if k in tree.by_id)


def _is_lead_in(c: Clause) -> bool:
    return bool(c.children) and (c.body.rstrip().endswith(":") or bool(_FOLLOWING.search(c.body)))


def label_clauses(tree: ClauseTree) -> list[ClauseLabel]:
    """A :class:`ClauseLabel` for every clause, in document order (see the module rules)."""
    out: list[ClauseLabel] = []
    state: dict[str, ClauseLabel] = {}
    scoped: set[str] = set()
    for c in tree.clauses:
        lab = _label(c, tree, state, scoped)
        state[c.id] = lab
        out.append(lab)
    return out


def _label(
    c: Clause, tree: ClauseTree, state: dict[str, ClauseLabel], scoped: set[str]
) -> ClauseLabel:
    parent = tree.parent_of(c)
    if parent is not None and parent.id in scoped:
        scoped.add(c.id)
        return ClauseLabel(c, False, "scope", f"under the scope statement {parent.id}")
    if c.kind == "heading":
        return ClauseLabel(c, False, "heading", "a heading")
    if c.kind in ("definition", "note", "exception"):
        return ClauseLabel(c, False, c.kind, f"a {c.kind}")
    if c.informative:
        return ClauseLabel(c, False, "informative", "in an informative appendix or annex")
    if c.heading_only and _has_list(c, tree):
        # a short item without children ("(ii) Agriculture.") is a list item, not a title
        return ClauseLabel(c, False, "heading", "a numbered title without text of its own")
    own = modality_of(c.body)
    if (
        own is not None
        and _COMMENCEMENT.search(c.body)
        and modality_of(_COMMENCEMENT.sub(" ", c.body)) is None
    ):
        return ClauseLabel(c, False, "statement", "when the act enters into force or applies")
    if own is None and _SCOPE.search(c.body):
        scoped.add(c.id)
        return ClauseLabel(c, False, "scope", "a scope or application statement")
    # rule 5: an item of a list introduced by an obligation
    if parent is not None and c.kind in ("paragraph", "item"):
        plab = state.get(parent.id)
        if (
            plab is not None
            and plab.modality not in ("scope", "informative")
            and _is_lead_in(parent)
        ):
            lead = _lead_modality(parent, plab, tree, state)
            if lead is not None:
                if own is None and _is_lead_in(c):
                    # "(i) Steps for each operating phase: (A) …": the title of a sub-list
                    why = f"a sub-list of the list {parent.id} introduces; its items count"
                    return ClauseLabel(c, False, "lead-in", why, parent.id)
                return ClauseLabel(
                    c, True, own or lead, f"an item of the list {parent.id} introduces", parent.id
                )
    if own is not None:
        parts = _obligation_parts(c.body)
        pure = bool(parts) and all(
            _pure_lead_in(p, i == len(parts) - 1) for i, p in enumerate(parts)
        )
        if pure and c.children:
            why = "introduces a list; its items are the requirements"
            return ClauseLabel(c, False, "lead-in", why)
        return ClauseLabel(c, True, own, "states an obligation")
    if _MAY.search(c.body):
        return ClauseLabel(c, False, "may", "a permission (may)")
    if _SHOULD.search(c.body):
        return ClauseLabel(c, False, "should", "a recommendation (should)")
    return ClauseLabel(c, False, "statement", "no obligation")


def _lead_modality(
    parent: Clause, plab: ClauseLabel, tree: ClauseTree, state: dict[str, ClauseLabel]
) -> str | None:
    """The obligation a list inherits from its lead-in, through sub-list titles."""
    lead = modality_of(parent.body)
    lab: ClauseLabel | None = plab
    for _ in range(8):
        if lead is not None or lab is None or lab.modality != "lead-in" or not lab.lead_in:
            break
        above = tree.by_id.get(lab.lead_in)
        if above is None:
            break
        lead = modality_of(above.body)
        lab = state.get(above.id)
    return lead


def _context(lab: ClauseLabel, tree: ClauseTree) -> str:
    """Titles of the clause and its ancestors, and the lead-in a list item depends on."""
    bits: list[str] = []
    c = lab.clause
    if lab.lead_in and lab.lead_in in tree.by_id:
        bits.append(tree.by_id[lab.lead_in].body)
    for a in tree.ancestors(c)[:3]:
        if a.title and a.kind != "heading":
            bits.append(a.title)
    return " | ".join(bits)


def extract_requirements(
    tree: ClauseTree, labels: Sequence[ClauseLabel] | None = None
) -> list[Requirement]:
    """The requirements of a clause tree, in document order (``labels``: those of
    :func:`label_clauses`, when the caller has them already)."""
    out: list[Requirement] = []
    for lab in labels if labels is not None else label_clauses(tree):
        if not lab.requirement:
            continue
        c = lab.clause
        out.append(
            Requirement(
                paragraph=c.id,
                text=c.text,
                modality=lab.modality,
                parent=c.parent,
                page=c.page,
                context=_context(lab, tree),
                inherited=lab.lead_in is not None,
                main=main_obligation(c.body),
            )
        )
    return out
