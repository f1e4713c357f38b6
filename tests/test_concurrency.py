"""Concurrency models: threads on cores, an event loop per process, goroutines on cores.

The scenario of the issue: 1 ms of CPU (exponential) and 9 ms waiting on a database with ample connections.
Thread per request holds a thread for all 10 ms, so 16 threads cap throughput at 16 / 10 ms = 1,600 req/s while
4 cores are only 40% busy; an event loop holds its core only for the 1 ms of CPU, so 4 processes reach
4 / 1 ms = 4,000 req/s, and each loop is an M/M/1 queue on CPU time alone (wait rho / (1 - rho) x 1 ms).
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.model.errors import ScenarioError
from sim.scenario.scenario import Scenario, parse_scenario
from sim.theory.queues import mmc
from sim.twin.predict import predict, saturation_rate_rps
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate

CPU_MS = 1.0
DATABASE_MS = 9.0
SEEDS = range(1, 7)


def data(model: str, rate_rps: float, duration_s: float = 20.0, **service: object) -> dict:
    api = {"kind": "service", "concurrency": model, "calls": ["db"],
           "service_time": {"distribution": "exponential", "mean_ms": CPU_MS}, **service}
    io_time = {"distribution": "exponential", "mean_ms": DATABASE_MS}
    database = {"kind": "database", "pool_size": 512, "read_time": io_time, "write_time": io_time}
    return {"name": "cpu-and-io", "duration_s": duration_s, "warmup_s": 4.0,
            "workload": {"type": "open", "entry": "api", "rate_rps": rate_rps},
            "components": {"api": api, "db": database}}


def scenario(model: str, rate_rps: float, duration_s: float = 20.0, **service: object) -> Scenario:
    return Scenario.model_validate(data(model, rate_rps, duration_s, **service))


def test_sixteen_threads_on_four_cores_saturate_their_threads_near_1600_with_the_cores_40_percent_busy() -> None:
    bound_rps = 16 / ((CPU_MS + DATABASE_MS) / 1000.0)
    twin_rps = saturation_rate_rps(scenario("threads", 1200, workers=16, cores=4))
    assert twin_rps is not None and 0.98 * bound_rps <= twin_rps <= bound_rps  # core waits lower it a little
    overloaded = sim.run(scenario("threads", 2400, workers=16, cores=4), seed=1).summary
    assert overloaded.throughput_rps == pytest.approx(twin_rps, rel=0.02)
    stations = overloaded.components["api"].stations
    assert stations is not None
    assert stations["api/threads"].utilisation == pytest.approx(1.0, abs=0.005)
    assert stations["api/cores"].utilisation == pytest.approx(twin_rps * CPU_MS / 1000.0 / 4, abs=0.01)  # ~40%
    assert overloaded.bottleneck is not None and "api/threads" in overloaded.bottleneck.reason


def test_an_event_loop_per_process_runs_up_to_the_cpu_bound_near_4000() -> None:
    twin_rps = saturation_rate_rps(scenario("event_loop", 3200, instances=4))
    assert twin_rps == pytest.approx(4 / (CPU_MS / 1000.0), rel=1e-6)
    overloaded = sim.run(scenario("event_loop", 4600, instances=4), seed=1).summary
    assert overloaded.throughput_rps == pytest.approx(4000.0, rel=0.02)
    stable = sim.run(scenario("event_loop", 3600, instances=4), seed=1).summary
    assert stable.stable and stable.throughput_rps == pytest.approx(3600.0, rel=0.01)


def test_the_event_loop_is_an_mm1_queue_on_cpu_time_only() -> None:
    rate_rps, instances = 3200.0, 4  # each loop 80% busy: wait 0.8 / 0.2 x 1 ms = 4 ms
    results = replicate(scenario("event_loop", rate_rps, 40.0, instances=instances), SEEDS)
    expected_ms = mmc(rate_rps / instances, CPU_MS, 1).mean_wait_ms
    assert expected_ms == pytest.approx(4.0)

    def loop_wait(result: sim.Result) -> float:
        stations = result.summary.components["api"].stations or {}
        return float(np.mean([stations[f"api/instance-{index}/loop"].mean_wait_ms for index in range(instances)]))

    assert_agrees_with_theory("event loop wait", metric(results, loop_wait), expected_ms, max_relative_half_width=0.1)
    twin = predict(scenario("event_loop", rate_rps, instances=instances))["api"]
    assert twin.mean_response_ms == pytest.approx(expected_ms + CPU_MS + DATABASE_MS, rel=1e-6)


def test_goroutines_queue_for_cores_only() -> None:
    rate_rps = 3200.0  # M/M/4 on the CPU at 80%
    results = replicate(scenario("goroutines", rate_rps, 30.0, cores=4), SEEDS)
    expected_ms = mmc(rate_rps, CPU_MS, 4).mean_wait_ms
    assert_agrees_with_theory("cores wait", metric(results, lambda r: r.summary.mean_wait_ms), expected_ms,
                              max_relative_half_width=0.1)
    twin = predict(scenario("goroutines", rate_rps, cores=4))["api"]
    assert twin.mean_response_ms == pytest.approx(expected_ms + CPU_MS + DATABASE_MS, rel=1e-6)


def test_cpu_work_after_the_calls_queues_again() -> None:
    after = {"distribution": "exponential", "mean_ms": 0.5}
    summary = sim.run(scenario("goroutines", 500, cores=1, after_calls_time=after), seed=2).summary
    twin = predict(scenario("goroutines", 500, cores=1, after_calls_time=after))["api"]
    busy_per_request_ms = summary.components["api"].utilisation * 1000.0 / summary.components["api"].throughput_rps
    assert busy_per_request_ms == pytest.approx(CPU_MS + 0.5, rel=0.03)  # both pieces of work on the one core
    assert twin.utilisation == pytest.approx(500 * 1.5 / 1000.0)


def test_an_in_flight_bound_turns_requests_away() -> None:
    summary = sim.run(scenario("event_loop", 2000, max_in_flight=4, queue_capacity=0), seed=1).summary
    assert summary.requests.dropped > 0
    assert summary.components["api"].stations is not None
    assert set(summary.components["api"].stations) == {"api/in-flight", "api/loop"}


@pytest.mark.parametrize(("service", "words"), [
    ({"concurrency": "threads", "max_in_flight": 8}, "max_in_flight is for event_loop and goroutines"),
    ({"concurrency": "fibers"}, "concurrency"),
])
def test_fields_that_no_model_can_use_are_refused(service: dict, words: str) -> None:
    block = data("threads", 100)
    block["components"]["api"].update(service)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(block)
    assert any(words in f"{problem.path}: {problem.message}" for problem in caught.value.problems), caught.value


def test_switching_the_model_keeps_the_file_valid_and_the_twin_says_what_it_ignores() -> None:
    twin = predict(scenario("event_loop", 100, workers=16, cores=4))["api"]
    assert "event_loop does not use workers or cores" in twin.notes
