"""The wire format of one outbox batch, shared by every transport and by the hub's inbox.

A batch is one JSON object (UTF-8)::

    {"v": 1, "site": "S1", "first": 17, "last": 42,
     "events": [{"seq": 17, "cat": "alerts", "ts": 1767571200.0, "data": {...}}, ...]}

``(site, seq)`` is the idempotency key of an event: ``seq`` grows strictly within a site and is
never reused, so the hub stores each event once however often it arrives. Events of a batch are
in ``seq`` order. The hub answers with the highest ``seq`` it has durably stored for the batch
(its ``last``), which the site treats as "everything up to here is delivered".
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["WIRE_VERSION", "Batch", "WireError", "decode_batch", "encode_batch"]

WIRE_VERSION = 1


class WireError(ValueError):
    """A batch could not be decoded."""


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


def decode_batch(body: bytes | str) -> tuple[str, list[dict[str, Any]]]:
    """``(site, events)`` of a batch body; each event a dict with seq, cat, ts and data.
    Raises :class:`WireError` naming the problem."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"batch is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("v") != WIRE_VERSION:
        raise WireError(
            f"unsupported batch version {doc.get('v') if isinstance(doc, dict) else None!r}"
        )
    site = doc.get("site")
    events = doc.get("events")
    if not isinstance(site, str) or not site or not isinstance(events, list) or not events:
        raise WireError("a batch needs a site and at least one event")
    prev = None
    for e in events:
        if (
            not isinstance(e, dict)
            or not isinstance(e.get("seq"), int)
            or not isinstance(e.get("cat"), str)
        ):
            raise WireError("every event needs an integer seq and a category")
        if prev is not None and e["seq"] <= prev:
            raise WireError("events of a batch must be in increasing seq order")
        prev = e["seq"]
    return site, events
