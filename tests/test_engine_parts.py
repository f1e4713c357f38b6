"""The engine's smaller mechanisms, each pinned by a test: the event loop, trace caching, the twin's shortcuts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import simpy

import sim
from sim.model.keys import key_probabilities
from sim.model.profiles import rate_function
from sim.model.traces import read_trace
from sim.model.workload import WorkloadSpec
from sim.runtime.loop import EventLoop
from sim.theory.cache import lru_hit_ratio
from sim.twin.predict import predict
from tests.conftest import SCENARIO_DIRECTORY


def test_run_until_leaves_events_at_the_limit_and_interleaves_simpy_events() -> None:
    env = EventLoop()
    seen: list[tuple[str, float]] = []
    env.call_later(1.0, lambda label: seen.append((label, env.now)), "call at 1")
    env.call_later(3.0, lambda label: seen.append((label, env.now)), "call at 3")
    env.timeout(2.0).callbacks.append(lambda _event: seen.append(("timeout at 2", env.now)))
    env.run(until=3.0)
    assert seen == [("call at 1", 1.0), ("timeout at 2", 2.0)]  # as in SimPy: the event at the limit waits
    assert env.now == 3.0
    env.run(until=env.timeout(1.0))  # SimPy's own path for an event limit; our entries still fire
    assert seen[-1] == ("call at 3", 3.0)
    with pytest.raises(ValueError, match="greater than the current"):
        env.run(until=2.0)
    with pytest.raises(simpy.core.EmptySchedule):
        EventLoop().step()


def test_stage_rates_follow_their_ramps() -> None:
    workload = WorkloadSpec(rate_rps=100, entry="api", profile={"kind": "stages", "stages": [
        {"duration_s": 10, "rate_rps": 300, "ramp_s": 4}, {"duration_s": 10, "rate_rps": 50}]})
    rate, peak = rate_function(workload)
    assert peak == 300
    assert [rate(time_s) for time_s in (0.0, 2.0, 4.0, 9.9, 10.0, 25.0)] == [100, 200, 300, 300, 50, 50]


def test_an_edited_trace_is_read_again(tmp_path: Path) -> None:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("time_s\n0.5\n1.5\n", encoding="utf-8")
    assert read_trace(trace, ["request"]).times_s.tolist() == [0.5, 1.5]
    assert read_trace(trace, ["request"]) is read_trace(trace, ["request"])  # parsed once
    trace.write_text("time_s\n0.25\n", encoding="utf-8")
    os.utime(trace, ns=(1, 2_000_000_000))  # a different modification time, even on a coarse clock
    assert read_trace(trace, ["request"]).times_s.tolist() == [0.25]


def test_twin_hit_ratio_is_ches_and_independent_of_rate_without_ttl() -> None:
    scenario = sim.load_scenario(SCENARIO_DIRECTORY / "cache-aside.yaml")
    data = scenario.to_dict()
    data["workload"]["classes"] = [{"name": "read", "weight": 1.0}]
    data["components"]["cache"]["ttl_s"] = None
    reads_only = sim.parse_scenario(data)
    expected = lru_hit_ratio(key_probabilities(reads_only.workload.keys), 5000)
    for rate_rps in (50.0, 400.0, 3000.0):
        assert predict(reads_only, rate_rps)["cache"].hit_ratio == pytest.approx(expected, rel=1e-9)
