"""The specification a message is checked against, from YAML or JSON: items (a concept, its
terms, nominal value, unit, tolerance, modality), the spec's language and the receiver's
locale. A spec item without a unit is allowed; the check then says that its unit and
tolerance were not checked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from plantmind.language.conventions import parse_locale
from plantmind.language.modality import strength_of
from plantmind.language.units import KINDS, Unit, lookup

__all__ = ["Spec", "SpecError", "SpecItem", "load_spec", "spec_from_dict"]


class SpecError(ValueError):
    """A spec file that cannot be used; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpecItem(_Model):
    """One requirement. ``tolerance`` is a symmetric shortcut for ``tol_plus``/``tol_minus``;
    ``kind`` defaults to the unit's; ``modality``: a strength or a modal word of any known
    language ("shall", "muss", "debe", "mandatory")."""

    concept: str = Field(min_length=1)
    terms: dict[str, str | list[str]] = Field(default_factory=dict)
    value: float | None = None
    unit: str | None = None
    tol_plus: float | None = Field(default=None, ge=0)
    tol_minus: float | None = Field(default=None, ge=0)
    tolerance: float | None = Field(default=None, ge=0)
    kind: str | None = None
    modality: str | None = None
    description: str = ""

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, v: str | None) -> str | None:
        if v is not None and lookup(v) is None:
            raise ValueError(f"unknown unit {v!r} (e.g. mm, in, kg, lb, bar, psi, °C, N·m, pcs)")
        return v

    @field_validator("modality")
    @classmethod
    def _known_modality(cls, v: str | None) -> str | None:
        if v is not None:
            strength_of(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SpecItem:
        if self.tolerance is not None:
            if self.tol_plus is not None or self.tol_minus is not None:
                raise ValueError("give either 'tolerance' or 'tol_plus'/'tol_minus', not both")
            self.tol_plus = self.tol_minus = self.tolerance
        elif (self.tol_plus is None) != (self.tol_minus is None):
            raise ValueError("give both 'tol_plus' and 'tol_minus' (0 for a one-sided tolerance)")
        u = self.unit_obj
        if self.kind is not None:
            if self.kind not in KINDS:
                raise ValueError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
            if u is not None and u.kind != self.kind:
                raise ValueError(f"unit {self.unit!r} is a {u.kind} unit, not {self.kind}")
        elif u is not None:
            self.kind = u.kind
        if self.tol_plus is not None and self.value is None:
            raise ValueError("a tolerance needs a nominal 'value'")
        return self

    @property
    def unit_obj(self) -> Unit | None:
        return lookup(self.unit) if self.unit else None

    @property
    def strength(self) -> str | None:
        return strength_of(self.modality) if self.modality else None

    def term_lists(self) -> dict[str, list[str]]:
        return {k: [v] if isinstance(v, str) else list(v) for k, v in self.terms.items()}


class SpecDates(_Model):
    locale: str | None = None


class PartNumberSpec(_Model):
    """Words that introduce a part number (replacing the defaults) and regular expressions
    of the plant's own numbers."""

    prefixes: list[str] | None = None
    patterns: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"invalid part number pattern {p!r}: {exc}") from None
        return v


class Spec(_Model):
    """``language``: the spec's language (the translation target); ``locale`` (or
    ``dates.locale``): the receiver's locale, how the plant reads numbers and dates."""

    language: str | None = None
    locale: str | None = None
    dates: SpecDates | None = None
    items: list[SpecItem] = Field(default_factory=list)
    part_numbers: PartNumberSpec | None = None
    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        """The file it was read from."""
        return self._source

    @field_validator("language")
    @classmethod
    def _language_code(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?", v):
            raise ValueError(f"language {v!r} is not a language code (e.g. en, de, zh)")
        return v

    @model_validator(mode="after")
    def _locales(self) -> Spec:
        for tag in (self.locale, self.dates.locale if self.dates else None):
            if tag is not None:
                parse_locale(tag)
        seen: set[str] = set()
        for it in self.items:
            if it.concept in seen:
                raise ValueError(f"concept {it.concept!r} appears twice in items")
            seen.add(it.concept)
        return self

    @property
    def receiver_locale(self) -> str | None:
        return (self.dates.locale if self.dates and self.dates.locale else None) or self.locale

    def item(self, concept: str) -> SpecItem | None:
        return next((i for i in self.items if i.concept == concept), None)


def _where(err: ErrorDetails) -> str:
    return ".".join(str(p) for p in err.get("loc", ())) or "(top level)"


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec (``.json``, else YAML); :class:`SpecError` names the file
    and the field of every problem."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SpecError(f"{p}: not UTF-8 text") from None
    try:
        doc = json.loads(raw) if p.suffix.lower() == ".json" else yaml.safe_load(raw)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{p}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{p}: not valid YAML{_yaml_where(exc)}") from None
    if doc is None:
        raise SpecError(f"{p}: empty spec (expected a mapping with 'items')")
    if not isinstance(doc, dict):
        raise SpecError(f"{p}: expected a mapping with 'items', got {type(doc).__name__}")
    return spec_from_dict(doc, source=str(p))


def _yaml_where(exc: yaml.YAMLError) -> str:
    """ " at line L, column C: problem" for a YAML error, on one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}"


def spec_from_dict(doc: dict[str, Any], source: str = "<spec>") -> Spec:
    try:
        spec = Spec.model_validate(doc)
    except ValidationError as exc:
        lines = [f"{_where(e)}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise SpecError(f"{source}: invalid spec:\n    " + "\n    ".join(lines)) from None
    spec._source = source
    return spec
