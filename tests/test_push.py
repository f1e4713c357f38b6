"""The push kind (Socket.io-style fan-out): an event's work is its subscribers' deliveries, held to M/G/1
(Pollaczek-Khinchine) alone and as a broker's consumer, with the work scaling with the audience."""

from __future__ import annotations

from typing import Any

import pytest

import sim
from sim.scenario.gallery import gallery_paths
from sim.scenario.overrides import with_overrides
from sim.theory import mg1
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate

SEEDS = range(1, 9)


def gateway(rate_rps: float = 200.0, subscribers: int = 200, delivery_time_ms: float = 0.02,
            **push: Any) -> dict[str, Any]:
    """Events straight into a push gateway with one sender."""
    return {"name": "push", "duration_s": 100, "warmup_s": 5,
            "workload": {"rate_rps": rate_rps, "entry": "push", "classes": [{"name": "event", "weight": 1.0}]},
            "components": {"push": {"kind": "push", "subscribers": subscribers, "delivery_time_ms": delivery_time_ms,
                                    **push}}}


def test_an_event_waits_as_mg1_with_the_work_of_its_subscribers() -> None:
    """200 exponential deliveries of 0.02 ms: 4 ms per event, SCV 1/200; at 200/s, P-K gives W = 8.04 ms."""
    scenario = sim.parse_scenario(gateway())
    exact = mg1(200.0, 4.0, 1.0 / 200)
    assert exact.mean_wait_ms == pytest.approx(0.8 * 4.0 * (1 + 1 / 200) / (2 * 0.2))
    results = replicate(scenario, SEEDS)
    twin = results[0].summary.theory.components["push"]
    assert twin.mean_wait_ms == pytest.approx(exact.mean_wait_ms)
    assert_agrees_with_theory("push mean wait", metric(results, lambda result: result.summary.components["push"]
                                                       .mean_wait_ms), exact.mean_wait_ms, max_relative_half_width=0.08)
    for result in results:
        push = result.summary.components["push"]
        assert push.deliveries == round(push.throughput_rps * result.span_s) * 200


@pytest.mark.parametrize("subscribers", [50, 800])
def test_an_events_work_scales_with_its_subscribers(subscribers: int) -> None:
    result = sim.run(sim.parse_scenario(gateway(rate_rps=10, subscribers=subscribers, delivery_time_ms=0.05)),
                     seed=1)
    push = result.summary.components["push"]
    holding_ms = 1000.0 / push.capacity_rps
    assert holding_ms == pytest.approx(subscribers * 0.05, rel=0.03)
    assert result.summary.theory.components["push"].utilisation == pytest.approx(10 * subscribers * 0.05 / 1000)
    deterministic = sim.run(sim.parse_scenario(gateway(rate_rps=10, subscribers=subscribers, delivery_time_ms=0.05,
                                                       delivery_distribution="deterministic")), seed=1)
    assert 1000.0 / deterministic.summary.components["push"].capacity_rps == pytest.approx(subscribers * 0.05,
                                                                                       rel=0.002)  # window edges


def test_a_push_consumer_lags_as_mg1() -> None:
    """A topic with one partition read by a push gateway: the consumer holds each message for the push's work
    (10 ms, SCV 1/500), so the group's lag is M/G/1's number in system (P-K with Little's law)."""
    data = {
        "name": "notify", "duration_s": 100, "warmup_s": 5,
        "workload": {"rate_rps": 70, "entry": "api", "classes": [{"name": "order", "weight": 1.0}]},
        "components": {
            "api": {"kind": "service", "workers": 8, "service_time": {"distribution": "exponential", "mean_ms": 1},
                    "calls": ["orders"]},
            "orders": {"kind": "broker", "partitions": 1, "append_latency_ms": 0,
                       "consumers": [{"group": "notify", "service": "push"}]},
            "push": {"kind": "push", "subscribers": 500, "delivery_time_ms": 0.02},
        },
    }
    results = replicate(sim.parse_scenario(data), SEEDS)
    exact = mg1(70.0, 10.0, 1.0 / 500)
    assert results[0].summary.theory.components["orders"].lag_messages["notify"] == pytest.approx(exact.mean_in_system)
    lags = metric(results, lambda result: result.summary.components["orders"].groups["notify"].mean_lag_messages)
    assert_agrees_with_theory("push consumer lag", lags, exact.mean_in_system, max_relative_half_width=0.08)


def test_too_much_work_per_event_is_refused_by_field() -> None:
    with pytest.raises(sim.ScenarioError) as caught:
        sim.parse_scenario(gateway(subscribers=10_000_000, delivery_time_ms=10_000))
    assert any(problem.path.startswith("components.push") and "more than a day" in problem.message
               for problem in caught.value.problems)


def test_the_notifications_gallery_fans_out_to_two_groups_and_the_audience_sets_the_push_lag() -> None:
    """billing and notify each read every order; doubling the subscribers doubles notify's work (its consumers
    go from 75% to 150% of their capacity) and leaves billing's lag where it was (same seed, same draws)."""
    scenario = sim.load_scenario(gallery_paths()["notifications"])
    base = sim.run(scenario, seed=3).summary
    groups = base.components["orders"].groups
    assert groups["billing"].consume_rate_rps == pytest.approx(groups["notify"].consume_rate_rps, rel=0.01)
    assert base.bottleneck is not None and base.bottleneck.reason.startswith("orders/notify/consumer-")
    assert "busy: the 6 notify consumers of orders process at most 200 events/s at 30.0 ms each" in \
        base.bottleneck.reason
    louder = sim.run(with_overrides(scenario, {"components.push.subscribers": 6000}), seed=3).summary
    louder_groups = louder.components["orders"].groups
    assert louder_groups["billing"].mean_lag_messages == pytest.approx(groups["billing"].mean_lag_messages, rel=0.05)
    assert louder_groups["notify"].mean_lag_messages > 20 * groups["notify"].mean_lag_messages
    assert louder.components["push"].mean_response_ms == pytest.approx(60.0, rel=0.03)
