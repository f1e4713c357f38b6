"""The leaderless quorum store against its closed forms: k-of-n order statistics, PBS staleness, exact traces."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from sim.model.status import OK
from sim.theory.quorum import (
    order_statistic_mean,
    order_statistic_quantile,
    order_statistic_variance,
    pbs_stale_probability,
)
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate
from tests.test_components import build, fixed, trace

SEEDS = range(1, 9)


def exponential(mean_ms: float) -> dict[str, Any]:
    return {"distribution": "exponential", "mean_ms": mean_ms}


def quorum_scenario(read: str | int, write: str | int, *, write_share: float, rate_rps: float, keys: int,
                    duration_s: float = 40) -> sim.Scenario:
    """One quorum store of 3 replicas with enough threads that nothing waits: replicas are independent."""
    classes = [{"name": "read", "weight": 1 - write_share, "operation": "read"}]
    if write_share > 0:
        classes.append({"name": "write", "weight": write_share, "operation": "write"})
    return sim.parse_scenario({
        "duration_s": duration_s, "warmup_s": 1,
        "workload": {"rate_rps": rate_rps, "entry": "kv", "keys": {"count": keys}, "classes": classes},
        "components": {"kv": {"kind": "quorum_store", "replication_factor": 3, "read_consistency": read,
                              "write_consistency": write, "threads": 256, "read_time": exponential(10),
                              "write_time": exponential(10)}}})


def read_latencies(result: sim.Result) -> np.ndarray:
    frame = result.to_pandas()
    chosen = (frame["request_class"] == "read") & frame["measured"] & (frame["status"] == "ok")
    return frame[chosen]["latency_ms"].to_numpy()


def test_order_statistics_by_hand() -> None:
    assert order_statistic_mean(1, 3, 10.0) == pytest.approx(10 / 3)  # min of 3: rate 3/10
    assert order_statistic_mean(3, 3, 10.0) == pytest.approx(10 * (1 + 1 / 2 + 1 / 3))
    assert order_statistic_variance(2, 3, 10.0) == pytest.approx(100 * (1 / 4 + 1 / 9))
    # the median of 3: P(at least 2 of 3 done by t) = 3p^2 - 2p^3 = 0.99 at p = 0.9411...
    p99 = order_statistic_quantile(2, 3, 10.0, 0.99)
    done = 1 - np.exp(-p99 / 10)
    assert 3 * done**2 - 2 * done**3 == pytest.approx(0.99)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        order_statistic_mean(4, 3, 1.0)


@pytest.mark.parametrize(("level", "needed"), [("one", 1), ("quorum", 2), ("all", 3)])
def test_quorum_read_latency_is_the_order_statistic(level: str, needed: int) -> None:
    scenario = quorum_scenario(level, "one", write_share=0.0, rate_rps=300, keys=100)
    results = replicate(scenario, SEEDS)
    assert_agrees_with_theory(f"{level} mean read ms", metric(results, lambda r: read_latencies(r).mean()),
                              order_statistic_mean(needed, 3, 10.0), max_relative_half_width=0.02)
    assert_agrees_with_theory(f"{level} p99 read ms",
                              metric(results, lambda r: np.percentile(read_latencies(r), 99)),
                              order_statistic_quantile(needed, 3, 10.0, 0.99), max_relative_half_width=0.04,
                              relative_bias=0.01)
    twin = results[0].summary.theory.components["kv"]
    assert twin.mean_response_ms == pytest.approx(order_statistic_mean(needed, 3, 10.0), rel=0.01)


def stale_ratio(result: sim.Result) -> float:
    return float(result.summary.components["kv"].stale_read_ratio)


def test_partial_quorum_stale_reads_match_pbs_monte_carlo() -> None:
    # one key, 20 writes/s: a read that misses the last write within ~10 ms is stale often enough to measure
    scenario = quorum_scenario("one", "one", write_share=0.1, rate_rps=200, keys=1, duration_s=60)
    reference = pbs_stale_probability(3, 1, 1, 10.0, 10.0, write_rps=20.0, rng=np.random.default_rng(5),
                                      reads=400_000)
    assert 0.05 < reference < 0.5
    assert_agrees_with_theory("stale share, R=W=1 of 3", metric(replicate(scenario, SEEDS), stale_ratio),
                              reference, max_relative_half_width=0.08, relative_bias=0.02)


def test_strict_quorums_never_read_stale() -> None:
    scenario = quorum_scenario("quorum", "quorum", write_share=0.3, rate_rps=400, keys=2, duration_s=20)
    result = sim.run(scenario, seed=3)
    assert stale_ratio(result) == 0.0
    assert pbs_stale_probability(3, 2, 2, 10.0, 10.0, write_rps=50.0, rng=np.random.default_rng(1),
                                 reads=20_000) == 0.0


def test_write_answers_at_the_w_th_ack_and_the_slow_replicas_still_work() -> None:
    model = build({"kv": {"kind": "quorum_store", "replication_factor": 3, "threads": 1, "queue_capacity": 0,
                          "write_consistency": "all", "read_time": fixed(5), "write_time": fixed(10)}}, "kv")
    # a write holds every replica for 10 ms; a read at 2 ms finds every replica busy and no queue: dropped
    result = trace(model, "kv", [(0.0, 1, True), (0.002, 1, False), (0.012, 1, False)])
    assert [(number, finish) for number, finish, _status in result] == [(0, 10.0), (1, 2.0), (2, 17.0)]
    assert [status for _number, _finish, status in result][0::2] == [OK, OK]
    store = model.components["kv"]
    assert [station.completions for station in store.stations] == [2, 2, 2]
    assert store.versions == {}  # every replica applied the write: nothing left to track
    assert (store.quorum_reads, store.stale_reads) == (1, 0)


def test_consistency_levels_validate() -> None:
    with pytest.raises(sim.ScenarioError, match="read_consistency"):
        quorum_scenario(4, "one", write_share=0.0, rate_rps=1, keys=1)
