"""The egress policy at the outbox's door: which categories of data may leave the site, and
which are dropped first when the outbox runs out of its disk budget.

Only categories listed in :attr:`plantmind.core.plant.EgressPolicy.allow` are accepted by
:meth:`plantmind.sync.outbox.Outbox.put`; anything else is refused there, with the reason, and
counted, so nothing that should stay home is ever written to the outbox, let alone sent.

Within an allowed category, the plant's ``sensitivity`` marks (:class:`ConfidentialFilter`,
applied by the producers through :meth:`EgressGate.redact` before they queue anything) keep
the values of confidential signals on site unless ``EgressPolicy.confidential_values`` is set.
"""

from __future__ import annotations

import json
from typing import Any

from plantmind.core.plant import EgressCategory, EgressPolicy, PlantIndex

__all__ = [
    "CATEGORIES",
    "DROP_RANK",
    "ConfidentialFilter",
    "EgressGate",
    "EgressRefusedError",
    "strip_alert_texts",
    "value_free_mechanism",
]

#: Every category the outbox knows, in the order of :data:`DROP_RANK`.
CATEGORIES: tuple[str, ...] = (
    "raw_samples",
    "images",
    "documents",
    "aggregates",
    "events",
    "models",
    "health",
    "alerts",
)

#: Under disk pressure the category with the lowest rank loses its oldest events first: bulk
#: data (if a site allowed it at all) before aggregates, which a site can recompute, before
#: health summaries, before alerts, which are the reason the hub exists.
DROP_RANK: dict[str, int] = {c: i for i, c in enumerate(CATEGORIES)}

_SENSITIVE = {"raw_samples", "images", "documents"}
#: what of a health summary is kept when a confidential signal's name cannot be taken out
_HEALTH_NUMBERS = {"asset_id", "kind", "ts", "health", "rul", "rul_low", "rul_high", "unit",
                   "method", "trend", "trend_per_hour", "trend_per_day"}  # fmt: skip


class EgressRefusedError(ValueError):
    """The site's egress policy does not let this category leave the site."""

    def __init__(self, category: str, reason: str) -> None:
        self.category = category
        self.reason = reason
        super().__init__(f"egress refused for {category!r}: {reason}")


#: Mechanism phrases, value-free, by a marker in the detectors' wording (first match wins;
#: see ``describe`` in plantmind.detect.robust and ``explain`` in plantmind.detect.multivariate).
_MECHANISMS: tuple[tuple[str, str], ...] = (
    ("above its learned normal range", "above its learned range"),
    ("below its learned normal range", "below its learned range"),
    ("above its learned level", "above its learned level"),
    ("below its learned level", "below its learned level"),
    ("fluctuating", "fluctuating more than usual"),
    ("spike", "isolated spikes"),
    ("unchanged for", "unchanged (stuck sensor?)"),
    ("stuck", "unchanged (stuck sensor?)"),
    ("decoupled from", "decoupled from its related signals"),
    ("unusual given the other signals", "unusual given the other signals"),
    ("above range", "above its learned range"),
    ("below range", "below its learned range"),
    ("volatility", "fluctuating more than usual"),
)


def value_free_mechanism(text: str) -> str:
    """The mechanism a detector's alert text names, in fixed words without any number
    ("above its learned range"); "anomalous behaviour" when the wording is not known.
    Fixed phrases, not an edit of ``text``: stripping digits from free text could leak a
    value written in words or units, a lookup cannot."""
    low = text.lower()
    for marker, phrase in _MECHANISMS:
        if marker in low:
            return phrase
    return "anomalous behaviour"


class ConfidentialFilter:
    """What of a confidential signal (or asset) may leave the site: the one place the rule
    lives. With ``EgressPolicy.confidential_values`` false (the default):

    * **aggregates** of a confidential signal are not queued (a signal's own sensitivity
      decides: an explicitly ``public`` signal of a confidential asset is sent);
    * an **alert** on a confidential asset or involving a confidential signal is sent, but its
      ``message`` and ``details`` are replaced by value-free text naming the asset, the
      severity, the signal and the mechanism, e.g. ``"C-201 warning:
      C-201.discharge_pressure above its learned range (values confidential, kept on site)"``;
      no reading, learned range or deviation; ids, states, times and the anomaly score stay;
    * **health** summaries (health index, remaining life: derived, not readings) are sent,
      even for an asset whose signals are all confidential, unless the asset itself is
      confidential; a confidential signal named in them (signals left out of the index, a
      note) is replaced by "confidential signal";
    * any **other** category is dropped when it is about a confidential asset or its JSON
      names a confidential signal (its shape is not known here, so fail closed).

    With ``confidential_values`` true everything passes unchanged (``allow`` still applies).
    """

    def __init__(self, index: PlantIndex, policy: EgressPolicy | None = None) -> None:
        self.policy = policy or EgressPolicy()
        self.signals = index.confidential_signals
        self.assets = index.confidential_assets
        self.active = not self.policy.confidential_values and bool(self.signals or self.assets)

    def apply(self, category: str, data: Any) -> Any | None:
        """``data`` as it may leave the site, or None when nothing of it may."""
        if not self.active or not isinstance(data, dict):
            return data
        if category == "aggregates":
            return None if data.get("signal") in self.signals else data
        if category == "health":
            return None if data.get("asset_id") in self.assets else self._health(data)
        if category == "alerts":
            return self._alert(data)
        if data.get("asset_id", data.get("asset")) in self.assets:
            return None
        text = json.dumps(data, default=str)
        return None if any(sid in text for sid in self.signals) else data

    def _health(self, data: dict[str, Any]) -> dict[str, Any]:
        """A summary whose signal lists or note name a confidential signal: those names are
        replaced (the summary's numbers are derived, not readings, and stay)."""
        text = json.dumps(data, default=str)
        if not any(sid in text for sid in self.signals):
            return data
        out = dict(data)
        for key, value in data.items():
            if isinstance(value, list):
                out[key] = ["confidential signal" if str(v) in self.signals else v for v in value]
            elif isinstance(value, str):
                for sid in sorted(self.signals, key=len, reverse=True):
                    value = value.replace(sid, "a confidential signal")
                out[key] = value
        if any(sid in json.dumps(out, default=str) for sid in self.signals):
            return {k: v for k, v in out.items() if k in _HEALTH_NUMBERS}  # fail closed
        return out

    def _alert(self, data: dict[str, Any]) -> dict[str, Any]:
        signals = [str(s) for s in data.get("signals") or []]
        asset = str(data.get("asset_id", ""))
        if asset not in self.assets and not any(s in self.signals for s in signals):
            return data
        message = str(data.get("message", ""))
        top = self._top_signal(message, signals)
        # the part of a multi-signal text that is about the top signal names its mechanism
        part = next((p for p in message.split(";") if top and top in p), message)
        severity = str(data.get("severity", "alert"))
        contributions = (data.get("details") or {}).get("contributions") or {}
        out = dict(data)
        out["message"] = (
            f"{asset} {severity}: {top or 'signal'} {value_free_mechanism(part)} "
            "(values confidential, kept on site)"
        )
        out["details"] = {
            "contributions": {
                str(sid): f"{sid} {value_free_mechanism(str(text))}"
                for sid, text in contributions.items()
            },
            "withheld": "readings and learned ranges of confidential signals stay on site",
        }
        return out

    @staticmethod
    def _top_signal(message: str, signals: list[str]) -> str | None:
        # detector texts start with the top signal's id; the longest id wins over a prefix
        starts = [s for s in signals if message.startswith(s)]
        if starts:
            return max(starts, key=len)
        named = [s for s in signals if s in message]
        return named[0] if named else (signals[0] if signals else None)


#: free text in an alert's probable causes and procedure that comes from the plant's documents
_CAUSE_TEXTS = ("symptom", "cause", "action")


def strip_alert_texts(data: dict[str, Any], *, documents: bool, comments: bool) -> dict[str, Any]:
    """An alert as it may leave: without the document excerpts of its probable causes and
    procedure (``documents`` False; the citations stay, so the hub knows which work order or
    page), and without the operators' comments (``comments`` False; who did what and when
    stays)."""
    details = data.get("details")
    if not isinstance(details, dict) or (documents and comments):
        return data
    d = dict(details)
    if not documents:
        if isinstance(d.get("probable_causes"), list):
            d["probable_causes"] = [
                {k: v for k, v in c.items() if k not in _CAUSE_TEXTS} if isinstance(c, dict)
                else c
                for c in d["probable_causes"]
            ]  # fmt: skip
        for key in ("procedure", "procedure_also"):
            value = d.get(key)
            if isinstance(value, dict):
                d[key] = {k: v for k, v in value.items() if k != "text"}
            elif isinstance(value, list):
                d[key] = [
                    {k: v for k, v in x.items() if k != "text"} if isinstance(x, dict) else x
                    for x in value
                ]
        if d.get("probable_causes") or d.get("procedure"):
            d["withheld_texts"] = "document excerpts stay on site (egress: documents)"
    if not comments and isinstance(d.get("actions"), list):
        d["actions"] = [
            {k: v for k, v in a.items() if k != "comment"} if isinstance(a, dict) else a
            for a in d["actions"]
        ]
    out = dict(data)
    out["details"] = d
    return out


class EgressGate:
    """Decides, per category, whether data may enter the outbox (see the module docstring),
    and, once :meth:`bind` gave it the plant's sensitivities, what of it may
    (:meth:`redact`)."""

    def __init__(self, policy: EgressPolicy | None = None) -> None:
        self.policy = policy or EgressPolicy()
        self.allowed: frozenset[str] = frozenset(self.policy.allow)
        self.confidential: ConfidentialFilter | None = None

    def bind(self, index: PlantIndex) -> None:
        """Apply ``index``'s sensitivity marks to what :meth:`redact` lets through."""
        self.confidential = ConfidentialFilter(index, self.policy)

    def redact(self, category: str, data: Any) -> Any | None:
        """``data`` as :class:`ConfidentialFilter` lets it leave, or None to queue nothing
        (unchanged until :meth:`bind` was called: without a plant nothing is marked). An
        alert's document excerpts (its probable causes' work-order texts, the procedure's
        text) leave only where ``documents`` may: otherwise their citations go, the texts
        stay; an operator's free-text comment stays home when the plant marks anything
        confidential (a comment may quote a confidential reading)."""
        if category == "alerts" and isinstance(data, dict):
            data = strip_alert_texts(
                data,
                documents="documents" in self.allowed,
                comments=self.confidential is None or not self.confidential.active,
            )
        if self.confidential is None:
            return data
        return self.confidential.apply(category, data)

    def check(self, category: str) -> None:
        """Raise :class:`EgressRefusedError` with the reason unless ``category`` may leave."""
        if category not in DROP_RANK:
            raise EgressRefusedError(
                category, f"unknown category; known ones are {', '.join(CATEGORIES)}"
            )
        if category not in self.allowed:
            why = (
                "raw samples, images and document text stay on site unless the plant's "
                "egress.allow lists them"
                if category in _SENSITIVE
                else "not listed in the plant's egress.allow"
            )
            raise EgressRefusedError(
                category, f"{why} (allowed: {', '.join(sorted(self.allowed))})"
            )

    def allows(self, category: EgressCategory | str) -> bool:
        return category in self.allowed
