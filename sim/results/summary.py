"""The JSON digest of a run: the numbers the CLI prints and the app shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.latency import percentiles_ms
from sim.model.slo import evaluate, parse_slo
from sim.model.status import DROPPED, FAILED, OK, STATUS_NAMES, THROTTLED, TIMED_OUT
from sim.results.bottleneck import find_bottleneck, kind_reason, overflowing, overload_entry
from sim.results.summary_models import RunSummary
from sim.scenario.cost import hourly_cost, usage_cost_per_hour
from sim.theory.predictions import ComponentTheory
from sim.twin.equations import downstream_closure
from sim.twin.predict import arrival_rate_rps, predict, theory_summary

if TYPE_CHECKING:
    from sim.results.result import Result


MIN_MEASURED_SHARE = 0.25  # a run capped before this share of its measured window gives no verdict


def request_counts(result: Result) -> dict[str, int]:
    """Requests that arrived in the measured window, by how they ended."""
    status = result.records["status"][result.measured_mask()]
    counts = np.bincount(status.astype(np.int64), minlength=len(STATUS_NAMES))
    finished = int(status.size)
    throttled = {"throttled": int(counts[THROTTLED])} if counts[THROTTLED] else {}
    return {
        "offered": finished + result.info.in_flight_at_end,
        "completed": int(counts[OK]),
        "failed": int(counts[FAILED]),
        "dropped": int(counts[DROPPED]),
        "timed_out": int(counts[TIMED_OUT]),
        "unfinished": result.info.in_flight_at_end,
        **throttled,
    }


def mean_wait_per_request_ms(result: Result) -> float | None:
    """Queueing delay per request, summed over every station it waited at, over the same requests as the
    latency percentiles (successful, arrived in the window), so it never exceeds their mean latency."""
    mask = result.measured_mask() & (result.records["status"] == OK)
    waited = result.records["waited_ms"][mask]
    return float(waited.astype(np.float64).mean()) if waited.size else None


def station_theory(predictions: dict[str, ComponentTheory]) -> dict[str, tuple[float, float | None]]:
    """Per station: the twin's offered utilisation (at or above 1 means no queue can keep up) and capacity."""
    stations: dict[str, tuple[float, float | None]] = {}
    for prediction in predictions.values():
        if prediction.queue_free:
            continue  # its callers' workers bound its load: it cannot overflow on its own
        for name, (rate_rps, offered) in prediction.station_load.items():
            stations[name] = (offered, rate_rps / offered if offered > 0 else None)
    return stations


def overload_report(result: Result, overflowed: list[str],
                    theory: dict[str, tuple[float, float | None]]) -> list[dict[str, Any]]:
    """One entry per overflowed station: offered vs capacity, queue growth, and what it waits on."""
    owners = result.info.station_owner
    closure = downstream_closure(result.scenario)
    entries = []
    for name in overflowed:
        waits_on = [other for other in overflowed if owners[other] in closure[owners[name]]]
        entry = overload_entry(name, result.stations[name], result.span_s, theory.get(name, (0.0, None))[1],
                               waits_on)
        entries.append({"component": owners[name], **entry})
    return entries


def missing_verdict(result: Result) -> str | None:
    """Why this run cannot support a verdict (None when it can): it stopped admitting requests at
    ``max_requests`` before, or soon after, the warm-up ended."""
    capped_at_s, scenario = result.info.capped_at_s, result.scenario
    planned_s = scenario.duration_s - scenario.warmup_s
    if capped_at_s is None or capped_at_s - scenario.warmup_s >= MIN_MEASURED_SHARE * planned_s:
        return None
    when = ("during the warm-up" if capped_at_s <= scenario.warmup_s
            else f"{capped_at_s - scenario.warmup_s:.3g} s after the warm-up")
    return (f"no verdict: the run reached max_requests={scenario.max_requests:,} at {capped_at_s:.3g} s, {when}, "
            f"so less than {MIN_MEASURED_SHARE:.0%} of the {planned_s:g} s measured window holds data and its "
            "numbers describe a fragment, not the system; raise max_requests, shorten duration_s, or lower the "
            "load (users or rate_rps)")


def run_warnings(result: Result) -> list[str]:
    """Plain-language cautions: a run shortened to fit its request cap, stopped early by it, or stopped by one of
    its limits (``stopped``)."""
    warnings = list(result.info.notes)
    if result.info.capped_at_s is not None:
        warnings.append(f"stopped admitting requests at {result.info.capped_at_s:.3g} s after max_requests="
                        f"{result.scenario.max_requests:,}: the measured window ends there ({result.span_s:.3g} s)")
    if result.info.stopped is not None:
        warnings.append(result.info.stopped["message"])
    return warnings


def retry_amplification(components: dict[str, dict[str, Any]], owner: str, offered_rps: float) -> str:
    """When callers retried in the window: the visits the bottleneck's component received per request entering
    the system (retries, and any fan-out, multiply them), to end the bottleneck sentence with."""
    retries = sum(stats.get("retries", 0) for stats in components.values())
    if not retries or offered_rps <= 0:
        return ""
    per_request = components[owner]["arrival_rate_rps"] / offered_rps
    return f"; {owner} receives {per_request:.1f} attempts per request: retries ({retries:,} in the window)"


def build_summary(result: Result) -> RunSummary:
    """Everything a reader needs about one run, typed (``RunSummary``; ``to_data()`` gives the JSON)."""
    scenario = result.scenario
    counts = request_counts(result)
    stations = result.stations
    rate_rps = arrival_rate_rps(scenario)  # for a closed workload a fixed point: worth computing once
    predictions = predict(scenario, rate_rps)
    theory = station_theory(predictions)
    no_verdict = missing_verdict(result)
    overflowed = [] if no_verdict else overflowing(
        stations, {name: offered for name, (offered, _capacity) in theory.items()}, result.span_s)
    overload = overload_report(result, overflowed, theory)
    bottleneck = None if no_verdict else find_bottleneck(stations, result.info.station_owner, overload)
    if bottleneck is not None:
        owner = result.info.station_owner[bottleneck[0]]
        bottleneck = kind_reason(bottleneck, owner, scenario.components[owner], result.components[owner],
                                 predictions.get(owner), overflowed)
        amplification = retry_amplification(result.components, owner, counts["offered"] / result.span_s)
        bottleneck = (bottleneck[0], bottleneck[1] + amplification)
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": result.seed,
        "duration_s": scenario.duration_s,
        "warmup_s": scenario.warmup_s,
        "measured_s": result.span_s,
        "stable": None if no_verdict else not overflowed,
        "overflowed": overflowed,
        "overload": overload,
        "requests": counts,
        "throughput_rps": result.ok_departures_in_window() / result.span_s,
        "error_rate": 1.0 - counts["completed"] / counts["offered"] if counts["offered"] else 0.0,
        "latency_ms": percentiles_ms(result.ok_latencies_ms()),
        "mean_wait_ms": mean_wait_per_request_ms(result),
        "components": result.components,
        "bottleneck": {"component": bottleneck[0], "reason": bottleneck[1]} if bottleneck else None,
        "theory": theory_summary(scenario, rate_rps, predictions),
        "cost_per_hour": hourly_cost(scenario) + usage_cost_per_hour(scenario, result.components),
        "wall_time_s": result.info.wall_time_s,
    }
    if no_verdict:
        summary["no_verdict"] = no_verdict
    summary["slos"] = evaluate([parse_slo(text) for text in scenario.slos], summary)
    summary["slos_passed"] = all(item["passed"] for item in summary["slos"])
    if scenario.workload.type == "closed":
        summary["theory"]["notes"] = ["closed workload: the twin finds the rate from the response-time law "
                                      "X = N / (R + Z) with open-queue responses, so it overstates queueing "
                                      "when there are few users"]
    if result.info.stopped is not None:
        summary["stopped"] = result.info.stopped
    warnings = run_warnings(result)
    if warnings:
        summary["warnings"] = warnings
    return RunSummary.from_data(summary)
