"""Cache stampedes: k concurrent misses on an expired hot key, single-flight coalescing, and the expected burst."""

from __future__ import annotations

import math

import pytest

import sim
from sim.engine.run import Model
from sim.model.status import OK
from sim.scenario.overrides import with_overrides
from sim.theory.cache import early_refresh_probability, early_refresh_store_reads, stampede_store_reads
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate
from tests.test_components import build, fixed, trace


def cache_model(coalesce: bool) -> Model:
    return build({
        "cache": {"kind": "cache", "store": "db", "capacity_keys": 10, "ttl_s": 1, "hit_latency_ms": 1,
                  "miss_latency_ms": 2, "coalesce_misses": coalesce},
        "db": {"kind": "database", "pool_size": 50, "read_time": fixed(10), "write_time": fixed(20)},
    }, "cache")


@pytest.mark.parametrize(("coalesce", "store_reads"), [(False, 6), (True, 2)])
def test_k_concurrent_misses_on_expiry_become_one_store_read_with_coalescing(coalesce: bool, store_reads: int) -> None:
    model = cache_model(coalesce)
    # key 5 is filled at 12 ms and expires at 1.012 s; five reads arrive together just after
    arrivals = [(0.0, 5, False), (0.5, 5, False)] + [(1.1, 5, False)] * 5
    result = trace(model, "cache", arrivals)
    assert result == [(0, 12.0, OK), (1, 501.0, OK)] + [(number, 1112.0, OK) for number in range(2, 7)]
    database = model.components["db"].stations[0]
    assert database.arrivals == store_reads  # the first fill, then one read (or five) for the stampede
    cache = model.components["cache"]
    assert (cache.hits, cache.misses, cache.refills, cache.store_reads) == (1, 6, 2, store_reads)
    assert cache.refilling == {}


def hot_key(coalesce: bool) -> sim.Scenario:
    """One key read 200 times a second, a 1 s TTL (10% jitter), a 50 ms store: each refill draws a stampede."""
    return sim.parse_scenario({
        "duration_s": 60, "warmup_s": 2,
        "workload": {"rate_rps": 200, "entry": "cache", "keys": {"count": 1}},
        "components": {
            "cache": {"kind": "cache", "store": "db", "capacity_keys": 10, "ttl_s": 1, "ttl_jitter": 0.1,
                      "hit_latency_ms": 0.5, "miss_latency_ms": 0.5, "coalesce_misses": coalesce},
            "db": {"kind": "database", "pool_size": 64, "read_time": fixed(50), "write_time": fixed(50)}}})


def per_refill(result: sim.Result) -> float:
    return float(result.summary.components["cache"].store_reads_per_refill)


def test_stampede_burst_is_rate_times_refill_time_and_coalescing_removes_it() -> None:
    expected = stampede_store_reads(200.0, 50.0)
    assert expected == pytest.approx(11.0)
    assert_agrees_with_theory("store reads per refill", metric(replicate(hot_key(False), range(1, 9)), per_refill),
                              expected, max_relative_half_width=0.05)
    assert per_refill(sim.run(hot_key(True), seed=1)) == 1.0


def test_plain_cache_reports_no_refill_statistics() -> None:
    summary = sim.run(hot_key(False).model_copy(update={"duration_s": 5}), seed=1).summary
    assert summary.components["cache"].store_reads_per_refill is not None
    scenario = sim.load_scenario("scenarios/cache-aside.yaml").model_copy(update={"duration_s": 5, "warmup_s": 1})
    assert sim.run(scenario, seed=1).summary.components["cache"].store_reads_per_refill is None


def early_refresh(beta: float, ttl_s: float) -> sim.Scenario:
    """The hot key of ``hot_key`` without jitter or coalescing, refreshed early by XFetch with ``beta``."""
    scenario = hot_key(False)
    return with_overrides(scenario, {"components.cache.ttl_jitter": 0.0, "components.cache.ttl_s": ttl_s,
                                     "components.cache.early_refresh_beta": beta})


def test_early_refresh_removes_the_expiry_burst() -> None:
    stampede = per_refill(sim.run(hot_key(False), seed=1))
    refreshed = sim.run(early_refresh(1.0, 1.0), seed=1).summary.components["cache"]
    # beta 1: a refresh starts early in all but e^-10 of the key's lives, and ends before expiry in all but e^-(10/e)
    assert early_refresh_probability(200.0, 50.0, 1.0, 1.0) == pytest.approx(1.0, abs=1e-4)
    assert early_refresh_store_reads(200.0, 50.0, 1.0, 1.0) < 1.1
    assert stampede > 9 and refreshed.store_reads_per_refill < 1.5
    # the stampede misses about 11 of the 200 reads of a life
    assert refreshed.early_refresh_share > 0.95 and refreshed.hit_ratio > 0.995


def test_a_small_beta_leaves_part_of_the_burst_as_the_reference_predicts() -> None:
    # beta 0.5 often starts the refresh less than a refill before expiry: the reads in the gap still miss
    expected = early_refresh_store_reads(200.0, 50.0, 0.5, 0.2)
    assert 2.5 < expected < 3.5  # between the one read of a timely refresh and the stampede's 11
    reads = metric(replicate(early_refresh(0.5, 0.2), range(1, 7)), per_refill)
    assert_agrees_with_theory("store reads per refill", reads, expected, max_relative_half_width=0.08)


def test_early_refresh_share_matches_the_thinned_poisson_reference() -> None:
    # beta 0.2: the refresh intensity r exp(-left / (refill beta)) integrates to r refill beta = 2 over a life
    expected = early_refresh_probability(200.0, 50.0, 0.2, 0.2)
    assert expected == pytest.approx(1 - math.exp(-2 * (1 - math.exp(-20))))
    share = metric(replicate(early_refresh(0.2, 0.2), range(1, 7)),
                   lambda run: float(run.summary.components["cache"].early_refresh_share))
    assert_agrees_with_theory("early refresh share", share, expected, max_relative_half_width=0.03)
