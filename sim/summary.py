"""The JSON digest of a run: the numbers the CLI prints and the app shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.analysis import find_bottleneck, overflowing
from sim.components.base import DROPPED, FAILED, OK, TIMED_OUT
from sim.cost import hourly_cost
from sim.metrics import percentiles_ms
from sim.slo import evaluate, parse_slo
from sim.twin import ComponentTheory
from sim.twin_predict import arrival_rate_rps, predict, theory_summary

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


def mean_wait_per_request_ms(result: Result, offered: int) -> float:
    """Queueing delay per measured request, summed over every station it waited at (Little's law totals)."""
    waited_ms = sum(station["mean_wait_ms"] * station["accepted"] for station in result.stations.values())
    return waited_ms / offered if offered else 0.0


def offered_by_station(predictions: dict[str, ComponentTheory]) -> dict[str, float]:
    """The twin's offered utilisation per station (at or above 1 means no queue can keep up)."""
    offered: dict[str, float] = {}
    for prediction in predictions.values():
        for name, station in prediction.stations.items():
            offered[name] = station.utilisation if station.stable else max(station.utilisation, 1.0)
    return offered


def build_summary(result: Result) -> dict[str, Any]:
    """Everything a reader needs about one run, as plain JSON-compatible data."""
    scenario = result.scenario
    counts = request_counts(result)
    stations = result.stations
    bottleneck = find_bottleneck(stations, result.info.station_owner)
    rate_rps = arrival_rate_rps(scenario)  # for a closed workload a fixed point: worth computing once
    predictions = predict(scenario, rate_rps)
    overflowed = overflowing(stations, offered_by_station(predictions))
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
        "mean_wait_ms": mean_wait_per_request_ms(result, counts["offered"]),
        "components": result.components,
        "bottleneck": {"component": bottleneck[0], "reason": bottleneck[1]} if bottleneck else None,
        "theory": theory_summary(scenario, rate_rps, predictions),
        "cost_per_hour": hourly_cost(scenario),
        "wall_time_s": result.info.wall_time_s,
    }
    summary["slos"] = evaluate([parse_slo(text) for text in scenario.slos], summary)
    summary["slos_passed"] = all(item["passed"] for item in summary["slos"])
    if scenario.workload.type == "closed":
        summary["theory"]["notes"] = ["closed workload: the twin finds the rate from the response-time law "
                                      "X = N / (R + Z) with open-queue responses, so it overstates queueing "
                                      "when there are few users"]
    if result.info.capped:
        summary["warnings"] = [f"stopped admitting requests after max_requests={scenario.max_requests:,}"]
    if result.info.stopped is not None:
        summary["stopped"] = result.info.stopped
        summary.setdefault("warnings", []).append(result.info.stopped["message"])
    return summary
