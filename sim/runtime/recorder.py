"""Measurements: per-request records in compact columns, and cumulative snapshots of every level.

Records cost 18 bytes a request (arrival float64, latency and total queueing wait float32, status int8, class
int8); a request's departure is its arrival plus its latency. Levels such as
busy workers and queue length are integrated over time as they change (no sampling error); snapshots of the
running integrals at bin edges give windowed averages for any interval by subtraction.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.runtime.component import Component
from sim.runtime.requests import Request
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station


class RequestRecorder:
    """Collects one row per finished request and counts requests still in flight."""

    def __init__(self, env: Scheduler) -> None:
        self.env = env
        self.arrival_s = array("d")
        self.latency_ms = array("f")
        self.waited_ms = array("f")
        self.status = array("b")
        self.class_index = array("b")
        self.in_flight = 0
        self.drained: Any = None  # the loop's signal, set when the run starts draining

    def finish(self, request: Request, status: int) -> None:
        self.arrival_s.append(request.arrival_s)
        self.latency_ms.append((self.env.now - request.arrival_s) * 1000.0)
        self.waited_ms.append(request.waited_s * 1000.0)
        self.status.append(status)
        self.class_index.append(request.class_index)
        self.in_flight -= 1
        if self.in_flight == 0 and self.drained is not None and not self.drained.triggered:
            self.drained.succeed()

    def columns(self) -> dict[str, np.ndarray]:
        """The records as numpy arrays sharing the recorder's memory."""
        return {
            "arrival_s": np.frombuffer(self.arrival_s, dtype=np.float64),
            "latency_ms": np.frombuffer(self.latency_ms, dtype=np.float32),
            "waited_ms": np.frombuffer(self.waited_ms, dtype=np.float32),
            "status": np.frombuffer(self.status, dtype=np.int8),
            "class_index": np.frombuffer(self.class_index, dtype=np.int8),
        }


@dataclass
class LevelHistory:
    """Cumulative counters of one component or station at each snapshot time (rows) for each field."""

    name: str
    fields: tuple[str, ...]
    values: np.ndarray

    def column(self, field: str) -> np.ndarray:
        return self.values[:, self.fields.index(field)]


class Snapshotter:
    """Records cumulative counters of every component and station at chosen times (and when asked, e.g. at the
    moment a run stops admitting requests); ``taken_s`` lists the times actually taken, in order."""

    def __init__(self, env: Scheduler, components: dict[str, Component], times_s: list[float]) -> None:
        self.env = env
        self.components = components
        self.planned_s = times_s
        self.component_rows: dict[str, list[list[float]]] = {name: [] for name in components}
        self.station_rows: dict[str, list[list[float]]] = {
            station.name: [] for component in components.values() for station in component.stations
        }
        self.taken_s: list[float] = []

    def close_early(self, at_least_s: float) -> None:
        """End the snapshots of a run stopped before its end: one at the stop, after ``at_least_s``.

        A run stopped at the very instant of its last snapshot (so nothing can be measured after it) gets a copy
        of that snapshot just later, which makes an empty window of the right shape rather than none at all.
        """
        if not self.taken_s or self.taken_s[-1] < self.env.now:
            self.take()
        if self.taken_s[-1] <= at_least_s:
            self.taken_s.append(np.nextafter(max(self.taken_s[-1], at_least_s), np.inf).item())
            for rows in (*self.component_rows.values(), *self.station_rows.values()):
                rows.append(list(rows[-1]))

    def start(self) -> None:
        """Schedule every snapshot but the last, which the engine takes when it stops the clock there."""
        for time_s in self.planned_s[:-1]:
            self.env.call_later(time_s - self.env.now, self._take_scheduled, None)

    def _take_scheduled(self, _unused: object) -> None:
        self.take()

    def take(self) -> None:
        now = self.env.now
        self.taken_s.append(now)
        for name, component in self.components.items():
            self.component_rows[name].append(component.snapshot(now))
            for station in component.stations:
                self.station_rows[station.name].append(station.snapshot(now))

    def histories(self) -> tuple[dict[str, LevelHistory], dict[str, LevelHistory]]:
        """Snapshots as arrays: (per component, per station)."""
        components = {
            name: LevelHistory(name, Component.FIELDS + tuple(component.extra_fields()),
                               np.asarray(self.component_rows[name], dtype=float))
            for name, component in self.components.items()
        }
        stations = {name: LevelHistory(name, Station.FIELDS, np.asarray(rows, dtype=float))
                    for name, rows in self.station_rows.items()}
        return components, stations


def snapshot_times(duration_s: float, warmup_s: float, bin_s: float) -> list[float]:
    """Bin edges from 0 to the end, plus the end of warm-up, sorted and unique.

    An edge a hair away from the warm-up or the end (a rounding of either) is left out, so no bin is a sliver.
    """
    ends = (warmup_s, duration_s)
    tolerance_s = bin_s * 1e-6
    edges = [edge for edge in np.arange(0.0, duration_s + 1e-9, bin_s).tolist()
             if edge < duration_s and all(abs(edge - end) > tolerance_s for end in ends)]
    return sorted(set([*edges, *ends]))
