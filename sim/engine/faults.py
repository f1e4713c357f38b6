"""The fault controller: tells each struck component of its faults before the run, then starts and ends them
at their times (``sim.model.faults``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sim.model.faults import FaultSpec
from sim.runtime.component import Component
from sim.runtime.scheduler import Scheduler


def schedule_faults(env: Scheduler, faults: Sequence[FaultSpec], components: Mapping[str, Component]) -> None:
    """Schedule every fault's start and end on the event loop (times from the run's start)."""
    for fault in faults:
        component = components[fault.component]
        component.prepare_fault(fault)
        env.call_later(fault.at_s, component.start_fault, fault)
        env.call_later(fault.at_s + fault.duration_s, component.end_fault, fault)
