"""sim.teaching.knobs: the controls a scenario offers, their bounds, interactive durations and capacity."""

from __future__ import annotations

import doctest
import math

import pytest

import sim
from sim.scenario.cost import capacity, reachable_components
from sim.scenario.gallery import gallery_paths, load_gallery_scenario
from sim.scenario.overrides import get_field, with_overrides
from sim.teaching import knobs as knobs_module
from sim.teaching.knobs import (
    Knob,
    alternative_value,
    changed_values,
    nice_step,
    scenario_knobs,
    wiring,
)
from sim.teaching.sizing import (
    MAX_VISITS_PER_INTERACTIVE_RUN,
    MIN_INTERACTIVE_DURATION_S,
    MIN_MEASURED_REQUESTS,
    VISITS_PER_INTERACTIVE_RUN,
    default_duration_s,
    offered_rate_estimate,
    shortened_note,
    with_duration,
)

GALLERY = list(gallery_paths())


def test_docstring_examples_run() -> None:
    assert doctest.testmod(knobs_module).failed == 0


@pytest.mark.parametrize("name", GALLERY)
def test_knobs_point_at_real_fields_with_their_current_values(name: str) -> None:
    scenario = load_gallery_scenario(name)
    knobs = scenario_knobs(scenario)
    assert knobs[0].path == "workload.rate_rps"
    for knob in knobs:
        assert get_field(scenario, knob.path) == knob.value
        if knob.kind in ("int", "float"):
            assert knob.minimum is not None and knob.maximum is not None
            assert knob.minimum <= knob.value <= knob.maximum
        else:
            assert knob.value in knob.options
            assert len(knob.option_labels) == len(knob.options)


@pytest.mark.parametrize("name", GALLERY)
def test_every_knob_bound_and_option_is_a_valid_scenario(name: str) -> None:
    scenario = load_gallery_scenario(name)
    for knob in scenario_knobs(scenario):
        values = [knob.minimum, knob.maximum] if knob.kind in ("int", "float") else list(knob.options)
        for value in values:
            changed = with_overrides(scenario, {knob.path: value})
            assert get_field(changed, knob.path) == value


def test_kinds_follow_the_components() -> None:
    by_path = {knob.path: knob for knob in scenario_knobs(load_gallery_scenario("cache-aside"))}
    assert by_path["components.api.instances"].kind == "int"
    assert by_path["components.cache.capacity_keys"].kind == "ordered"
    assert by_path["components.cache.ttl_s"].options[0] is None
    assert by_path["components.cache.ttl_s"].format_option(None) == "no TTL"
    reads_via = by_path["components.api.calls.0"]
    assert reads_via.options == ("cache", "db")
    assert reads_via.format_option("db") == "db directly (no cache)"
    assert {"components.db.shards", "components.db.replicas", "components.db.pool_size"} <= set(by_path)
    balancer = {knob.path: knob for knob in scenario_knobs(load_gallery_scenario("horizontal-scaling"))}
    assert balancer["components.lb.policy"].kind == "choice"
    assert "power_of_two" in balancer["components.lb.policy"].options


@pytest.mark.parametrize("rate", [70, 400, 640, 2100, 333.3, 1, 0.5])
def test_rate_slider_grid_passes_through_the_current_rate(rate: float) -> None:
    scenario = with_overrides(load_gallery_scenario("single-server"), {"workload.rate_rps": rate})
    knob = scenario_knobs(scenario)[0]
    assert knob.step is not None and knob.minimum is not None and knob.maximum is not None
    assert 0 < knob.minimum <= rate and knob.maximum >= 3.9 * rate
    steps_to_value = (rate - knob.minimum) / knob.step
    assert steps_to_value == pytest.approx(round(steps_to_value), abs=1e-6)


def test_nice_step_is_a_1_2_5_number_at_or_below() -> None:
    assert [nice_step(value) for value in (7, 21, 64, 0.13, 1)] == [5, 20, 50, 0.1, 1]


def test_changed_values_keeps_only_differences() -> None:
    knobs = scenario_knobs(load_gallery_scenario("single-server"))
    values = {"workload.rate_rps": 70.0, "components.api.instances": 3, "not.a.knob": 1}
    assert changed_values(knobs, values) == {"components.api.instances": 3}


def test_alternative_values_differ_and_stay_valid() -> None:
    scenario = load_gallery_scenario("cache-aside")
    for knob in scenario_knobs(scenario):
        other = alternative_value(knob)
        assert other != knob.value
        with_overrides(scenario, {knob.path: other})
    instances = Knob("components.api.instances", "api: instances", "int", 4, 1, 16, 1)
    assert alternative_value(instances) == 8


@pytest.mark.parametrize("name", GALLERY)
def test_default_duration_keeps_interactive_runs_small(name: str) -> None:
    scenario = load_gallery_scenario(name)
    duration_s = default_duration_s(scenario)
    assert MIN_INTERACTIVE_DURATION_S <= duration_s <= scenario.duration_s
    visits = scenario.workload.rate_rps * len(scenario.components) * duration_s
    assert visits <= VISITS_PER_INTERACTIVE_RUN or duration_s == MIN_INTERACTIVE_DURATION_S


@pytest.mark.parametrize("name", GALLERY)
def test_every_gallery_scenario_gets_its_duration_or_a_stable_p99(name: str) -> None:
    scenario = load_gallery_scenario(name)
    run = with_duration(scenario, default_duration_s(scenario))
    measured_requests = scenario.workload.rate_rps * (run.duration_s - run.warmup_s)
    assert run.duration_s == scenario.duration_s or measured_requests >= MIN_MEASURED_REQUESTS, (
        run.duration_s, measured_requests)


@pytest.mark.parametrize("rate_rps", [5_000.0, 50_000.0, 1_000_000.0])
def test_an_expensive_upload_is_shortened_below_the_ceiling(rate_rps: float) -> None:
    scenario = sim.parse_scenario({"duration_s": 60, "warmup_s": 5, "workload": {"rate_rps": rate_rps, "entry": "api"},
                                   "components": {"api": {"kind": "service", "service_time": {
                                       "distribution": "exponential", "mean_ms": 10}}}})
    duration_s = default_duration_s(scenario)
    assert rate_rps * duration_s <= MAX_VISITS_PER_INTERACTIVE_RUN
    assert duration_s < scenario.duration_s
    assert shortened_note(scenario, duration_s) is not None and shortened_note(scenario, 60.0) is None
    assert (duration_s - min(5.0, duration_s / 2)) * rate_rps >= MIN_MEASURED_REQUESTS, "enough for a p99"


@pytest.mark.parametrize("name", GALLERY)
def test_default_gallery_run_is_quick(name: str) -> None:
    """A few hundred ms on a quiet 2-core machine; the bound leaves room for a busy one."""
    scenario = load_gallery_scenario(name)
    result = sim.run(with_duration(scenario, default_duration_s(scenario)), seed=1)
    assert result.summary["wall_time_s"] < 2.0


@pytest.mark.parametrize("duration_s", [2.0, 4.0, 13.0, 60.0, 90.0])
def test_with_duration_caps_warmup_and_uses_exact_bins(duration_s: float) -> None:
    scenario = with_duration(load_gallery_scenario("single-server"), duration_s)
    assert scenario.duration_s == duration_s
    assert scenario.warmup_s == min(5.0, duration_s / 2)
    assert math.log2(scenario.time_bin_s).is_integer() and scenario.time_bin_s <= 1.0
    series = sim.run(scenario, seed=1).timeseries()
    assert min(series["bin_width_s"]) > 1e-6, "no sliver bins next to the warm-up edge"
    assert len(series["time_s"]) >= 15


def test_capacity_counts_what_requests_can_reach() -> None:
    scenario = load_gallery_scenario("sharded-db")
    assert capacity(scenario) == {"workers": 2 * 32, "connections": 4 * 3 * 2, "servers": 88, "cache_keys": 0}
    cached = load_gallery_scenario("cache-aside")
    assert capacity(cached)["cache_keys"] == 5000
    bypassed = with_overrides(cached, {"components.api.calls.0": "db"})
    assert reachable_components(bypassed) == ["api", "db"]
    assert capacity(bypassed) == {**capacity(cached), "cache_keys": 0}
    assert wiring(bypassed) == [("api", "db"), ("cache", "db")]


def test_closed_and_shaped_workloads_get_their_own_load_knob() -> None:
    service = {"kind": "service", "workers": 2, "service_time": {"distribution": "exponential", "mean_ms": 5}}
    closed = sim.parse_scenario({
        "duration_s": 30, "components": {"api": service},
        "workload": {"type": "closed", "users": 20, "entry": "api",
                     "think_time": {"distribution": "exponential", "mean_ms": 100}},
    })
    users = scenario_knobs(closed)[0]
    assert (users.path, users.kind, users.value) == ("workload.users", "int", 20)
    assert offered_rate_estimate(closed.workload) == pytest.approx(200.0)
    with_overrides(closed, {users.path: users.maximum})
    spiky = sim.parse_scenario({
        "duration_s": 30, "components": {"api": service},
        "workload": {"rate_rps": 50, "entry": "api", "profile": {"kind": "spike", "at_s": 10, "duration_s": 5,
                                                                  "rate_rps": 300}},
    })
    assert scenario_knobs(spiky)[0].path == "workload.rate_rps"
    assert offered_rate_estimate(spiky.workload) == 300.0, "budget the run for the peak"
