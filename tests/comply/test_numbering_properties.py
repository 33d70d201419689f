"""Property tests of the CFR numbering parser: random paragraph trees, levels (a) → (1) →
(i) → (A) → (1) → (i), rendered one paragraph a line or in the eCFR's inline layout (a
paragraph runs on into its first sub-paragraph; short lists inline in the sentence), with
cross-references in the text, come back as the same tree.

Plain text cannot tell level 5 from level 2 or level 6 from level 3, and ``(i)``, ``(v)``,
``(x)`` are letters as well as roman numerals. Where the enumerator sequence itself has two
valid readings (found by the brute-force :func:`_readings`, written here independently of
the parser) no parser can know the tree, so such trees are left out; every other tree must
be read exactly. A last top-level paragraph closes each document, as in a real section
(the next lettered paragraph or an appendix).
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from plantmind.bench.comply_layouts import enumerator, letters
from plantmind.comply.clauses import parse_text

Tree = list["Tree"]  # a node is the list of its children

# children a node may have, by level: enough for (i)…(xii) and letters past (x)
_MAX_CHILDREN = {1: 25, 2: 6, 3: 12, 4: 5, 5: 4, 6: 12}
_BRANCH = {1: 0.8, 2: 0.55, 3: 0.35, 4: 0.4, 5: 0.35}
_REFERENCES = (
    "",
    " as required by paragraph (b)(2) of this section",
    " (see paragraph (c) of this section)",
    " in two (2) copies",
    " under paragraphs (a)(1) and (d)(3)(ii)",
)


@st.composite
def trees(draw: st.DrawFn, level: int = 1, budget: list[int] | None = None) -> Tree:
    budget = [70] if budget is None else budget
    top = min(_MAX_CHILDREN[level], max(1, budget[0]))
    n = draw(st.integers(1, top))
    out: Tree = []
    for _ in range(n):
        budget[0] -= 1
        grow = level < 6 and budget[0] > 0 and draw(st.floats(0, 1)) < _BRANCH.get(level, 0)
        out.append(draw(trees(level + 1, budget)) if grow else [])
    return out


def _paths(tree: Tree, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for k, child in enumerate(tree, start=1):
        p = (*path, k)
        out.append(p)
        out += _paths(child, p)
    return out


def _cfr(path: tuple[int, ...]) -> str:
    return "".join(f"({enumerator(level, n)})" for level, n in enumerate(path, start=1))


def _token(path: tuple[int, ...]) -> str:
    return enumerator(len(path), path[-1])


# --- the brute-force decoder ----------------------------------------------------------------


def _readings_of(tok: str) -> list[tuple[int, int]]:
    roman = {enumerator(3, n): n for n in range(1, 40)}
    if tok.isdigit():
        return [(2, int(tok)), (5, int(tok))]
    if tok.isupper():
        return [(4, ord(tok[0]) - 64 + 26 * (len(tok) - 1))]
    out = [(3, roman[tok]), (6, roman[tok])] if tok in roman else []
    if len(set(tok)) == 1:
        out.append((1, ord(tok[0]) - 96 + 26 * (len(tok) - 1)))
    return out


def _readings(toks: list[str], limit: int = 2) -> int:
    """How many trees (up to ``limit``) the enumerator sequence ``toks`` can be read as."""
    memo: dict[tuple[int, tuple[tuple[int, int], ...]], int] = {}

    def count(i: int, open_: tuple[tuple[int, int], ...]) -> int:
        if i == len(toks):
            return 1
        key = (i, open_)
        if key in memo:
            return memo[key]
        total = 0
        for level, n in _readings_of(toks[i]):
            depth = len(open_)
            if n == 1 and level == depth + 1:
                nxt = (*open_, (level, 1))
            elif depth >= level and open_[level - 1] == (level, n - 1):
                nxt = (*open_[: level - 1], (level, n))
            else:
                continue
            total += count(i + 1, nxt)
            if total >= limit:
                break
        memo[key] = total
        return total

    return count(0, ())


# --- renderings ---------------------------------------------------------------------------


def _text(path: tuple[int, ...], ref: int) -> str:
    return f"Paragraph {'-'.join(map(str, path))} text{_REFERENCES[ref % len(_REFERENCES)]}"


def one_per_line(tree: Tree) -> str:
    paras = [f"({_token(p)}) {_text(p, sum(p))}." for p in _paths(tree)]
    return "\n\n".join(paras) + "\n"


def inline(tree: Tree, joins: list[bool]) -> str:
    """eCFR layout: where ``joins`` says so, a paragraph's first child goes on its line; a
    node whose children are all leaves writes them inline: "…: (i) …; (ii) …; and (iii) …"."""
    lines: list[str] = []
    flip = iter(joins * 50)

    def node(child: Tree, p: tuple[int, ...], end: str) -> list[str]:
        head = f"({_token(p)}) {_text(p, sum(p))}"
        kids = list(enumerate(child, start=1))
        if kids and all(not c for _, c in kids) and next(flip, False):
            items = []
            for k, _ in kids:
                sep = "." if k == len(kids) else ("; and" if k == len(kids) - 1 else ";")
                items.append(f"({_token((*p, k))}) {_text((*p, k), k)}{sep}")
            return [f"{head}: " + " ".join(items)]
        if kids and next(flip, False):
            first, *rest = node(kids[0][1], (*p, 1), ".")
            out = [f"{head}. {first}", *rest]
            kids = kids[1:]
        else:
            out = [head + end]
        for k, c in kids:
            out += node(c, (*p, k), ".")
        return out

    for k, child in enumerate(tree, start=1):
        lines += node(child, (k,), ".")
    return "\n\n".join(lines) + "\n"


def _closed(tree: Tree) -> Tree:
    """The tree with a last top-level paragraph after it."""
    return [*tree, []] if len(tree) < 26 else tree


def _check(text: str, tree: Tree) -> None:
    got = parse_text(text)
    want = [_cfr(p) for p in _paths(tree)]
    assert [c.id for c in got.clauses if c.kind == "paragraph"] == want, text
    parents = {c.id: c.parent for c in got.clauses}
    for p in _paths(tree):
        assert parents[_cfr(p)] == (_cfr(p[:-1]) if len(p) > 1 else None)
    assert got.not_analysed == []


_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


@_SETTINGS
@given(trees())
def test_one_paragraph_a_line_reads_back_the_tree(tree: Tree):
    tree = _closed(tree)
    assume(_readings([_token(p) for p in _paths(tree)]) == 1)
    _check(one_per_line(tree), tree)


@_SETTINGS
@given(trees(), st.lists(st.booleans(), min_size=1, max_size=8))
def test_inline_layout_reads_back_the_tree(tree: Tree, joins: list[bool]):
    tree = _closed(tree)
    assume(_readings([_token(p) for p in _paths(tree)]) == 1)
    _check(inline(tree, joins), tree)


@settings(max_examples=100, deadline=None)
@given(st.integers(9, 24))
def test_letters_i_v_x_after_a_deep_paragraph(top: int):
    """(h)(1)(i) … then the letter (i); (u)(1)(iv) then the letter (v) or the roman (v)."""
    tree: Tree = [[] for _ in range(top)]
    tree[top - 2] = [[[] for _ in range(4)]]  # the letter before: (1) with (i)-(iv)
    tree = _closed(tree)
    _check(one_per_line(tree), tree)
    _check(inline(tree, [True]), tree)
    assert letters(top) == _token((top,))
