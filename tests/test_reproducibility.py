"""Same seed, same numbers; named streams keep unrelated changes from disturbing the arrivals."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

import sim
from sim.results.summary_models import RunSummary
from sim.runtime.rng import RandomStreams
from sim.scenario.overrides import with_overrides
from tests.conftest import PROJECT_ROOT, SCENARIO_DIRECTORY

CACHE_ASIDE = SCENARIO_DIRECTORY / "cache-aside.yaml"


def without_timing(summary: RunSummary) -> dict:
    return {key: value for key, value in summary.to_data().items() if key != "wall_time_s"}


def test_same_seed_gives_identical_json() -> None:
    scenario = sim.load_scenario(CACHE_ASIDE)
    first, second = sim.run(scenario, seed=3, duration_s=8), sim.run(scenario, seed=3, duration_s=8)
    assert json.dumps(without_timing(first.summary)) == json.dumps(without_timing(second.summary))
    other = sim.run(scenario, seed=4, duration_s=8)
    assert other.summary["latency_ms"] != first.summary["latency_ms"]


def test_same_seed_in_another_process() -> None:
    code = (f"import json, sim; r = sim.run(sim.load_scenario({str(CACHE_ASIDE)!r}), seed=5, duration_s=5); "
            "print(json.dumps(r.summary.latency_ms.to_data()))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT,
                               timeout=60, check=True)
    here = sim.run(sim.load_scenario(CACHE_ASIDE), seed=5, duration_s=5).summary.latency_ms.to_data()
    assert json.loads(completed.stdout) == here


def test_unrelated_component_leaves_arrivals_unchanged() -> None:
    scenario = sim.load_scenario(CACHE_ASIDE)
    data = scenario.to_dict()
    data["components"]["audit"] = {"kind": "service", "service_time": {"distribution": "exponential", "mean_ms": 3}}
    grown = sim.parse_scenario(data)
    base, extra = sim.run(scenario, seed=2, duration_s=5), sim.run(grown, seed=2, duration_s=5)
    order_base = np.argsort(base.records["arrival_s"], kind="stable")
    order_extra = np.argsort(extra.records["arrival_s"], kind="stable")
    assert np.array_equal(base.records["arrival_s"][order_base], extra.records["arrival_s"][order_extra])
    assert np.array_equal(base.records["class_index"][order_base], extra.records["class_index"][order_extra])


def test_changing_one_component_keeps_arrivals_common() -> None:
    scenario = sim.load_scenario(CACHE_ASIDE)
    smaller = with_overrides(scenario, {"components.cache.capacity_keys": 200})
    base, variant = sim.run(scenario, seed=2, duration_s=5), sim.run(smaller, seed=2, duration_s=5)
    assert np.array_equal(np.sort(base.records["arrival_s"]), np.sort(variant.records["arrival_s"]))
    assert base.summary["latency_ms"] != variant.summary["latency_ms"]


def test_streams_are_named_not_ordered() -> None:
    streams = RandomStreams(9)
    first = streams.stream("workload/arrivals").random(3)
    streams.stream("component/x/service").random(100)
    assert np.array_equal(first, RandomStreams(9).stream("workload/arrivals").random(3))
    assert not np.array_equal(first, RandomStreams(9).stream("workload/keys").random(3))
