"""The plant model: ``plant.yaml`` (sites → lines → assets → signals, inspection stations,
document folders, egress policy), validated with pydantic, and the flat signal table that the
edge pipeline indexes by integer.

Validation errors name the file, the line, the path inside the document
(``sites[0].assets[2].signals[1].unit``) and the problem. A key given twice in one mapping is
an error too (YAML loaders keep the last silently, so an edit could vanish unnoticed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plantmind.core.connectivity import ConnectorConfig
from plantmind.core.routing import LlmSettings

__all__ = [
    "Asset",
    "DocumentFolder",
    "EgressPolicy",
    "Line",
    "Plant",
    "PlantConfigError",
    "PlantIndex",
    "Signal",
    "SignalSensitivity",
    "Site",
    "Station",
    "example_plant_path",
    "load_plant",
    "parse_plant",
]

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: How far a signal's readings may travel: ``public`` and ``internal`` ones leave the site as
#: the egress policy allows; the values of ``confidential`` ones stay home unless
#: ``egress.confidential_values`` is set (see :mod:`plantmind.sync.egress`).
SignalSensitivity = Literal["public", "internal", "confidential"]


class Signal(_Model):
    """One measured quantity of an asset."""

    id: Identifier = Field(description="Unique across the plant, e.g. 'P101.vibration_rms'.")
    name: str = Field(min_length=1)
    unit: str = Field(min_length=1, description="Engineering unit, e.g. 'mm/s', 'degC', 'bar'.")
    expected_range: tuple[float, float] = Field(
        description="[low, high] of normal operation, in the signal's unit."
    )
    sample_rate_hz: float = Field(gt=0, le=100_000, description="Nominal sample rate.")
    description: str = ""
    role: str | None = Field(
        default=None,
        description="What the signal measures on its asset (e.g. 'bearing_temperature'); "
        "used by the simulator and by health models.",
    )
    sensitivity: SignalSensitivity | None = Field(
        default=None,
        description="public | internal | confidential; unset: the asset's "
        "(see Asset.signal_sensitivity).",
    )

    @model_validator(mode="after")
    def _range_ordered(self) -> Signal:
        low, high = self.expected_range
        if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
            raise ValueError(
                f"expected_range must be two finite numbers with low < high, got {list(self.expected_range)}"
            )
        return self


class Asset(_Model):
    id: Identifier
    name: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="e.g. centrifugal_pump, air_compressor.")
    description: str = ""
    sensitivity: SignalSensitivity = Field(
        default="internal",
        description="public | internal | confidential; the default of the asset's signals.",
    )
    signals: list[Signal] = Field(default_factory=list)

    def signal_sensitivity(self, signal: Signal) -> SignalSensitivity:
        """A signal's effective sensitivity: its own if it sets one, else this asset's."""
        return signal.sensitivity if signal.sensitivity is not None else self.sensitivity


class Line(_Model):
    id: Identifier
    name: str = Field(min_length=1)
    assets: list[Asset] = Field(default_factory=list)


class Region(_Model):
    """A rectangle in image pixel coordinates."""

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)


class Station(_Model):
    """A visual inspection station."""

    id: Identifier
    name: str = Field(min_length=1)
    line: str | None = None
    regions_of_interest: list[Region] = Field(default_factory=list)
    excluded_regions: list[Region] = Field(default_factory=list)
    false_reject_rate: float = Field(default=0.01, gt=0, lt=0.5)
    fixed_position: bool = Field(
        default=True,
        description="Parts sit in a fixture: each patch is compared with good patches from the "
        "same place of the part (false: from anywhere in the image).",
    )


class DocumentFolder(_Model):
    path: str = Field(min_length=1, description="Relative to the plant file, or absolute.")
    kind: Literal["manuals", "sops", "work_orders", "standards", "other"] = "other"
    description: str = ""


class Site(_Model):
    id: Identifier
    name: str = Field(min_length=1)
    timezone: str = "UTC"
    lines: list[Line] = Field(default_factory=list)
    stations: list[Station] = Field(default_factory=list)
    documents: list[DocumentFolder] = Field(default_factory=list)
    connectors: list[ConnectorConfig] = Field(default_factory=list)


EgressCategory = Literal[
    "alerts", "health", "aggregates", "events", "models", "raw_samples", "images", "documents"
]


def _default_egress() -> list[EgressCategory]:
    # ``models``: which model versions the site runs (names, versions, digests): no plant data
    return ["alerts", "health", "aggregates", "models"]


class EgressPolicy(_Model):
    """What may leave the site, enforced by :mod:`plantmind.sync.egress` when an event enters
    the outbox. The default is the safe one: alerts, health summaries and hourly aggregates
    only; raw samples, images and document text stay home unless listed in ``allow``."""

    allow: list[EgressCategory] = Field(default_factory=_default_egress)
    outbox_max_mb: float = Field(
        default=256.0,
        gt=0,
        description="Disk budget of the outbox's queued payloads; over it the oldest events of "
        "the lowest-priority category are dropped first (aggregates, then health, then alerts).",
    )
    outbox_max_events: int = Field(
        default=2_000_000, gt=0, description="Most events queued in the outbox."
    )
    aggregate_period_s: float = Field(
        default=3600.0, gt=0, description="Width of the aggregate summaries sent to the hub."
    )
    confidential_values: bool = Field(
        default=False,
        description="Let values of confidential signals (aggregates, alert readings) and the "
        "health of confidential assets leave the site; false: only value-free alert texts do.",
    )


class Plant(_Model):
    version: Literal[1] = 1
    name: str = Field(min_length=1)
    sites: list[Site] = Field(min_length=1)
    egress: EgressPolicy = Field(default_factory=EgressPolicy)
    llm: LlmSettings = Field(default_factory=LlmSettings)

    @model_validator(mode="after")
    def _unique_ids(self) -> Plant:
        seen: dict[str, str] = {}
        for path, kind, ident in self._walk_ids():
            key = f"{kind}:{ident}"
            if key in seen:
                raise ValueError(f"duplicate {kind} id {ident!r} at {path} (first at {seen[key]})")
            seen[key] = path
        return self

    def _walk_ids(self) -> Iterator[tuple[str, str, str]]:
        for si, site in enumerate(self.sites):
            yield f"sites[{si}]", "site", site.id
            for li, line in enumerate(site.lines):
                yield f"sites[{si}].lines[{li}]", "line", line.id
                for ai, asset in enumerate(line.assets):
                    apath = f"sites[{si}].lines[{li}].assets[{ai}]"
                    yield apath, "asset", asset.id
                    for gi, sig in enumerate(asset.signals):
                        yield f"{apath}.signals[{gi}]", "signal", sig.id
            for ti, st in enumerate(site.stations):
                yield f"sites[{si}].stations[{ti}]", "station", st.id

    def iter_assets(self) -> Iterator[tuple[Site, Line, Asset]]:
        for site in self.sites:
            for line in site.lines:
                for asset in line.assets:
                    yield site, line, asset

    def asset(self, asset_id: str) -> Asset:
        for _, _, asset in self.iter_assets():
            if asset.id == asset_id:
                return asset
        raise KeyError(f"unknown asset {asset_id!r}")


class PlantConfigError(ValueError):
    """plant.yaml could not be read or is invalid; the message says where and why."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid plant model:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class PlantIndex:
    """The plant's signals as flat arrays, in a fixed order, for vectorised processing.

    Signal ``i`` has id ``signal_ids[i]`` and belongs to asset ``asset_of[i]``
    (an index into ``asset_ids``). ``signal_sensitivity[i]`` and ``asset_sensitivity[a]`` are
    the effective sensitivities (a signal inherits its asset's unless it sets its own).
    """

    signal_ids: tuple[str, ...]
    asset_ids: tuple[str, ...]
    site_of_asset: tuple[str, ...]
    asset_of: np.ndarray
    low: np.ndarray
    high: np.ndarray
    rate_hz: np.ndarray
    # defaults: an index built by hand (tests, tools) is all ``internal``
    signal_sensitivity: tuple[SignalSensitivity, ...] = ()
    asset_sensitivity: tuple[SignalSensitivity, ...] = ()

    @classmethod
    def build(cls, plant: Plant) -> PlantIndex:
        signal_ids: list[str] = []
        asset_ids: list[str] = []
        site_of: list[str] = []
        asset_of: list[int] = []
        low: list[float] = []
        high: list[float] = []
        rate: list[float] = []
        sig_sens: list[SignalSensitivity] = []
        asset_sens: list[SignalSensitivity] = []
        for site, _, asset in plant.iter_assets():
            a = len(asset_ids)
            asset_ids.append(asset.id)
            site_of.append(site.id)
            asset_sens.append(asset.sensitivity)
            for sig in asset.signals:
                signal_ids.append(sig.id)
                sig_sens.append(asset.signal_sensitivity(sig))
                asset_of.append(a)
                low.append(sig.expected_range[0])
                high.append(sig.expected_range[1])
                rate.append(sig.sample_rate_hz)
        return cls(
            tuple(signal_ids),
            tuple(asset_ids),
            tuple(site_of),
            np.asarray(asset_of, dtype=np.int32),
            np.asarray(low, dtype=np.float64),
            np.asarray(high, dtype=np.float64),
            np.asarray(rate, dtype=np.float64),
            tuple(sig_sens),
            tuple(asset_sens),
        )

    @property
    def n_signals(self) -> int:
        return len(self.signal_ids)

    @property
    def n_assets(self) -> int:
        return len(self.asset_ids)

    def signal_position(self) -> dict[str, int]:
        return {sid: i for i, sid in enumerate(self.signal_ids)}

    def signals_of_asset(self, asset_index: int) -> np.ndarray:
        return np.flatnonzero(self.asset_of == asset_index)

    @property
    def confidential_signals(self) -> frozenset[str]:
        """Ids of the signals whose effective sensitivity is ``confidential``."""
        return frozenset(
            sid
            for sid, sens in zip(self.signal_ids, self.signal_sensitivity, strict=False)
            if sens == "confidential"
        )

    @property
    def confidential_assets(self) -> frozenset[str]:
        """Ids of the assets marked ``confidential`` themselves."""
        return frozenset(
            aid
            for aid, sens in zip(self.asset_ids, self.asset_sensitivity, strict=False)
            if sens == "confidential"
        )


# --- loading -----------------------------------------------------------------------------------


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union")):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc``, or of its deepest existing parent."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if getattr(key, "value", None) == part:
                    nxt = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _duplicate_keys(root: yaml.Node | None) -> list[str]:
    """``line N: path: duplicate key 'k' (first at line M)`` for every key that appears twice
    in one mapping of the composed document."""
    problems: list[tuple[int, str]] = []
    seen_nodes: set[int] = set()  # aliases share nodes: visit each once
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())] if root is not None else []
    while stack:  # iterative: a deeply nested file must not hit the recursion limit
        node, loc = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if key.tag == _MERGE_TAG or not isinstance(key, yaml.ScalarNode):
                    stack.append((value, loc))
                    continue
                line = key.start_mark.line + 1
                ident = (key.tag, key.value)
                if ident in first:
                    problems.append(
                        (
                            line,
                            f"line {line}: {_format_loc((*loc, key.value))}: duplicate key "
                            f"{key.value!r} (first at line {first[ident]})",
                        )
                    )
                else:
                    first[ident] = line
                stack.append((value, (*loc, key.value)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*loc, i)) for i, item in enumerate(node.value))
    return [msg for _, msg in sorted(problems)]


def parse_plant(text: str, source: str = "<plant.yaml>") -> Plant:
    """Parse and validate plant YAML text; ``source`` names it in error messages."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise PlantConfigError(source, [f"malformed YAML at {where}: {exc.problem}"]) from exc
    except yaml.YAMLError as exc:
        raise PlantConfigError(source, [f"malformed YAML: {exc}"]) from exc
    duplicates = _duplicate_keys(root)
    if duplicates:
        raise PlantConfigError(source, duplicates)
    if not isinstance(data, dict):
        raise PlantConfigError(
            source,
            [f"the document must be a mapping with 'name' and 'sites', got {type(data).__name__}"],
        )
    try:
        return Plant.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _node_line(root, loc)
            where = f"line {line}: " if line else ""
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}{_format_loc(loc)}: {msg}")
        raise PlantConfigError(source, problems) from None


def load_plant(path: str | Path) -> Plant:
    """Read and validate a plant.yaml file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlantConfigError(str(p), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlantConfigError(str(p), [f"cannot read: {exc}"]) from None
    return parse_plant(text, str(p))


def example_plant_path() -> Path:
    """The example plant that ships in the package (the simulated demo plant)."""
    return Path(str(resources.files("plantmind.examples").joinpath("plant.yaml")))
