"""A synthetic standard and procedures for the benchmark: ISO-style decimal clauses (scope,
terms and definitions, then requirement sections) with "shall", "shall not", "may",
"should", notes, statements and lists, about 3,000 characters per page with page markers;
and plant procedures that meet a known share of its requirements.

Each requirement is a unique (verb, object) pair, so the generator knows which ones the
procedures meet (:attr:`SyntheticSet.met`) and which they omit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["SyntheticSet", "generate", "generate_standard"]

CHARS_PER_PAGE = 3000

_ADJ = (
    "hydraulic", "pneumatic", "electrical", "thermal", "rotating", "lifting", "conveyor",
    "boiler", "compressor", "cooling", "steam", "chemical", "welding", "cutting", "packaging",
    "robotic", "mixing", "filling", "storage", "press", "furnace", "vacuum", "dosing",
    "sterilizer", "palletizer", "extruder", "kiln", "centrifuge", "grinder", "crane",
)  # fmt: skip
_NOUN = (
    "guard", "interlock", "relief valve", "control circuit", "emergency stop", "isolation point",
    "inspection record", "test report", "maintenance log", "risk assessment", "work permit",
    "training record", "calibration certificate", "warning sign", "access platform",
    "lifting accessory", "pressure gauge", "drain line", "vent stack", "earthing strap",
    "safety relay", "light curtain", "fire damper", "spill kit", "eyewash station",
)  # fmt: skip
_VERB = (
    ("inspect", "inspected"), ("test", "tested"), ("calibrate", "calibrated"),
    ("document", "documented"), ("verify", "verified"), ("maintain", "maintained"),
    ("replace", "replaced"), ("label", "labelled"), ("review", "reviewed"),
    ("record", "recorded"), ("isolate", "isolated"), ("clean", "cleaned"),
    ("lubricate", "lubricated"), ("approve", "approved"), ("audit", "audited"),
)  # fmt: skip
_ACTOR = (
    "The organization", "The employer", "The maintenance supervisor", "The plant manager",
    "The safety officer", "Each authorized person", "The operator",
)  # fmt: skip
_WHEN = (
    "at least annually", "before each shift", "after every modification",
    "at intervals not exceeding six months", "in accordance with the manufacturer's instructions",
    "whenever a defect is reported", "before the equipment is returned to service",
    "at least every 500 operating hours", "after any incident involving it",
    "before first use on site",
)  # fmt: skip
_CONDITION = (
    "while the equipment is energized", "without a valid work permit",
    "by persons who have not been trained", "during a thunderstorm",
    "when the pressure exceeds the rated value", "without the approval of the supervisor",
)  # fmt: skip
_ITEMS = (
    "the name of the person responsible", "the date of the last inspection",
    "the identification of the equipment", "the method of verification",
    "the acceptance criteria", "the corrective actions taken", "the location of the equipment",
    "the hazards identified", "the spare parts used", "the signature of the approver",
)  # fmt: skip
_FACTS = (
    "is usually installed close to the operator station",
    "is available from several suppliers",
    "can be combined with other protective measures",
    "is described in the equipment manual",
    "was introduced to reduce unplanned downtime",
)  # fmt: skip


@dataclass(slots=True)
class SyntheticSet:
    """A generated standard, procedures that meet part of it, and the ground truth: the
    clause numbers of the requirements the procedures meet and of those they omit."""

    standard: str
    procedures: dict[str, str] = field(default_factory=dict)
    met: set[str] = field(default_factory=set)
    omitted: set[str] = field(default_factory=set)
    requirements: int = 0


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.chars = 0
        self.since = 0
        self.page = 1
        self.parts.append("<!-- page 1 -->")

    def para(self, text: str) -> None:
        if self.since + len(text) > CHARS_PER_PAGE and self.since > 0:
            self.page += 1
            self.parts.append(f"<!-- page {self.page} -->")
            self.since = 0
        self.parts.append(text)
        self.since += len(text) + 2
        self.chars += len(text) + 2

    def text(self) -> str:
        return "\n\n".join(self.parts) + "\n"


def generate(pages: int = 300, seed: int = 0, met_share: float = 0.8) -> SyntheticSet:
    """A standard of about ``pages`` pages and procedures meeting ``met_share`` of its
    requirements (deterministic for a seed)."""
    rng = random.Random(seed)
    pairs = [(v, f"{a} {n}") for v in _VERB for a in _ADJ for n in _NOUN]
    rng.shuffle(pairs)
    w = _Writer()
    out = SyntheticSet("")
    statements: list[tuple[str, str]] = []  # (section title, procedure sentence)
    w.para(f"# SYN-{9000 + seed}:2026 Industrial machinery safety — Requirements (synthetic)")
    w.para("1 Scope")
    w.para(
        "1.1 This document specifies safety requirements for the maintenance of industrial "
        "machinery. This document does not apply to vehicles on public roads."
    )
    w.para("1.2 This document applies to new and existing installations.")
    w.para("2 Terms and definitions")
    for k, (a, n) in enumerate(((a, n) for a in _ADJ[:6] for n in _NOUN[:3]), start=1):
        w.para(f"2.{k} {a} {n}: {n} fitted to {a} equipment and maintained by the plant.")
    section = 3
    sub = 0
    clause = 0
    title = ""
    target = pages * CHARS_PER_PAGE
    n_pair = 0
    n_note = 0
    while w.chars < target:
        if sub == 0 or clause >= rng.randint(4, 8):
            if sub >= rng.randint(3, 6) or sub == 0:
                adj = _ADJ[(section - 3) % len(_ADJ)]
                w.para(f"{section} Requirements for {adj} equipment")
                section_n, sub = section, 0
                section += 1
            sub += 1
            clause = 0
            title = f"{rng.choice(_NOUN).capitalize()}s and records"
            w.para(f"{section_n}.{sub} {title}")
        clause += 1
        num = f"{section_n}.{sub}.{clause}"
        kind = rng.random()
        (verb, pp), obj = pairs[n_pair % len(pairs)]
        n_pair += 1
        actor = rng.choice(_ACTOR)
        when = rng.choice(_WHEN)
        if kind < 0.55:
            w.para(f"{num} {actor} shall {verb} the {obj} {when}.")
            out.requirements += 1
            _assign(
                rng,
                out,
                num,
                met_share,
                statements,
                title,
                f"Maintenance staff {verb} the {obj} {when}.",
            )
        elif kind < 0.65:
            cond = rng.choice(_CONDITION)
            w.para(f"{num} The {obj} shall not be {pp} {cond}.")
            out.requirements += 1
            _assign(rng, out, num, met_share, statements, title, f"The {obj} is never {pp} {cond}.")
        elif kind < 0.75:
            items = rng.sample(_ITEMS, 3)
            w.para(f"{num} The {obj} record shall include the following:")
            for letter, item in zip("abc", items, strict=False):
                w.para(f"{letter}) {item} for the {obj};")
                out.requirements += 1
                _assign(
                    rng,
                    out,
                    f"{num} {letter})",
                    met_share,
                    statements,
                    title,
                    f"The {obj} record gives {item} for the {obj}.",
                )
        elif kind < 0.83:
            w.para(f"{num} {actor} may {verb} the {obj} more often than required.")
        elif kind < 0.9:
            w.para(f"{num} {actor} should {verb} the {obj} {when}.")
        else:
            w.para(f"{num} The {obj} {rng.choice(_FACTS)}.")
        if rng.random() < 0.15:
            n_note += 1
            w.para(f"NOTE {n_note % 9 + 1} The {obj} {rng.choice(_FACTS)}.")
    out.standard = w.text()
    out.procedures = _procedures(statements, rng)
    return out


def _assign(
    rng: random.Random,
    out: SyntheticSet,
    num: str,
    share: float,
    statements: list[tuple[str, str]],
    title: str,
    sentence: str,
) -> None:
    if rng.random() < share:
        out.met.add(num)
        statements.append((title, sentence))
    else:
        out.omitted.add(num)


def _procedures(statements: list[tuple[str, str]], rng: random.Random) -> dict[str, str]:
    """Statements grouped into procedures of about 40 sections each."""
    docs: dict[str, str] = {}
    per_doc = 400
    for d in range(0, len(statements), per_doc):
        part = statements[d : d + per_doc]
        lines = [f"# PRC-{d // per_doc + 1:03d} Maintenance procedure (synthetic)", ""]
        for s in range(0, len(part), 10):
            lines += [f"## {s // 10 + 1}. {part[s][0]}", ""]
            lines += [f"{k + 1}. {sentence}" for k, (_, sentence) in enumerate(part[s : s + 10])]
            lines.append("")
        docs[f"PRC-{d // per_doc + 1:03d}.md"] = "\n".join(lines)
    return docs


def generate_standard(pages: int = 300, seed: int = 0) -> str:
    """The text (Markdown with ``<!-- page N -->`` markers) of a synthetic standard."""
    return generate(pages, seed).standard
