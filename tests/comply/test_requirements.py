"""Requirements and modality: rules on small texts, and recall/precision against the gold
list of 29 CFR 1910.147 (tests/comply/gold_1910_147.py)."""

from __future__ import annotations

import pytest

from plantmind.bench.comply_corpus.gold_1910_147 import GOLD, full
from plantmind.comply.check import load_requirements
from plantmind.comply.clauses import parse_text
from plantmind.comply.requirements import extract_requirements, label_clauses, modality_of


def _reqs(*paras: str) -> dict[str, str]:
    tree = parse_text("\n\n".join(paras))
    return {r.paragraph: r.modality for r in extract_requirements(tree)}


def _labels(*paras: str) -> dict[str, str]:
    tree = parse_text("\n\n".join(paras))
    return {lab.clause.id: lab.modality for lab in label_clauses(tree)}


@pytest.mark.parametrize(
    ("sentence", "modality"),
    [
        ("The employer shall train employees.", "shall"),
        ("Tags shall not deteriorate in acid areas.", "shall not"),
        ("Guards must not be removed.", "must not"),
        ("Tags must be legible.", "must"),
        ("Retraining is required after every change.", "required"),
        ("Employees are required to wear glasses.", "required"),
        ("Ensure that the valve is closed.", "ensure"),
        ("Operating the isolator is prohibited.", "shall not"),
        ("The employer may use tags.", None),
        ("Devices should be red.", None),
        ("Procedures required by paragraph (c)(4) apply.", None),
        ("Exception: the employer need not document the procedure.", None),
    ],
)
def test_modality_of_a_sentence(sentence: str, modality: str | None):
    assert modality_of(sentence) == modality


def test_may_should_and_statements_are_not_requirements():
    labels = _labels(
        "(a) Devices.",
        "(1) The employer shall provide locks.",
        "(2) The employer may use chains.",
        "(3) Locks should be red.",
        "(4) Locks are made of steel.",
        "(5) Guards shall not be removed while the press runs.",
    )
    assert labels["(a)(1)"] == "shall" and labels["(a)(5)"] == "shall not"
    assert labels["(a)(2)"] == "may" and labels["(a)(3)"] == "should"
    assert labels["(a)(4)"] == "statement"
    assert set(_reqs("(a)(1) The employer may log the test.")) == set()


def test_scope_statements_and_their_items_are_not_requirements():
    reqs = _reqs(
        "(a) Scope.",
        "(1) This standard does not apply to the following:",
        "(i) Work where an employee is required to remove a guard;",
        "(ii) Agriculture.",
        "(2) The employer shall guard every press.",
    )
    assert reqs == {"(a)(2)": "shall"}


def test_lead_in_rules():
    reqs = _reqs(
        "(a) Training.",
        # a pure lead-in: its items are the requirements
        "(1) Employees shall also be trained in the following limitations of tags:",
        "(i) Tags are warning devices;",
        "(ii) Tags may evoke a false sense of security.",
        # a lead-in with an obligation of its own counts too
        "(2) The procedures shall outline the scope and purpose, including the following:",
        "(i) A statement of intended use;",
        "(ii) Steps for shutting down.",
        # a numbered title only: not a requirement; its items are
        "(3) Durable.",
        "(i) Tags shall withstand the weather.",
    )
    assert set(reqs) == {
        "(a)(1)(i)", "(a)(1)(ii)", "(a)(2)", "(a)(2)(i)", "(a)(2)(ii)", "(a)(3)(i)",
    }  # fmt: skip
    assert reqs["(a)(1)(ii)"] == "shall"  # inherits the lead-in's modality despite "may"


def test_definitions_notes_and_informative_appendix_are_not_requirements():
    labels = _labels(
        "§ 1910.999 A made-up standard.",
        "(a) Definitions.",
        "Tagout.   A tag that says the device may not be operated.",
        "(b) The employer shall fit tags.",
        "Note:",
        "Tags shall be replaced when faded; see the appendix.",
        "Appendix A to § 1910.999 — Example (non-mandatory)",
        "General",
        "(1) The operator shall read this guide.",
    )
    assert labels["1910.999(a)[Tagout]"] == "definition"
    assert labels["1910.999(b)"] == "shall"
    assert labels["1910.999(b) note 1"] == "note"
    appendix = [k for k in labels if k.startswith("1910.999 Appendix A") and k.endswith("(1)")]
    assert appendix and labels[appendix[0]] == "informative"


# --- the real regulation -----------------------------------------------------------------


def test_gold_list_is_well_formed():
    assert len(GOLD) == len(set(GOLD)) == 77


def test_recall_and_precision_on_29_cfr_1910_147(cfr_path):
    tree, reqs = load_requirements(cfr_path)
    got = {r.paragraph for r in reqs}
    gold = {full(p) for p in GOLD}
    hit = got & gold
    recall = len(hit) / len(gold)
    precision = len(hit) / len(got)
    assert recall >= 0.95, f"missed: {sorted(gold - got)}"
    assert precision >= 0.95, f"not in the gold list: {sorted(got - gold)}"
    assert tree.not_analysed == []


def test_29_cfr_1910_147_clause_details(cfr_path):
    tree, reqs = load_requirements(cfr_path)
    by = {r.paragraph: r for r in reqs}
    assert by[full("(c)(5)(ii)(A)(3)")].modality == "shall not"
    assert by[full("(c)(7)(ii)(C)")].modality == "must"
    assert by[full("(c)(7)(ii)(E)")].inherited  # "Tags may evoke …" under a training lead-in
    assert by[full("(f)(1)(iv)")].parent == full("(f)(1)")
    labels = {lab.clause.id: lab for lab in label_clauses(tree)}
    assert labels[full("(a)(2)(ii)(A)")].modality == "scope"  # "an employee is required to"
    assert labels[full("(b)") + "[Tagout]"].modality == "definition"
    assert labels[full("(c)(7)(ii)")].modality == "lead-in"
    appendix = [lab for k, lab in labels.items() if "Appendix A" in k and lab.clause.text]
    assert appendix and not any(lab.requirement for lab in appendix)


def test_sub_list_titles_pass_the_obligation_down():
    reqs = _reqs(
        "(f) Operating procedures.",
        "(1) The employer shall develop written operating procedures and shall address at"
        " least the following elements.",
        "(i) Steps for each operating phase:",
        "(A) Initial startup;",
        "(B) Normal shutdown.",
        "(ii) Safety systems and their functions.",
    )
    # (f)(1) obliges on its own ("shall develop …"); (i) only titles a sub-list
    assert set(reqs) == {"(f)(1)", "(f)(1)(i)(A)", "(f)(1)(i)(B)", "(f)(1)(ii)"}
    assert reqs["(f)(1)(i)(A)"] == "shall"


def test_a_note_under_a_short_item_does_not_make_it_a_title():
    reqs = _reqs(
        "(a) The interlock shall include the following:",
        "(1) A switch;",
        "(2) A test button.",
        "Exception: a press fed by a robot needs no test button.",
    )
    assert set(reqs) == {"(a)(1)", "(a)(2)"}
