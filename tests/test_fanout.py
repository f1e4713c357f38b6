"""Call graphs: parallel fan-out, first-k, hedging, probabilistic, optional and timed-out calls.

Branches here are exponential services with ample workers (no queueing), so each branch's response is
exponential and the closed forms are exact: the maximum of n independent exponentials with mean m has CDF
(1 - e^(-t/m))^n and mean m H_n; the k-th fastest is an order statistic; a call hedged after d answers at
min(T1, d + T2).
"""

from __future__ import annotations

import math

import pytest

import sim
from sim.scenario.scenario import Scenario
from sim.theory.forkjoin import GridDistribution, kth_fastest, total
from sim.twin.predict import predict
from tests.stats_helpers import assert_agrees_with_theory, confidence_interval, metric, replicate

BRANCH_MS = 10.0
GATEWAY_MS = 1.0
WIDTH = 10
SEEDS = range(1, 9)


def fan_out(steps: list, *, branches: int = WIDTH, rate_rps: float = 100.0, duration_s: float = 40.0) -> Scenario:
    """A gateway (constant 1 ms of work) whose ``calls`` are ``steps`` over exponential branches b0, b1, ..."""
    components: dict = {"gateway": {"kind": "service", "workers": 400, "calls": steps,
                                    "service_time": {"distribution": "deterministic", "mean_ms": GATEWAY_MS}}}
    for index in range(branches):
        components[f"b{index}"] = {"kind": "service", "workers": 64,
                                   "service_time": {"distribution": "exponential", "mean_ms": BRANCH_MS}}
    return Scenario.model_validate({
        "name": "fan-out", "duration_s": duration_s, "warmup_s": 2.0,
        "workload": {"type": "open", "entry": "gateway", "rate_rps": rate_rps},
        "components": components})


def p99_of_maximum(width: int, mean_ms: float) -> float:
    """The 99th percentile of the maximum of ``width`` independent exponentials: (1 - e^(-t/m))^n = 0.99."""
    return -mean_ms * math.log(1.0 - 0.99 ** (1.0 / width))


def p99_of_hedged_maximum(width: int, mean_ms: float, quantile: float) -> float:
    """The same with each branch hedged at its own ``quantile``: past d, survival S(d) e^(-2 (t - d) / m)."""
    delay_ms = -mean_ms * math.log(1.0 - quantile)
    survival = 1.0 - 0.99 ** (1.0 / width)
    return delay_ms + mean_ms / 2.0 * math.log((1.0 - quantile) / survival)


def every_branch(**options: object) -> list:
    return [{"parallel": [{"call": f"b{index}", **options} if options else f"b{index}" for index in range(WIDTH)]}]


def test_fan_out_p99_is_the_maximum_of_its_branches() -> None:
    expected_ms = GATEWAY_MS + p99_of_maximum(WIDTH, BRANCH_MS)
    results = replicate(fan_out(every_branch()), SEEDS)
    assert_agrees_with_theory("p99 of a 10-way fan-out", metric(results, lambda r: r.summary.latency_ms.p99),
                              expected_ms, max_relative_half_width=0.03)
    mean_ms = GATEWAY_MS + BRANCH_MS * sum(1.0 / k for k in range(1, WIDTH + 1))
    assert_agrees_with_theory("mean of a 10-way fan-out", metric(results, lambda r: r.summary.latency_ms.mean),
                              mean_ms, max_relative_half_width=0.01)
    twin = predict(fan_out(every_branch()))["gateway"]
    assert twin.p99_response_ms == pytest.approx(expected_ms, rel=0.002)
    assert twin.mean_response_ms == pytest.approx(mean_ms, rel=0.002)


def test_hedging_after_the_p95_lowers_the_p99_as_the_twin_says() -> None:
    plain = metric(replicate(fan_out(every_branch()), SEEDS), lambda r: r.summary.latency_ms.p99)
    hedged_runs = replicate(fan_out(every_branch(hedge_after="p95")), SEEDS)
    hedged = metric(hedged_runs, lambda r: r.summary.latency_ms.p99)
    twin_plain = predict(fan_out(every_branch()))["gateway"].p99_response_ms
    twin_hedged = predict(fan_out(every_branch(hedge_after="p95")))["gateway"].p99_response_ms
    assert twin_hedged == pytest.approx(GATEWAY_MS + p99_of_hedged_maximum(WIDTH, BRANCH_MS, 0.95), rel=0.002)
    assert_agrees_with_theory("p99 lowered by hedging", [a - b for a, b in zip(plain, hedged, strict=True)],
                              twin_plain - twin_hedged, max_relative_half_width=0.15, relative_bias=0.05)
    # the cost: 5% more calls to every branch, as the twin routes them
    extra = metric(hedged_runs, lambda r: r.summary.components["b0"].arrival_rate_rps / r.summary.throughput_rps)
    assert confidence_interval(extra).mean == pytest.approx(1.05, abs=0.01)
    assert predict(fan_out(every_branch(hedge_after="p95")))["b0"].arrival_rate_rps == pytest.approx(105.0)


def test_first_k_of_n_is_the_kth_order_statistic() -> None:
    steps = [{"parallel": ["b0", "b1", "b2"], "first": 2}]
    expected_ms = GATEWAY_MS + BRANCH_MS * (1.0 / 3.0 + 1.0 / 2.0)  # the 2nd fastest of 3 exponentials
    results = replicate(fan_out(steps, branches=3), SEEDS)
    assert_agrees_with_theory("mean of the 2nd fastest of 3", metric(results, lambda r: r.summary.latency_ms.mean),
                              expected_ms, max_relative_half_width=0.01)
    assert predict(fan_out(steps, branches=3))["gateway"].mean_response_ms == pytest.approx(expected_ms, rel=0.002)


def test_a_call_made_with_a_probability_sends_that_share() -> None:
    scenario = fan_out([{"call": "b0", "probability": 0.3}], branches=1)
    results = replicate(scenario, SEEDS[:4])
    share = metric(results, lambda r: r.summary.components["b0"].arrival_rate_rps / r.summary.throughput_rps)
    assert confidence_interval(share).mean == pytest.approx(0.3, abs=0.01)
    twin = predict(scenario)
    assert twin["b0"].arrival_rate_rps == pytest.approx(30.0)
    assert twin["gateway"].mean_response_ms == pytest.approx(GATEWAY_MS + 0.3 * BRANCH_MS, rel=0.002)


def test_a_timed_out_call_fails_the_visit_unless_optional() -> None:
    strict = sim.run(fan_out([{"call": "b0", "timeout_ms": 5}], branches=1), seed=3).summary
    assert strict.error_rate == pytest.approx(math.exp(-5.0 / BRANCH_MS), abs=0.03)  # P(Exp(10 ms) > 5 ms)
    optional = sim.run(fan_out([{"call": "b0", "timeout_ms": 5, "optional": True}], branches=1), seed=3).summary
    assert optional.error_rate == 0.0
    assert optional.latency_ms.p99 <= GATEWAY_MS + 5.0 + 0.5


def test_the_grid_sums_and_maxima_match_closed_forms() -> None:
    branch = GridDistribution.from_moments(BRANCH_MS, BRANCH_MS**2)
    maximum = kth_fastest([branch] * WIDTH, WIDTH)
    assert maximum.quantile_ms(0.99) == pytest.approx(p99_of_maximum(WIDTH, BRANCH_MS), rel=1e-3)
    two = total([branch, branch])  # Erlang-2: mean 2m, variance 2m^2
    assert two.mean_ms == pytest.approx(2 * BRANCH_MS, rel=1e-3)
    assert two.variance_ms2 == pytest.approx(2 * BRANCH_MS**2, rel=1e-3)
