"""Work-order and failure-history CSV: one block per work order (asset, date, symptom,
cause, action, failure code), with a configurable column mapping.

Without a mapping, columns are found by common names (``equipment_id``, ``asset``,
``actual_finish``, ``wo_description``, ``primary_code``, ...); IBM AssetOpsBench's
``all_wo_with_code_component_events.csv`` loads with the defaults.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from plantmind.knowledge.documents import Block, LoadedDocument, LoaderError

__all__ = ["FIELDS", "load_work_orders", "parse_date"]

# field → candidate column names (lower case), first match wins.
FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("wo_id", "work_order", "work_order_id", "wo", "wonum", "id", "order"),
    "asset": ("asset", "asset_id", "equipment_id", "equipment", "equipment_no", "tag", "unit"),
    "asset_name": ("asset_name", "equipment_name", "equipment_description", "name"),
    "date": (
        "date", "actual_finish", "finish_date", "completed", "completion_date",
        "reported_date", "start_date", "created", "timestamp",
    ),
    "symptom": ("symptom", "problem", "wo_description", "description", "short_text", "text"),
    "cause": ("cause", "failure_cause", "root_cause", "secondary_code_description"),
    "action": ("action", "remedy", "action_taken", "work_done", "resolution"),
    "failure_code": ("failure_code", "primary_code", "code", "failure_mode_code"),
    "failure_description": ("failure_description", "primary_code_description", "failure_mode"),
    "kind": ("preventive", "type", "wo_type", "work_type", "order_type"),
    "component": ("component", "collection", "part"),
}  # fmt: skip

_DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%y", "%m/%d/%Y",
    "%d.%m.%Y", "%d.%m.%Y %H:%M", "%Y/%m/%d",
)  # fmt: skip


def parse_date(text: str) -> str | None:
    """ISO date (YYYY-MM-DD) of a date as work-order exports write it, or None. US
    month/day order is tried before day.month (the dotted European form)."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _resolve_columns(header: list[str], columns: dict[str, str] | None, p: Path) -> dict[str, int]:
    lower = [h.strip().lower() for h in header]
    out: dict[str, int] = {}
    for field, candidates in FIELDS.items():
        for name in candidates:
            if name in lower:
                out[field] = lower.index(name)
                break
    for field, name in (columns or {}).items():
        if field not in FIELDS:
            raise LoaderError(
                f"{p}: unknown work-order field {field!r}; fields: {', '.join(FIELDS)}"
            )
        if name.strip().lower() not in lower:
            raise LoaderError(
                f"{p}: column {name!r} (for {field}) is not in the header: {', '.join(header)}"
            )
        out[field] = lower.index(name.strip().lower())
    if "symptom" not in out and "action" not in out and "failure_description" not in out:
        raise LoaderError(
            f"{p}: not a work-order table: no description, symptom or action column "
            f"(header: {', '.join(header)}); map one, e.g. symptom=<column>"
        )
    return out


def load_work_orders(p: Path, *, columns: dict[str, str] | None = None) -> LoadedDocument:
    """One ``work_order`` block per row; rows without any text are reported and skipped."""
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise LoaderError(f"{p}: empty CSV")
    cols = _resolve_columns(header, columns, p)
    blocks: list[Block] = []
    skipped = 0
    for rownum, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue

        def get(field: str, row: list[str] = row) -> str:
            i = cols.get(field)
            return row[i].strip() if i is not None and i < len(row) else ""

        body = [get("symptom"), get("cause"), get("action")]
        if not any(body) and not get("failure_description"):
            skipped += 1
            continue
        blocks.append(_block(get, rownum))
    problems = [f"{skipped} row(s) without symptom, cause or action skipped"] if skipped else []
    if not blocks:
        raise LoaderError(f"{p}: no work orders with text")
    return LoadedDocument(str(p), p.name, "work_orders", 0, blocks, problems)


def _block(get: Callable[[str], str], rownum: int) -> Block:
    wo = get("id") or f"row {rownum}"
    asset, name = get("asset"), get("asset_name")
    date = parse_date(get("date"))
    kind = get("kind")
    if kind.upper() in ("TRUE", "PM", "PREVENTIVE"):
        kind = "preventive maintenance"
    elif kind.upper() in ("FALSE", "CM", "CORRECTIVE"):
        kind = "corrective maintenance"
    head = f"Work order {wo}"
    if asset or name:
        head += " on " + (f"{name} ({asset})" if name and asset else name or asset)
    if date:
        head += f", {date}"
    parts = [head + "."]
    for label, field in (
        ("Type", None),
        ("Component", "component"),
        ("Symptom", "symptom"),
        ("Cause", "cause"),
        ("Action", "action"),
    ):
        value = kind if field is None else get(field)
        if value:
            parts.append(f"{label}: {value}.")
    code, desc = get("failure_code"), get("failure_description")
    if code or desc:
        parts.append(f"Failure code: {' '.join(x for x in (code, desc) if x)}.")
    return Block(
        "work_order",
        " ".join(parts),
        None,
        f"work order {wo}",
        asset=asset or name or None,
        date=date,
    )
