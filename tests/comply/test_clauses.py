"""The clause tree on small texts written for the test: CFR numbering with its ambiguities,
decimal numbering, headings, definitions, notes, list items and their parents."""

from __future__ import annotations

from plantmind.comply.clauses import parse_text


def _ids(text: str) -> list[str]:
    return [c.id for c in parse_text(text).clauses]


def _tree(*paras: str):
    return parse_text("\n\n".join(paras))


def test_letter_i_after_h_continues_the_letters():
    tree = _tree(
        "(h) Records.",
        "(1) The employer shall keep records.",
        "(i) The records shall be dated.",
        "(ii) The records shall be signed.",
        "(i) Training.",
        "(1) The employer shall train workers.",
    )
    ids = [c.id for c in tree.clauses]
    assert ids == ["(h)", "(h)(1)", "(h)(1)(i)", "(h)(1)(ii)", "(i)", "(i)(1)"]
    assert tree.by_id["(i)(1)"].parent == "(i)"
    assert tree.by_id["(h)(1)(ii)"].parent == "(h)(1)"


def test_ambiguous_i_is_read_by_what_follows():
    # (i) right after (h)(1) is a roman first child or the letter after (h): the next
    # enumerator decides
    roman = _ids("(h) X.\n\n(1) The employer shall A.\n\n(i) Roman.\n\n(ii) Roman two.")
    assert roman[2:] == ["(h)(1)(i)", "(h)(1)(ii)"]
    letter = _ids("(h) X.\n\n(1) The employer shall A.\n\n(i) Letter.\n\n(1) Under letter i.")
    assert letter[2:] == ["(i)", "(i)(1)"]
    letter_j = _ids("(h) X.\n\n(1) The employer shall A.\n\n(i) Letter.\n\n(j) Next letter.")
    assert letter_j[2:] == ["(i)", "(j)"]


def test_level_five_digits_versus_level_two():
    tree = _tree(
        "(a) General.",
        "(1) Devices.",
        "(i) Devices shall meet the following:",
        "(A) Durable.",
        "(1) Locks shall withstand the environment.",
        "(2) Tags shall not deteriorate.",
        "(B) Standardized. Devices shall be standardized.",
        "(2) Training. The employer shall train employees.",
    )
    ids = [c.id for c in tree.clauses]
    assert ids == [
        "(a)", "(a)(1)", "(a)(1)(i)", "(a)(1)(i)(A)", "(a)(1)(i)(A)(1)", "(a)(1)(i)(A)(2)",
        "(a)(1)(i)(B)", "(a)(2)",
    ]  # fmt: skip
    assert tree.by_id["(a)(2)"].parent == "(a)"
    assert tree.by_id["(a)(1)(i)(A)"].heading_only and tree.by_id["(a)(1)(i)(A)"].title == "Durable"
    assert tree.by_id["(a)(1)(i)(B)"].title == "Standardized"


def test_roman_v_and_x_continue_a_roman_sequence():
    paras = ["(a) General.", "(1) Items."]
    paras += [f"({r}) Item {r} shall be done." for r in ("i", "ii", "iii", "iv", "v", "vi")]
    paras += [f"({r}) Item {r} shall be done." for r in ("vii", "viii", "ix", "x", "xi")]
    ids = _ids("\n\n".join(paras))
    assert ids[-3:] == ["(a)(1)(ix)", "(a)(1)(x)", "(a)(1)(xi)"]
    assert "(a)(1)(v)" in ids and "(v)" not in ids


def test_section_heading_gives_the_full_paragraph_id_and_explicit_paths_resolve():
    tree = _tree(
        "§ 1910.999 A made-up standard.",
        "(a) Scope. This section applies to presses.",
        "(b) Requirements.",
        "(1) The employer shall guard presses.",
        "(b)(2)(i) The employer shall test guards.",
    )
    assert tree.section == "1910.999"
    ids = [c.id for c in tree.clauses]
    assert ids[1:] == [
        "1910.999(a)", "1910.999(b)", "1910.999(b)(1)", "1910.999(b)(2)(i)",
    ]  # fmt: skip
    assert tree.by_id["1910.999(b)(2)(i)"].parent == "1910.999(b)(2)"


def test_headings_definitions_and_notes():
    tree = _tree(
        "# Machine guarding",
        "(a) Definitions applicable to this section.",
        "Guard.   A barrier that prevents access to a danger zone.",
        "Interlock.   A device that stops the machine when a guard opens.",
        "(b) Guards.",
        "(1) The employer shall fit a guard to every press.",
        "Note:",
        "Guards may be fixed or movable.",
        "NOTE 2 A light curtain is not a guard.",
        "(2) Guards shall not be removed while the press runs.",
    )
    kinds = {c.id: c.kind for c in tree.clauses}
    assert kinds["Machine guarding"] == "heading"
    assert kinds["(a)[Guard]"] == "definition" and kinds["(a)[Interlock]"] == "definition"
    notes = [c for c in tree.clauses if c.kind == "note"]
    assert [n.parent for n in notes] == ["(b)(1)", "(b)(1)"]
    assert notes[0].text == "Guards may be fixed or movable."
    assert tree.by_id["(b)(2)"].parent == "(b)"


def test_list_items_keep_their_parent():
    tree = _tree(
        "(4) Energy control procedure.",
        "(ii) The procedures shall include the following:",
        "(A) A statement of intended use;",
        "(B) Steps for shutting down;",
    )
    # (4) then (ii): no (i) in between, so (ii) continues nothing; the tree says so
    assert tree.not_analysed[0].reason.startswith("numbering (ii)")
    tree = _tree(
        "(4) Energy control procedure.",
        "(i) The procedures shall include the following:",
        "(A) A statement of intended use;",
        "(B) Steps for shutting down;",
    )
    assert tree.by_id["(4)(i)(A)"].parent == "(4)(i)"
    assert tree.by_id["(4)(i)"].children == ["(4)(i)(A)", "(4)(i)(B)"]
    assert tree.not_analysed == []


def test_out_of_sequence_numbering_is_listed_not_dropped():
    tree = _tree(
        "(a) General.",
        "(1) The employer shall do A.",
        "(7) The employer shall do B.",
    )
    assert [c.id for c in tree.clauses] == ["(a)", "(a)(1)"]
    (na,) = tree.not_analysed
    assert "(7)" in na.reason and "The employer shall do B." in na.text


def test_informative_appendix_restarts_numbering():
    tree = _tree(
        "§ 1910.999 A made-up standard.",
        "(a) The employer shall do A.",
        "Appendix A to § 1910.999 — Example procedure (non-mandatory)",
        "Sequence",
        "(1) Notify the operators.",
        "(2) Stop the machine.",
        "Appendix B to § 1910.999 — Mandatory test (normative)",
        "(1) The employer shall test the guard.",
    )
    steps = [c for c in tree.clauses if c.kind == "paragraph" and "Appendix" in c.id]
    assert [c.informative for c in steps] == [True, True, False]
    assert steps[0].id.startswith("1910.999 Appendix A")
    assert tree.not_analysed == []


def test_decimal_numbering_with_list_items_and_notes():
    tree = _tree(
        "1 Scope",
        "1.1 This document applies to presses.",
        "2 Terms and definitions",
        "2.1 guard: a barrier that prevents access.",
        "3 Requirements",
        "3.1 Guards",
        "3.1.1 The organization shall fit a guard to every press.",
        "3.1.2 The guard record shall include the following:",
        "a) the date of the inspection;",
        "b) the name of the inspector.",
        "NOTE 1 Records can be electronic.",
    )
    by = tree.by_id
    assert by["3.1.1"].parent == "3.1" and by["3.1"].parent == "3"
    assert by["2.1"].kind == "definition"
    assert by["3.1.2 a)"].parent == "3.1.2" and by["3.1.2 b)"].kind == "item"
    assert any(c.kind == "note" and c.parent == "3.1.2 b)" for c in tree.clauses)


def test_pages_are_kept():
    tree = parse_text(
        "<!-- page 4 -->\n(a) The employer shall do A.\n\n<!-- page 5 -->\n(b) The employer shall do B."
    )
    assert [(c.id, c.page) for c in tree.clauses] == [("(a)", 4), ("(b)", 5)]


# --- layouts: eCFR inline, references, definitions, ISO, PDF text -------------------------


def test_inline_paragraphs_and_lists_on_one_line():
    tree = _tree(
        "(c) Employee participation. (1) Employers shall develop a plan. (2) Employers shall"
        " consult employees on the following: (i) Hazard analyses; (ii) Procedures; and,"
        " (iii) Training.",
        "(d) Information. The employer shall keep the data required by paragraph (c)(1) of"
        " this section (see paragraph (c)(2)) in two (2) copies; (e.g., on paper).",
    )
    ids = [c.id for c in tree.clauses]
    assert ids == [
        "(c)", "(c)(1)", "(c)(2)", "(c)(2)(i)", "(c)(2)(ii)", "(c)(2)(iii)", "(d)",
    ]  # fmt: skip
    assert tree.by_id["(c)"].heading_only
    assert tree.by_id["(c)(2)(ii)"].text == "Procedures; and,"
    assert "paragraph (c)(1) of this section (see paragraph (c)(2)) in two (2)" in (
        tree.by_id["(d)"].text
    )


def test_an_inline_enumerator_that_continues_nothing_stays_in_the_text():
    tree = _tree(
        "(a) General.", "(1) The employer shall comply with the rules. (b) Records are kept."
    )
    # "(b)" would continue (a) here; "(c)" does not, and stays in the sentence
    assert [c.id for c in tree.clauses] == ["(a)", "(a)(1)", "(b)"]
    tree = _tree("(a) General.", "(1) The employer shall comply with item. (c) It is kept.")
    assert [c.id for c in tree.clauses] == ["(a)", "(a)(1)"]
    assert tree.by_id["(a)(1)"].text.endswith("item. (c) It is kept.")
    assert tree.not_analysed == []


def test_unnumbered_definitions_one_a_line_and_on_the_heading_line():
    tree = parse_text(
        "(b) Definitions. Facility means the buildings which contain a process.\n"
        "Hot work means work involving welding or cutting.\n"
        "Process means any activity involving a chemical. Vessels shall be one process.\n"
        "(c) Training. (1) The employer shall train employees.\n"
    )
    defs = [c for c in tree.clauses if c.kind == "definition"]
    assert [d.title for d in defs] == ["Facility", "Hot work", "Process"]
    assert all(d.parent == "(b)" for d in defs)
    assert tree.by_id["(c)(1)"].parent == "(c)"


def test_iso_terms_annexes_examples_and_titles_with_text_after_them():
    tree = _tree(
        "1 Scope",
        "1.1 This document applies to presses.",
        "2 Terms and definitions",
        "2.1\nguard\nbarrier that prevents access",
        "3 Requirements",
        "3.1 Guards",
        "The organization shall fit a guard.",
        "EXAMPLE A fixed guard of mesh.",
        "NOTE 1 to entry: Guards can be movable.",
        "3.2 — Interlocks",
        "The organization shall fit the following:",
        "a) a switch;",
        "b) a relay.",
        "Annex A\n(normative)\nStopping time",
        "A.1 The stopping time shall be measured.",
        "Annex B (informative) Checklist",
        "B.1 The inspector shall check the guard.",
    )
    by = tree.by_id
    assert by["2.1"].kind == "definition"
    assert by["3.1"].text.endswith("The organization shall fit a guard.")
    assert not by["3.1"].heading_only
    assert [c.kind for c in tree.clauses if c.parent == "3.1"] == ["note", "note"]
    assert by["3.2"].title == "Interlocks" and by["3.2 a)"].parent == "3.2"
    assert by["A.1"].parent == "Annex A" and not by["A.1"].informative
    assert by["B.1"].informative


def test_decimal_numbers_in_the_text_are_not_clauses():
    tree = parse_text(
        "3 Requirements\n3.1 Guards shall be at least\n3.5 m from the floor and\n"
        "4.2 mm thick.\n3.2 Guards shall be yellow.\n"
    )
    assert [c.id for c in tree.clauses] == ["3", "3.1", "3.2"]
    assert (
        tree.by_id["3.1"].text == "Guards shall be at least 3.5 m from the floor and 4.2 mm thick."
    )


def test_wrapped_pdf_lines_hyphenation_and_references():
    tree = parse_text(
        "(a) General.\n(1) The employer shall keep the inspec-\ntion records required by paragraph\n"
        "(c)(1) of this section.\n(2) The employer shall train.\n"
    )
    assert [c.id for c in tree.clauses] == ["(a)", "(a)(1)", "(a)(2)"]
    assert tree.by_id["(a)(1)"].text == (
        "The employer shall keep the inspection records required by paragraph (c)(1) of this"
        " section."
    )


def test_running_lines_and_page_numbers_are_dropped():
    from plantmind.comply.layout import is_page_number, strip_running_lines

    pages = [
        (n, ["ISO 99999:2024(E)", f"(a) Text {n}.", "The employer shall do it.", f"Page {n} of 2"])
        for n in (1, 2)
    ]
    assert strip_running_lines(pages) == [
        (1, ["(a) Text 1.", "The employer shall do it."]),
        (2, ["(a) Text 2.", "The employer shall do it."]),
    ]
    assert is_page_number("- 3 -") and is_page_number("Page 3 of 7") and is_page_number("12")
    assert not is_page_number("(3)")
