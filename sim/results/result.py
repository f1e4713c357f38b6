"""The outcome of one run: records, level histories, and the numbers derived from them.

One definition of the measured window, ``[warm-up, end)``, where the end is the run's duration (or the moment
the run stopped admitting requests at ``max_requests``), is used everywhere:

- request throughput counts successful requests that *departed* inside the window; latency percentiles are of
  requests that *arrived* inside it and finished (the drain after the end lets them finish; how many did not
  is ``unfinished``);
- utilisation, queue length and in-system are time averages over the window;
- arrival and throughput rates count arrivals and departures inside it;
- mean wait and mean response are taken over the same visits, those that departed inside the window, so
  response >= wait; a station's mean service time is its busy time per completion (the operational law),
  so throughput <= servers / mean service time = capacity.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine.run import RunInfo, RunOutput
from sim.model.outputs import to_json
from sim.model.status import OK, STATUS_NAMES
from sim.runtime.recorder import LevelHistory
from sim.scenario.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

    from sim.results.summary_models import RunSummary


def _difference(history: LevelHistory, first: int, last: int) -> dict[str, float]:
    return {name: float(history.values[last, index] - history.values[first, index])
            for index, name in enumerate(history.fields)}


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return scale * numerator / denominator if denominator > 0 else None


def station_window(delta: dict[str, float], servers: int, span_s: float, queue_change: float) -> dict[str, Any]:
    """A station's rates, levels and per-visit means over a window, from its counter differences.

    ``queue_change`` is the queue's length at the window's end minus its length at the start.
    """
    departed = delta["completions"] + delta["abandoned"]
    return {
        "servers": servers,
        "utilisation": delta["busy_area"] / (servers * span_s),
        "arrival_rate_rps": delta["arrivals"] / span_s,
        "throughput_rps": delta["completions"] / span_s,
        "capacity_rps": _ratio(servers * delta["completions"], delta["busy_area"]),
        "mean_queue_length": delta["queue_area"] / span_s,
        "mean_in_system": (delta["queue_area"] + delta["busy_area"]) / span_s,
        "mean_wait_ms": _ratio(delta["departed_wait_s"], departed, 1000.0) or 0.0,
        "mean_response_ms": _ratio(delta["departed_response_s"], departed, 1000.0) or 0.0,
        "dropped": int(delta["drops"]),
        "queue_growth_rps": queue_change / span_s,
        "busy_area": delta["busy_area"],
        "accepted": delta["arrivals"] - delta["drops"],
        "departed": departed,
    }


HIDDEN_STATION_KEYS = ("busy_area", "accepted", "departed", "queue_growth_rps")


class Result:
    """Measurements of one replication; ``summary`` is the JSON-ready digest."""

    def __init__(self, scenario: Scenario, info: RunInfo, records: dict[str, np.ndarray],
                 component_levels: dict[str, LevelHistory], station_levels: dict[str, LevelHistory],
                 events: dict[str, dict[str, np.ndarray]] | None = None) -> None:
        self.scenario = scenario
        self.events = events or {}  # per-event records of components that keep them (a broker's messages)
        self.info = info
        self.records = records
        self.component_levels = component_levels
        self.station_levels = station_levels
        times = info.snapshot_times_s
        self.end_s = scenario.duration_s
        if info.capped_at_s is not None and info.capped_at_s < scenario.duration_s:
            self.end_s = info.capped_at_s
        self.start_s = scenario.warmup_s
        if self.start_s >= self.end_s:  # capped during the warm-up: measure what there is (no verdict follows)
            self.start_s = max(time_s for time_s in times if time_s <= self.end_s / 2)
        self.window_start = times.index(self.start_s)
        self.window_end = times.index(self.end_s)
        self.span_s = self.end_s - self.start_s

    @classmethod
    def from_output(cls, output: RunOutput) -> Result:
        """The Result of a finished simulation."""
        return cls(output.scenario, output.info, output.records, output.component_levels, output.station_levels,
                   output.events)

    @property
    def seed(self) -> int:
        return self.info.seed

    def measured_mask(self) -> np.ndarray:
        """Which records arrived inside the measured window."""
        arrival = self.records["arrival_s"]
        return (arrival >= self.start_s) & (arrival < self.end_s)

    def departures_s(self) -> np.ndarray:
        """When each recorded request finished (arrival plus latency)."""
        return self.records["arrival_s"] + self.records["latency_ms"].astype(np.float64) / 1000.0

    def ok_departures_in_window(self) -> int:
        """Successful requests that departed inside the measured window (whenever they arrived)."""
        departure = self.departures_s()
        inside = (departure >= self.start_s) & (departure < self.end_s) & (self.records["status"] == OK)
        return int(np.count_nonzero(inside))

    def _level(self, history: LevelHistory, field_name: str, index: int) -> float:
        return float(history.values[index, history.fields.index(field_name)])

    @functools.cached_property
    def stations(self) -> dict[str, dict[str, Any]]:
        """Per station (instance, database node): utilisation, queue, wait over the measured window."""
        stations = {}
        for name, history in self.station_levels.items():
            queue_change = (self._level(history, "queued", self.window_end)
                            - self._level(history, "queued", self.window_start))
            stations[name] = station_window(_difference(history, self.window_start, self.window_end),
                                            self.info.station_servers[name], self.span_s, queue_change)
        return stations

    @functools.cached_property
    def components(self) -> dict[str, dict[str, Any]]:
        """Per component: its own visit statistics plus the totals of its stations."""
        return {name: self._component_window(name) for name in self.scenario.components}

    def _component_window(self, name: str) -> dict[str, Any]:
        delta = _difference(self.component_levels[name], self.window_start, self.window_end)
        own = [station for station, owner in self.info.station_owner.items() if owner == name]
        served = delta["settled"] - delta["rejected"]  # visits that departed after being let in
        stats: dict[str, Any] = {
            "kind": self.scenario.components[name].kind,
            "arrival_rate_rps": delta["entered"] / self.span_s,
            "throughput_rps": served / self.span_s,
            "mean_in_system": delta["in_system_area"] / self.span_s,
            "mean_response_ms": _ratio(delta["response_total_s"], served, 1000.0) or 0.0,
            "mean_wait_ms": _ratio(delta["wait_total_s"], served, 1000.0) or 0.0,
            "failed": int(delta["failed"]),
        }
        stats.update(self._station_totals([self.stations[station] for station in own]))
        spec = self.scenario.components[name]
        stats.update(spec.window_stats(delta))
        if name in self.events:
            stats.update(spec.event_stats(delta, self.events[name], self.start_s, self.end_s))
        if len(own) > 1:
            stats["stations"] = {station: self._public_station(self.stations[station]) for station in own}
            utilisations = [self.stations[station]["utilisation"] for station in own]
            stats["busiest_station_utilisation"] = max(utilisations)
            stats["imbalance"] = max(utilisations) / min(utilisations) if min(utilisations) > 0 else None
        return stats

    def _station_totals(self, stations: list[dict[str, Any]]) -> dict[str, Any]:
        if not stations:
            return {"servers": 0, "utilisation": None, "capacity_rps": None, "mean_queue_length": 0.0, "dropped": 0}
        servers = sum(station["servers"] for station in stations)
        busy_area = sum(station["busy_area"] for station in stations)
        completions = sum(station["throughput_rps"] for station in stations) * self.span_s
        return {
            "servers": servers,
            "utilisation": busy_area / (servers * self.span_s),
            "capacity_rps": _ratio(servers * completions, busy_area),
            "mean_queue_length": sum(station["mean_queue_length"] for station in stations),
            "dropped": sum(station["dropped"] for station in stations),
        }

    @staticmethod
    def _public_station(station: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in station.items() if key not in HIDDEN_STATION_KEYS}

    @functools.cached_property
    def summary(self) -> RunSummary:
        """The run's digest: request counts, throughput, latency, components, bottleneck, theory (typed)."""
        from sim.results.summary import build_summary

        return build_summary(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The summary as a strict JSON document (a non-finite number is written as null)."""
        return to_json(self.summary.to_data(), indent=indent)

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
        """Windowed series over simulated time (see ``sim.results.timeseries``)."""
        from sim.results.timeseries import build_timeseries

        return build_timeseries(self)
