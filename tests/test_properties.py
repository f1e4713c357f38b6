"""Property-based checks (hypothesis) of the small pieces every run leans on."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.kinds.balancing import ConsistentHash, LeastConnections, RoundRobin
from sim.kinds.cache import LruCache
from sim.runtime.loop import EventLoop
from sim.runtime.requests import Request, Visit
from sim.runtime.stations import Station
from sim.scenario.overrides import get_field, with_overrides
from tests.conftest import single_service


@given(capacity=st.integers(1, 20), keys=st.lists(st.integers(0, 40), max_size=300))
def test_lru_never_exceeds_capacity_and_keeps_the_latest_key(capacity: int, keys: list[int]) -> None:
    cache = LruCache(capacity, ttl_s=None)
    for key in keys:
        if not cache.lookup(key, 0.0):
            cache.insert(key, 0.0)
        assert len(cache.entries) <= capacity
        assert next(reversed(cache.entries)) == key  # the key just used is the most recent


@given(loads=st.lists(st.integers(0, 50), min_size=1, max_size=30))
def test_least_connections_picks_a_least_loaded_instance(loads: list[int]) -> None:
    assert loads[LeastConnections().choose(0, loads)] == min(loads)


@given(instances=st.integers(1, 12), turns=st.integers(1, 100))
def test_round_robin_spreads_evenly(instances: int, turns: int) -> None:
    policy = RoundRobin(instances)
    counts = [0] * instances
    for _ in range(turns):
        counts[policy.choose(0, ())] += 1
    assert max(counts) - min(counts) <= 1


@given(instances=st.integers(1, 8), key=st.integers(0, 10**9))
def test_consistent_hash_answers_a_valid_instance(instances: int, key: int) -> None:
    assert 0 <= ConsistentHash(instances, 16).choose(key, ()) < instances


@settings(max_examples=60)
@given(servers=st.integers(1, 4), capacity=st.integers(0, 5),
       actions=st.lists(st.sampled_from(["arrive", "finish"]), max_size=80))
def test_station_respects_servers_and_queue_bound(servers: int, capacity: int, actions: list[str]) -> None:
    env = EventLoop()
    started: list[Visit] = []
    station = Station(env, "s", servers, capacity, started.append)
    accepted = dropped = released = 0
    for action in actions:
        if action == "arrive":
            if station.acquire(Visit(Request(0.0, 0, False, 0), lambda *_: None, None, 0.0)):
                accepted += 1
            else:
                dropped += 1
        elif station.busy:
            station.release(started[released])  # first in, first out: the oldest visit in service ends
            released += 1
        assert 0 <= station.busy <= servers and len(station.queue) <= capacity
        assert station.arrivals == accepted + dropped and station.drops == dropped
        assert len(started) == station.starts == accepted - len(station.queue)


@given(rate=st.floats(0.1, 1e5), workers=st.integers(1, 64))
def test_overrides_set_exactly_what_they_say(rate: float, workers: int) -> None:
    scenario = sim.parse_scenario(single_service())
    changed = with_overrides(scenario, {"workload.rate_rps": rate, "components.api.workers": workers})
    assert get_field(changed, "workload.rate_rps") == rate and get_field(changed, "components.api.workers") == workers
    assert changed.components["api"].service_time == scenario.components["api"].service_time
