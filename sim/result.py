"""The outcome of one run: records, level histories, and the numbers derived from them.

Window statistics cover the measured interval [warm-up, duration): requests by arrival time, levels by
time-weighted averages between the snapshots at both ends.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.components.base import OK, STATUS_NAMES
from sim.metrics import LevelHistory
from sim.outputs import to_json
from sim.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class RunInfo:
    """Facts about how a run went, beside its measurements."""

    seed: int
    wall_time_s: float
    in_flight_at_end: int
    capped: bool
    snapshot_times_s: list[float]
    station_servers: dict[str, int] = field(default_factory=dict)
    station_owner: dict[str, str] = field(default_factory=dict)
    stopped: dict[str, Any] | None = None  # the limit that ended the run early (``sim.limits.Stop``), if any


def _difference(history: LevelHistory, first: int, last: int) -> dict[str, float]:
    return {name: float(history.values[last, index] - history.values[first, index])
            for index, name in enumerate(history.fields)}


def station_window(delta: dict[str, float], servers: int, span_s: float) -> dict[str, Any]:
    """A station's utilisation, queue and wait over a window, from its counter differences."""
    accepted = delta["arrivals"] - delta["drops"]
    return {
        "servers": servers,
        "utilisation": delta["busy_area"] / (servers * span_s),
        "arrival_rate_rps": delta["arrivals"] / span_s,
        "throughput_rps": delta["completions"] / span_s,
        "mean_queue_length": delta["queue_area"] / span_s,
        "mean_wait_ms": 1000.0 * delta["wait_total_s"] / accepted if accepted > 0 else 0.0,
        "dropped": int(delta["drops"]),
        "busy_area": delta["busy_area"],
        "accepted": accepted,
    }


class Result:
    """Measurements of one replication; ``summary`` is the JSON-ready digest."""

    def __init__(self, scenario: Scenario, info: RunInfo, records: dict[str, np.ndarray],
                 component_levels: dict[str, LevelHistory], station_levels: dict[str, LevelHistory]) -> None:
        self.scenario = scenario
        self.info = info
        self.records = records
        self.component_levels = component_levels
        self.station_levels = station_levels
        times = info.snapshot_times_s
        self.window_start = times.index(scenario.warmup_s)
        self.window_end = times.index(scenario.duration_s)
        self.span_s = scenario.duration_s - scenario.warmup_s

    @property
    def seed(self) -> int:
        return self.info.seed

    def measured_mask(self) -> np.ndarray:
        """Which records arrived inside the measured window."""
        arrival = self.records["arrival_s"]
        return (arrival >= self.scenario.warmup_s) & (arrival < self.scenario.duration_s)

    @functools.cached_property
    def stations(self) -> dict[str, dict[str, Any]]:
        """Per station (instance, database node): utilisation, queue, wait over the measured window."""
        return {
            name: station_window(_difference(history, self.window_start, self.window_end),
                                 self.info.station_servers[name], self.span_s)
            for name, history in self.station_levels.items()
        }

    @functools.cached_property
    def components(self) -> dict[str, dict[str, Any]]:
        """Per component: its own visit statistics plus the totals of its stations."""
        return {name: self._component_window(name) for name in self.scenario.components}

    def _component_window(self, name: str) -> dict[str, Any]:
        delta = _difference(self.component_levels[name], self.window_start, self.window_end)
        own = [station for station, owner in self.info.station_owner.items() if owner == name]
        stats: dict[str, Any] = {
            "kind": self.scenario.components[name].kind,
            "arrival_rate_rps": delta["entered"] / self.span_s,
            "throughput_rps": delta["settled"] / self.span_s,
            "mean_in_system": delta["in_system_area"] / self.span_s,
            "mean_response_ms": 1000.0 * delta["response_total_s"] / delta["settled"] if delta["settled"] else 0.0,
            "failed": int(delta["failed"]),
        }
        stats.update(self._station_totals([self.stations[station] for station in own]))
        if "hits" in delta:
            lookups = delta["hits"] + delta["misses"]
            stats["hit_ratio"] = delta["hits"] / lookups if lookups else None
        if len(own) > 1:
            stats["stations"] = {station: self._public_station(self.stations[station]) for station in own}
            utilisations = [self.stations[station]["utilisation"] for station in own]
            stats["busiest_station_utilisation"] = max(utilisations)
            stats["imbalance"] = max(utilisations) / min(utilisations) if min(utilisations) > 0 else None
        return stats

    def _station_totals(self, stations: list[dict[str, Any]]) -> dict[str, Any]:
        if not stations:
            return {"servers": 0, "utilisation": None, "mean_queue_length": 0.0, "mean_wait_ms": 0.0, "dropped": 0}
        servers = sum(station["servers"] for station in stations)
        accepted = sum(station["accepted"] for station in stations)
        waited_ms = sum(station["mean_wait_ms"] * station["accepted"] for station in stations)
        return {
            "servers": servers,
            "utilisation": sum(station["busy_area"] for station in stations) / (servers * self.span_s),
            "mean_queue_length": sum(station["mean_queue_length"] for station in stations),
            "mean_wait_ms": waited_ms / accepted if accepted else 0.0,
            "dropped": sum(station["dropped"] for station in stations),
        }

    @staticmethod
    def _public_station(station: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in station.items() if key not in ("busy_area", "accepted")}

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        """The run's digest: request counts, throughput, latency, components, bottleneck, theory."""
        from sim.summary import build_summary

        return build_summary(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The summary as a strict JSON document (a non-finite number is written as null)."""
        return to_json(self.summary, indent=indent)

    def to_pandas(self) -> pd.DataFrame:
        """One row per finished request: arrival, latency, status name, class name, measured flag."""
        import pandas as pd

        class_names = np.array([request_class.name for request_class in self.scenario.workload.classes])
        return pd.DataFrame({
            "arrival_s": self.records["arrival_s"],
            "latency_ms": self.records["latency_ms"].astype(np.float64),
            "status": np.array(STATUS_NAMES)[self.records["status"]],
            "request_class": class_names[self.records["class_index"]],
            "measured": self.measured_mask(),
        })

    def ok_latencies_ms(self) -> np.ndarray:
        """Latencies of requests that arrived in the measured window and succeeded."""
        mask = self.measured_mask() & (self.records["status"] == OK)
        return self.records["latency_ms"][mask]

    def timeseries(self) -> dict[str, Any]:
        """Windowed series over simulated time (see ``sim.timeseries``)."""
        from sim.timeseries import build_timeseries

        return build_timeseries(self)
