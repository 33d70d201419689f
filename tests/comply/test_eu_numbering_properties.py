"""Property tests of the EU layout: random acts (articles with numbered paragraphs "1.",
points "(a)", sub-points "(i)" and indents "—", or an unnumbered body with or without
points), rendered as Markdown or as a PDF's lines (wrapped, no blank lines), with
cross-references in the text ("point (a) of paragraph 2", "Article 3"), come back as the
same designators and parents: ``Article 2(3)(b)(ii)``, ``Article 1(c), second indent``.

The letters (i), (v), (x) are roman numerals as well; a point list runs to (l), so the letter
(i) after (h) is read too (a sub-point list follows a lead-in ending with ":").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantmind.bench.comply_layouts import letters, pdf_lines, roman
from plantmind.comply.clauses import parse_text

_REFERENCES = (
    "",
    " as referred to in Article 3",
    " in accordance with point (a) of paragraph 2",
    " under Annex II",
    " set out in Article 4(1), point (b)",
)
_ORD = ["first", "second", "third", "fourth"]


@dataclass
class Point:
    subs: int = 0  # sub-points (i), (ii) …
    indents: int = 0  # indents under the point


@dataclass
class Para:
    points: list[Point] = field(default_factory=list)


@dataclass
class Art:
    paras: list[Para] | None  # None: an unnumbered body
    points: list[Point] = field(default_factory=list)  # the unnumbered body's points


_points = st.lists(
    st.builds(
        Point,
        st.one_of(st.just(0), st.just(0), st.integers(1, 5)),
        st.one_of(st.just(0), st.just(0), st.integers(1, 3)),
    ),
    max_size=12,
).map(lambda ps: [p if not (p.subs and p.indents) else Point(p.subs, 0) for p in ps])
_arts = st.lists(
    st.one_of(
        st.builds(Art, st.lists(st.builds(Para, _points), min_size=1, max_size=5)),
        st.builds(Art, st.none(), _points),
    ),
    min_size=1,
    max_size=4,
)


def _body(tag: str, k: int, lead: bool, last: bool) -> str:
    text = f"Operators shall meet requirement {tag}{_REFERENCES[k % len(_REFERENCES)]}"
    return text + (":" if lead else "." if last else ";")


def render(arts: list[Art]) -> tuple[list[str], list[tuple[str, str]]]:
    """The paragraphs of the act and its designators with their parents, in order."""
    paras = ["# Regulation (EU) 2099/99 on presses (made up)", "HAVE ADOPTED THIS REGULATION:"]
    want: list[tuple[str, str]] = []

    def points(base: str, pts: list[Point]) -> None:
        for j, pt in enumerate(pts, start=1):
            pid = f"{base}({letters(j)})"
            want.append((pid, base))
            lead = bool(pt.subs or pt.indents)
            paras.append(f"({letters(j)}) " + _body(pid, j, lead, j == len(pts)))
            for r in range(1, pt.subs + 1):
                sid = f"{pid}({roman(r)})"
                want.append((sid, pid))
                paras.append(f"({roman(r)}) " + _body(sid, r, False, r == pt.subs))
            for r in range(1, pt.indents + 1):
                iid = f"{pid}, {_ORD[r - 1]} indent"
                want.append((iid, pid))
                paras.append("— " + _body(iid, r, False, r == pt.indents))

    for a, art in enumerate(arts, start=1):
        aid = f"Article {a}"
        want.append((aid, ""))
        paras += [f"### Article {a}", f"Title of article {a}"]
        if art.paras is None:
            paras.append(_body(aid, a, bool(art.points), True))
            points(aid, art.points)
            continue
        for n, para in enumerate(art.paras, start=1):
            nid = f"{aid}({n})"
            want.append((nid, aid))
            paras.append(f"{n}. " + _body(nid, n, bool(para.points), True))
            points(nid, para.points)
    return paras, want


def _markdown(paras: list[str]) -> str:
    out = []
    for p in paras:  # the title line right under its article heading
        out.append(("\n" if p.startswith("Title of") else "\n\n") + p)
    return "".join(out).lstrip() + "\n"


def _check(text: str, want: list[tuple[str, str]]) -> None:
    tree = parse_text(text, "act.md")
    got = [
        (c.id, c.parent or "")
        for c in tree.clauses
        if c.kind in ("paragraph", "item") and c.id.startswith("Article")
    ]
    assert got == want, text
    assert tree.not_analysed == []


_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_arts)
def test_markdown_reads_back_the_designators(arts: list[Art]):
    paras, want = render(arts)
    _check(_markdown(paras), want)


@_SETTINGS
@given(_arts, st.integers(38, 90))
def test_wrapped_lines_read_back_the_designators(arts: list[Art], width: int):
    paras, want = render(arts)
    plain = _markdown(paras).replace("### ", "").replace("# ", "")
    _check("\n".join(pdf_lines(plain, width)) + "\n", want)
