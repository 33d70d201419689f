"""Probable causes and the procedure for an alert, from the plant's own work orders and
documents, with citations: what a technician reads on the alert card.

This module owns the matching (:class:`CauseFinder`) and the node hook that runs it
(:class:`AlertCauses`). Retrieval is deterministic: words, no model.

* **Probable causes**: past corrective work orders of the alert's asset whose symptom (or
  cause) names the same measured quantity as one of the alert's signals, e.g. an alert on
  ``P-101.bearing_temperature`` and "brg temp hi 84 degC + brg noisy" (the shorthand table of
  :mod:`plantmind.knowledge.shorthand` reads "brg temp" as bearing temperature; an
  abbreviation such as "disch press" meets "discharge pressure" as a word prefix). Every term
  of the quantity must be there; the direction the alert moved ("above" ↔ "hi") ranks a work
  order up, the opposite direction alone rules it out. Planned work (preventive maintenance,
  cause "scheduled") explains nothing and is skipped. A data-quality alert looks for sensor
  faults (sensor, transmitter, wiring, ...) first; one that names a sensor mechanism (a stuck
  reading, a spike) looks for nothing else. Up to three, each with its id, date, symptom,
  cause, action and citation (source, section). When none matches, the result says "no
  similar work order in the history" and nothing is made up.
* **Procedure**: the manual or SOP passage about that quantity (e.g. the manual's
  troubleshooting rows for "High bearing temperature", SOP-012 "When to use"), from documents
  that name the asset, with its citation; a document a matching work order refers to ("per
  SOP-012") is added as a second passage.

:class:`AlertCauses` keeps the lookup off the scoring path: the node's alert listener only
queues a request (an O(1) snapshot of the alert's asset, signals and words); a worker thread
does the lookup, with a cache per asset, signals and document set (tens of milliseconds for
the example plant's documents, uncached). The result goes into the stored alert's details at
once (``details["probable_causes"]``, ``details["procedure"]`` (None when no passage applies),
``details["procedure_also"]``, ``details["cause_lookup"]``: what was searched, the notes,
the time taken), key by key with SQLite's ``json_set`` on the store's writer, and onto the
alert object on the thread that scores (the node's change hook, or at once on its event loop),
so the objects the tracker mutates are never touched from another thread. Once per alert;
again only when its set of signals grows, or when it was looked up before any document was
indexed and documents have been indexed since.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import queue
import re
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plantmind.core.plant import Plant
from plantmind.core.types import Alert
from plantmind.knowledge.text import tokenize

if TYPE_CHECKING:
    from plantmind.detect.alerts import AlertUpdate
    from plantmind.knowledge.documents import Chunk
    from plantmind.knowledge.index import KnowledgeIndex

__all__ = ["MAX_CAUSES", "NO_HISTORY", "AlertCauses", "CauseFinder", "CauseRequest"]

log = logging.getLogger("plantmind.assist.cause")

MAX_CAUSES = 3
NO_HISTORY = "no similar work order in the history"
#: passage kinds a procedure may come from (not work orders, the sensor sheet or contents)
_PASSAGE_KINDS = ("text", "table", "step", "warning", "heading")
#: words that qualify a measurement without naming it ("vibration_rms" is vibration)
_QUALIFIERS = frozenset(tokenize("rms peak avg average mean pv raw value actual signal de nde"))
_SENSOR = frozenset(
    tokenize(
        "sensor transmitter wiring cable calibration calibrate rtd pt100 thermocouple probe"
        " instrument gauge meter transducer"
    )
)
_HIGH = frozenset(tokenize("high rising increase above"))
_LOW = frozenset(tokenize("low dropping falling decrease below"))
_FLUCTUATING = frozenset(tokenize("fluctuating unstable swinging erratic"))
_PLANNED_CAUSES = frozenset(("scheduled", "planned", "routine", "pm"))
_FIELD = re.compile(r"(?:^|\s)(Type|Component|Symptom|Cause|Action|Failure code): ")
_DOC_REF = re.compile(r"\b([A-Z]{2,6}-\d{2,5})\b")
_PREFIX_MIN = 4
#: the knowledge database under ``<home>/knowledge`` (knowledge/index.py's DB_NAME)
DB_FILE = "knowledge.db"
_INDEX_RECHECK_S = 5.0
_MAX_STALE = 1000
#: what a lookup puts into ``Alert.details``
_RESULT_KEYS = ("probable_causes", "procedure", "procedure_also", "cause_lookup")


def _has(terms: Sequence[str] | frozenset[str], term: str) -> bool:
    """``term`` in ``terms``, or one a word prefix of the other ("disch" ↔ "discharg")."""
    if term in terms:
        return True
    for t in terms:
        short, long_ = (t, term) if len(t) < len(term) else (term, t)
        if len(short) >= _PREFIX_MIN and long_.startswith(short):
            return True
    return False


@dataclass(frozen=True)
class CauseRequest:
    """What a lookup needs of an alert, copied on the scoring thread."""

    alert_id: str
    asset_id: str
    signals: tuple[str, ...]
    category: str | None
    words: str  # the alert's message and contribution texts

    @classmethod
    def of(cls, alert: Alert) -> CauseRequest:
        contributions = alert.details.get("contributions") or {}
        words = "; ".join([alert.message, *(str(v) for v in contributions.values())])
        category = alert.details.get("category")
        return cls(alert.id, alert.asset_id, tuple(alert.signals), category, words)


@dataclass(frozen=True)
class _Quantity:
    signal_id: str
    terms: tuple[str, ...]  # what it measures, qualifiers dropped: all must match
    extra: tuple[str, ...]  # further words of its name (rank only)
    direction: str | None  # "high" | "low" | "fluctuating" | None


def _direction(text: str) -> str | None:
    t = text.lower()
    if "above" in t:
        return "high"
    if "below" in t:
        return "low"
    if "fluctuat" in t:
        return "fluctuating"
    return None


_DIRECTION_TERMS = {"high": _HIGH, "low": _LOW, "fluctuating": _FLUCTUATING}
_OPPOSITE = {"high": _LOW, "low": _HIGH}


def _fields(text: str) -> dict[str, str]:
    """Symptom, cause, action, ... of a work-order chunk (as workorders.py writes it)."""
    parts = _FIELD.split(text)
    out: dict[str, str] = {}
    for label, value in zip(parts[1::2], parts[2::2], strict=False):
        out[label.lower().replace(" ", "_")] = value.strip().removesuffix(".").strip()
    return out


def _citation(c: Chunk) -> dict[str, Any]:
    return {"source": c.source, "page": c.page, "section": c.section}


class CauseFinder:
    """Probable causes and procedures from a knowledge index (see the module docstring)."""

    def __init__(self, plant: Plant, index: KnowledgeIndex, *, max_causes: int = MAX_CAUSES):
        if max_causes < 1:
            raise ValueError(f"max_causes must be at least 1, got {max_causes!r}")
        self.plant = plant
        self.index = index
        self.max_causes = max_causes
        self._signals = {s.id: (a.id, s) for _, _, a in plant.iter_assets() for s in a.signals}
        self._assets = {a.id: a for _, _, a in plant.iter_assets()}
        self._docs: dict[str, set[str]] = {}  # asset -> ids of documents that name it

    # -- what the alert is about -------------------------------------------------------------
    def _quantities(self, req: CauseRequest) -> list[_Quantity]:
        out = []
        for sid in req.signals:
            found = self._signals.get(sid)
            role = (found[1].role if found else None) or sid.rsplit(".", 1)[-1]
            terms = tuple(
                dict.fromkeys(t for t in tokenize(role.replace("_", " ")) if t not in _QUALIFIERS)
            )
            if not terms:
                continue
            name = found[1].name if found else ""
            extra = tuple(t for t in tokenize(name) if t not in terms and t not in _QUALIFIERS)
            # the direction of this signal: from its own words (its contribution), if any
            own = next((t for t in req.words.split(";") if sid in t), "")
            out.append(_Quantity(sid, terms, extra, _direction(own) if own else None))
        # the signal the message is about first: excerpts lead with its entry
        out.sort(key=lambda q: not req.words.startswith(q.signal_id))
        return out

    def _idf(self, term: str) -> float:
        return max(self.index.idf(term), 0.1)

    # -- work orders -------------------------------------------------------------------------
    def causes(self, req: CauseRequest) -> tuple[list[dict[str, Any]], int, str | None]:
        """Up to ``max_causes`` matching work orders, how many were searched, and the note
        that says why the list is empty (None when it is not)."""
        quantities = self._quantities(req)
        orders = self.index.work_orders(req.asset_id, limit=100_000)
        asset = self._assets.get(req.asset_id)
        if not orders and asset is not None and asset.name:
            orders = self.index.work_orders(asset.name, limit=100_000)
        sensor_only = req.category == "data-quality" and bool(
            re.search(r"stuck|spike|unchanged", req.words, re.IGNORECASE)
        )
        scored: list[tuple[float, str, dict[str, Any]]] = []
        for c in orders:
            f = _fields(c.text)
            if self._planned(f):
                continue
            symptom = tokenize(" ".join([f.get("symptom", ""), f.get("cause", "")]))
            everything = tokenize(c.text)
            sensor = [t for t in _SENSOR if _has(everything, t)]
            score = 0.0
            matched: list[str] = []
            same_direction = False
            for q in quantities:
                if not all(_has(symptom, t) for t in q.terms):
                    continue
                dterms = _DIRECTION_TERMS.get(q.direction or "", frozenset())
                same = [t for t in dterms if _has(symptom, t)]
                opposite = [t for t in _OPPOSITE.get(q.direction or "", ()) if _has(symptom, t)]
                if opposite and not same:
                    continue  # "flow lo" does not explain flow above its range
                score += sum(self._idf(t) for t in q.terms)
                score += 0.5 * sum(self._idf(t) for t in q.extra if _has(symptom, t))
                score += 0.5 * sum(self._idf(t) for t in same)
                matched.append(q.signal_id)
                same_direction = same_direction or bool(same)
            if score <= 0:
                continue
            is_sensor = req.category == "data-quality" and bool(sensor)
            if is_sensor:
                score *= 10.0  # a sensor fault of the same quantity first
            elif sensor_only:
                continue
            wo = (c.section or "").removeprefix("work order ").strip() or c.id
            scored.append(
                (
                    score,
                    c.date or "",
                    {
                        "work_order": wo,
                        "date": c.date,
                        "symptom": f.get("symptom"),
                        "cause": f.get("cause"),
                        "action": f.get("action"),
                        "failure_code": f.get("failure_code"),
                        "kind": "sensor" if is_sensor else "equipment",
                        "matched": matched,
                        "same_direction": same_direction,
                        "score": round(score, 3),
                        "citation": _citation(c),
                    },
                )
            )
        # best match first; among equals the most recent (ISO dates sort as text)
        scored.sort(key=lambda s: s[1], reverse=True)
        scored.sort(key=lambda s: -s[0])
        found = [d for _, _, d in scored[: self.max_causes]]
        note = None
        if not found:
            what = f" for a sensor fault of {', '.join(req.signals)}" if sensor_only else ""
            note = (
                f"{NO_HISTORY} of {req.asset_id}{what} ({len(orders)} work order(s) searched)"
                if orders
                else f"{NO_HISTORY}: no work orders of {req.asset_id} are indexed"
            )
        return found, len(orders), note

    @staticmethod
    def _planned(f: dict[str, str]) -> bool:
        kind = f.get("type", "").lower()
        code = f.get("failure_code", "").split(" ")[0].upper()
        cause = f.get("cause", "").strip().lower()
        symptom = f.get("symptom", "").lower()
        return (
            kind == "preventive maintenance"
            or code == "PM"
            or cause in _PLANNED_CAUSES
            or "(planned)" in symptom
        )

    # -- procedures --------------------------------------------------------------------------
    def _asset_documents(self, asset_id: str) -> set[str]:
        """Ids of the documents (not work orders) that name the asset."""
        cached = self._docs.get(asset_id)
        if cached is not None:
            return cached
        pattern = re.compile(rf"(?<![\w-]){re.escape(asset_id)}(?![\w-])", re.IGNORECASE)
        docs: set[str] = set()
        result = self.index.search(asset_id, k=500, kinds=_PASSAGE_KINDS, dense=False)
        for h in result.hits:
            c = h.chunk
            if (
                pattern.search(c.text)
                or pattern.search(c.section or "")
                or pattern.search(c.source)
            ):
                docs.add(c.doc_id)
        self._docs[asset_id] = docs
        return docs

    def procedures(
        self, req: CauseRequest, causes: Sequence[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The best passage about the alert's quantities in the asset's documents, and the
        best one of a document a matched work order refers to; a note when there is none."""
        quantities = self._quantities(req)
        docs = self._asset_documents(req.asset_id)
        if not docs or not quantities:
            return [], f"no manual or SOP that names {req.asset_id} is indexed"
        words: list[str] = []
        for q in quantities:
            words.extend([*q.terms, *q.extra])
            words.extend(sorted(_DIRECTION_TERMS.get(q.direction or "", ()))[:1])
        if req.category == "data-quality":
            words.extend(sorted(_SENSOR)[:6])
        query = " ".join(dict.fromkeys(words))
        result = self.index.search(query, k=40, kinds=_PASSAGE_KINDS, dense=False)
        out: list[dict[str, Any]] = []
        ranked = []
        for rank, h in enumerate(result.hits):
            if h.chunk.doc_id not in docs:
                continue
            covered, direction = self._coverage(h.chunk, quantities)
            if covered:
                # "High vibration" (a quantity with its direction: a troubleshooting entry)
                # before a list that merely names every signal (an instrument list)
                ranked.append(((-direction, -covered, rank), h.chunk))
        ranked.sort(key=lambda r: r[0])
        best = ranked[0][1] if ranked else None
        if best is not None:
            out.append(self._passage(best, quantities, req))
        # a document the work orders name ("per SOP-012"): its best passage as well
        refs = {m for c in causes for m in _DOC_REF.findall(str(c.get("action") or ""))}
        for ref in sorted(refs):
            for h in result.hits:
                c = h.chunk
                if (
                    ref.lower() in c.source.lower()
                    and (best is None or c.doc_id != best.doc_id)
                    and self._coverage(c, quantities)[0]
                ):
                    out.append(self._passage(c, quantities, req))
                    break
            if len(out) >= 2:
                break
        note = None
        if not out:
            names = ", ".join(req.signals)
            note = f"no passage about {names} in the documents that name {req.asset_id}"
        return out, note

    @staticmethod
    def _coverage(c: Chunk, quantities: Sequence[_Quantity]) -> tuple[int, int]:
        """How many of the quantities the passage names as a phrase (their terms within a
        few words of each other: "High bearing temperature", not "bearing ... temperature"
        three lines apart), and how many of them with their direction."""
        terms = tokenize(f"{c.section or ''}\n{c.text}")
        covered = direction = 0
        for q in quantities:
            if _near(terms, q.terms):
                covered += 1
                dterms = _DIRECTION_TERMS.get(q.direction or "", ())
                if any(_near(terms, (d, *q.terms)) for d in dterms):
                    direction += 1
        return covered, direction

    def _passage(
        self, c: Chunk, quantities: Sequence[_Quantity], req: CauseRequest
    ) -> dict[str, Any]:
        return {
            "text": _excerpt(c.text, quantities, req.category == "data-quality"),
            "citation": _citation(c),
        }

    def lookup(self, req: CauseRequest) -> dict[str, Any]:
        """Everything the alert gets: ``probable_causes``, ``procedure`` (the best passage
        or None), ``procedure_also`` (a passage of a document the work orders refer to) and
        ``cause_lookup`` (what was searched, the notes and how long it took)."""
        t0 = time.perf_counter()
        causes, searched, cause_note = self.causes(req)
        passages, procedure_note = self.procedures(req, causes)
        return {
            "probable_causes": causes,
            "procedure": passages[0] if passages else None,
            "procedure_also": passages[1:],
            "cause_lookup": {
                "signals": list(req.signals),
                "work_orders_searched": searched,
                "note": cause_note,
                "procedure_note": procedure_note,
                "ms": round((time.perf_counter() - t0) * 1e3, 2),
            },
        }


def _near(terms: Sequence[str], wanted: Sequence[str], slack: int = 2) -> bool:
    """All of ``wanted`` within a window of ``len(wanted) + slack`` consecutive terms."""
    width = len(wanted) + slack
    hits = [i for i, t in enumerate(terms) if any(_has((t,), w) for w in wanted)]
    for i in hits:
        window = terms[i : i + width]
        if all(_has(window, w) for w in wanted):
            return True
    return False


def _clean_row(line: str) -> str:
    """A markdown table row as text: cells joined, emphasis removed, empty cells dropped."""
    line = line.replace("**", "").strip()
    if line.startswith("|"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        return " — ".join(c for c in cells if c)
    return line


def _excerpt(text: str, quantities: Sequence[_Quantity], sensor: bool, budget: int = 600) -> str:
    """The lines of a passage about the quantities: the best line and what follows it (the
    further rows of a table entry), at most ``budget`` characters."""
    lines: list[str] = []
    for ln in text.splitlines():
        if not ln.strip() or re.fullmatch(r"[|\s:-]+", ln):
            continue
        if ln.lstrip().startswith("|"):
            lines.append(ln)  # a table row
        else:  # prose: one sentence (or list item) at a time
            lines.extend(re.split(r"(?<=[.!?])\s+(?=[A-Z0-9*-])", ln.strip()))
    want = {t for q in quantities for t in q.terms}
    top = set(quantities[0].terms) if quantities else set()  # the signal the message is about
    extra = {t for q in quantities for t in q.extra}
    extra |= {t for q in quantities for t in _DIRECTION_TERMS.get(q.direction or "", ())}
    if sensor:
        extra |= _SENSOR

    def score(ln: str) -> float:
        terms = tokenize(ln)
        # a quantity with its direction ("Low flow", "High vibration") is the entry wanted
        phrased = sum(
            any(_near(terms, (d, *q.terms)) for d in _DIRECTION_TERMS.get(q.direction or "", ()))
            for q in quantities
        )
        return (
            2.0 * sum(_has(terms, t) for t in want)
            + sum(_has(terms, t) for t in top)
            + sum(_has(terms, t) for t in extra)
            + 3.0 * phrased
        )

    best = max(range(len(lines)), key=lambda i: (score(lines[i]), -i))
    picked = [_clean_row(lines[best])]
    size = len(picked[0])
    table = lines[best].lstrip().startswith("|")
    for ln in lines[best + 1 :]:
        is_continuation = ln.lstrip().startswith("| |") or ln.lstrip().startswith("||")
        if (table and not is_continuation) or (
            not table and not any(_has(tokenize(ln), t) for t in want)
        ):
            break  # the next table entry, or prose about something else
        row = _clean_row(ln)
        if size + len(row) > budget:
            break
        picked.append(row)
        size += len(row) + 1
    out = "\n".join(picked)
    return out if len(out) <= budget else out[: budget - 1].rstrip() + "…"


class AlertCauses:
    """Attaches probable causes and the procedure to a node's alerts, off the scoring path
    (see the module docstring).

    ``node``: an edge node (:class:`plantmind.edge.node.EdgeNode`, typed loosely: a
    capability does not import the apps that use it): its ``tracker``, ``store``,
    ``listeners``, ``change_hooks``, ``plant``, ``home`` and ``knowledge``.
    ``index`` gives the knowledge index to search, or None while there is none (default:
    the node's, once it has been opened or ``<home>/knowledge`` holds one; the lookup never
    creates an index). Call :meth:`attach` once, :meth:`close` at the end.
    """

    def __init__(
        self,
        node: Any,
        *,
        index: Callable[[], KnowledgeIndex | None] | None = None,
        max_causes: int = MAX_CAUSES,
        cache_size: int = 512,
    ) -> None:
        self.node = node
        self._index = index or self._node_index
        self.max_causes = max_causes
        self._finder: CauseFinder | None = None
        self._finder_of: KnowledgeIndex | None = None
        self._cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        self._docs_seen: tuple[tuple[str, float], ...] | None = None
        self._index_checked = -_INDEX_RECHECK_S
        self._requests: queue.Queue[CauseRequest | None] = queue.Queue()
        self._waiting: dict[str, Alert] = {}  # alert id -> the alert object (scoring thread)
        #: alerts looked up while no index existed (scoring thread), and their requests (the
        #: worker's): looked up again once the documents are there
        self._stale_alerts: OrderedDict[str, Alert] = OrderedDict()
        self._stale_requests: dict[str, CauseRequest] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: deque[tuple[str, dict[str, Any]]] = deque()
        self._busy = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        #: lookups done and served from the cache (for tests and the bench)
        self.lookups = 0
        self.cache_hits = 0

    def _index_appeared(self) -> bool:
        """Whether an index can be searched now (looked at most every few seconds: an alert
        looked up before the documents were indexed is looked up again once they are)."""
        t = time.monotonic()
        if t - self._index_checked < _INDEX_RECHECK_S:
            return False
        self._index_checked = t
        node = self.node
        return "knowledge" in node.__dict__ or (node.home / "knowledge" / DB_FILE).is_file()

    def _node_index(self) -> KnowledgeIndex | None:
        node = self.node
        if "knowledge" in node.__dict__:  # the cached property: opened already
            return node.knowledge
        if (node.home / "knowledge" / DB_FILE).is_file():
            return node.knowledge
        return None

    def attach(self) -> AlertCauses:
        """Follow the node's alerts; the open alerts restored from the store that have no
        lookup yet are queued now."""
        self.node.listeners.append(self.on_update)
        self.node.change_hooks.append(self.apply)
        self._capture_loop()
        self._thread = threading.Thread(target=self._work, name="alert-causes", daemon=True)
        self._thread.start()
        for alert in self.node.tracker.open_alerts():
            self._want(alert)
        return self

    # -- the scoring thread: O(1) per changed alert ------------------------------------------
    def on_update(self, update: AlertUpdate) -> None:
        """The node's alert listener: queue a lookup for each new alert, and for one whose
        signals changed since its lookup."""
        if self._loop is None:
            self._capture_loop()
        for alert in update.changed():
            self._want(alert)

    def _capture_loop(self) -> None:
        # the event loop that scores (edge run, the demo): finished lookups are applied on it
        # at once, not only with the next batch
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def _want(self, alert: Alert) -> None:
        done = alert.details.get("cause_lookup")
        if (
            done is not None
            and list(done.get("signals") or ()) == list(alert.signals)
            and not (done.get("no_index") and self._index_appeared())
        ):
            return
        if alert.id in self._waiting:
            return
        self._waiting[alert.id] = alert
        with self._lock:
            self._busy += 1
        self._requests.put(CauseRequest.of(alert))

    def apply(self) -> None:
        """The node's change hook: put finished lookups on their alerts and store them
        (nothing to do, the usual case, costs one length check)."""
        held: set[int] | None = None
        while self._done:
            alert_id, result = self._done.popleft()
            alert = self._waiting.pop(alert_id, None) or self._stale_alerts.pop(alert_id, None)
            if alert is None:
                continue
            alert.details.update(result)
            if held is None:
                held = {id(a) for a in self.node.tracker.open_alerts()}
            if id(alert) not in held:
                # resolved meanwhile: the stored row is newer than this object (an operator's
                # false-alarm mark, its note); :meth:`_store` already patched the results in
                continue
            if (result.get("cause_lookup") or {}).get("no_index"):
                self._stale_alerts[alert_id] = alert
                while len(self._stale_alerts) > _MAX_STALE:
                    self._stale_alerts.popitem(last=False)
            if not self.node.store.closed:
                # the tracker's own object: the node stores and forwards it with its results
                self.node.store.upsert_alert(alert)

    # -- the worker ----------------------------------------------------------------------------
    def _finder_now(self) -> CauseFinder | None:
        index = self._index()
        if index is None:
            return None
        if self._finder is None or self._finder_of is not index:
            self._finder = CauseFinder(self.node.plant, index, max_causes=self.max_causes)
            self._finder_of = index
        return self._finder

    def lookup(self, req: CauseRequest) -> dict[str, Any]:
        """One lookup, from the cache when the asset, signals, words' direction and the
        indexed documents are the same (runs on the worker; callable directly in tests)."""
        finder = self._finder_now()
        docs = tuple(sorted((d.id, d.added_at) for d in finder.index.documents())) if finder else ()
        if finder is None or not docs:  # an empty index is no better: looked up again later
            return {
                "probable_causes": [],
                "procedure": None,
                "procedure_also": [],
                "cause_lookup": {
                    "signals": list(req.signals),
                    "work_orders_searched": 0,
                    "note": f"{NO_HISTORY}: no documents are indexed (plantmind docs add)",
                    "procedure_note": "no documents are indexed",
                    "no_index": True,
                    "ms": 0.0,
                },
            }
        sensor = bool(re.search(r"stuck|spike|unchanged", req.words, re.IGNORECASE))
        key = (req.asset_id, req.signals, req.category, _direction(req.words), sensor, docs)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return cached
        if docs != self._docs_seen:
            finder._docs.clear()  # documents changed: which name the asset may have too
        self._docs_seen = docs
        result = finder.lookup(req)
        self.lookups += 1
        self._cache[key] = result
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def _work(self) -> None:
        while True:
            try:
                req = self._requests.get(timeout=_INDEX_RECHECK_S)
            except queue.Empty:
                self._recheck_stale()
                continue
            if req is None:
                return
            self._finish(req)
            with self._lock:
                self._busy -= 1
                if self._busy == 0:
                    self._idle.notify_all()

    def _finish(self, req: CauseRequest) -> None:
        try:
            result = self.lookup(req)
        except Exception as exc:  # a lookup must never take the node down
            log.exception("cause lookup for alert %s failed", req.alert_id)
            result = {"cause_lookup": {"signals": list(req.signals), "error": str(exc)}}
        if (result.get("cause_lookup") or {}).get("no_index"):
            self._stale_requests[req.alert_id] = req
            while len(self._stale_requests) > _MAX_STALE:
                self._stale_requests.pop(next(iter(self._stale_requests)))
        else:
            self._stale_requests.pop(req.alert_id, None)
        # a copy per alert: cached results are shared, an alert's details are its own
        self._done.append((req.alert_id, _copy(result)))
        self._store(req.alert_id, result)
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: flush applies
                loop.call_soon_threadsafe(self.apply)

    def _recheck_stale(self) -> None:
        """Alerts looked up before any document was indexed: again, once one is."""
        if not self._stale_requests:
            return
        index = self._index()
        if index is None or not index.documents():
            return
        for req in list(self._stale_requests.values()):
            self._finish(req)

    def _store(self, alert_id: str, result: dict[str, Any]) -> None:
        # Into the stored alert's details at once (the page reads the store), key by key, so
        # nothing else of the row changes; the alert object gets them in :meth:`apply`.
        store = self.node.store
        if store.closed:
            return
        keys = [k for k in _RESULT_KEYS if k in result]
        if not keys:
            return
        paths = ", ".join("?, json(?)" for _ in keys)
        args: list[Any] = []
        for k in keys:
            args.extend([f"$.{k}", json.dumps(result[k], default=str)])
        sql = f"UPDATE alerts SET details = json_set(details, {paths}) WHERE id = ?"

        def patch(conn: sqlite3.Connection) -> None:
            conn.execute(sql, (*args, alert_id))

        with contextlib.suppress(RuntimeError):  # closed meanwhile: apply() still has them
            store.submit(patch).add_done_callback(_log_failure)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued lookup is done, then :meth:`apply` them (call it from the
        thread that scores, e.g. before reading the store at the end of a run). True if
        nothing was left waiting."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._idle.wait(left)
            idle = self._busy == 0
        self.apply()
        return idle

    def close(self, timeout: float = 10.0) -> None:
        """Finish the queued lookups (at most ``timeout`` seconds), store them and stop."""
        if self._thread is None:
            return
        self.flush(timeout)
        self._requests.put(None)
        self._thread.join(timeout)
        self._thread = None


def _log_failure(fut: Future[None]) -> None:
    exc = fut.exception()
    if exc is not None:
        log.warning("storing an alert's probable causes failed: %s", exc)


def _copy(result: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(result)
