"""A small made-up regulation (CFR style) and a procedure that meets part of it, for the
tests that must run without the shared data."""

from __future__ import annotations

from pathlib import Path

STANDARD = """§ 1910.990 Compressed air receivers (a made-up regulation for tests).

(a) Scope.

(1) This section applies to compressed air receivers of more than 50 litres.

(2) This section does not apply to the following:

(i) Receivers on vehicles;

(ii) Portable breathing-air cylinders.

(b) Definitions applicable to this section.

Receiver.   A vessel that stores compressed air.

(c) Requirements —

(1) Drains.

(i) Every receiver shall be fitted with a drain valve at its lowest point.

(ii) The drain valve shall be opened at least once per shift to remove condensed water.

(2) Safety valves.

(i) Every receiver shall be protected by a spring-loaded safety valve set at or below the maximum allowable working pressure.

(ii) Safety valves shall not be isolated from the receiver by a stop valve.

(iii) The employer shall test each safety valve at least annually and record the result.

(3) Pressure gauges.  The employer shall fit a pressure gauge that is visible from the operating position <script>alert(1)</script>.

(4) Internal inspection.  The receiver shall be internally inspected by a competent person at intervals not exceeding four years. The inspection report shall include the following:

(i) The serial number of the receiver;

(ii) The wall thickness measured;

(iii) The name of the inspector.

(5) Paint.  The employer may paint receivers in any colour.

Note:

Receivers built before 1990 may carry a plate with older units.
"""

REQUIREMENTS = (
    "(c)(1)(i)", "(c)(1)(ii)", "(c)(2)(i)", "(c)(2)(ii)", "(c)(2)(iii)", "(c)(3)", "(c)(4)",
    "(c)(4)(i)", "(c)(4)(ii)", "(c)(4)(iii)",
)  # fmt: skip

SOP = """# SOP-210 — Air receiver care

## 1. Drains

Each air receiver has a drain valve fitted at its lowest point.

Operators open the drain valve once every shift to remove condensed water.

## 2. Safety valve

Every receiver is protected by a spring-loaded safety valve, set at or below the maximum allowable working pressure.

Maintenance tests each safety valve at least annually and records the result in the valve register.

## 3. Internal inspection

A competent person internally inspects each receiver at intervals not exceeding four years.

The inspection report gives the serial number of the receiver and the name of the inspector.
"""

# what SOP leaves out, and the words a passage citing the others must hold
OMITTED = frozenset({"(c)(2)(ii)", "(c)(3)", "(c)(4)(ii)"})
EVIDENCE = {
    "(c)(1)(i)": "drain valve fitted at its lowest point",
    "(c)(1)(ii)": "once every shift",
    "(c)(2)(i)": "spring-loaded safety valve",
    "(c)(2)(iii)": "at least annually",
    "(c)(4)": "internally inspects",
    "(c)(4)(i)": "serial number",
    "(c)(4)(iii)": "name of the inspector",
}
SECTION = "1910.990"


def write(root: Path) -> tuple[Path, Path]:
    """standard.md and a procedures folder under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    std = root / "standard.md"
    std.write_text(STANDARD, encoding="utf-8")
    procs = root / "procedures"
    procs.mkdir(exist_ok=True)
    (procs / "SOP-210_air_receivers.md").write_text(SOP, encoding="utf-8")
    return std, procs
