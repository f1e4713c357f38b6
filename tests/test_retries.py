"""Retries: the backoff's closed forms (attempt times), the budget's bound, the amplification in the bottleneck
sentence, and the retry storm: a spike tips a system retrying without a budget into an overload that outlasts
it, a budget lets it recover, and the twin's fixed points say which, for every seed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from sim.kinds.service.retries import BUDGET_RESERVE, RetryPolicy, RetrySpec
from sim.model.errors import ScenarioError
from sim.model.status import OK
from sim.scenario.gallery import load_gallery_scenario
from sim.scenario.overrides import with_overrides
from sim.theory.retries import attempts_per_request, mmc_response_tail, retry_fixed_points, settles_in
from tests.stats_helpers import confidence_interval

TIMEOUT_MS = 1.0
SEEDS = range(1, 11)


def always_timing_out(jitter: str) -> sim.Scenario:
    """Every attempt times out after 1 ms (the callee takes a second): a request fails after 4 attempts and
    3 backoffs, so its latency is 4 ms plus the three waits."""
    return sim.parse_scenario({
        "name": "backoff", "duration_s": 30, "warmup_s": 1, "seed": 1,
        "workload": {"rate_rps": 20, "entry": "api"},
        "components": {
            "api": {"kind": "service", "workers": 1000, "service_time": {"distribution": "deterministic",
                                                                          "mean_ms": 0.001},
                    "calls": [{"call": "slow", "timeout_ms": TIMEOUT_MS,
                               "retries": {"max_retries": 3, "backoff_ms": 10, "multiplier": 2,
                                           "max_backoff_ms": 1000, "jitter": jitter}}]},
            "slow": {"kind": "service", "workers": 4096, "queue_capacity": 0,
                     "service_time": {"distribution": "deterministic", "mean_ms": 1000}},
        },
    })


def failed_latencies_ms(result: sim.Result) -> np.ndarray:
    records = result.records
    failed = result.measured_mask() & (records["status"] != OK)
    return records["latency_ms"][failed].astype(np.float64) - 4 * TIMEOUT_MS - 0.001


def test_without_jitter_the_waits_are_exactly_10_20_40_ms() -> None:
    waits = failed_latencies_ms(sim.run(always_timing_out("none"), seed=1))
    assert waits.size > 400
    np.testing.assert_allclose(waits, 70.0, atol=1e-3)


def test_full_jitter_spreads_the_waits_as_a_sum_of_uniforms() -> None:
    """Full jitter: U(0, 10) + U(0, 20) + U(0, 40) ms: mean 35, variance (10^2 + 20^2 + 40^2) / 12 = 175."""
    waits = failed_latencies_ms(sim.run(always_timing_out("full"), seed=1))
    rng = np.random.default_rng(0)  # the closed form's distribution, drawn: a sum of uniforms has no scipy name
    reference = rng.uniform(0, 10, 200_000) + rng.uniform(0, 20, 200_000) + rng.uniform(0, 40, 200_000)
    assert stats.ks_2samp(waits, reference).pvalue > 0.01
    assert waits.mean() == pytest.approx(35.0, abs=3 * np.sqrt(175.0 / waits.size))
    assert waits.var() == pytest.approx(175.0, rel=0.15)
    assert waits.min() >= 0.0 and waits.max() <= 70.0


def test_equal_jitter_waits_at_least_half_the_cap() -> None:
    """Equal jitter: 5 + U(0, 5), 10 + U(0, 10), 20 + U(0, 20): mean 52.5 ms, never below 35."""
    waits = failed_latencies_ms(sim.run(always_timing_out("equal"), seed=1))
    assert waits.min() >= 35.0 - 1e-6 and waits.max() <= 70.0 + 1e-6
    assert waits.mean() == pytest.approx(52.5, abs=3 * np.sqrt((25 + 100 + 400) / 12 / waits.size))


@pytest.mark.parametrize("retry", [1, 2, 3])
def test_each_full_jitter_wait_is_uniform_below_its_cap(retry: int) -> None:
    spec = RetrySpec(backoff_ms=10, multiplier=2, max_backoff_ms=25, jitter="full")
    policy = RetryPolicy(spec, np.random.default_rng(retry))
    cap_s = spec.cap_ms(retry) / 1000.0  # 10, 20, then 25 ms (capped)
    waits = [policy.backoff_s(retry, None) for _draw in range(5000)]
    assert stats.kstest(waits, stats.uniform(0, cap_s).cdf).pvalue > 0.01
    assert spec.mean_backoff_ms(retry) == pytest.approx(1000 * cap_s / 2)


def test_decorrelated_jitter_stays_between_the_base_and_three_times_the_last_wait() -> None:
    spec = RetrySpec(backoff_ms=10, max_backoff_ms=1000, jitter="decorrelated")
    policy = RetryPolicy(spec, np.random.default_rng(3))
    previous = None
    for retry in range(1, 200):
        wait = policy.backoff_s(retry, previous)
        assert 0.010 <= wait <= min(1.0, 3 * (previous or 0.010)) + 1e-12
        previous = wait


def test_a_budget_bounds_retries_by_its_share_of_first_attempts() -> None:
    scenario = with_overrides(always_timing_out("full"), {"components.api.calls.0.retries.budget": 0.2})
    result = sim.run(scenario, seed=1)
    api = result.summary.components["api"].model_dump()
    first_attempts = result.summary.components["slow"].arrival_rate_rps * result.span_s - api["retries"]
    assert api["retries"] <= 0.2 * first_attempts + BUDGET_RESERVE + 1  # + 1: an attempt cut by the window
    assert api["retries"] >= 0.2 * first_attempts - BUDGET_RESERVE - 1  # every failing call wants all 3
    assert api["retries_denied"] > api["retries"]


def test_a_bad_retry_block_is_named_by_its_field() -> None:
    scenario = load_gallery_scenario("retry-storm").model_dump(mode="json", exclude_unset=True)
    scenario["components"]["api"]["calls"][0]["retries"]["max_backoff_ms"] = 1
    with pytest.raises(ScenarioError) as caught:
        sim.parse_scenario(scenario)
    assert "components.api.calls.0.retries" in str(caught.value)
    assert "below backoff_ms" in str(caught.value)


def test_the_twin_s_response_tail_is_the_m_m_c_closed_form() -> None:
    """P(R > t) at M/M/4, 20 ms, 140 req/s against 200,000 simulated responses at the same load."""
    rng = np.random.default_rng(5)
    arrivals = np.cumsum(rng.exponential(1 / 140, 200_000))
    services = rng.exponential(0.020, arrivals.size)
    free = np.zeros(4)
    responses = np.empty(arrivals.size)
    for index, (arrival, service) in enumerate(zip(arrivals, services, strict=True)):
        server = int(np.argmin(free))
        start = max(arrival, free[server])
        free[server] = start + service
        responses[index] = free[server] - arrival
    for time_ms in (20, 50, 100):
        measured = float(np.mean(responses > time_ms / 1000))
        assert mmc_response_tail(140, 20, 4, time_ms) == pytest.approx(measured, abs=0.01)
    assert mmc_response_tail(200, 20, 4, 100) == 1.0  # at capacity the queue has no bound
    assert attempts_per_request(0.5, 3) == 1.875 and attempts_per_request(0.5, 3, budget=0.1) == 1.1


def storm_states(budget: float | None) -> list:
    return retry_fixed_points(140, 20, 4, 250, 3, budget)


def test_without_a_budget_the_twin_has_two_stable_states_and_the_spike_crosses_the_tipping_point() -> None:
    states = storm_states(None)
    assert [state.stable for state in states] == [True, False, True]
    healthy, tipping, saturated = states
    assert healthy.attempt_rate_rps == pytest.approx(140, rel=1e-3) and healthy.success_share > 0.9999
    assert saturated.saturated and saturated.attempt_rate_rps == pytest.approx(560) and saturated.success_share == 0
    assert 140 < tipping.attempt_rate_rps < 200 < 300  # the spike sends 300 first attempts a second
    assert settles_in(states, 140) is healthy and settles_in(states, 300) is saturated
    with_budget = storm_states(0.1)
    assert len(with_budget) == 1 and settles_in(with_budget, 300) is with_budget[0]


def after_the_spike(budget: float | None) -> list[float]:
    """Per seed, the share of requests arriving in the last 20 s (15 s after the spike) that succeeded."""
    scenario = load_gallery_scenario("retry-storm")
    if budget is not None:
        scenario = with_overrides(scenario, {"components.api.calls.0.retries.budget": budget})
    shares = []
    for seed in SEEDS:
        result = sim.run(scenario, seed=seed)
        records = result.records
        late = records["arrival_s"] >= 40.0
        shares.append(float(np.mean(records["status"][late] == OK)))
    return shares


def test_the_storm_outlasts_the_spike_without_a_budget_and_recovers_with_one() -> None:
    """The twin says: no budget, the spike leaves the saturated state (no request succeeds); a budget of 0.1,
    only the healthy state (all succeed). Every seed lands where the twin says."""
    without = after_the_spike(None)
    assert max(without) < 0.01, without
    with_budget = after_the_spike(0.1)
    assert min(with_budget) > 0.99, with_budget
    assert settles_in(storm_states(None), 300).success_share == 0.0
    assert settles_in(storm_states(0.1), 300).success_share > 0.99


def test_the_bottleneck_sentence_names_the_retries() -> None:
    summary = sim.run(load_gallery_scenario("retry-storm"), seed=1).summary
    assert summary.bottleneck is not None and summary.bottleneck.component == "db/primary"
    assert "db receives 4.0 attempts per request: retries" in summary.bottleneck.reason
    assert summary.components["api"].model_dump()["retries_per_visit"] == pytest.approx(3.0, abs=0.05)
    assert any("sim.theory.retries" in note for note in summary.theory.components["api"].notes)


def test_confidence_of_the_healthy_state() -> None:
    """Before the spike the retries are rare, as the healthy fixed point's failure probability says."""
    scenario = with_overrides(load_gallery_scenario("retry-storm"), {"workload.profile": None, "duration_s": 20,
                                                                     "warmup_s": 2})
    retries = [sim.run(scenario, seed=seed).summary.components["api"].model_dump()["retries_per_visit"]
               for seed in range(1, 6)]
    interval = confidence_interval(retries)
    assert interval.mean < 1e-3 and storm_states(None)[0].failure_probability < 1e-3
