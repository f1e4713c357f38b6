"""Exact traces with deterministic times: each component does precisely what its model says."""

from __future__ import annotations

from typing import Any

import pytest

import sim
from sim.engine.run import Model
from sim.kinds.balancing import ConsistentHash, LeastConnections, PowerOfTwoChoices, RoundRobin
from sim.kinds.cache import LruCache
from sim.kinds.database import shard_of
from sim.model.status import DROPPED, OK, TIMED_OUT
from sim.runtime.requests import Request
from sim.runtime.rng import RandomStreams


def fixed(mean_ms: float) -> dict[str, Any]:
    return {"distribution": "deterministic", "mean_ms": mean_ms}


def build(components: dict[str, Any], entry: str) -> Model:
    scenario = sim.parse_scenario({"workload": {"rate_rps": 1, "entry": entry}, "components": components,
                                   "duration_s": 100, "warmup_s": 0})
    return Model(scenario, seed=1)


def trace(model: Model, entry: str, arrivals: list[tuple[float, int, bool]]) -> list[tuple[int, float, int]]:
    """Send requests (time s, key, is_write) into ``entry``; return (request number, finish ms, status)."""
    finished: list[tuple[int, float, int]] = []
    component = model.components[entry]

    def reply(number: int, status: int) -> None:
        finished.append((number, round(model.env.now * 1000, 6), status))

    for number, (time_s, key, is_write) in enumerate(arrivals):
        def send(request_number: int, key: int = key, is_write: bool = is_write, time_s: float = time_s) -> None:
            component.accept(Request(time_s, 0, is_write, key), reply, request_number)
        model.env.call_later(time_s, send, number)
    model.env.run()
    return sorted(finished)


def test_single_worker_fifo_and_bounded_queue() -> None:
    model = build({"api": {"kind": "service", "service_time": fixed(10), "queue_capacity": 1}}, "api")
    result = trace(model, "api", [(0.0, 0, False), (0.001, 0, False), (0.002, 0, False), (0.012, 0, False)])
    assert result == [(0, 10.0, OK), (1, 20.0, OK), (2, 2.0, DROPPED), (3, 30.0, OK)]
    station = model.components["api"].stations[0]
    assert (station.arrivals, station.drops, station.completions) == (4, 1, 3)
    assert station.wait_total_s == pytest.approx(0.009 + 0.008)  # request 1 waited 9 ms, request 3 waited 8 ms


def test_timeout_answers_at_the_deadline_and_skips_abandoned_work() -> None:
    model = build({"api": {"kind": "service", "service_time": fixed(10), "timeout_ms": 15}}, "api")
    result = trace(model, "api", [(0.0, 0, False), (0.001, 0, False), (0.002, 0, False)])
    assert result == [(0, 10.0, OK), (1, 16.0, TIMED_OUT), (2, 17.0, TIMED_OUT)]
    station = model.components["api"].stations[0]
    # request 1 still ran (10-20 ms: wasted work); request 2 was abandoned in the queue and never started
    assert station.starts == 2
    assert station.snapshot(model.env.now)[0] == pytest.approx(0.020)  # busy area: 20 ms of work


def test_worker_is_held_during_downstream_calls() -> None:
    model = build({
        "api": {"kind": "service", "service_time": fixed(5), "calls": ["db"]},
        "db": {"kind": "database", "pool_size": 4, "read_time": fixed(10), "write_time": fixed(20)},
    }, "api")
    result = trace(model, "api", [(0.0, 1, False), (0.0, 2, True)])
    assert result == [(0, 15.0, OK), (1, 40.0, OK)]  # the second waits for the only worker: 15 + 5 + 20


def test_round_robin_load_balancer_visits_instances_in_turn() -> None:
    model = build({
        "lb": {"kind": "load_balancer", "target": "api", "policy": "round_robin", "latency_ms": 1},
        "api": {"kind": "service", "instances": 3, "service_time": fixed(10)},
    }, "lb")
    result = trace(model, "lb", [(0.0, 0, False)] * 4)
    # instances 0, 1, 2 start at 1 ms; the fourth request waits behind the first on instance 0
    assert result == [(0, 11.0, OK), (1, 11.0, OK), (2, 11.0, OK), (3, 21.0, OK)]
    assert [station.arrivals for station in model.components["api"].stations] == [2, 1, 1]


def test_policies_on_hand_made_loads() -> None:
    round_robin = RoundRobin(3)
    assert [round_robin.choose(0, ()) for _ in range(5)] == [0, 1, 2, 0, 1]
    assert LeastConnections().choose(0, [3, 1, 1, 2]) == 1
    two_choices = PowerOfTwoChoices(4, RandomStreams(1).stream("test"))
    picks = [two_choices.choose(0, [5, 5, 0, 5]) for _ in range(200)]
    assert 2 in picks and picks.count(2) > 80  # instance 2 wins whenever it is drawn (half the time)
    assert all(pick in (0, 1, 2, 3) for pick in picks)


def test_consistent_hash_is_sticky_and_moves_few_keys_when_growing() -> None:
    four, five = ConsistentHash(4, 64), ConsistentHash(5, 64)
    keys = range(5000)
    assert all(four.choose(key, ()) == four.choose(key, ()) for key in range(50))
    moved = sum(four.choose(key, ()) != five.choose(key, ()) for key in keys)
    assert 0.1 < moved / len(keys) < 0.35  # about 1/5 of keys move to the new instance, not most of them
    assert all(five.choose(key, ()) == 4 for key in keys if four.choose(key, ()) != five.choose(key, ()))


def test_lru_eviction_order_and_ttl() -> None:
    cache = LruCache(capacity=2, ttl_s=None)
    outcomes = []
    for key in ["A", "B", "A", "C", "B", "A"]:
        hit = cache.lookup(key, 0.0)  # type: ignore[arg-type]
        outcomes.append(hit)
        if not hit:
            cache.insert(key, 0.0)  # type: ignore[arg-type]
    assert outcomes == [False, False, True, False, False, False]
    assert list(cache.entries) == ["B", "A"] and cache.evictions == 3
    timed = LruCache(capacity=10, ttl_s=1.0)
    timed.insert(7, 0.0)
    assert timed.lookup(7, 0.5) and not timed.lookup(7, 1.6)


def test_cache_aside_reads_fill_and_writes_invalidate() -> None:
    model = build({
        "cache": {"kind": "cache", "store": "db", "capacity_keys": 10, "hit_latency_ms": 1, "miss_latency_ms": 2},
        "db": {"kind": "database", "read_time": fixed(10), "write_time": fixed(20)},
    }, "cache")
    result = trace(model, "cache", [(0.0, 5, False), (0.1, 5, False), (0.2, 5, True), (0.3, 5, False)])
    assert result == [(0, 12.0, OK), (1, 101.0, OK), (2, 220.0, OK), (3, 312.0, OK)]
    cache = model.components["cache"]
    assert (cache.hits, cache.misses) == (1, 2)


def test_connection_pool_makes_queries_wait() -> None:
    model = build({"db": {"kind": "database", "pool_size": 2, "read_time": fixed(10), "write_time": fixed(10)}}, "db")
    result = trace(model, "db", [(0.0, 1, False)] * 3)
    assert result == [(0, 10.0, OK), (1, 10.0, OK), (2, 20.0, OK)]
    assert model.components["db"].stations[0].wait_total_s == pytest.approx(0.010)


def test_shards_by_key_writes_to_primary_reads_over_replicas() -> None:
    model = build({"db": {"kind": "database", "shards": 2, "replicas": 2, "read_time": fixed(1),
                          "write_time": fixed(1)}}, "db")
    key = next(key for key in range(100) if shard_of(key, 2) == 1)
    trace(model, "db", [(0.0, key, False), (0.01, key, False), (0.02, key, False), (0.03, key, True)])
    arrivals = {station.name: station.arrivals for station in model.components["db"].stations}
    assert arrivals == {"db/shard-0/primary": 0, "db/shard-0/replica-0": 0, "db/shard-0/replica-1": 0,
                        "db/shard-1/primary": 1, "db/shard-1/replica-0": 2, "db/shard-1/replica-1": 1}
