"""The base of every component kind's runtime: a name, its stations, and visit accounting for Little's law."""

from __future__ import annotations

from typing import Any

from sim.model.status import DROPPED
from sim.runtime.requests import NOT_STARTED, Reply, Request, Visit
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station


class Component:
    """Base of every component: a name, its stations, and visit accounting for Little's law.

    A visit the component turns away on arrival (its queue is full) is ``rejected``: it spends no time inside.
    Every other visit adds its response and its wait when it settles, so means over the visits that settled
    in a window have response >= wait, and in-system = throughput x response (Little's law) up to the visits
    present at the window's two ends.
    """

    kind = "component"
    FIELDS = ("in_system_area", "entered", "settled", "failed", "response_total_s", "rejected", "wait_total_s",
              "in_system")

    def __init__(self, env: Scheduler, name: str, spec: Any) -> None:
        self.env = env
        self.name = name
        self.spec = spec
        self.stations: list[Station] = []
        self.in_system = 0
        self.open_arrivals_sum_s = self.response_total_s = self.wait_total_s = 0.0
        self.entered = self.settled = self.failed = self.rejected = 0

    def connect(self, components: dict[str, Component]) -> None:
        """Look up downstream components by name (called once, after all are built)."""

    def know_classes(self, class_names: tuple[str, ...]) -> None:
        """The workload's request class names, by class index (told once, before the run), for statistics kept
        per class."""

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        """Begin a visit; ``reply(token, status)`` is called exactly once when it ends."""
        raise NotImplementedError

    def prepare_fault(self, fault: Any) -> None:
        """Told before the run of each fault that will strike it (``sim.model.faults``), to keep what it needs."""
        raise NotImplementedError(f"{self.kind} takes no faults")

    def start_fault(self, fault: Any) -> None:
        """The fault begins now."""
        raise NotImplementedError(f"{self.kind} takes no faults")

    def end_fault(self, fault: Any) -> None:
        """The fault ends now."""
        raise NotImplementedError(f"{self.kind} takes no faults")

    def instance_up(self, index: int) -> bool:
        """Whether instance ``index`` answers a health check (no crash under way)."""
        return True

    def extra_fields(self) -> dict[str, float]:
        """Component-specific cumulative counters (e.g. cache hits), snapshotted with the rest."""
        return {}

    def event_columns(self) -> dict[str, Any]:
        """Per-event records of its own as numpy columns (a broker's messages), read after the run."""
        return {}

    def _enter(self, request: Request, reply: Reply, token: Any) -> Visit:
        now = self.env.now
        self.in_system += 1
        self.entered += 1
        self.open_arrivals_sum_s += now
        return Visit(request, reply, token, now)

    def _reject(self, visit: Visit) -> None:
        """Turn a visit away on arrival (its station's queue is full): it is answered DROPPED at once."""
        self.rejected += 1
        self._settle(visit, DROPPED)

    def _settle(self, visit: Visit, status: int) -> None:
        """Answer the caller once; later answers for the same visit (after a timeout) are ignored."""
        if visit.settled:
            return
        visit.settled = True
        now = self.env.now
        self.in_system -= 1
        self.settled += 1
        self.open_arrivals_sum_s -= visit.arrived_s
        self.response_total_s += now - visit.arrived_s
        started_s = visit.started_s
        self.wait_total_s += (now if started_s == NOT_STARTED else started_s) - visit.arrived_s
        if status:
            self.failed += 1
        visit.reply(visit.token, status)

    def snapshot(self, now: float) -> list[float]:
        """Cumulative values of ``FIELDS`` (the last is the level at ``now``) then ``extra_fields`` at ``now``."""
        in_system_area = self.response_total_s + self.in_system * now - self.open_arrivals_sum_s
        values = [in_system_area, self.entered, self.settled, self.failed, self.response_total_s, self.rejected,
                  self.wait_total_s, self.in_system]
        return values + list(self.extra_fields().values())
