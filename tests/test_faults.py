"""Faults: a crash behind a balancer with health checks makes the error burst the detection time says; without
checks the balancer feeds the dead instance until it restarts; slow and error faults act only in their window;
a fault that cannot strike is named by its field."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.model.errors import ScenarioError
from sim.model.faults import HealthCheckSpec
from sim.model.status import FAILED, OK
from sim.scenario.gallery import load_gallery_scenario
from sim.scenario.overrides import with_overrides
from sim.theory.queues import mmc
from tests.stats_helpers import confidence_interval

SEEDS = range(1, 21)
RATE_RPS, INSTANCES = 400.0, 4


def failed_requests(scenario: sim.Scenario, seeds: range = SEEDS) -> list[float]:
    return [float(np.sum(sim.run(scenario, seed=seed).records["status"] == FAILED)) for seed in seeds]


def in_flight_at_one_instance() -> float:
    """Requests inside one instance when it crashes: M/M/2 at a quarter of the rate (Little's law)."""
    prediction = mmc(RATE_RPS / INSTANCES, 10.0, 2)
    assert prediction.mean_in_system is not None
    return prediction.mean_in_system


def test_a_crash_s_error_burst_is_rate_times_share_times_detection_time() -> None:
    """Round robin sends a quarter of 400 req/s to the dead instance until the second failed probe, 1 to 2 s
    after the crash (the probes' phase is random): 100 x 1.5 s = 150 requests, plus the ~1.3 in flight."""
    scenario = load_gallery_scenario("instance-crash")
    check = HealthCheckSpec(interval_ms=1000, unhealthy_threshold=2)
    expected = RATE_RPS / INSTANCES * check.mean_detection_s() + in_flight_at_one_instance()
    interval = confidence_interval(failed_requests(scenario))
    assert interval.relative_half_width < 0.15
    assert abs(interval.mean - expected) <= 1.5 * interval.half_width, (interval, expected)


def test_without_health_checks_the_dead_instance_gets_its_share_until_it_restarts() -> None:
    scenario = with_overrides(load_gallery_scenario("instance-crash"), {"components.lb.health_check": None})
    expected = RATE_RPS / INSTANCES * 10.0 + in_flight_at_one_instance()  # the whole 10 s of downtime
    interval = confidence_interval(failed_requests(scenario, range(1, 6)))
    assert abs(interval.mean - expected) <= max(1.5 * interval.half_width, 0.02 * expected), (interval, expected)


def test_the_burst_is_in_the_availability_series_and_the_instance_returns() -> None:
    result = sim.run(load_gallery_scenario("instance-crash"), seed=1)
    series = result.timeseries()
    failed = dict(zip(series["time_s"], series["requests"]["failed_rps"], strict=True))
    burst = sum(value or 0 for time_s, value in failed.items() if 20 <= time_s < 23)
    assert burst == np.sum(result.records["status"] == FAILED) > 100
    assert all(not value for time_s, value in failed.items() if time_s < 20 or time_s >= 23)
    served = series["stations"]["api/instance-0"]["utilisation"]
    after_restart = [value for time_s, value in zip(series["time_s"], served, strict=True) if time_s >= 33]
    assert min(after_restart) > 0.3  # back in rotation after two good probes, half busy again
    assert result.summary.error_rate < 0.01  # the scenario's SLO holds: the burst is under 1% of the run


def test_an_error_fault_fails_its_share_only_inside_its_window() -> None:
    scenario = with_overrides(load_gallery_scenario("instance-crash"),
                              {"faults": [{"kind": "errors", "component": "api", "at_s": 10, "duration_s": 10,
                                           "share": 0.2}]})
    records = sim.run(scenario, seed=3).records
    inside = (records["arrival_s"] >= 10.0) & (records["arrival_s"] < 20.0)
    share = float(np.mean(records["status"][inside] == FAILED))
    count = int(inside.sum())
    assert share == pytest.approx(0.2, abs=3 * np.sqrt(0.2 * 0.8 / count))
    assert np.all(records["status"][~inside] == OK)


def test_a_slow_fault_stretches_service_times_in_its_window() -> None:
    """At a tenth of the load, 2 workers at 10 ms are nearly always free: the mean latency is the service
    time, and ten times it while the fault lasts (M/M/2 at 10% vs at 100 ms x 10 req/s = 50%)."""
    scenario = with_overrides(load_gallery_scenario("instance-crash"),
                              {"workload.rate_rps": 40.0, "components.lb.policy": "random",  # Poisson per instance
                               "faults": [{"kind": "slow", "component": "api", "at_s": 10, "duration_s": 20,
                                           "factor": 10}]})
    before, during = [], []
    for seed in range(1, 6):
        records = sim.run(scenario, seed=seed).records
        latency, arrival = records["latency_ms"].astype(float), records["arrival_s"]
        before.append(latency[(arrival >= 2) & (arrival < 10)].mean())
        during.append(latency[(arrival >= 12) & (arrival < 28)].mean())
    assert np.mean(before) == pytest.approx(mmc(10.0, 10.0, 2).mean_response_ms, rel=0.1)
    during_interval = confidence_interval(during)
    expected = mmc(10.0, 100.0, 2).mean_response_ms
    assert abs(during_interval.mean - expected) <= max(1.5 * during_interval.half_width, 0.05 * expected), \
        (during_interval, expected)


@pytest.mark.parametrize("fault, path, words", [
    ({"kind": "crash", "component": "nope", "at_s": 1, "duration_s": 1}, "faults.0.component", "no component"),
    ({"kind": "crash", "component": "api", "instance": 7, "at_s": 1, "duration_s": 1}, "faults.0",
     "instance 7 does not exist"),
    ({"kind": "slow", "component": "lb", "at_s": 1, "duration_s": 1}, "faults.0", "a load_balancer takes no faults"),
    ({"kind": "melt", "component": "api", "at_s": 1, "duration_s": 1}, "faults.0.kind", "crash"),
])
def test_a_fault_that_cannot_strike_is_named(fault: dict, path: str, words: str) -> None:
    data = load_gallery_scenario("instance-crash").model_dump(mode="json", exclude_unset=True)
    data["faults"] = [fault]
    with pytest.raises(ScenarioError) as caught:
        sim.parse_scenario(data)
    assert any(problem.path == path and words in problem.message for problem in caught.value.problems), \
        caught.value.problems
