"""The wire format of one outbox batch, shared by every transport and by the hub's inbox.

A batch is one JSON object (UTF-8)::

    {"v": 1, "site": "S1", "first": 17, "last": 42,
     "events": [{"seq": 17, "cat": "alerts", "ts": 1767571200.0, "data": {...}}, ...]}

``(site, seq)`` is the idempotency key of an event: ``seq`` grows strictly within a site and is
never reused, so the hub stores each event once however often it arrives. Events of a batch are
in ``seq`` order. The hub answers with the highest ``seq`` it has durably stored for the batch
(its ``last``), which the site treats as "everything up to here is delivered".

:func:`decode_batch` is the hub's single point of reading a batch, whatever the transport, so
it is also where untrusted input is bounded: ``seq`` an integer in ``1..2**63-1`` (the hub's
BIGINT), ``ts`` finite, no NaN or infinity anywhere, nesting at most :data:`MAX_DEPTH` deep
(checked before parsing, so a deep document cannot exhaust the parser's recursion). The
events' fields are checked by a pydantic :class:`~pydantic.TypeAdapter` of :class:`_Event`.
Anything else is a :class:`WireError` whose message quotes at most a short excerpt of the input.
"""

from __future__ import annotations

import json
import math
import reprlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired

import numpy as np
from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

__all__ = [
    "MAX_DEPTH",
    "MAX_SEQ",
    "WIRE_VERSION",
    "Batch",
    "WireError",
    "decode_batch",
    "encode_batch",
    "excerpt",
]

WIRE_VERSION = 1
#: The largest seq: the hub stores seqs as BIGINT.
MAX_SEQ = 2**63 - 1
#: How deep arrays/objects may nest in a batch (a batch is 3 levels plus the events' data).
MAX_DEPTH = 64
#: The hub's column widths for the site id and the category.
MAX_SITE_CHARS = 128
MAX_CATEGORY_CHARS = 32

_EXCERPT_CHARS = 80
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _EXCERPT_CHARS
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_QUOTE, _OPEN_ARRAY, _OPEN_OBJECT, _CLOSE_ARRAY, _CLOSE_OBJECT = b'"[{]}'
_DEPTH_CHUNK = 1 << 20


class WireError(ValueError):
    """A batch could not be decoded or breaks the wire format's bounds; the message names the
    problem and quotes at most a short excerpt of the input."""


@dataclass(slots=True)
class Batch:
    """Events of one site ready to send: ``rows`` are ``(seq, category, ts, data_json)`` with
    the data already JSON text (as the outbox stores it), so encoding is string joining."""

    site: str
    rows: list[tuple[int, str, float, str]]
    _body: bytes | None = field(default=None, repr=False)

    @property
    def first(self) -> int:
        return self.rows[0][0]

    @property
    def last(self) -> int:
        return self.rows[-1][0]

    def __len__(self) -> int:
        return len(self.rows)

    def category_counts(self) -> dict[str, int]:
        return dict(Counter(r[1] for r in self.rows))

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = encode_batch(self.site, self.rows)
        return self._body


def encode_batch(site: str, rows: list[tuple[int, str, float, str]]) -> bytes:
    """The JSON body of a batch; ``rows`` as in :class:`Batch`, in ``seq`` order."""
    if not rows:
        raise ValueError("an empty batch is not sent")
    # repr(float) round-trips exactly and is valid JSON for finite numbers; ts is finite.
    events = ",".join(
        f'{{"seq":{seq},"cat":"{cat}","ts":{ts!r},"data":{data}}}' for seq, cat, ts, data in rows
    )
    head = json.dumps(site)
    return (
        f'{{"v":{WIRE_VERSION},"site":{head},"first":{rows[0][0]},"last":{rows[-1][0]},'
        f'"events":[{events}]}}'
    ).encode()


def excerpt(value: object, limit: int = _EXCERPT_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters: error messages travel back to the sender
    (the hub's 422) and into logs, so they quote the input, never all of it."""
    text = _REPR.repr(value)  # reprlib: bounded work even for a huge nested value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_depth(body: bytes, limit: int) -> None:
    """Raise :class:`WireError` if the JSON text ``body`` nests arrays/objects deeper than
    ``limit``. Runs before the parser, whose recursion is what a deep document would exhaust,
    and with neither recursion nor a Python loop per byte: escaped backslashes and quotes are
    cut out (so every quote left opens or closes a string), only quotes and brackets are kept,
    and in numpy a bracket counts where the running number of quotes is even (outside a
    string) as +1/-1, whose running sum is the depth. Malformed input is left to the parser."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return  # cannot nest deeper than the number of openers: the common small case
    # Escaped backslashes go first (replace works left to right, as the parser reads), so
    # every backslash-quote left is an escaped quote, not a backslash ending a string.
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    tokens = np.frombuffer(unescaped.translate(None, _NOT_STRUCTURE), dtype=np.uint8)
    depth = quotes_before = 0
    for start in range(0, len(tokens), _DEPTH_CHUNK):  # chunked: bounded memory per step
        chunk = tokens[start : start + _DEPTH_CHUNK]
        quotes = chunk == _QUOTE
        outside = (np.cumsum(quotes, dtype=np.int64) + quotes_before) % 2 == 0
        opens = (chunk == _OPEN_ARRAY) | (chunk == _OPEN_OBJECT)
        closes = (chunk == _CLOSE_ARRAY) | (chunk == _CLOSE_OBJECT)
        step = (opens.astype(np.int64) - closes.astype(np.int64)) * outside
        running = np.cumsum(step) + depth
        if int(running.max()) > limit:
            raise WireError(f"batch is nested deeper than {limit} levels")
        depth = int(running[-1])
        quotes_before += int(quotes.sum())


def _reject_constant(name: str) -> float:
    raise WireError(f"batch contains {name}: only finite numbers are valid")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf
        raise WireError(f"batch contains a number out of range: {excerpt(text)}")
    return value


# pydantic wants typing_extensions' TypedDict before Python 3.12. Strict: a bool or a float is
# not a seq, a number is not a category; a float ts may be written as an integer.
class _Event(TypedDict):
    seq: Annotated[int, Field(strict=True, ge=1, le=MAX_SEQ)]
    cat: Annotated[
        str,
        Field(strict=True, min_length=1, max_length=MAX_CATEGORY_CHARS, pattern=r"^[^\x00]*$"),
    ]
    # an absent (or null) ts is stamped with the arrival time by the store, as before
    ts: NotRequired[Annotated[float, Field(strict=True, allow_inf_nan=False)] | None]
    data: NotRequired[Any]


_EVENTS = TypeAdapter(list[_Event])
#: the order decode_batch reports a bad event's fields in (the first bad one wins)
_FIELDS = ("seq", "cat", "ts")


def _event_error(events: list[Any], exc: ValidationError) -> tuple[int, str]:
    """The index of the first bad event and what is wrong with it, in the wire's own words:
    pydantic's messages would quote the input, and the sender reads these."""
    first: tuple[int, int] | None = None
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = err["loc"]
        index = loc[0] if loc and isinstance(loc[0], int) else 0
        rank = _FIELDS.index(loc[1]) if len(loc) > 1 and loc[1] in _FIELDS else -1
        if first is None or (index, rank) < first:
            first = (index, rank)
    i, rank = first if first is not None else (0, -1)
    e = events[i]
    if rank < 0 or not isinstance(e, dict):
        return i, f"event {i} is not an object"
    name = _FIELDS[rank]
    got = excerpt(e.get(name))
    if name == "seq":
        return i, f"event {i}: seq must be an integer in 1..2**63-1, got {got}"
    if name == "cat":
        return i, (
            f"event {i}: cat must be a category name of 1..{MAX_CATEGORY_CHARS} "
            f"characters, got {got}"
        )
    return i, f"event {i}: ts must be a finite number, got {got}"


def _check_order(events: list[dict[str, Any]]) -> None:
    prev = 0
    for e in events:
        seq: int = e["seq"]
        if seq <= prev:
            raise WireError("events of a batch must be in increasing seq order")
        prev = seq


def decode_batch(body: bytes | str) -> tuple[str, list[dict[str, Any]]]:
    """``(site, events)`` of a batch body; each event a dict with seq, cat, ts and data.

    This is the hub's single point of reading a batch, so everything the store cannot hold is
    refused here with a :class:`WireError` naming the problem (its message quotes at most a
    short excerpt of the input): text that is not UTF-8 JSON, nesting deeper than
    :data:`MAX_DEPTH`, NaN or infinite numbers anywhere, a site or category the store's
    columns cannot hold, a ``seq`` that is not an integer in ``1..``:data:`MAX_SEQ` (a
    BIGINT), a ``ts`` that is not a finite number, events out of seq order."""
    try:
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        text = raw.decode("utf-8")
    except UnicodeError as exc:
        raise WireError(f"batch is not UTF-8: {exc}") from None
    _check_depth(raw, MAX_DEPTH)
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except WireError:
        raise
    except RecursionError:  # the depth check should make this unreachable; belt and braces
        raise WireError(f"batch is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
        raise WireError(f"batch is not JSON: {excerpt(str(exc), 160)}") from None
    if not isinstance(doc, dict) or doc.get("v") != WIRE_VERSION:
        version = doc.get("v") if isinstance(doc, dict) else None
        raise WireError(f"unsupported batch version {excerpt(version)}")
    site = doc.get("site")
    events = doc.get("events")
    if not isinstance(site, str) or not site or not isinstance(events, list) or not events:
        raise WireError("a batch needs a site and at least one event")
    if len(site) > MAX_SITE_CHARS or "\x00" in site:
        raise WireError(
            f"site {excerpt(site)} is not a valid site id (at most {MAX_SITE_CHARS} "
            "characters, no NUL)"
        )
    try:
        _EVENTS.validate_python(events)  # only checks: the events returned are the parsed ones
    except ValidationError as exc:
        bad, problem = _event_error(events, exc)
        # the events before the first bad one are valid; out of order among them is said first,
        # as a check event by event would
        _check_order(events[:bad])
        raise WireError(problem) from None
    _check_order(events)
    return site, events
