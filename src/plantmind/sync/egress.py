"""The egress policy at the outbox's door: which categories of data may leave the site, and
which are dropped first when the outbox runs out of its disk budget.

Only categories listed in :attr:`plantmind.core.plant.EgressPolicy.allow` are accepted by
:meth:`plantmind.sync.outbox.Outbox.put`; anything else is refused there, with the reason, and
counted, so nothing that should stay home is ever written to the outbox, let alone sent.
"""

from __future__ import annotations

from plantmind.core.plant import EgressCategory, EgressPolicy

__all__ = ["CATEGORIES", "DROP_RANK", "EgressGate", "EgressRefusedError"]

#: Every category the outbox knows, in the order of :data:`DROP_RANK`.
CATEGORIES: tuple[str, ...] = (
    "raw_samples",
    "images",
    "documents",
    "aggregates",
    "events",
    "health",
    "alerts",
)

#: Under disk pressure the category with the lowest rank loses its oldest events first: bulk
#: data (if a site allowed it at all) before aggregates, which a site can recompute, before
#: health summaries, before alerts, which are the reason the hub exists.
DROP_RANK: dict[str, int] = {c: i for i, c in enumerate(CATEGORIES)}

_SENSITIVE = {"raw_samples", "images", "documents"}


class EgressRefusedError(ValueError):
    """The site's egress policy does not let this category leave the site."""

    def __init__(self, category: str, reason: str) -> None:
        self.category = category
        self.reason = reason
        super().__init__(f"egress refused for {category!r}: {reason}")


class EgressGate:
    """Decides, per category, whether data may enter the outbox (see the module docstring)."""

    def __init__(self, policy: EgressPolicy | None = None) -> None:
        self.policy = policy or EgressPolicy()
        self.allowed: frozenset[str] = frozenset(self.policy.allow)

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
