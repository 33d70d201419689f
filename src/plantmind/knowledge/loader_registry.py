"""The document-loader extension point: the :class:`Loader` base every format implements, the
options a load takes, and the registry from file suffix to loader.

The built-in formats (PDF, Markdown, text, HTML, work-order CSV, plant.yaml sensor sheet) are
registered by :mod:`plantmind.knowledge.loaders`; a new format is one :class:`Loader` subclass
decorated with :func:`register_loader` there (and a sample in
``tests/knowledge/test_loader_conformance.py``, which fails for a loader without one).
:func:`plantmind.knowledge.loaders.load_document` dispatches through :func:`loader_for`.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar, overload

from plantmind.knowledge.documents import LoadedDocument, LoaderError

__all__ = [
    "DEFAULT_MAX_PAGES",
    "LoadOptions",
    "Loader",
    "SuffixView",
    "check_file",
    "loader_for",
    "register_loader",
    "registered_loaders",
    "supported_suffixes",
]

DEFAULT_MAX_PAGES = 5_000


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """What a caller may ask of a load; each loader reads the fields that concern it.

    One object rather than keyword arguments on every ``read``, so a new option reaches the
    one loader that needs it without touching the others."""

    #: most pages read from one paged document (pages past it are reported, not read)
    max_pages: int = DEFAULT_MAX_PAGES
    #: work-order CSV column mapping (field → column name) over the defaults
    work_order_columns: dict[str, str] | None = None
    #: ``page_callback(done, total)``: progress through a long paged document
    page_callback: Callable[[int, int], None] | None = None


def check_file(p: Path) -> None:
    """Raise :class:`LoaderError` naming ``p`` when it is not a file or is empty."""
    if not p.is_file():
        raise LoaderError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise LoaderError(f"{p}: empty file")


class Loader(abc.ABC):
    """One file format → :class:`LoadedDocument`.

    A subclass names the lower-case ``suffixes`` it reads and the ``kind`` it puts on the
    document, and implements :meth:`read`. :meth:`load` is the entry point: it refuses a
    missing or empty file (the same message for every format) before ``read`` sees it.
    Loaders hold no state; one instance serves every load."""

    suffixes: ClassVar[tuple[str, ...]]
    kind: ClassVar[str]

    def load(self, path: str | Path, options: LoadOptions | None = None) -> LoadedDocument:
        """The document at ``path``; every failure is a :class:`LoaderError` naming it."""
        p = Path(path)
        check_file(p)
        return self.read(p, options or LoadOptions())

    @abc.abstractmethod
    def read(self, p: Path, options: LoadOptions) -> LoadedDocument:
        """Read ``p``, known to be a non-empty file with one of :attr:`suffixes`."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.suffixes)})"


# suffix → loader, in registration order (the order SUPPORTED_SUFFIXES and messages list).
_BY_SUFFIX: dict[str, Loader] = {}

L = TypeVar("L", bound=Loader)


@overload
def register_loader(loader: type[L], *, replace: bool = False) -> type[L]: ...
@overload
def register_loader(loader: L, *, replace: bool = False) -> L: ...
def register_loader(loader: type[L] | L, *, replace: bool = False) -> type[L] | L:
    """Register a loader (a class, instantiated without arguments, or an instance) for each
    of its suffixes; usable as a class decorator. A suffix that already has a loader is a
    ``ValueError`` unless ``replace`` (two formats silently fighting over ``.csv`` would make
    what a file loads as depend on import order)."""
    instance = loader() if isinstance(loader, type) else loader
    name = type(instance).__name__
    suffixes = getattr(instance, "suffixes", ())
    if not getattr(instance, "kind", ""):
        raise ValueError(f"loader {name} has no kind")
    if not suffixes:
        raise ValueError(f"loader {name} names no suffixes")
    for s in suffixes:
        if not (s.startswith(".") and len(s) > 1 and s == s.lower()):
            raise ValueError(f"loader {name}: suffix {s!r} is not a lower-case '.ext'")
        taken = _BY_SUFFIX.get(s)
        if taken is not None and not replace and type(taken) is not type(instance):
            raise ValueError(f"suffix {s} already has loader {type(taken).__name__} ({name})")
    for s in suffixes:
        _BY_SUFFIX[s] = instance
    return loader


def _builtins() -> None:
    # The built-in loaders register when their module is imported; importing it here means
    # a caller of the registry sees them whatever it imported first (a no-op once loaded).
    importlib.import_module("plantmind.knowledge.loaders")


def registered_loaders() -> list[Loader]:
    """Every registered loader once, in registration order."""
    _builtins()
    out: list[Loader] = []
    for loader in _BY_SUFFIX.values():
        if all(loader is not seen for seen in out):
            out.append(loader)
    return out


def supported_suffixes() -> tuple[str, ...]:
    """The suffixes some loader reads, in registration order."""
    _builtins()
    return tuple(_BY_SUFFIX)


def loader_for(path: str | Path) -> Loader:
    """The loader for ``path``'s suffix (case ignored); a :class:`LoaderError` naming the
    file and the supported suffixes when none reads it."""
    _builtins()
    p = Path(path)
    suffix = p.suffix.lower()
    loader = _BY_SUFFIX.get(suffix)
    if loader is None:
        raise LoaderError(
            f"{p}: unsupported file type {suffix or '(none)'}; supported: {', '.join(_BY_SUFFIX)}"
        )
    return loader


class SuffixView(Sequence[str]):
    """The registered suffixes as a read-only sequence that follows the registry.

    ``SUPPORTED_SUFFIXES`` is imported by value (``from ... import SUPPORTED_SUFFIXES``), so a
    tuple taken at import would miss a loader registered later; this view reads the registry
    on every use instead."""

    def __len__(self) -> int:
        return len(supported_suffixes())

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        return supported_suffixes()[i]

    def __iter__(self) -> Iterator[str]:
        return iter(supported_suffixes())

    def __contains__(self, suffix: object) -> bool:
        _builtins()
        return suffix in _BY_SUFFIX

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable contents: not hashable, like a list

    def __repr__(self) -> str:
        return repr(supported_suffixes())
