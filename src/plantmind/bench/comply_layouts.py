"""A layout corpus: one short made-up standard (its wording is the project's own) held as a tree,
and the renderings a standard comes in, each with the requirement list it must give.

The standard: scope with a scope list, a definitions paragraph of unnumbered terms, a
five-level paragraph, lead-in lists (one through a sub-list title), a note, an exception, a
"may" and a "should", the letter ``(i)`` right after ``(h)(1)``, a non-mandatory appendix
and a mandatory one.

Renderings:

* :func:`one_per_line`: one paragraph a line, blank lines between (the OSHA text of 29 CFR
  1910.147), "Note:" on its own line;
* :func:`ecfr_inline`: a heading and the first sub-paragraph on one line, several levels deep
  ("(d) Inspection and maintenance. (1) Inspection program. The employer …"), short lists
  inline in the sentence ("… the following: (i) …; (ii) …; and (iii) …");
* :func:`iso`: decimal clauses (``4.1.1``), ``a)`` / ``1)`` list items, ``NOTE``,
  ``EXAMPLE``, terms numbered ``2.1`` with the term on its own line, ``Annex A
  (informative)`` / ``Annex B (normative)`` with clauses ``A.1``, a clause's title on its
  own line and its text in the paragraph after;
* :func:`eu_articles`: a second made-up act, a regulation in the EU legislative layout
  (citations, recitals, "HAVE ADOPTED THIS REGULATION:", chapters, articles with numbered
  paragraphs "1.", points "(a)", sub-points "(i)", indents "—", subparagraphs, an unnumbered
  article, a definitions article, a "may" paragraph, a commencement article, the closing
  formula, and an annex with decimal clauses "1.1.2." and their points), with the three
  article heading forms ("### Article 3" + a bold title line, "Article 5 — Instructions",
  a bold "**Article 6**" line + a title line); :func:`eu_plain` is its text without the
  Markdown, for the PDF writers; :data:`EU_GOLD` its requirements (``Article 3(2)(c)(i)``,
  ``Article 3(5)(a), first indent``, ``Article 3(3), second subparagraph``, ``Article 4``,
  ``Annex I 1.1.1(b), second indent``);
* :func:`pdf_lines` + :func:`write_pdf_pages` (one column, a minimal PDF writer of its own) or
  :func:`write_two_column_pdf` (two columns, drawn row by row or column by column): either
  text above wrapped to the column width with words hyphenated at line ends, no blank
  lines, a running header and a "Page N of M" footer on every page.

:func:`expected` gives the requirements of a rendering: (designator, text) in document
order, CFR paths (``(d)(1)(i)(B)(1)``, ``Appendix B(1)``) or ISO ids (``4.1.1 b) 1)``,
``B.1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


def roman(n: int) -> str:
    """The tests' own roman numerals (not the parser's): 1 → i, 14 → xiv."""
    out = ""
    for value, sym in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out += sym
            n -= value
    return out


def letters(n: int) -> str:
    """1 → a … 26 → z, 27 → aa."""
    return chr(96 + (n - 1) % 26 + 1) * ((n - 1) // 26 + 1)


def enumerator(level: int, n: int) -> str:
    """The CFR token of ordinal ``n`` at level 1-6: a, 1, i, A, 1, i."""
    if level in (2, 5):
        return str(n)
    if level in (3, 6):
        return roman(n)
    return letters(n).upper() if level == 4 else letters(n)


SECTION = "1910.997"
TITLE = "Guarding and inspection of power presses (a made-up standard for tests)"


@dataclass
class Node:
    """A paragraph: its run-in ``title``, its own ``text``, whether it is a requirement."""

    text: str = ""
    title: str = ""
    req: bool = False
    children: list[Node] = field(default_factory=list)
    note: str = ""
    example: str = ""  # ISO only: an EXAMPLE after the paragraph
    exception: str = ""
    inline_list: bool = False  # eCFR: the children in the sentence, "(i) …; (ii) …"
    terms: tuple[tuple[str, str], ...] = ()  # a definitions paragraph


def _n(text: str = "", title: str = "", req: bool = False, *children: Node, **kw) -> Node:
    return Node(text, title, req, list(children), **kw)


R = True  # a requirement
DEFINITIONS = (
    ("Point of operation", "the area of the press where material is positioned and worked."),
    ("Guard", "a barrier that prevents the entry of hands into the point of operation."),
    ("Competent person", "a person trained to recognize the hazards of power presses."),
)

BODY: list[Node] = [
    _n(
        "",
        "Scope",
        False,
        _n("This section applies to mechanical power presses used in general industry."),
        _n(
            "This section does not apply to the following:",
            "",
            False,
            _n("Press brakes;"),
            _n("Hot bending presses."),
            inline_list=True,
        ),
    ),
    _n("", "Definitions", False, terms=DEFINITIONS),
    _n(
        "",
        "Guarding",
        False,
        _n(
            "The employer shall provide a guard at the point of operation of every press.",
            req=R,
            example="A fixed guard of welded mesh.",
        ),
        _n(
            "Guards shall meet the following requirements:",
            "",
            False,
            _n("Guards shall prevent the entry of hands into the point of operation.", req=R),
            _n("Guards shall be fixed to the press frame.", req=R),
            _n("Guards shall not create a pinch point with the moving parts.", req=R),
        ),
        _n(
            "",
            "Interlocks",
            False,
            _n("Each movable guard shall be interlocked with the press clutch.", req=R),
            _n(
                "The interlock shall include the following:",
                "",
                False,
                _n("A switch that opens when the guard opens;", req=R),
                _n("A relay that stops the stroke; and", req=R),
                _n("A test button.", req=R),
                inline_list=True,
                exception="an interlock is not needed on a press that a robot feeds.",
            ),
        ),
        _n("The employer may use a light curtain in place of a fixed guard."),
    ),
    _n(
        "",
        "Inspection and maintenance",
        False,
        _n(
            "The employer shall establish a program of periodic inspections of each press.",
            "Inspection program",
            R,
            _n(
                "",
                "Frequency",
                False,
                _n("Each press shall be inspected at least weekly.", req=R),
                _n(
                    "",
                    "Clutch and brake",
                    False,
                    _n("The clutch shall be inspected at least monthly.", req=R),
                    _n("The brake shall be inspected at least monthly.", req=R),
                ),
            ),
            _n(
                "The inspection record shall include the following:",
                "",
                False,
                _n("The date of the inspection;", req=R),
                _n("The serial number of the press; and", req=R),
                _n("The signature of the inspector.", req=R),
            ),
        ),
        _n(
            "Defective parts shall not be used and shall be replaced before the press is "
            "operated again.",
            req=R,
            note="Replacement parts should be those specified by the manufacturer.",
        ),
        _n("Only a competent person shall perform maintenance on the clutch and brake.", req=R),
    ),
    _n(
        "",
        "Training",
        False,
        _n("The employer shall train each operator before the first use of a press.", req=R),
        _n(
            "The training shall cover at least the following:",
            "",
            False,
            _n("The hazards of the point of operation;", req=R),
            _n("The function of guards and interlocks;", req=R),
            _n("The procedure for reporting a defect; and", req=R),
            _n("The prohibition on removing a guard.", req=R),
            inline_list=True,
        ),
        _n("Retraining is required when a new type of press is introduced.", req=R),
        _n("Records of training should be kept for three years."),
    ),
    _n(
        "",
        "Reporting",
        False,
        _n(
            "The employer shall report each injury at the point of operation within 30 days.",
            req=R,
        ),
        _n(
            "The report shall include the following:",
            "",
            False,
            _n("The type of press;", req=R),
            _n("The type of guard in use; and", req=R),
            _n("The nature of the injury.", req=R),
            inline_list=True,
        ),
    ),
    _n(
        "",
        "Stop controls",
        False,
        _n("Each press shall have a red stop button within reach of the operator.", req=R),
        _n("The stop button shall override all other controls.", req=R),
    ),
    _n(
        "",
        "Foot pedals",
        False,
        _n("Foot pedals shall be protected against unintended operation.", req=R),
    ),
    _n(
        "",
        "Warning signs",
        False,
        _n("A warning sign shall be posted at each press.", req=R),
        _n("The sign shall be legible from the position of the operator.", req=R),
    ),
]

# (letter, title, informative, steps)
APPENDICES: tuple[tuple[str, str, bool, tuple[Node, ...]], ...] = (
    (
        "A",
        "Example inspection checklist",
        True,
        (
            _n("The inspector shall check the guard fixings."),
            _n("The inspector should test the interlock."),
        ),
    ),
    (
        "B",
        "Stopping-time test",
        False,
        (_n("The stopping time of each press shall be measured once a year.", req=R),),
    ),
)


def _walk(nodes: list[Node], path: tuple[int, ...] = ()):
    for k, node in enumerate(nodes, start=1):
        p = (*path, k)
        yield p, node
        yield from _walk(node.children, p)


def cfr_path(path: tuple[int, ...]) -> str:
    return "".join(f"({enumerator(level, n)})" for level, n in enumerate(path, start=1))


def iso_id(path: tuple[int, ...]) -> str:
    head = ".".join(str(n) for n in path[:3])
    items = [f"{letters(path[3])})"] if len(path) > 3 else []
    items += [f"{path[4]})"] if len(path) > 4 else []
    return " ".join([head, *items])


def _full(node: Node) -> str:
    return f"{node.title}. {node.text}".strip() if node.title else node.text


def expected(style: str) -> list[tuple[str, str]]:
    """The requirements of the ``style`` ("cfr" or "iso") rendering: (designator, text)."""
    out = [
        (cfr_path(p) if style == "cfr" else iso_id(p), _full(n)) for p, n in _walk(BODY) if n.req
    ]
    for letter, _, _, steps in APPENDICES:
        for k, step in enumerate(steps, start=1):
            if step.req:
                out.append(
                    (f"Appendix {letter}({k})" if style == "cfr" else f"{letter}.{k}", step.text)
                )
    return out


def norm(text: str) -> str:
    """Text compared across layouts: the words only, lower case, without a closing "and"
    (the ISO rendering writes list items lower case; a PDF loses a title's full stop)."""
    words = re.sub(r"[^\w]+", " ", text.lower()).split()
    return " ".join(words[:-1] if words and words[-1] in ("and", "or") else words)


# --- CFR renderings -----------------------------------------------------------------------


def _head(path: tuple[int, ...], node: Node) -> str:
    enum = f"({enumerator(len(path), path[-1])})"
    if node.title and node.text:
        return f"{enum} {node.title}.  {node.text}"
    return f"{enum} {node.title}." if node.title else f"{enum} {node.text}"


def _trailer(node: Node, inline: bool) -> list[str]:
    out: list[str] = []
    if node.terms:
        out += [f"{term} means {text}" for term, text in node.terms]
    if node.note:
        out += [f"Note: {node.note}"] if inline else ["Note:", node.note]
    if node.exception:
        out.append(f"Exception: {node.exception[0].upper()}{node.exception[1:]}")
    return out


def _appendix_heading(letter: str, title: str, informative: bool) -> str:
    kind = "non-mandatory" if informative else "mandatory"
    return f"Appendix {letter} to § {SECTION} — {title} ({kind})"


def one_per_line() -> str:
    """The OSHA layout: one paragraph a line, blank lines between."""
    paras = [f"§ {SECTION} {TITLE}."]

    def emit(nodes: list[Node], path: tuple[int, ...]) -> None:
        for k, node in enumerate(nodes, start=1):
            p = (*path, k)
            paras.append(_head(p, node))
            emit(node.children, p)
            paras.extend(_trailer(node, inline=False))

    emit(BODY, ())
    for letter, title, informative, steps in APPENDICES:
        paras.append(_appendix_heading(letter, title, informative))
        paras += ["General"] if informative else []
        paras += [f"({k}) {s.text}" for k, s in enumerate(steps, start=1)]
    return "\n\n".join(paras) + "\n"


def _inline(path: tuple[int, ...], node: Node) -> list[str]:
    """Lines of a node in the eCFR layout: a title-only paragraph runs on into its first
    child; an inline list runs its items into the sentence."""
    line = _head(path, node)
    children = list(enumerate(node.children, start=1))
    rest: list[str] = []
    if node.inline_list:
        line += " " + " ".join(_head((*path, k), c) for k, c in children)
        children = []
    elif children and not node.text:
        first = _inline((*path, 1), children[0][1])
        line += " " + first[0]
        rest += first[1:]
        children = children[1:]
    for k, child in children:
        rest += _inline((*path, k), child)
    trailer = _trailer(node, inline=True)
    if node.terms:  # the first term on the heading's line
        line += " " + trailer.pop(0)
    return [line, *rest, *trailer]


def ecfr_inline() -> str:
    """The eCFR layout: headings and first sub-paragraphs on one line, inline lists."""
    paras = [f"§ {SECTION} {TITLE}."]
    for k, node in enumerate(BODY, start=1):
        paras += _inline((k,), node)
    for letter, title, informative, steps in APPENDICES:
        paras.append(_appendix_heading(letter, title, informative))
        paras.append(" ".join(f"({k}) {s.text}" for k, s in enumerate(steps, start=1)))
    return "\n\n".join(paras) + "\n"


# --- ISO rendering --------------------------------------------------------------------------


def iso() -> str:
    """ISO/IEC layout: decimal clauses, a)/1) items, NOTE, EXAMPLE, annexes."""
    paras: list[str] = []

    def emit(nodes: list[Node], path: tuple[int, ...]) -> None:
        for k, node in enumerate(nodes, start=1):
            p = (*path, k)
            if len(p) <= 3:
                num = ".".join(str(n) for n in p)
                if node.terms:
                    paras.append(f"{num} Terms and definitions")
                    for t, (term, text) in enumerate(node.terms, start=1):
                        paras.append(f"{num}.{t}\n{term.lower()}\n{text}")
                elif node.title:
                    paras.append(f"{num} {node.title}")
                    if node.text:
                        paras.append(node.text)
                else:
                    paras.append(f"{num} {node.text}")
            else:
                label = f"{letters(p[3])})" if len(p) == 4 else f"{p[4]})"
                text = node.text or node.title + "."
                paras.append(f"{label} {text[0].lower()}{text[1:]}")
            emit(node.children, p)
            if node.example:
                paras.append(f"EXAMPLE {node.example}")
            if node.note:
                paras.append(f"NOTE {node.note}")
            if node.exception:
                paras.append(f"Exception: {node.exception[0].upper()}{node.exception[1:]}")

    emit(BODY, ())
    for letter, title, informative, steps in APPENDICES:
        paras.append(f"Annex {letter}\n({'informative' if informative else 'normative'})\n{title}")
        paras += [f"{letter}.{k} {s.text}" for k, s in enumerate(steps, start=1)]
    return "\n\n".join(paras) + "\n"


# --- PDF renderings -------------------------------------------------------------------------

HEADER = f"29 CFR {SECTION} Power presses (made up for tests)"


def _hyphenated_wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters; a long lower-case word that would start the
    next line is cut with a hyphen when half of it still fits."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if not line:
            line = word
            continue
        if len(line) + 1 + len(word) <= width:
            line += " " + word
            continue
        room = width - len(line) - 2
        if word.isalpha() and word.islower() and len(word) >= 8 and room >= 4:
            cut = min(room, len(word) - 3)
            lines.append(f"{line} {word[:cut]}-")
            line = word[cut:]
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def pdf_lines(text: str, width: int) -> list[str]:
    """A rendering's text as a PDF's lines: paragraphs wrapped and hyphenated, no blank
    lines (a PDF has none between paragraphs)."""
    out: list[str] = []
    text = text.replace("—", "-")  # Helvetica's standard encoding has no em dash
    for para in text.split("\n\n"):
        for raw in para.split("\n"):
            if raw.strip():
                out += _hyphenated_wrap(raw, width)
    return out


# --- the EU legislative layout --------------------------------------------------------------

EU_HEADER = "Regulation (EU) 2099/17 - industrial presses (made up for tests)"

# the act, paragraph by paragraph: (text, the designator when it is a requirement); a
# paragraph that starts with "\n" is the title line of the heading before it
EU_ACT: tuple[tuple[str, str | None], ...] = (
    ("# Regulation (EU) 2099/17 on the safety of industrial presses", None),
    ("(A made-up act for tests; its wording is the project's own.)", None),
    ("THE EUROPEAN PARLIAMENT AND THE COUNCIL OF THE EUROPEAN UNION,", None),
    (
        "Having regard to the Treaty on the Functioning of the European Union, and in "
        "particular Article 114 thereof,",
        None,
    ),
    ("Whereas:", None),
    ("(1) Presses used in industry shall be safe; this recital states an aim only.", None),
    ("(2) Manufacturers should be able to rely on harmonised standards.", None),
    ("(3) Member States must cooperate closely on market surveillance of presses.", None),
    ("HAVE ADOPTED THIS REGULATION:", None),
    ("## CHAPTER I — GENERAL PROVISIONS", None),
    ("### Article 1", None),
    ("\n**Subject matter and scope**", None),
    (
        "1. This Regulation lays down rules for the design and construction of industrial presses.",
        None,
    ),
    ("2. This Regulation does not apply to the following:", None),
    ("(a) presses designed for use in laboratories;", None),
    ("(b) presses designed for military purposes.", None),
    ("### Article 2", None),
    ("\n**Definitions**", None),
    ("For the purposes of this Regulation, the following definitions apply:", None),
    ("(1) 'press' means a machine that shapes material by pressure;", None),
    ("(2) 'guard' means a barrier that prevents access to the danger zone;", None),
    ("(3) 'manufacturer' means any person who manufactures a press.", None),
    ("## CHAPTER II — OBLIGATIONS OF ECONOMIC OPERATORS", None),
    ("### Article 3", None),
    ("\n**Obligations of manufacturers**", None),
    (
        "1. When placing a press on the market, manufacturers shall ensure that it has been "
        "designed and constructed in accordance with Annex I.",
        "Article 3(1)",
    ),
    ("2. Before placing a press on the market, manufacturers shall:", None),
    (
        "(a) draw up the technical documentation referred to in Annex II;",
        "Article 3(2)(a)",
    ),
    (
        "(b) carry out the conformity assessment procedure referred to in Article 6, "
        "paragraph 1, point (a) or (b);",
        "Article 3(2)(b)",
    ),
    ("(c) affix the following markings to each press:", None),
    ("(i) the name and postal address of the manufacturer;", "Article 3(2)(c)(i)"),
    ("(ii) the serial number of the press; and", "Article 3(2)(c)(ii)"),
    ("(iii) the year of construction.", "Article 3(2)(c)(iii)"),
    (
        "3. Manufacturers shall keep the technical documentation for at least 10 years after "
        "the press has been placed on the Union market.",
        "Article 3(3)",
    ),
    (
        "The technical documentation shall be made available to the market surveillance "
        "authorities on request.",
        "Article 3(3), second subparagraph",
    ),
    ("4. Manufacturers may appoint an authorised representative by a written mandate.", None),
    (
        "5. Manufacturers who consider that a press which they have placed on the market is "
        "not in conformity with this Regulation shall immediately:",
        None,
    ),
    ("(a) take the corrective measures necessary, namely:", None),
    ("— to bring the press into conformity,", "Article 3(5)(a), first indent"),
    ("— to withdraw the press, or", "Article 3(5)(a), second indent"),
    ("— to recall the press;", "Article 3(5)(a), third indent"),
    ("(b) inform the competent national authorities thereof.", "Article 3(5)(b)"),
    ("### Article 4", None),
    ("\n**Obligations of importers**", None),
    (
        "Importers shall place only presses which comply with this Regulation on the market.",
        "Article 4",
    ),
    ("Article 5 — Instructions", None),
    (
        "Each press shall be accompanied by instructions in a language which can be easily "
        "understood by users.",
        "Article 5",
    ),
    ("The instructions may also be provided in digital form.", None),
    ("## CHAPTER III — CONFORMITY ASSESSMENT", None),
    ("**Article 6**", None),
    ("\nConformity assessment procedures", None),
    ("1. The manufacturer shall apply one of the following procedures:", None),
    ("(a) internal production control set out in Annex II;", "Article 6(1)(a)"),
    ("(b) EU type-examination followed by conformity to type.", "Article 6(1)(b)"),
    (
        "2. Where a press is listed in Annex III, the manufacturer shall not apply the "
        "procedure referred to in paragraph 1, point (a).",
        "Article 6(2)",
    ),
    (
        "3. Member States shall ensure that notified bodies carry out the assessments "
        "referred to in point (b) of paragraph 1 without undue delay.",
        "Article 6(3)",
    ),
    ("### Article 7", None),
    ("\n**Entry into force and application**", None),
    (
        "This Regulation shall enter into force on the twentieth day following that of its "
        "publication in the Official Journal of the European Union. It shall apply from "
        "1 January 2100.",
        None,
    ),
    (
        "This Regulation shall be binding in its entirety and directly applicable in all "
        "Member States.",
        None,
    ),
    ("Done at Brussels, 1 January 2099.", None),
    ("## ANNEX I", None),
    ("\n**ESSENTIAL HEALTH AND SAFETY REQUIREMENTS**", None),
    ("1. GENERAL PRINCIPLES", None),
    ("1.1. General remarks", None),
    ("1.1.1. Principles of safety integration", None),
    (
        "(a) Presses must be designed and constructed so that they are fitted for their function.",
        "Annex I 1.1.1(a)",
    ),
    (
        "(b) In selecting the most appropriate methods, the manufacturer must apply the "
        "following principles, in the order given:",
        None,
    ),
    (
        "— eliminate or reduce risks as far as possible;",
        "Annex I 1.1.1(b), first indent",
    ),
    ("— take the necessary protective measures;", "Annex I 1.1.1(b), second indent"),
    ("— inform users of the residual risks.", "Annex I 1.1.1(b), third indent"),
    ("1.1.2. Materials", None),
    (
        "The materials used to construct presses must not endanger the health and safety of "
        "persons.",
        "Annex I 1.1.2",
    ),
    ("1.2. Control systems", None),
    ("1.2.1. Safety and reliability of control systems", None),
    ("Control systems must meet the following requirements:", None),
    ("(a) they must withstand the intended operating stresses;", "Annex I 1.2.1(a)"),
    (
        "(b) a fault in the logic of the control system must not lead to hazardous situations.",
        "Annex I 1.2.1(b)",
    ),
    ("1.2.2. Control devices", None),
    ("Control devices should be clearly visible and identifiable.", None),
)

EU_GOLD: tuple[str, ...] = tuple(d for _, d in EU_ACT if d)


def eu_articles() -> str:
    """The made-up regulation in the EU legislative layout, in Markdown."""
    out = ""
    for text, _ in EU_ACT:
        out += text if text.startswith("\n") or not out else "\n\n" + text
    return out + "\n"


def eu_plain() -> str:
    """:func:`eu_articles` without the Markdown (the text a PDF holds)."""
    lines = [re.sub(r"^#+\s*", "", ln).replace("**", "") for ln in eu_articles().split("\n")]
    return "\n".join(lines)


def eu_expected() -> list[tuple[str, str]]:
    """The requirements of :func:`eu_articles`: (designator, the paragraph's own text)."""
    out = []
    for text, d in EU_ACT:
        if d:
            body = re.sub(r"^(?:\d+\.|\([a-z]+\)|—)\s+", "", text)
            out.append((d, body))
    return out


def _pages(lines: list[str], per_page: int) -> list[list[str]]:
    return [lines[i : i + per_page] for i in range(0, len(lines), per_page)]


def write_pdf_pages(
    path: Path, text: str, *, width: int = 78, per_page: int = 40, header: str = HEADER
) -> Path:
    """One column a page, with the running header and a "Page N of M" footer."""
    pages = _pages(pdf_lines(text, width), per_page)
    sheets = []
    for i, page in enumerate(pages, start=1):
        lines = [header, *page, f"Page {i} of {len(pages)}"]
        sheets.append([(56.0, 740.0 - 14 * r, line) for r, line in enumerate(lines)])
    return _write_pdf(path, sheets, size=11)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_two_column_pdf(
    path: Path,
    text: str,
    *,
    row_by_row: bool,
    width: int = 42,
    per_column: int = 32,
    header: str = HEADER,
) -> Path:
    """Two columns a page (left then right), a running header across the top and a page
    number at the foot; ``row_by_row`` draws the lines across both columns in turn (as some
    typesetters do), else one column after the other."""
    columns = _pages(pdf_lines(text, width), per_column)
    sheets = []
    for i in range(0, len(columns), 2):
        sheet = columns[i : i + 2]
        spans = [(150.0, 760.0, header)]
        cells = [(c, r) for c in range(len(sheet)) for r in range(len(sheet[c]))]
        if row_by_row:
            cells.sort(key=lambda cr: (cr[1], cr[0]))
        spans += [(56.0 + 270 * c, 730.0 - 12 * r, sheet[c][r]) for c, r in cells]
        spans.append((300.0, 40.0, f"- {i // 2 + 1} -"))
        sheets.append(spans)
    return _write_pdf(path, sheets, size=9)


def _write_pdf(path: Path, sheets: list[list[tuple[float, float, str]]], *, size: int) -> Path:
    """A PDF of one page per sheet, each a list of (x, y, text) spans in Helvetica: catalog,
    pages, font, then (page, content) pairs, and a correct cross-reference table."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(sheets)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(sheets)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, spans in enumerate(sheets):
        ops = " ".join(f"BT /F1 {size} Tf {x} {y} Td ({_escape(t)}) Tj ET" for x, y, t in spans)
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
            ).encode()
        )
        data = ops.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (
        f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(bytes(out))
    return path
