"""Compliance analysis: a standard or regulation (PDF, Markdown, text) → clause tree →
requirements with modality → evidence in the plant's procedures (the knowledge index) →
covered / partial / missing, judged by a model through the router or by a deterministic
matcher → a coverage matrix (CSV) and a report (HTML).

>>> from plantmind.comply.clauses import parse_text
>>> from plantmind.comply.requirements import extract_requirements
>>> tree = parse_text("(a) General.\\n\\n(1) The employer shall test the alarm.\\n\\n"
...                   "(2) The employer may log the test.")
>>> [(r.paragraph, r.modality) for r in extract_requirements(tree)]
[('(a)(1)', 'shall')]
"""

from plantmind.comply.check import CheckReport, run_check
from plantmind.comply.clauses import Clause, ClauseTree, parse_clauses, parse_text
from plantmind.comply.ingest import ComplyError, read_standard
from plantmind.comply.requirements import Requirement, extract_requirements, label_clauses

__all__ = [
    "CheckReport",
    "Clause",
    "ClauseTree",
    "ComplyError",
    "Requirement",
    "extract_requirements",
    "label_clauses",
    "parse_clauses",
    "parse_text",
    "read_standard",
    "run_check",
]
