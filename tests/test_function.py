"""The function kind (serverless): cold starts held to the one-instance closed form and to the twin's
window-maximum M/G/∞ approximation, throttling to Erlang B, provisioned concurrency, and the bill."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import sim
from sim.theory.queues import erlang_b
from sim.theory.serverless import (
    crossover_rate_rps,
    invocation_cost_usd,
    overflow_pool,
    pool,
    single_instance_cold_share,
)
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate

SEEDS = range(1, 11)


def function(rate_rps: float, keep_alive_s: float, execution: dict[str, Any], cold_start: dict[str, Any],
             duration_s: float = 2000, time_bin_s: float = 10, **fields: Any) -> sim.Scenario:
    """Poisson requests straight into one function."""
    return sim.parse_scenario({
        "name": "function", "duration_s": duration_s, "warmup_s": 20, "time_bin_s": time_bin_s,
        "workload": {"rate_rps": rate_rps, "entry": "fn"},
        "components": {"fn": {"kind": "function", "keep_alive_s": keep_alive_s, "execution_time": execution,
                              "cold_start_time": cold_start, **fields}}})


def fixed(mean_ms: float) -> dict[str, Any]:
    return {"distribution": "deterministic", "mean_ms": mean_ms}


def cold_share(result: Any) -> float:
    return float(result.summary.components["fn"].cold_start_ratio)


@pytest.mark.parametrize(("rate_rps", "keep_alive_s"), [(0.5, 2.0), (1.0, 0.5)])
def test_one_instance_is_cold_as_the_closed_form(rate_rps: float, keep_alive_s: float) -> None:
    """1 ms executions, 5 ms cold starts: requests almost never overlap (r E[B] < 0.3%), so a request is cold
    when the gap since the previous arrival exceeds the previous busy time B plus k:
    p = a / (1 + a (1 - exp(-r c))) with a = exp(-r k) exp(-r e), within 0.2% of exp(-r k) here."""
    execution_s, cold_s = 0.001, 0.005
    closed_form = single_instance_cold_share(rate_rps, keep_alive_s, math.exp(-rate_rps * execution_s),
                                             math.exp(-rate_rps * cold_s))
    assert closed_form == pytest.approx(math.exp(-rate_rps * keep_alive_s), rel=0.005)
    results = replicate(function(rate_rps, keep_alive_s, fixed(1.0), fixed(5.0), duration_s=8000), SEEDS)
    assert_agrees_with_theory(f"cold-start share at r={rate_rps}, k={keep_alive_s}", metric(results, cold_share),
                              closed_form, max_relative_half_width=0.03)
    twin = results[0].summary.theory.components["fn"]
    assert twin.cold_start_ratio == pytest.approx(closed_form, rel=0.01)  # the twin's one-instance limit


def test_many_instances_are_cold_as_the_twin_approximates() -> None:
    """20 req/s of 100 ms exponential work (two busy on average), 300 ms cold starts, k = 0.5 s: several
    instances share the load; the twin's window-maximum approximation is held to 5% on the cold-start share
    and 3% on the warm instances (their stated bias allowances; the ordered-entry fallback is 33% low here)."""
    scenario = function(20.0, 0.5, {"distribution": "exponential", "mean_ms": 100},
                        {"distribution": "lognormal", "mean_ms": 300, "cv": 0.5}, duration_s=600)
    results = replicate(scenario, SEEDS)
    twin = pool(20.0, 100.0, 300.0, 0.5, 1000)
    assert results[0].summary.theory.components["fn"].cold_start_ratio == pytest.approx(twin.cold_share)
    assert_agrees_with_theory("cold-start share, many instances", metric(results, cold_share), twin.cold_share,
                              max_relative_half_width=0.05, relative_bias=0.05)
    assert_agrees_with_theory("warm instances", metric(
        results, lambda result: result.summary.components["fn"].mean_warm_instances), twin.mean_instances,
        max_relative_half_width=0.03, relative_bias=0.03)
    assert overflow_pool(20.0, 100.0, 300.0, 0.5, 1000).cold_share < 0.75 * twin.cold_share


TWIN_CASES = {  # name: (rate, keep-alive, execution, cold start, fields, tolerances of cold share and instances)
    "two provisioned": (50.0, 0.2, {"distribution": "exponential", "mean_ms": 100}, fixed(300.0),
                        {"provisioned_concurrency": 2, "duration_s": 300}, (0.08, 0.03)),
    "throttled at 8": (100.0, 0.1, {"distribution": "lognormal", "mean_ms": 50, "cv": 1.0}, fixed(200.0),
                       {"concurrency_limit": 8, "duration_s": 300}, (0.20, 0.03)),
    "forty running": (300.0, 0.2, {"distribution": "exponential", "mean_ms": 100}, fixed(300.0),
                      {"duration_s": 200}, (0.08, 0.03)),
}


@pytest.mark.parametrize("case", list(TWIN_CASES))
def test_the_twin_holds_with_provisioned_instances_and_a_limit(case: str) -> None:
    """About six requests running on average, then forty: the window-maximum twin within its stated tolerance
    (8% on the cold share with two provisioned instances and at forty; 20% under a limit of 8, where the twin's
    holding time ignores that throttling falls on the busiest moments) and 3% on warm instances; the throttled
    share within 6% of Erlang B at the mean holding time."""
    rate_rps, keep_alive_s, execution, cold_start, fields, (cold_tolerance, instance_tolerance) = TWIN_CASES[case]
    results = replicate(function(rate_rps, keep_alive_s, execution, cold_start, **fields), SEEDS)
    twin = pool(rate_rps, execution["mean_ms"], cold_start["mean_ms"], keep_alive_s,
                fields.get("concurrency_limit", 1000), fields.get("provisioned_concurrency", 0))
    assert twin.model == "window maximum"
    assert_agrees_with_theory(f"cold-start share, {case}", metric(results, cold_share), twin.cold_share,
                              max_relative_half_width=0.05, relative_bias=cold_tolerance)
    assert_agrees_with_theory(f"warm instances, {case}", metric(
        results, lambda result: result.summary.components["fn"].mean_warm_instances), twin.mean_instances,
        max_relative_half_width=0.02, relative_bias=instance_tolerance)
    if "concurrency_limit" in fields:
        assert_agrees_with_theory(f"throttled share, {case}", metric(
            results, lambda result: result.summary.components["fn"].throttled_ratio), twin.throttled_share,
            max_relative_half_width=0.03, relative_bias=0.06)


def test_the_overflow_fallback_undercounts_cold_starts_at_high_load() -> None:
    """Sixty busy instances is past the window-maximum's 120 levels: the ordered-entry fallback is used, and it
    is only an order of magnitude (the overflow to an instance comes in bursts, not as Poisson): the simulation
    is 2-4 times its cold share. Stated here so that a better approximation shows up as a failing bound."""
    results = replicate(function(600.0, 0.05, {"distribution": "exponential", "mean_ms": 100}, fixed(300.0),
                                 duration_s=120), range(1, 4))
    twin = pool(600.0, 100.0, 300.0, 0.05, 1000)
    assert twin.model == "ordered entry, Poisson overflow"
    measured = float(np.mean(metric(results, cold_share)))
    assert 2.0 * twin.cold_share < measured < 4.0 * twin.cold_share


def test_the_concurrency_limit_throttles_as_erlang_b() -> None:
    """Two instances at most, 20 req/s of 100 ms: an M/G/2/2 loss system, Erlang B(2, 2) = 0.4 throttled
    (a keep-alive longer than the run: no cold start after the first two)."""
    scenario = function(20.0, 10_000.0, {"distribution": "exponential", "mean_ms": 100}, fixed(1.0),
                        duration_s=300, concurrency_limit=2)
    results = replicate(scenario, SEEDS)
    assert_agrees_with_theory("throttled share", metric(
        results, lambda result: result.summary.components["fn"].throttled_ratio), erlang_b(2, 2.0),
        max_relative_half_width=0.03)
    summary = results[0].summary
    assert summary.requests.throttled == pytest.approx(0.4 * summary.requests.offered, rel=0.05)
    assert summary.components["fn"].cold_starts == 0  # both instances started during the warm-up


def test_provisioned_instances_are_never_cold_and_cost_by_the_hour() -> None:
    scenario = function(0.5, 1.0, fixed(10.0), fixed(200.0), duration_s=500, provisioned_concurrency=3,
                        memory_mb=1024)
    result = sim.run(scenario, seed=2)
    fn = result.summary.components["fn"]
    assert fn.cold_starts == 0 and fn.invocations > 200
    assert fn.mean_warm_instances == pytest.approx(3.0)
    hourly = 3 * 1.0 * 0.0000041667 * 3600
    assert scenario.components["fn"].hourly_cost() == pytest.approx(hourly)
    usage = fn.invocations * (0.2e-6 + 1.0 * 0.010 * 0.0000166667) / result.span_s * 3600
    assert result.summary.cost_per_hour == pytest.approx(hourly + usage)


def test_billing_rounds_each_duration_up_to_the_millisecond() -> None:
    """1.2 ms executions bill 2 ms each at 0.5 GB, the cold start not billed: 0.20 + 1e6 x 0.5 x 0.002 x
    0.0000166667 = 0.2166667 USD per million requests, exactly."""
    scenario = function(5.0, 600.0, fixed(1.2), fixed(100.0), duration_s=200, init_billed=False)
    fn = sim.run(scenario, seed=1).summary.components["fn"]
    assert fn.cost_per_million_requests_usd == pytest.approx(0.2166667, rel=1e-6)
    assert fn.billed_gb_s == pytest.approx(fn.invocations * 0.5 * 0.002)
    assert scenario.components["fn"].expected_cost_per_million_usd(0.0) == pytest.approx(0.2166667, rel=1e-6)
    assert 1e6 * invocation_cost_usd(2.0, 512, 0.2, 0.0000166667) == pytest.approx(0.2166667, rel=1e-6)


def test_warm_instances_and_cold_starts_over_time_match_the_window() -> None:
    result = sim.run(function(20.0, 0.5, {"distribution": "exponential", "mean_ms": 100}, fixed(300.0),
                              duration_s=220, time_bin_s=1), seed=4)
    series = result.timeseries()["components"]["fn"]
    window = slice(20, 220)  # bins of 1 s after the 20 s warm-up
    fn = result.summary.components["fn"]
    assert float(np.mean(series["warm_instances"][window])) == pytest.approx(fn.mean_warm_instances, rel=1e-9)
    assert float(np.sum(series["cold_starts_per_s"][window])) == pytest.approx(fn.cold_starts)
    assert all(warm >= busy - 1e-9 for warm, busy in zip(series["warm_instances"], series["busy_instances"],
                                                         strict=True))


def test_the_cost_crossover_is_the_price_arithmetic() -> None:
    """An always-on instance at 0.0416 USD/h against 100 ms at 512 MB: per request 0.2e-6 + 0.05 x
    0.0000166667 = 1.0333e-6 USD, so the instance is cheaper above 0.0416 / 3600 / 1.0333e-6 = 11.18 req/s."""
    rate = crossover_rate_rps(0.0416, 100.0, 512, 0.20, 0.0000166667)
    assert rate == pytest.approx(0.0416 / 3600 / (0.2e-6 + 0.05 * 0.0000166667), rel=1e-12)
    assert rate == pytest.approx(11.18, abs=0.01)


def test_provisioned_above_the_limit_is_refused() -> None:
    with pytest.raises(sim.ScenarioError) as error:
        function(1.0, 1.0, fixed(1.0), fixed(1.0), concurrency_limit=2, provisioned_concurrency=3)
    assert any("provisioned_concurrency" in problem.message for problem in error.value.problems)


def test_the_lessons_crossover_rate_is_the_price_arithmetic() -> None:
    """Lesson 15's crossover variant runs at the rate where the gallery function's bill per hour meets the
    always-on instance's price its claims name, to 1%."""
    from sim.teaching.lessons import load_lesson

    lesson = load_lesson("serverless")
    step = lesson.steps[2]
    crossover = next(item for item in step.variants if item.label == "at the crossover")
    instance_price = step.prediction.threshold if step.prediction is not None else None
    assert instance_price == 0.0416
    fn = lesson.base_scenario().components["fn"]
    expected = crossover_rate_rps(instance_price, fn.expected_billed_ms(0.0), fn.memory_mb,
                                  fn.price_per_million_requests, fn.price_per_gb_s)
    assert crossover.overrides["workload.rate_rps"] == pytest.approx(expected, rel=0.01)
    assert expected == pytest.approx(6.19, abs=0.005)


def test_its_prometheus_metrics_are_named_for_functions() -> None:
    from sim.interop.metrics_table import build_metrics_table

    result = sim.run(function(20.0, 0.5, {"distribution": "exponential", "mean_ms": 100}, fixed(300.0),
                              duration_s=60, time_bin_s=1), seed=3)
    families = {family.name: family for family in build_metrics_table(result).families}
    assert {"sim_function_warm_instances", "sim_function_cold_starts", "sim_function_throttled",
            "sim_function_billed_milliseconds"} <= set(families)
    cold = families["sim_function_cold_starts"].series[0]
    assert cold.sample == "sim_function_cold_starts_total" and cold.labels == {"component": "fn"}
    assert cold.values[-1] == result.component_levels["fn"].column("cold_starts")[-1]


@pytest.mark.parametrize(("level", "rate_rps", "service_rps", "window_s", "limit"),
                         [(5, 20.0, 10.0, 0.5, 1000), (40, 160.0, 10.0, 600.0, 1000), (3, 20.0, 10.0, 1e4, 3)])
def test_the_window_survival_is_the_generators_exponential(level: int, rate_rps: float, service_rps: float,
                                                           window_s: float, limit: int) -> None:
    """The symmetrised eigendecomposition gives exp(Q k) 1 for the killed birth-death chain, as scipy's expm."""
    from scipy.linalg import expm

    from sim.theory.serverless_window import _stay_at_or_below

    counts = np.arange(level + 1)
    generator = np.zeros((level + 1, level + 1))
    generator[counts[:-1], counts[:-1] + 1] = rate_rps
    generator[counts[1:], counts[1:] - 1] = counts[1:] * service_rps
    generator[counts, counts] = -(counts * service_rps + np.where(counts < limit, rate_rps, 0.0))
    expected = np.clip(expm(generator * window_s).sum(axis=1), 0.0, 1.0)
    assert np.allclose(_stay_at_or_below(level, rate_rps, service_rps, window_s, limit), expected, atol=1e-10)
