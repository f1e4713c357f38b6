"""The JSON digest of a run: the numbers the CLI prints and the app shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.analysis import find_bottleneck, overflowing
from sim.components.base import DROPPED, FAILED, OK, TIMED_OUT
from sim.metrics import percentiles_ms
from sim.twin_predict import predict, theory_summary

if TYPE_CHECKING:
    from sim.result import Result


def request_counts(result: Result) -> dict[str, int]:
    """Requests that arrived in the measured window, by how they ended."""
    status = result.records["status"][result.measured_mask()]
    counts = np.bincount(status.astype(np.int64), minlength=4)
    finished = int(status.size)
    return {
        "offered": finished + result.info.in_flight_at_end,
        "completed": int(counts[OK]),
        "failed": int(counts[FAILED]),
        "dropped": int(counts[DROPPED]),
        "timed_out": int(counts[TIMED_OUT]),
        "unfinished": result.info.in_flight_at_end,
    }


def offered_by_station(result: Result) -> dict[str, float]:
    """The twin's offered utilisation per station (at or above 1 means no queue can keep up)."""
    offered: dict[str, float] = {}
    for prediction in predict(result.scenario).values():
        for name, station in prediction.stations.items():
            offered[name] = station.utilisation if station.stable else max(station.utilisation, 1.0)
    return offered


def build_summary(result: Result) -> dict[str, Any]:
    """Everything a reader needs about one run, as plain JSON-compatible data."""
    scenario = result.scenario
    counts = request_counts(result)
    stations = result.stations
    bottleneck = find_bottleneck(stations, result.info.station_owner)
    overflowed = overflowing(stations, offered_by_station(result))
    stable = not overflowed and not result.info.capped
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": result.seed,
        "duration_s": scenario.duration_s,
        "warmup_s": scenario.warmup_s,
        "stable": stable,
        "overflowed": overflowed,
        "requests": counts,
        "throughput_rps": counts["completed"] / result.span_s,
        "error_rate": 1.0 - counts["completed"] / counts["offered"] if counts["offered"] else 0.0,
        "latency_ms": percentiles_ms(result.ok_latencies_ms()),
        "components": result.components,
        "bottleneck": {"component": bottleneck[0], "reason": bottleneck[1]} if bottleneck else None,
        "theory": theory_summary(scenario),
        "wall_time_s": result.info.wall_time_s,
    }
    if result.info.capped:
        summary["warnings"] = [f"stopped admitting requests after max_requests={scenario.max_requests:,}"]
    return summary
