"""The dataset builder: training records from what the plant already has in plantmind, with no
model. Template generators read

- the sensor sheet of plant.yaml (``sensor_spec``: units, expected ranges, what a reading
  means),
- procedures (``procedure``: the steps of a section, the step after a step, the warnings),
- manuals (``manual_qa``: a table's rows, what a section says),
- the work-order history (``diagnosis``: symptom → cause → action, failure code),
- the alert history with the operators' verdicts (``alert_review``: real or false alarm),

and write each question in the ways technicians ask (formal, colloquial, shorthand). At least
:data:`DECLINE_SHARE` of the records ask about equipment no document covers, with the
assistant's decline as the answer. Every record carries its source (document, passage, page,
the passage's sha256). Exact and near-duplicates are removed, then the split is grouped by
source passage (:mod:`plantmind.tune.split`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plantmind.core.plant import Asset, Plant, Signal
from plantmind.knowledge.documents import Block, LoadedDocument, LoaderError
from plantmind.knowledge.shorthand import SHORTHAND
from plantmind.tune.dedup import DedupReport, remove_duplicates
from plantmind.tune.records import Record, text_sha256
from plantmind.tune.split import SplitConfig, leaks, split_records

__all__ = [
    "DECLINE_SHARE",
    "SYSTEM_PROMPT",
    "BuildReport",
    "alert_records",
    "build_dataset",
    "clip_words",
    "generate_records",
    "signal_passage",
    "technician_phrasings",
]

GENERATOR_VERSION = "1"
#: the least share of records that the plant's documents do not answer
DECLINE_SHARE = 0.10
SYSTEM_PROMPT = (
    "You are the maintenance assistant of this plant. Answer from the plant's manuals, "
    "procedures, work orders and sensor sheet, name the source, keep warnings, and say "
    "NOT FOUND when the plant's documents do not cover the question."
)

# Words technicians shorten, beyond the shorthand table's single-word entries.
_EXTRA_SHORT = {
    "temperature": "temp",
    "pressure": "press",
    "discharge": "disch",
    "current": "amps",
    "minimum": "min",
    "maximum": "max",
    "procedure": "proc",
    "replacement": "rplcmt",
    "normal": "norm",
    "what": "wat",
    "is the": "",
    "of the": "",
}


def _abbreviations() -> dict[str, str]:
    inv: dict[str, str] = {}
    for short, long in SHORTHAND.items():
        if " " in long or not short.isalpha() or len(short) >= len(long):
            continue
        if long not in inv or len(short) < len(inv[long]):
            inv[long] = short
    inv.update({k: v for k, v in _EXTRA_SHORT.items() if " " not in k})
    return inv


_ABBREV = _abbreviations()


def shorthand(text: str) -> str:
    """``text`` as a technician types it: shortened words, no articles, lower case."""
    words = []
    for w in re.findall(r"[\w./%°+-]+|\?", text.lower()):
        if w in {"the", "a", "an", "of", "please", "is", "are", "does", "do"}:
            continue
        words.append(_ABBREV.get(w, w))
    return re.sub(r"\s+\?", "?", " ".join(words))


def technician_phrasings(formal: str, colloquial: str, key: str) -> list[tuple[str, str]]:
    """The question in two of the three styles: always ``formal``; then, chosen by ``key``'s
    hash so the set holds both, the colloquial or the shorthand form."""
    second = "colloquial" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 else "shorthand"
    text = colloquial if second == "colloquial" else shorthand(colloquial)
    return [("formal", formal), (second, text)]


def _fmt(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e6 else f"{x:,.0f}"


@dataclass(slots=True)
class _Source:
    doc: str
    passage: str
    text: str
    page: int | None = None
    extra: list[str] = field(default_factory=list)  # texts of further passages read
    #: the passage as the assistant shows it (section heading; text when it differs)
    section: str | None = None
    shown: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "doc": self.doc,
            "passage": self.passage,
            "page": self.page,
            "sha256": text_sha256(self.text),
        }
        if self.extra:
            d["passages"] = [text_sha256(t) for t in self.extra]
        return d


#: words of a passage shown with a training question (the prompt stays short enough for a
#: small model's context: three passages, the question and the answer)
CONTEXT_WORDS = 90


def clip_words(text: str, words: int = CONTEXT_WORDS) -> str:
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + " …"


def _record(
    task: str,
    question: str,
    answer: str,
    source: _Source,
    template: str,
    style: str,
    sensitivity: str = "internal",
) -> Record:
    gold = (
        []
        if task == "decline"
        else [{"source": source.doc, "page": source.page, "section": source.section,
               "text": clip_words(source.shown or source.text), "gold": True}]
    )  # fmt: skip
    return Record(
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ],
        task=task,
        source=source.to_dict(),
        generator={"name": f"template:{template}", "version": GENERATOR_VERSION, "style": style},
        sensitivity=sensitivity,
        context=gold,
    )


def _records(
    task: str,
    formal: str,
    colloquial: str,
    answer: str,
    source: _Source,
    template: str,
    sensitivity: str = "internal",
) -> Iterator[Record]:
    for style, q in technician_phrasings(formal, colloquial, f"{template}:{source.passage}"):
        yield _record(task, q, answer, source, template, style, sensitivity)


# --- sensor sheet ---------------------------------------------------------------------------


def signal_passage(s: Signal) -> str:
    """The signal's entry of the sensor sheet as the record's source passage (its JSON)."""
    return s.model_dump_json()


def sensor_records(plant: Plant, plant_doc: str) -> Iterator[Record]:
    """Ranges, units and the reading of a value, per signal of the sensor sheet."""
    for site in plant.sites:
        for line in site.lines:
            for asset in line.assets:
                for s in asset.signals:
                    yield from _signal_records(asset, s, plant_doc)


def _signal_records(asset: Asset, s: Signal, plant_doc: str) -> Iterator[Record]:
    sens = asset.signal_sensitivity(s)
    lo, hi = s.expected_range
    src = _Source(
        plant_doc, f"signal {s.id}", signal_passage(s), section=f"{asset.name} ({asset.id})",
        shown=f"{s.id} ({s.name}): unit {s.unit}, expected range {_fmt(lo)} to {_fmt(hi)} "
        f"{s.unit}, sampled at {_fmt(s.sample_rate_hz)} Hz. {s.description}".strip(),
    )  # fmt: skip
    name = s.name.lower()
    what = f" It measures: {s.description.rstrip('.')}." if s.description else ""
    yield from _records(
        "sensor_spec",
        f"What is the expected range of the {name} of {asset.id} ({asset.name})?",
        f"what's normal for the {name} on {asset.id}?",
        f"The {s.name.lower()} of {asset.id} ({s.id}) is expected between {_fmt(lo)} and "
        f"{_fmt(hi)} {s.unit}.{what} Source: sensor sheet ({plant_doc}), {s.id}.",
        src,
        "sensor_range",
        sens,
    )
    yield from _records(
        "sensor_spec",
        f"In which unit is the {name} of {asset.id} reported, and how often is it sampled?",
        f"what units is {asset.id} {name} in?",
        f"{s.id} ({s.name}) is reported in {s.unit}, sampled at {_fmt(s.sample_rate_hz)} Hz. "
        f"Source: sensor sheet ({plant_doc}), {s.id}.",
        src,
        "sensor_unit",
        sens,
    )
    high = hi + max(0.15 * (hi - lo), abs(hi) * 0.1, 1e-3)
    high = float(f"{high:.3g}")
    yield from _records(
        "sensor_spec",
        f"The {name} of {asset.id} reads {_fmt(high)} {s.unit}. Is that within its range?",
        f"{asset.id} {name} showing {_fmt(high)} {s.unit}, is that ok?",
        f"No. {_fmt(high)} {s.unit} is above the expected range of {s.id} ({_fmt(lo)} to "
        f"{_fmt(hi)} {s.unit}): treat it as abnormal, confirm the reading on a second "
        f"instrument, then check the asset. Source: sensor sheet ({plant_doc}), {s.id}.",
        src,
        "sensor_high",
        sens,
    )
    mid = float(f"{lo + 0.45 * (hi - lo):.3g}")
    yield from _records(
        "sensor_spec",
        f"The {name} of {asset.id} reads {_fmt(mid)} {s.unit}. Is that normal?",
        f"{asset.id} {name} at {_fmt(mid)} {s.unit} - anything to worry about?",
        f"{_fmt(mid)} {s.unit} is inside the expected range of {s.id} ({_fmt(lo)} to "
        f"{_fmt(hi)} {s.unit}). Source: sensor sheet ({plant_doc}), {s.id}.",
        src,
        "sensor_normal",
        sens,
    )


# --- documents ------------------------------------------------------------------------------

_WARNING = re.compile(r"\b(WARNING|CAUTION|DANGER)\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def _first_sentences(text: str, n: int = 2, limit: int = 420) -> str:
    clean = re.sub(r"[>*]+", " ", text)
    clean = re.sub(r"\s+", " ", clean).strip()
    parts = _SENTENCE.split(clean)
    out = " ".join(parts[:n])
    return out if len(out) <= limit else out[: limit - 1].rsplit(" ", 1)[0] + " …"


def _unnumbered(text: str) -> str:
    return re.sub(r"^\s*\d+[.)]\s+", "", text)


def _title(doc: LoadedDocument) -> str:
    head = next((b.text for b in doc.blocks if b.kind == "heading"), doc.source)
    return re.split(r"\s+[—–-]\s+", head, maxsplit=1)[0].strip() or doc.source


def _topic(section: str | None) -> str:
    return re.sub(r"^[\d.]+\s*", "", section or "").strip() or "this section"


def _cite(doc: LoadedDocument, b: Block) -> str:
    where = [doc.source]
    if b.page:
        where.append(f"page {b.page}")
    if b.section:
        where.append(b.section)
    return "Source: " + ", ".join(where) + "."


def procedure_records(doc: LoadedDocument) -> Iterator[Record]:
    """Steps of each section, the step after a step, and the warnings of a procedure."""
    title = _title(doc)
    sections: dict[str, list[Block]] = {}
    for b in doc.blocks:
        if b.kind == "step":
            sections.setdefault(b.section or "", []).append(b)
    for section, steps in sections.items():
        if len(steps) >= 2:
            shown = steps[:8]
            listing = "\n".join(
                f"{b.step or i}. {_first_sentences(_unnumbered(b.text), 1, 200)}"
                for i, b in enumerate(shown, start=1)
            )
            more = f"\n(and {len(steps) - len(shown)} further steps)" if len(steps) > 8 else ""
            topic = _topic(section)
            yield from _records(
                "procedure",
                f"What are the steps of '{topic}' in {title}?",
                f"how do I do the {topic.lower()} part of {title}?",
                f"{title}, {section}:\n{listing}{more}\n{_cite(doc, steps[0])}",
                _Source(doc.source, f"{section} steps", steps[0].text, steps[0].page,
                        [b.text for b in steps[1:]], section or None,
                        "\n".join(b.text for b in steps[:8])),
                "procedure_steps",
            )  # fmt: skip
        for a, b in itertools.pairwise(steps):
            lead = " ".join(_first_sentences(_unnumbered(a.text), 1, 120).split()[:8])
            yield from _records(
                "procedure",
                f"In {title}, which step follows step {a.step} ('{lead} …')?",
                f"done step {a.step} of {title} ({lead}), what's next?",
                f"Step {b.step}: {_first_sentences(_unnumbered(b.text), 2)} {_cite(doc, b)}",
                _Source(
                    doc.source,
                    f"{section} step {b.step}",
                    b.text,
                    b.page,
                    [a.text],
                    section or None,
                    f"{a.text}\n{b.text}",
                ),
                "procedure_next",
            )
    for i, b in enumerate(doc.blocks):
        if b.kind in ("warning", "text") and _WARNING.search(b.text):
            after = next((x for x in doc.blocks[i + 1 :] if x.kind == "step"), None)
            subject = (
                f"before step {after.step} ({' '.join(after.text.split()[:6])} …)"
                if after is not None and after.step
                else f"in '{_topic(b.section)}'"
            )
            yield from _records(
                "procedure",
                f"Which warning applies {subject} of {title}?",
                f"any safety warning {subject} in {title}?",
                f"{_first_sentences(b.text, 3, 500)} {_cite(doc, b)}",
                _Source(doc.source, f"{b.section} warning {i}", b.text, b.page, section=b.section),
                "procedure_warning",
            )


_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*(.+?)\s*\|?\s*$")


def _table_rows(text: str) -> list[tuple[str, str, str]]:
    """(item, value, the row as written) of a Markdown table's body rows."""
    rows = []
    for line in text.splitlines()[2:]:  # header and rule
        m = _ROW.match(line.strip())
        if m and not set(m.group(1)) <= set("-: "):
            value = re.sub(r"\s*\|\s*", "; ", m.group(2)).strip("; ")
            rows.append((m.group(1).strip("* "), value, line))
    return rows


def manual_records(doc: LoadedDocument) -> Iterator[Record]:
    """A table's rows (item → value) and what each section of text says."""
    title = _title(doc)
    for i, b in enumerate(doc.blocks):
        if b.kind == "table":
            header = [c.strip() for c in b.text.splitlines()[0].strip("|").split("|")]
            for item, value, row in _table_rows(b.text):
                if len(item) > 80 or not value:
                    continue
                col = header[1] if len(header) > 1 and header[1] else "value"
                yield from _records(
                    "manual_qa",
                    f"According to {title}, what is the {item.lower()} ({_topic(b.section)})?",
                    f"what's the {item.lower()} for {title}?",
                    f"{item}: {value} ({col}). {_cite(doc, b)}",
                    _Source(doc.source, f"{b.section} table {i} row {item}", row, b.page,
                            section=b.section),
                    "manual_table_row",
                )  # fmt: skip
        elif b.kind == "text" and len(b.text.split()) >= 12 and not _WARNING.search(b.text):
            topic = _topic(b.section)
            yield from _records(
                "manual_qa",
                f"What does {title} say about '{topic}'?",
                f"what does the doc say on {topic.lower()} for {title}?",
                f"{_first_sentences(b.text, 3, 500)} {_cite(doc, b)}",
                _Source(doc.source, f"{b.section} text {i}", b.text, b.page, section=b.section),
                "manual_section",
            )


_WO = re.compile(
    r"Symptom: (?P<symptom>.*?)\.(?: Cause: (?P<cause>.*?)\.)?(?: Action: (?P<action>.*?)\.)?"
    r"(?: Failure code: (?P<code>.*?)\.)?$"
)


def work_order_records(
    doc: LoadedDocument, sensitivity: Mapping[str, str] | None = None
) -> Iterator[Record]:
    """Symptom → cause and action from corrective work orders (planned ones are skipped);
    ``sensitivity``: asset id → its sensitivity (default internal)."""
    for b in doc.blocks:
        if b.kind != "work_order" or not b.asset:
            continue
        m = _WO.search(b.text)
        if m is None or not m.group("cause") or not m.group("action"):
            continue
        cause = m.group("cause")
        if cause.strip().lower() in {"scheduled", "planned", "pm"}:
            continue
        symptom, action = m.group("symptom"), m.group("action")
        wo = (b.section or "work order").replace("work order ", "")
        code = f" Failure code {m.group('code')}." if m.group("code") else ""
        when = f" ({b.date})" if b.date else ""
        yield from _records(
            "diagnosis",
            f"{b.asset} shows: {symptom}. What is the likely cause and what should be done?",
            f"{b.asset} {symptom} - what's causing it and what do I do?",
            f"Work order {wo}{when} on {b.asset} had this symptom. Cause found: {cause}. "
            f"Action taken: {action}.{code} Source: {doc.source}, work order {wo}.",
            _Source(doc.source, f"work order {wo}", b.text, b.page, section=b.section),
            "work_order_diagnosis",
            (sensitivity or {}).get(b.asset, "internal"),
        )


# --- alert history --------------------------------------------------------------------------


def alert_records(
    alerts: Iterable[Any], sensitivity: Mapping[str, str] | None = None
) -> Iterator[Record]:
    """What became of past alerts that an operator closed: a real fault (resolved) or a
    false alarm, with who closed it and the check recommended. Open alerts teach nothing
    yet and are skipped."""
    import json
    from datetime import UTC, datetime

    for a in alerts:
        state = str(getattr(a.state, "value", a.state))
        if state != "resolved" and not a.false_alarm:
            continue
        when = datetime.fromtimestamp(a.opened_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        by = f" by {a.resolved_by}" if a.resolved_by else ""
        verdict = (
            f"it was closed as a false alarm{by}" if a.false_alarm
            else f"it was a real condition, resolved{by}"
        )  # fmt: skip
        check = a.details.get("recommended_check") if isinstance(a.details, dict) else None
        tail = f" Recommended check: {check}" if check else ""
        message = a.message.rstrip(".")
        yield from _records(
            "alert_review",
            f"{a.asset_id} raised the alert '{message}'. What happened the last time?",
            f"{a.asset_id} alarm again: {message} - real or false last time?",
            f"A {a.severity} alert on {a.asset_id} opened {when} ({message}): {verdict}.{tail} "
            f"Source: alert history, alert {a.id}.",
            _Source(
                "alerts",
                f"alert {a.id}",
                json.dumps(a.to_dict(), sort_keys=True),
                section=f"alert {a.id}",
                shown=f"Alert {a.id} on {a.asset_id}, opened {when}: {message}; {verdict}.{tail}",
            ),
            "alert_verdict",
            (sensitivity or {}).get(a.asset_id, "internal"),
        )


# --- declines ------------------------------------------------------------------------------

#: equipment a plant's documents may well not cover, with a part and a quantity to ask about
DECLINE_SUBJECTS: tuple[tuple[str, str, str], ...] = (
    ("injection moulding machine", "screw barrel heater band", "clamp force"),
    ("steam boiler", "low-water cut-off", "blowdown interval"),
    ("forklift truck", "mast chain", "hydraulic oil level"),
    ("paint booth extraction fan", "fan belt", "airflow"),
    ("hydraulic press", "main cylinder seal", "accumulator pre-charge"),
    ("welding robot", "torch liner", "wire feed speed"),
    ("overhead crane", "hoist brake", "rope discard criteria"),
    ("wastewater dosing pump", "diaphragm", "stroke rate"),
    ("shrink-wrap tunnel", "heater element", "tunnel temperature"),
    ("cooling tower", "drift eliminator", "conductivity limit"),
    ("diesel generator", "fuel injector", "load bank test duration"),
    ("autoclave", "door gasket", "pressure hold time"),
)


def decline_records(plant: Plant, covered: str) -> Iterator[Record]:
    """Questions about equipment the plant's documents do not cover, answered with the
    assistant's decline. Subjects that the plant's own texts mention are left out."""
    low = covered.lower()
    for equipment, part, quantity in DECLINE_SUBJECTS:
        if equipment.split()[0] in low and equipment in low:
            continue
        answer = f"NOT FOUND. No document of this plant covers the {equipment}."
        src = _Source("decline", f"subject {equipment}", f"decline {equipment}")
        yield from _records(
            "decline",
            f"How is the {part} of the {equipment} replaced?",
            f"how do I change the {part} on the {equipment}?",
            answer,
            src,
            "decline_part",
        )
        yield from _records(
            "decline",
            f"What is the normal {quantity} of the {equipment}?",
            f"what should the {quantity} be on the {equipment}?",
            answer,
            src,
            "decline_quantity",
        )
        yield from _records(
            "decline",
            f"The {equipment} trips at start-up. What should be checked first?",
            f"{equipment} keeps tripping on start, what do I check?",
            answer,
            src,
            "decline_trip",
        )


# --- the whole build -----------------------------------------------------------------------


@dataclass(slots=True)
class BuildReport:
    """Counts per task, source, split and generator; the duplicate removal; the split check
    (``leaks``: test records sharing a passage or a near-duplicate with a training record:
    0 for a sound split); documents that could not be read."""

    records: int
    per_task: dict[str, int]
    per_source: dict[str, int]
    per_split: dict[str, int]
    per_task_split: dict[str, dict[str, int]]
    per_style: dict[str, int]
    dedup: DedupReport
    leaks: list[tuple[str, str, str]]
    problems: list[str]
    teacher: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "per_task": self.per_task,
            "per_source": self.per_source,
            "per_split": self.per_split,
            "per_task_split": self.per_task_split,
            "per_style": self.per_style,
            "dedup": self.dedup.to_dict(),
            "leaks": [list(x) for x in self.leaks],
            "decline_share": round(self.per_task.get("decline", 0) / max(self.records, 1), 4),
            "problems": self.problems,
            "teacher": self.teacher,
        }


def _documents(paths: Iterable[Path]) -> tuple[list[LoadedDocument], list[str]]:
    from plantmind.knowledge.index import _expand_paths
    from plantmind.knowledge.loaders import load_document

    docs, problems = [], []
    for p, name in _expand_paths(paths):
        try:
            d = load_document(p)
        except LoaderError as exc:
            problems.append(str(exc))
            continue
        d.source = name
        docs.append(d)
        problems.extend(f"{name}: {x}" for x in d.problems)
    return docs, problems


def generate_records(
    plant: Plant,
    plant_doc: str,
    documents: Sequence[LoadedDocument],
    alerts: Sequence[Any] = (),
) -> list[Record]:
    """Every template record of the plant, before duplicate removal and the split."""
    sens = {a.id: a.sensitivity for _, _, a in plant.iter_assets()}
    out: list[Record] = list(sensor_records(plant, plant_doc))
    out.extend(alert_records(alerts, sens))
    covered: list[str] = []
    for doc in documents:
        if doc.kind == "plant":  # the sensor sheet: read from plant.yaml above
            continue
        covered.extend(b.text for b in doc.blocks)
        if doc.kind == "work_orders":
            out.extend(work_order_records(doc, sens))
            continue
        if any(b.kind == "step" for b in doc.blocks):
            out.extend(procedure_records(doc))
        out.extend(manual_records(doc))
    covered.append(plant.model_dump_json())
    out.extend(decline_records(plant, "\n".join(covered)))
    return out


def build_dataset(
    plant: Plant,
    plant_path: Path,
    document_paths: Sequence[Path],
    *,
    split: SplitConfig | None = None,
    teacher: Any | None = None,
    teacher_limit: int | None = None,
    alerts: Sequence[Any] = (),
) -> tuple[list[Record], BuildReport]:
    """Generate, de-duplicate and split the plant's records; the report says what came out.
    ``teacher``: the site's router; its model paraphrases up to ``teacher_limit`` questions
    (:mod:`plantmind.tune.teacher`)."""
    from plantmind.tune.teacher import paraphrase_records

    documents, problems = _documents(document_paths)
    raw = generate_records(plant, plant_path.name, documents, alerts)
    extra, taught = paraphrase_records(raw, teacher, limit=teacher_limit)
    raw.extend(extra)
    kept, dedup = remove_duplicates(raw)
    split_records(kept, split)
    from plantmind.tune.grounding import ground_records

    ground_records(kept, [*document_paths, plant_path])
    found = leaks(kept)
    per_task_split: dict[str, dict[str, int]] = {}
    for r in kept:
        per_task_split.setdefault(r.task, Counter())[r.split or "none"] += 1
    report = BuildReport(
        records=len(kept),
        per_task=dict(Counter(r.task for r in kept)),
        per_source=dict(Counter(r.source["doc"] for r in kept)),
        per_split=dict(Counter(r.split or "none" for r in kept)),
        per_task_split={k: dict(v) for k, v in per_task_split.items()},
        per_style=dict(Counter(r.generator.get("style", "?") for r in kept)),
        dedup=dedup,
        leaks=found,
        problems=problems,
        teacher=taught.describe(),
    )
    return kept, report
