"""A name → factory registry, the shape every extension point's registry shares (detectors,
asset detectors, model backends, embedders): a name is registered once, an unknown name is
refused with the known ones.

>>> r: Registry[int] = Registry("widget")
>>> r.register("one", 1)
>>> r.get("one"), r.names()
(1, ['one'])
>>> r.get("two")
Traceback (most recent call last):
ValueError: unknown widget 'two' (known: one)
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one ``kind`` (the word used in errors) by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> None:
        """Add ``entry`` as ``name``; ValueError if the name is taken."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry

    def get(self, name: str) -> T:
        """The entry ``name``; ValueError naming the known ones if there is none."""
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(
                f"unknown {self.kind} {name!r} (known: {', '.join(self.names())})"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
