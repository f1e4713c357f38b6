"""Run budgets: a run over its limits stops, keeps what it measured, and says which limit and what to change."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import pytest

import sim
from sim.model.limits import LimitsSpec, merged_limits
from sim.results.summary_models import RunSummary

STOP_BOUND_S = 10.0  # "stops within 10 s": a coarse safety bound with room for a busy machine


def overloaded(**changes: Any) -> sim.Scenario:
    """One worker at 10 ms offered 150 req/s: 150% busy, so the queue fills and in-flight requests pile up."""
    data: dict[str, Any] = {
        "name": "overloaded", "duration_s": 60, "warmup_s": 5,
        "workload": {"rate_rps": 150, "entry": "api"},
        "components": {"api": {"kind": "service", "workers": 1, "queue_capacity": 100_000,
                               "service_time": {"distribution": "exponential", "mean_ms": 10}}},
    }
    data.update(changes)
    return sim.parse_scenario(data)


def check_invariants(summary: RunSummary) -> None:
    """What every run must hold, a stopped one included."""
    capacity_rps = 1000.0 / 10.0
    assert summary["throughput_rps"] <= capacity_rps * 1.1
    api = summary["components"]["api"]
    assert api["mean_response_ms"] >= api["mean_wait_ms"]
    counts = summary["requests"]
    assert counts["offered"] >= counts["completed"] + counts["dropped"] + counts["timed_out"] + counts["failed"]
    json.loads(json.dumps(summary.to_data(), allow_nan=False))


@pytest.mark.parametrize(("limits", "name"), [
    ({"max_events": 5_000}, "max_events"),
    ({"max_wall_time_s": 0.05}, "max_wall_time_s"),
    ({"max_records": 1_000}, "max_records"),
    ({"max_in_flight": 200}, "max_in_flight"),
])
def test_each_limit_stops_the_run_and_says_so(limits: dict[str, float], name: str) -> None:
    scenario = overloaded(duration_s=3600)  # about a million events: seconds of work, whatever the machine
    result = sim.run(scenario, seed=3, limits=limits)
    stopped = result.summary["stopped"]
    assert stopped["limit"] == name and stopped["value"] == pytest.approx(next(iter(limits.values())))
    assert 0 < stopped["at_s"] < 3600
    assert f"stopped at {stopped['at_s']:.4g} of 3600 simulated seconds" in stopped["message"]
    assert "not in the file" in stopped["message"]  # the caller's limit, not the file's: raising it there is moot
    assert result.summary["duration_s"] == pytest.approx(result.info.snapshot_times_s[-1])
    assert stopped["message"] in result.summary["warnings"]
    check_invariants(result.summary)


def test_a_limit_in_the_file_stops_the_run_with_advice_to_raise_it() -> None:
    result = sim.run(overloaded(duration_s=20, limits={"max_events": 1_000}))  # below the check cadence
    assert result.summary["stopped"]["limit"] == "max_events"
    assert "raise limits.max_events" in result.summary["stopped"]["message"]


def test_a_stopped_run_measures_what_it_saw_exactly() -> None:
    """Up to the stop, a stopped run is the same run: the same records as the full run, cut at the stop."""
    scenario = overloaded(duration_s=20, warmup_s=2)
    full = sim.run(scenario, seed=5)
    cut = sim.run(scenario, seed=5, limits={"max_events": 4_096})
    end_s = cut.summary["stopped"]["at_s"]
    finished = full.records["arrival_s"] + full.records["latency_ms"].astype(float) / 1000 <= end_s - 1e-9
    cut_finished = cut.records["arrival_s"] + cut.records["latency_ms"].astype(float) / 1000 <= end_s - 1e-9
    np.testing.assert_array_equal(np.sort(full.records["arrival_s"][finished]),
                                  np.sort(cut.records["arrival_s"][cut_finished]))


def test_cancel_stops_a_run_within_a_few_thousand_events() -> None:
    asked = []

    def cancel() -> bool:
        asked.append(True)
        return len(asked) >= 3

    result = sim.run(overloaded(), cancel=cancel)
    assert result.summary["stopped"]["limit"] == "cancelled" and len(asked) == 3
    check_invariants(result.summary)


def test_a_run_stopped_at_time_zero_still_reports() -> None:
    data = {"name": "crowd", "duration_s": 10, "warmup_s": 1,
            "workload": {"type": "closed", "users": 20_000, "entry": "api",
                         "think_time": {"distribution": "exponential", "mean_ms": 1000}},
            "components": {"api": {"kind": "service", "service_time": {"distribution": "exponential",
                                                                        "mean_ms": 1}}}}
    result = sim.run(sim.parse_scenario(data), limits={"max_events": 1_000})
    assert result.summary["stopped"]["at_s"] == 0.0
    assert result.summary["requests"]["completed"] == 0 and result.summary["throughput_rps"] == 0.0
    json.loads(result.to_json())


def test_a_huge_profile_peak_is_bounded_by_the_event_budget() -> None:
    """Thinning at a 1e6 req/s peak over a 1 req/s base draws a million candidates per arrival: all counted."""
    data = {"name": "step", "duration_s": 60, "warmup_s": 1,
            "workload": {"rate_rps": 1, "entry": "api", "profile": {"kind": "step", "at_s": 10, "rate_rps": 1e6}},
            "components": {"api": {"kind": "service", "workers": 64,
                                   "service_time": {"distribution": "exponential", "mean_ms": 1}}}}
    started = time.monotonic()
    result = sim.run(sim.parse_scenario(data), limits={"max_events": 2_000_000})
    assert time.monotonic() - started < STOP_BOUND_S
    assert result.summary["stopped"]["limit"] == "max_events" and result.summary["stopped"]["at_s"] < 10


def test_limits_that_do_not_bind_change_nothing() -> None:
    scenario = sim.load_scenario("scenarios/cache-aside.yaml")
    plain = sim.run(scenario, seed=2).summary.to_data()
    limited = sim.run(scenario, seed=2, limits={"max_wall_time_s": 600, "max_events": 50_000_000}).summary.to_data()
    for summary in (plain, limited):
        summary.pop("wall_time_s")
    assert plain == limited and "stopped" not in plain


def test_a_caller_can_only_lower_limits() -> None:
    own = LimitsSpec(max_events=10_000)
    assert merged_limits(own, {"max_events": 1_000_000}).max_events == 10_000
    assert merged_limits(own, {"max_events": 5_000}).max_events == 5_000
    for bad in ({"max_events": 10**12}, {"max_bananas": 1}, {"max_wall_time_s": math.inf}):
        with pytest.raises(sim.ScenarioError) as caught:
            sim.run(overloaded(), limits=bad)
        assert caught.value.problems[0].path == "limits"


def test_lower_static_limits_from_the_caller_are_checked_before_running() -> None:
    with pytest.raises(sim.ScenarioError, match=r"limits\.max_fan_out"):
        sim.run(sim.load_scenario("scenarios/cache-aside.yaml"), limits={"max_fan_out": 2})


@pytest.mark.parametrize("duration_s", [1e12, math.inf, math.nan, -1.0, 0.0])
def test_a_duration_override_is_validated_like_the_file(duration_s: float) -> None:
    with pytest.raises(sim.ScenarioError) as caught:
        sim.run(overloaded(), duration_s=duration_s)
    assert caught.value.problems[0].path == "duration_s"


def test_max_requests_still_caps_admissions() -> None:
    result = sim.run(overloaded(max_requests=500))
    # the run is shortened to fit the cap before it starts (issue 9), and says so
    assert any("max_requests=500" in warning for warning in result.summary["warnings"])
    assert len(result.records["status"]) <= 500
