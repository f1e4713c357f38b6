"""A cache server's own CPU: Redis as one event loop (M/G/1), Memcached as threads (M/G/c), held to closed forms."""

from __future__ import annotations

from typing import Any

import pytest

import sim
from sim.model.status import OK
from sim.theory import queues as theory
from sim.twin.predict import predict
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate
from tests.test_components import build, fixed, trace

OPERATION_MS = 1.0


def server(model: str, threads: int = 4) -> dict[str, Any]:
    return {"model": model, "threads": threads,
            "operation_time": {"distribution": "exponential", "mean_ms": OPERATION_MS}}


def all_hits(rate_rps: float, model: str, threads: int = 4) -> sim.Scenario:
    """Every key fits and never expires: after the warm-up each read is one GET on the server."""
    return sim.parse_scenario({
        "duration_s": 60, "warmup_s": 5,
        "workload": {"rate_rps": rate_rps, "entry": "cache", "keys": {"count": 20}},
        "components": {
            "cache": {"kind": "cache", "store": "db", "capacity_keys": 100, "hit_latency_ms": 0.5,
                      "server": server(model, threads)},
            "db": {"kind": "database", "pool_size": 8, "read_time": fixed(5), "write_time": fixed(5)}}})


def test_every_command_queues_on_the_event_loop_including_the_fill() -> None:
    model = build({
        "cache": {"kind": "cache", "store": "db", "capacity_keys": 10, "hit_latency_ms": 1, "miss_latency_ms": 2,
                  "server": {"operation_time": fixed(3)}},
        "db": {"kind": "database", "read_time": fixed(10), "write_time": fixed(20)},
    }, "cache")
    # a miss: GET 0-3, miss 3-5, store 5-15, SET 15-18; two hits queue behind each other on the one loop
    result = trace(model, "cache", [(0.0, 5, False), (0.1, 5, False), (0.1, 5, False)])
    assert result == [(0, 18.0, OK), (1, 104.0, OK), (2, 107.0, OK)]
    station = model.components["cache"].stations[0]
    assert (station.name, station.arrivals, station.servers) == ("cache/server", 4, 1)


@pytest.mark.parametrize(("model", "servers", "rate_rps"), [("event_loop", 1, 700.0), ("threads", 4, 3000.0)])
def test_the_server_is_an_mg_c_queue_on_its_operation_time(model: str, servers: int, rate_rps: float) -> None:
    expected = theory.station(rate_rps, OPERATION_MS, servers, 1.0, 10_000)
    scenario = all_hits(rate_rps, model)
    twin = predict(scenario)["cache"]
    assert twin.utilisation == pytest.approx(rate_rps * OPERATION_MS / 1000 / servers, rel=0.01)
    assert twin.mean_response_ms == pytest.approx(expected.mean_response_ms + 0.5, rel=0.01)
    results = replicate(scenario, range(1, 5))
    assert_agrees_with_theory("cache response (ms)", metric(results, lambda run: run.summary.components[
        "cache"].mean_response_ms), expected.mean_response_ms + 0.5, max_relative_half_width=0.05)


def test_one_event_loop_saturates_where_four_threads_do_not() -> None:
    redis, memcached = all_hits(1200.0, "event_loop"), all_hits(1200.0, "threads")
    assert not predict(redis)["cache"].stable and predict(memcached)["cache"].stable
    summary = sim.run(redis.model_copy(update={"duration_s": 20}), seed=1).summary
    assert summary.stable is False and "cache/server" in summary.overflowed
    assert summary.components["db"].utilisation < 0.05  # the database idles behind a saturated cache
    assert sim.run(memcached.model_copy(update={"duration_s": 20}), seed=1).summary.stable
