"""Invariants of the measured window on random small scenarios, overloaded ones included (hypothesis).

Whatever the load, in every run: utilisation <= 1, throughput <= capacity (servers / mean service time),
response >= wait, Little's law up to the visits present at the window's ends, and the component counters agree
with the per-request records they were not computed from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.model.status import DROPPED, TIMED_OUT
from sim.results.result import Result

EXACT = 1e-9
DISTRIBUTIONS = [
    {"distribution": "exponential", "mean_ms": 1.0},
    {"distribution": "deterministic", "mean_ms": 1.0},
    {"distribution": "uniform", "low_ms": 0.0, "high_ms": 2.0},
    {"distribution": "lognormal", "mean_ms": 1.0, "cv": 1.5},
]


def scaled(distribution: dict[str, Any], mean_ms: float) -> dict[str, Any]:
    """The distribution with its mean moved to ``mean_ms``."""
    return {key: value * mean_ms if key.endswith("_ms") else value for key, value in distribution.items()}


@st.composite
def scenarios(draw: st.DrawFn) -> sim.Scenario:
    """A service, maybe behind a balancer, maybe calling a cache and/or a database or a second service."""
    mean_ms = draw(st.floats(1.0, 20.0))
    workers = draw(st.integers(1, 3))
    instances = draw(st.integers(1, 2))
    api: dict[str, Any] = {"kind": "service", "instances": instances, "workers": workers,
                           "queue_capacity": draw(st.integers(0, 60)),
                           "service_time": scaled(draw(st.sampled_from(DISTRIBUTIONS)), mean_ms)}
    if draw(st.booleans()):
        api["timeout_ms"] = draw(st.floats(5.0, 200.0))
    components: dict[str, Any] = {"api": api}
    downstream = draw(st.sampled_from(["none", "service", "database", "cache"]))
    if downstream == "service":
        components["backend"] = {"kind": "service", "workers": draw(st.integers(1, 4)),
                                 "service_time": scaled(draw(st.sampled_from(DISTRIBUTIONS)), draw(st.floats(1, 10)))}
        api["calls"] = ["backend"]
    elif downstream in ("database", "cache"):
        components["db"] = {"kind": "database", "pool_size": draw(st.integers(1, 4)), "queue_capacity": 100,
                            "shards": draw(st.integers(1, 2)),
                            "read_time": {"distribution": "exponential", "mean_ms": draw(st.floats(1, 10))},
                            "write_time": {"distribution": "exponential", "mean_ms": 5.0}}
        api["calls"] = ["db"]
        if downstream == "cache":
            components["cache"] = {"kind": "cache", "store": "db", "capacity_keys": 50}
            api["calls"] = ["cache"]
    entry = "api"
    if instances > 1 and draw(st.booleans()):
        components["lb"] = {"kind": "load_balancer", "target": "api",
                            "policy": draw(st.sampled_from(["round_robin", "random", "least_connections"]))}
        entry = "lb"
    load = draw(st.floats(0.2, 3.0))  # offered load of the api's own work against its workers
    rate_rps = load * instances * workers * 1000.0 / mean_ms
    return sim.parse_scenario({
        "name": "property", "duration_s": draw(st.floats(2.0, 5.0)), "warmup_s": 0.5, "time_bin_s": 0.5,
        "seed": draw(st.integers(0, 1000)),
        "workload": {"rate_rps": rate_rps, "entry": entry, "keys": {"count": 200, "distribution": "zipf"},
                     "classes": [{"name": "read", "weight": 0.8}, {"name": "write", "weight": 0.2,
                                                                   "operation": "write"}]},
        "components": components,
    })


def age_at(history: Any, area: str, departed: str, index: int) -> float:
    """Total age of the visits present at a snapshot: the in-system area so far minus departed sojourns."""
    return float(history.column(area)[index] - history.column(departed)[index])


def check_stations(result: Result) -> None:
    for name, station in result.stations.items():
        assert 0.0 <= station["utilisation"] <= 1.0 + EXACT, name
        if station["capacity_rps"] is not None:
            assert station["throughput_rps"] <= station["capacity_rps"] * (1 + EXACT), name
        assert station["mean_response_ms"] >= station["mean_wait_ms"] - EXACT, name
        history = result.station_levels[name]
        areas = history.column("queue_area") + history.column("busy_area")
        ages = areas - history.column("departed_response_s")
        start_age, end_age = ages[result.window_start], ages[result.window_end]
        assert start_age >= -EXACT and end_age >= -EXACT, name
        # Little's law: in-system x T = departed x response, up to the visits present at either end
        present_s = station["mean_in_system"] * result.span_s
        passed_s = station["departed"] * station["mean_response_ms"] / 1000.0
        assert passed_s - start_age - EXACT <= present_s <= passed_s + end_age + EXACT, name


def check_components(result: Result, has_timeout: bool) -> None:
    levels = result.component_levels
    for name, component in result.components.items():
        assert component["mean_response_ms"] >= component["mean_wait_ms"] - EXACT, name
        history = levels[name]
        ages = history.column("in_system_area") - history.column("response_total_s")
        start_age, end_age = ages[result.window_start], ages[result.window_end]
        present_s = component["mean_in_system"] * result.span_s
        passed_s = component["throughput_rps"] * component["mean_response_ms"] / 1000.0 * result.span_s
        assert passed_s - start_age - 1e-6 <= present_s <= passed_s + end_age + 1e-6, name
        if component["utilisation"] is not None:
            assert component["utilisation"] <= 1.0 + EXACT, name
            if not has_timeout and component["capacity_rps"] is not None:
                # each visit settles as its worker is released: the component's departures are its completions
                assert component["throughput_rps"] <= component["capacity_rps"] * (1 + EXACT), name


def check_requests_against_records(result: Result) -> None:
    """The entry service's counters, recomputed from the per-request records (which they never read)."""
    records = result.records
    departure = result.departures_s()
    inside = (departure >= result.start_s) & (departure < result.end_s)
    served = inside & (records["status"] != DROPPED)
    api = result.components["api"]
    assert api["throughput_rps"] * result.span_s == pytest.approx(np.count_nonzero(served), abs=2)
    if np.count_nonzero(served) > 20:
        latency = records["latency_ms"][served].astype(np.float64).mean()
        assert api["mean_response_ms"] == pytest.approx(latency, rel=1e-3, abs=1e-3)
        untimed = served & (records["status"] != TIMED_OUT)
        if np.count_nonzero(untimed) == np.count_nonzero(served):
            waited = records["waited_ms"][served].astype(np.float64).mean()
            assert api["mean_wait_ms"] == pytest.approx(waited, rel=1e-3, abs=1e-3)


def check_summary(result: Result) -> None:
    summary = result.summary
    latency, wait = summary["latency_ms"]["mean"], summary["mean_wait_ms"]
    if latency is not None:
        assert wait is not None and wait <= latency + 1e-3
    if summary["stable"] is False:
        assert summary["overload"], "an unstable run says which station overflowed and by how much"
        for entry in summary["overload"]:
            assert entry["offered_rps"] > 0 and entry["capacity_rps"] is not None, entry
        assert "headroom" not in summary["bottleneck"]["reason"]
    if summary["stable"]:
        assert summary["overload"] == []


@settings(max_examples=40, deadline=None)
@given(scenario=scenarios())
def test_window_invariants_hold_in_every_run(scenario: sim.Scenario) -> None:
    result = sim.run(scenario)
    has_timeout = scenario.components["api"].timeout_ms is not None  # type: ignore[union-attr]
    check_stations(result)
    check_components(result, has_timeout)
    if list(scenario.components) == ["api"]:  # then a request's only visit is the api's, drops included
        check_requests_against_records(result)
    check_summary(result)
