"""Our engine against a minimal idiomatic SimPy model, same cases, same seed, same process.

The baseline is what most people would write first: one generator process per request, holding each
``simpy.Resource`` slot with ``with resource.request() as req: yield req``. Our engine (``sim.run``) schedules
callbacks instead. Both draw from seeded numpy Generators in batches, so the ratio measures the simulation
structure, not the cost of calling numpy once per sample.

Run ``python benchmarks/engine_vs_simpy.py`` (add ``--quick`` for a 10x smaller run); see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

import sim

FULL_REQUESTS = 200_000
QUICK_DIVISOR = 10
REPEATS = 3
SEED = 1
WARMUP_S = 5.0
DRAW_BATCH = 4096
AGREEMENT_TOLERANCE = 0.10

MM1_RATE_RPS, MM1_SERVICE_MS = 800.0, 1.0  # 80% busy; mean response = service / (1 - load) = 5 ms
MM16_RATE_RPS, MM16_SERVICE_MS, MM16_SERVERS = 1440.0, 10.0, 16  # 90% busy

# Multi-tier: round robin over 4 instances x 4 workers, a cache answering 30% of reads, 8 database connections.
TIER_RATE_RPS = 2000.0
TIER_INSTANCES = 4
TIER_WORKERS = 4
TIER_SERVICE_MS = 2.0
TIER_CACHE_MS = 0.5
TIER_HIT_RATIO = 0.3
TIER_KEY_COUNT = 10_000
TIER_CONNECTIONS = 8
TIER_READ_MS = 4.0

Records = tuple[np.ndarray, np.ndarray]  # (arrival_s, latency_ms) of each finished request
ProcessSteps = Generator[simpy.Event, Any, None]


@dataclass(frozen=True)
class Case:
    """One benchmark case: the engine's scenario and the equivalent SimPy baseline."""

    name: str
    rate_rps: float
    scenario: dict[str, Any]
    baseline: Callable[[float, int], Records]


@dataclass(frozen=True)
class Timing:
    """Best-of-N wall time of one model on one case, and what the fastest run produced."""

    wall_s: float
    requests: int
    output: Any

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s


# --- the idiomatic SimPy baseline -------------------------------------------------------------------------


def batched_draws(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    """Endless samples from ``draw(DRAW_BATCH)``, one batch at a time."""
    while True:
        yield from draw(DRAW_BATCH).tolist()


def poisson_source(env: simpy.Environment, rate_rps: float, duration_s: float, rng: np.random.Generator,
                   start_request: Callable[[int], None]) -> ProcessSteps:
    """Poisson arrivals until ``duration_s``; ``start_request(sequence_number)`` launches each one."""
    gaps_s = batched_draws(lambda size: rng.exponential(1.0 / rate_rps, size))
    sequence_number = 0
    while True:
        yield env.timeout(next(gaps_s))
        if env.now >= duration_s:
            return
        start_request(sequence_number)
        sequence_number += 1


def simpy_mmc(rate_rps: float, service_ms: float, servers: int) -> Callable[[float, int], Records]:
    """An M/M/c baseline: returns ``run(duration_s, seed) -> (arrival_s, latency_ms)``."""

    def run(duration_s: float, seed: int) -> Records:
        env = simpy.Environment()
        rng = np.random.default_rng(seed)
        workers = simpy.Resource(env, capacity=servers)
        service_s = batched_draws(lambda size: rng.exponential(service_ms / 1000.0, size))
        arrivals_s: list[float] = []
        latencies_ms: list[float] = []

        def request() -> ProcessSteps:
            arrived_s = env.now
            with workers.request() as req:
                yield req
                yield env.timeout(next(service_s))
            arrivals_s.append(arrived_s)
            latencies_ms.append((env.now - arrived_s) * 1000.0)

        def start_request(_sequence_number: int) -> None:
            env.process(request())

        env.process(poisson_source(env, rate_rps, duration_s, rng, start_request))
        env.run()
        return np.asarray(arrivals_s), np.asarray(latencies_ms)

    return run


def simpy_multi_tier(duration_s: float, seed: int) -> Records:
    """Load balancer (round robin) -> service instance -> cache (30% hits) -> database pool."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    instances = [simpy.Resource(env, capacity=TIER_WORKERS) for _ in range(TIER_INSTANCES)]
    database = simpy.Resource(env, capacity=TIER_CONNECTIONS)
    service_s = batched_draws(lambda size: rng.exponential(TIER_SERVICE_MS / 1000.0, size))
    read_s = batched_draws(lambda size: rng.exponential(TIER_READ_MS / 1000.0, size))
    cache_hits = batched_draws(lambda size: rng.random(size) < TIER_HIT_RATIO)
    arrivals_s: list[float] = []
    latencies_ms: list[float] = []

    def request(instance: simpy.Resource) -> ProcessSteps:
        arrived_s = env.now
        with instance.request() as worker:  # the worker is held during the downstream calls, as in our engine
            yield worker
            yield env.timeout(next(service_s))
            hit = next(cache_hits)
            yield env.timeout(TIER_CACHE_MS / 1000.0)
            if not hit:
                with database.request() as connection:
                    yield connection
                    yield env.timeout(next(read_s))
        arrivals_s.append(arrived_s)
        latencies_ms.append((env.now - arrived_s) * 1000.0)

    def start_request(sequence_number: int) -> None:
        env.process(request(instances[sequence_number % TIER_INSTANCES]))

    env.process(poisson_source(env, TIER_RATE_RPS, duration_s, rng, start_request))
    env.run()
    return np.asarray(arrivals_s), np.asarray(latencies_ms)


# --- the same cases as scenarios for our engine -----------------------------------------------------------


def exponential(mean_ms: float) -> dict[str, Any]:
    return {"distribution": "exponential", "mean_ms": mean_ms}


def mmc_scenario(name: str, rate_rps: float, service_ms: float, servers: int) -> dict[str, Any]:
    return {
        "name": name,
        "warmup_s": WARMUP_S,
        "workload": {"rate_rps": rate_rps, "entry": "api"},
        "components": {"api": {"kind": "service", "workers": servers, "service_time": exponential(service_ms)}},
    }


def multi_tier_scenario() -> dict[str, Any]:
    """Uniform keys and capacity_keys / key count = 0.3, so the LRU cache's hit ratio settles near 30%."""
    return {
        "name": "multi-tier",
        "warmup_s": WARMUP_S,
        "workload": {"rate_rps": TIER_RATE_RPS, "entry": "lb",
                     "keys": {"count": TIER_KEY_COUNT, "distribution": "uniform"}},
        "components": {
            "lb": {"kind": "load_balancer", "target": "api", "policy": "round_robin"},
            "api": {"kind": "service", "instances": TIER_INSTANCES, "workers": TIER_WORKERS,
                    "service_time": exponential(TIER_SERVICE_MS), "calls": ["cache"]},
            "cache": {"kind": "cache", "store": "db", "capacity_keys": round(TIER_HIT_RATIO * TIER_KEY_COUNT),
                      "hit_latency_ms": TIER_CACHE_MS, "miss_latency_ms": TIER_CACHE_MS},
            "db": {"kind": "database", "pool_size": TIER_CONNECTIONS, "read_time": exponential(TIER_READ_MS),
                   "write_time": exponential(TIER_READ_MS)},
        },
    }


def cases() -> list[Case]:
    return [
        Case("M/M/1 @ 80%", MM1_RATE_RPS, mmc_scenario("mm1", MM1_RATE_RPS, MM1_SERVICE_MS, 1),
             simpy_mmc(MM1_RATE_RPS, MM1_SERVICE_MS, 1)),
        Case("M/M/16 @ 90%", MM16_RATE_RPS, mmc_scenario("mm16", MM16_RATE_RPS, MM16_SERVICE_MS, MM16_SERVERS),
             simpy_mmc(MM16_RATE_RPS, MM16_SERVICE_MS, MM16_SERVERS)),
        Case("multi-tier", TIER_RATE_RPS, multi_tier_scenario(), simpy_multi_tier),
    ]


# --- measuring ----------------------------------------------------------------------------------------------


def time_once(run: Callable[[], Any], count: Callable[[Any], int]) -> Timing:
    gc.collect()  # start each run from the same heap, so one run's garbage is not charged to the next
    started = time.perf_counter()
    output = run()
    return Timing(time.perf_counter() - started, count(output), output)


def best_of(repeats: int, contenders: list[tuple[Callable[[], Any], Callable[[Any], int]]]) -> list[Timing]:
    """The fastest of ``repeats`` runs of each contender, alternating them so both see the same machine."""
    best: list[Timing] = []
    for _ in range(repeats):
        timings = [time_once(run, count) for run, count in contenders]
        best = [min(old, new, key=lambda timing: timing.wall_s) for old, new in zip(best, timings, strict=True)] \
            if best else timings
    return best


def record_bytes_per_request(result: sim.Result) -> float:
    """Memory held by the engine's per-request records, per recorded request."""
    total_bytes = sum(column.nbytes for column in result.records.values())
    return total_bytes / len(result.records["arrival_s"])


def measured_mean_ms(records: Records, duration_s: float) -> float:
    """Mean latency of requests that arrived in [warm-up, duration), the window the engine's summary uses."""
    arrivals_s, latencies_ms = records
    measured = (arrivals_s >= WARMUP_S) & (arrivals_s < duration_s)
    return float(latencies_ms[measured].mean())


def compare_case(case: Case, requests: int, repeats: int, seed: int) -> tuple[Timing, Timing, float]:
    """(SimPy timing, engine timing, duration) for one case sized to about ``requests`` arrivals."""
    duration_s = requests / case.rate_rps
    scenario = sim.parse_scenario({**case.scenario, "duration_s": duration_s})
    baseline, engine = best_of(repeats, [
        (lambda: case.baseline(duration_s, seed), lambda records: len(records[0])),
        (lambda: sim.run(scenario, seed=seed), lambda result: len(result.records["arrival_s"])),
    ])
    return baseline, engine, duration_s


def print_row(name: str, baseline: Timing, engine: Timing) -> None:
    print(f"{name:<14} {baseline.requests:>10,} {engine.requests:>10,} {baseline.requests_per_s:>13,.0f} "
          f"{engine.requests_per_s:>13,.0f} {engine.requests_per_s / baseline.requests_per_s:>7.2f}x "
          f"{record_bytes_per_request(engine.output):>11.1f}")


def print_checks(mm1: tuple[Timing, Timing, float], tier: tuple[Timing, Timing, float]) -> None:
    """Evidence that the two models simulate the same system (the engine's numbers from ``result.summary``)."""
    baseline, engine, duration_s = mm1
    simpy_ms = measured_mean_ms(baseline.output, duration_s)
    engine_ms = engine.output.summary.latency_ms.mean
    theory_ms = MM1_SERVICE_MS / (1.0 - MM1_RATE_RPS * MM1_SERVICE_MS / 1000.0)
    difference = abs(engine_ms - simpy_ms) / simpy_ms
    verdict = "OK" if difference <= AGREEMENT_TOLERANCE else "MISMATCH"
    print(f"sanity M/M/1 mean latency: SimPy {simpy_ms:.2f} ms, engine {engine_ms:.2f} ms, theory {theory_ms:.2f} ms; "
          f"differ by {difference:.1%} (tolerance {AGREEMENT_TOLERANCE:.0%}) -> {verdict}")
    hit_ratio = tier[1].output.summary.components["cache"].hit_ratio
    print(f"multi-tier cache hit ratio: engine {hit_ratio:.3f} (emerges from LRU), "
          f"SimPy {TIER_HIT_RATIO:.3f} (drawn)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DIVISOR}x fewer requests per case")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per model and case; the best counts")
    parser.add_argument("--seed", type=int, default=SEED)
    arguments = parser.parse_args()
    requests = FULL_REQUESTS // QUICK_DIVISOR if arguments.quick else FULL_REQUESTS
    print(f"engine vs idiomatic SimPy {simpy.__version__}: ~{requests:,} requests per case, seed {arguments.seed}, "
          f"best of {arguments.repeats}; (a) = SimPy, (b) = engine")
    print(f"{'case':<14} {'requests a':>10} {'requests b':>10} {'(a) req/s':>13} {'(b) req/s':>13} "
          f"{'b/a':>8} {'b bytes/req':>11}")
    outcomes = []
    for case in cases():
        outcome = compare_case(case, requests, arguments.repeats, arguments.seed)
        print_row(case.name, outcome[0], outcome[1])
        outcomes.append(outcome)
    print_checks(outcomes[0], outcomes[2])


if __name__ == "__main__":
    main()
