"""The simulated plant: physics-based, coupled signals for pumps, air compressors, CNC spindles
and belt conveyors (any other signal wanders inside its expected range), normal operating-mode
changes, measurement noise and injectable faults with ground truth. It drives the demo, the
tests and the load benchmarks.

This package owns the simulation only; it knows the plant model and the
:class:`~plantmind.connectors.base.Source` interface, nothing downstream.

Modules: ``engine`` (the simulator and its source), ``faults`` (fault types, validation),
``schedule`` (the demo's faults), ``scaling`` (large plants), one module per asset kind, and
``_dynamics`` / ``_injector`` (shared building blocks, fault effects).
"""

from __future__ import annotations

from plantmind.connectors.simulator.engine import PlantSimulator, SimulatorSource
from plantmind.connectors.simulator.faults import FAULT_KINDS, Fault, FaultKind, FaultWindow
from plantmind.connectors.simulator.scaling import scaled_plant
from plantmind.connectors.simulator.schedule import demo_fault_schedule

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "FaultKind",
    "FaultWindow",
    "PlantSimulator",
    "SimulatorSource",
    "demo_fault_schedule",
    "scaled_plant",
]
