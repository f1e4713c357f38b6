"""Cache write policies (cache-aside, write-through, write-behind) and LFU eviction, held to exact traces and
their closed forms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from sim.kinds.cache import LfuCache
from sim.model.keys import key_probabilities
from sim.model.status import OK
from sim.scenario.overrides import with_overrides
from sim.teaching.knobs import scenario_knobs
from sim.theory.cache import lfu_hit_ratio, lru_hit_ratio, write_behind_store_writes_rps
from sim.twin.predict import predict
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate
from tests.test_components import build, fixed, trace


def policy_model(policy: str, **cache: Any) -> Any:
    return build({
        "cache": {"kind": "cache", "store": "db", "capacity_keys": 10, "hit_latency_ms": 1, "miss_latency_ms": 2,
                  "write_policy": policy, **cache},
        "db": {"kind": "database", "pool_size": 8, "read_time": fixed(10), "write_time": fixed(20)},
    }, "cache")


def test_write_through_writes_the_store_then_the_cache_so_the_next_read_hits() -> None:
    model = policy_model("write_through")
    result = trace(model, "cache", [(0.0, 5, True), (0.1, 5, False)])
    assert result == [(0, 21.0, OK), (1, 101.0, OK)]  # 1 ms in the cache + 20 ms store write; then a hit
    cache = model.components["cache"]
    assert (cache.hits, cache.misses) == (1, 0)
    assert model.components["db"].stations[0].arrivals == 1


def test_write_behind_answers_from_memory_and_flushes_each_key_once_per_interval() -> None:
    model = policy_model("write_behind", write_behind_delay_ms=100)
    arrivals = [(0.01, 5, True), (0.02, 5, True), (0.03, 6, True), (0.05, 5, False), (0.15, 7, True)]
    result = trace(model, "cache", arrivals)
    assert result == [(0, 11.0, OK), (1, 21.0, OK), (2, 31.0, OK), (3, 51.0, OK), (4, 151.0, OK)]
    buffer = model.components["cache"].buffer
    # the flush at 100 ms writes keys 5 and 6 (three writes, two store writes); the one at 200 ms writes key 7
    assert (buffer.buffered_writes, buffer.store_writes, buffer.flushed_writes) == (3 + 1, 2 + 1, 3 + 1)
    assert buffer.flush_delay_total_s == pytest.approx(0.09 + 0.08 + 0.07 + 0.05)
    assert model.components["db"].stations[0].arrivals == 3 and buffer.dirty == {}
    assert model.env.now == pytest.approx(0.2 + 0.02)  # the last flush's store write ends at 220 ms


def write_heavy(policy: str, seed: int = 1) -> sim.Scenario:
    """40 keys (Zipf 1), half the requests writes, every key fits: what reaches the store is the write policy's."""
    return sim.parse_scenario({
        "duration_s": 60, "warmup_s": 5, "seed": seed,
        "workload": {"rate_rps": 400, "entry": "cache", "keys": {"count": 40, "distribution": "zipf"},
                     "classes": [{"name": "read", "weight": 0.5}, {"name": "write", "weight": 0.5,
                                                                   "operation": "write"}]},
        "components": {
            "cache": {"kind": "cache", "store": "db", "capacity_keys": 100, "write_policy": policy,
                      "write_behind_delay_ms": 200},
            "db": {"kind": "database", "pool_size": 16, "read_time": fixed(5), "write_time": fixed(5)}}})


def test_write_behind_coalesces_writes_per_flush_as_the_twin_predicts() -> None:
    scenario = write_heavy("write_behind")
    write_rps = 200.0 * key_probabilities(scenario.workload.keys)
    expected_rps = float(write_behind_store_writes_rps(write_rps, 200.0).sum())
    assert expected_rps < 0.5 * 200.0  # hot keys are written many times per flush, so most writes coalesce
    twin_store_rps = predict(scenario)["db"].arrival_rate_rps
    assert twin_store_rps == pytest.approx(expected_rps, rel=0.02)  # plus the few cold misses of the 40 keys
    results = replicate(scenario, range(1, 7))
    assert_agrees_with_theory("store writes per second", metric(results, lambda run: run.summary.components[
        "db"].throughput_rps), expected_rps, max_relative_half_width=0.03)
    assert_agrees_with_theory("flush delay (ms)", metric(results, lambda run: run.summary.components[
        "cache"].mean_flush_delay_ms), 100.0, max_relative_half_width=0.03)  # half the interval on average
    summary = results[0].summary.components["cache"]
    assert summary.store_writes_per_write < 0.5 and summary.lost_writes == 0


@pytest.mark.parametrize("policy", ["cache_aside", "write_through", "write_behind"])
def test_what_a_write_costs_the_caller_per_policy(policy: str) -> None:
    result = sim.run(write_heavy(policy).model_copy(update={"duration_s": 20}), seed=3)
    rows = result.to_pandas()
    write_ms = rows[rows.measured & (rows.request_class == "write")].latency_ms.mean()
    expected = {"cache_aside": 5.0, "write_through": 6.0, "write_behind": 1.0}[policy]
    assert write_ms == pytest.approx(expected, rel=0.02)
    hit_ratio = result.summary.components["cache"].hit_ratio
    assert hit_ratio > 0.99 if policy != "cache_aside" else hit_ratio < 0.9  # cache-aside writes invalidate


def test_lfu_keeps_the_most_frequently_used_keys() -> None:
    cache = LfuCache(capacity=2, ttl_s=None)
    for key in [1, 1, 1, 2, 2, 3]:
        if not cache.lookup(key, 0.0):
            cache.insert(key, 0.0)
    assert set(cache.entries) == {1, 2}  # 3 was read once: not more often than 2, so it is not admitted
    for key in [3, 3, 3]:
        if not cache.lookup(key, 0.0):
            cache.insert(key, 0.0)
    assert set(cache.entries) == {1, 3} and cache.evictions == 1  # 3 (4 reads) now beats 2 (2 reads)
    cache.invalidate(1)
    cache.insert(4, 0.0)
    assert set(cache.entries) == {3, 4}


def zipf_reads(eviction: str) -> sim.Scenario:
    return sim.parse_scenario({
        "duration_s": 60, "warmup_s": 10,
        "workload": {"rate_rps": 1000, "entry": "cache", "keys": {"count": 2000, "distribution": "zipf",
                                                                   "zipf_exponent": 0.8}},
        "components": {
            "cache": {"kind": "cache", "store": "db", "capacity_keys": 100, "eviction": eviction},
            "db": {"kind": "database", "pool_size": 64, "read_time": fixed(2), "write_time": fixed(2)}}})


def test_lfu_hit_ratio_is_the_popularity_mass_of_the_top_keys_and_beats_lru() -> None:
    scenario = zipf_reads("lfu")
    popularity = key_probabilities(scenario.workload.keys)
    expected = lfu_hit_ratio(popularity, 100)
    assert expected == pytest.approx(float(np.sort(popularity)[::-1][:100].sum()))
    assert predict(scenario)["cache"].hit_ratio == pytest.approx(expected, rel=1e-9)
    hit_ratio = metric(replicate(scenario, range(1, 6)), lambda run: run.summary.components["cache"].hit_ratio)
    assert_agrees_with_theory("LFU hit ratio", hit_ratio, expected, max_relative_half_width=0.02)
    lru = lru_hit_ratio(popularity, 100)
    assert expected > lru + 0.05  # under stationary popularity LFU holds exactly the hot set; LRU churns
    lru_run = sim.run(zipf_reads("lru"), seed=1).summary.components["cache"].hit_ratio
    assert lru_run == pytest.approx(lru, abs=0.01) and lru_run < min(hit_ratio)


def test_the_app_offers_eviction_write_policy_server_and_replication_lag_knobs() -> None:
    scenario = with_overrides(write_heavy("cache_aside"), {
        "components.cache.server": {"model": "threads", "operation_time": fixed(0.1)},
        "components.db.replicas": 1, "components.db.replication_lag": fixed(20)})
    knobs = {knob.path: knob for knob in scenario_knobs(scenario)}
    changes = {"components.cache.eviction": "lfu", "components.cache.write_policy": "write_behind",
               "components.cache.server.model": "event_loop", "components.db.replication_lag.mean_ms": 200.0}
    for path, value in changes.items():
        assert value in knobs[path].options, path
    changed = with_overrides(scenario, changes)
    cache, database = changed.components["cache"], changed.components["db"]
    assert (cache.eviction, cache.write_policy, cache.server.servers) == ("lfu", "write_behind", 1)
    assert database.replication_lag.mean_ms == 200.0
    plain = {knob.path for knob in scenario_knobs(write_heavy("cache_aside"))}
    assert "components.db.replication_lag.mean_ms" not in plain and "components.cache.server.model" not in plain
