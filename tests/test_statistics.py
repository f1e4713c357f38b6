"""Statistical checks of the engine against queueing theory, Little's law and metamorphic relations.

Each theory check runs independent seeded replications (seeds 1..10), builds a 95% Student-t interval for
the measured mean, requires that interval to be narrow, and requires the closed form of ``sim.theory`` to lie
inside it (widened 1.5x, plus a 0.5% bias allowance; see ``stats_helpers``). Times are scaled to a few
milliseconds so that each replication holds 10,000-25,000 requests yet runs in well under a second.
Replications are shared between the tests of one model through module-scoped fixtures.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import sim
from sim import theory
from sim.results.result import Result
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate

SEEDS = tuple(range(1, 11))
METAMORPHIC_SEEDS = (1, 2)
# Utilisations at or above saturation are equal up to float rounding of the busy-time integral.
UTILISATION_ROUNDING = 1e-9


def service_scenario(
    rate_rps: float,
    service_time: dict[str, Any],
    duration_s: float,
    warmup_s: float,
    workers: int = 1,
    queue_capacity: int = 1000,
) -> sim.Scenario:
    """One service called directly by Poisson traffic.

    The default 1000 waiting slots count as unlimited for the stable loads below: a full queue needs a run of
    luck (or, for lognormal service, a single 1.7 s service time) that no replication here comes near.
    """
    return sim.parse_scenario({
        "name": "statistics",
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "workload": {"rate_rps": rate_rps, "entry": "api"},
        "components": {
            "api": {"kind": "service", "workers": workers, "queue_capacity": queue_capacity,
                    "service_time": service_time},
        },
    })


def exponential(mean_ms: float) -> dict[str, Any]:
    return {"distribution": "exponential", "mean_ms": mean_ms}


def api_stats(result: Result) -> dict[str, Any]:
    return result.summary["components"]["api"]


# --- the window is measured even when the run ends idle ------------------------------------------------


def test_run_that_ends_with_an_empty_system_still_measures_its_window() -> None:
    # At 2 requests/s of 1 ms each the server is busy 0.2% of the time, so the run ends with nothing left to
    # drain. The end-of-window snapshot must exist all the same: every windowed statistic below needs it (an
    # engine that only took it while draining raised IndexError for about one M/M/1 replication in three).
    scenario = service_scenario(2.0, {"distribution": "deterministic", "mean_ms": 1.0}, duration_s=10.0,
                                warmup_s=1.0)
    result = sim.run(scenario, seed=1)
    assert result.info.in_flight_at_end == 0
    stats = api_stats(result)
    assert result.summary["requests"]["offered"] > 0
    assert stats["utilisation"] == pytest.approx(0.002, abs=0.001)


# --- M/M/1 -----------------------------------------------------------------------------------------------

MM1_RATE_RPS = 700.0
MM1_SERVICE_MS = 1.0  # rho = 0.7; 22 s measured is ~15,000 requests per replication
MM1 = theory.mm1(MM1_RATE_RPS, MM1_SERVICE_MS)


@pytest.fixture(scope="module")
def mm1_runs() -> list[Result]:
    return replicate(service_scenario(MM1_RATE_RPS, exponential(MM1_SERVICE_MS), 24.0, 2.0), SEEDS)


def test_mm1_mean_wait(mm1_runs: list[Result]) -> None:
    samples = metric(mm1_runs, lambda result: api_stats(result)["mean_wait_ms"])
    assert MM1.mean_wait_ms is not None
    assert_agrees_with_theory("M/M/1 mean wait (ms)", samples, MM1.mean_wait_ms, max_relative_half_width=0.10)


def test_mm1_mean_response(mm1_runs: list[Result]) -> None:
    samples = metric(mm1_runs, lambda result: api_stats(result)["mean_response_ms"])
    assert MM1.mean_response_ms is not None
    assert_agrees_with_theory("M/M/1 mean response (ms)", samples, MM1.mean_response_ms,
                              max_relative_half_width=0.08)


def test_mm1_utilisation(mm1_runs: list[Result]) -> None:
    samples = metric(mm1_runs, lambda result: api_stats(result)["utilisation"])
    assert_agrees_with_theory("M/M/1 utilisation", samples, MM1.utilisation, max_relative_half_width=0.02)


def test_mm1_p99_response(mm1_runs: list[Result]) -> None:
    samples = metric(mm1_runs, lambda result: result.summary["latency_ms"]["p99"])
    expected_ms = theory.mm1_response_percentile(MM1_RATE_RPS, MM1_SERVICE_MS, 0.99)
    assert_agrees_with_theory("M/M/1 p99 response (ms)", samples, expected_ms, max_relative_half_width=0.10)


# --- M/M/c -----------------------------------------------------------------------------------------------

MMC_SERVERS = 4
MMC_RATE_RPS = 1280.0
MMC_SERVICE_MS = 2.5  # 3.2 erlangs on 4 servers: rho = 0.8
MMC = theory.mmc(MMC_RATE_RPS, MMC_SERVICE_MS, MMC_SERVERS)


@pytest.fixture(scope="module")
def mmc_runs() -> list[Result]:
    scenario = service_scenario(MMC_RATE_RPS, exponential(MMC_SERVICE_MS), 16.0, 1.0, workers=MMC_SERVERS)
    return replicate(scenario, SEEDS)


def test_mmc_mean_wait(mmc_runs: list[Result]) -> None:
    samples = metric(mmc_runs, lambda result: api_stats(result)["mean_wait_ms"])
    assert MMC.mean_wait_ms is not None
    assert_agrees_with_theory("M/M/4 mean wait (ms)", samples, MMC.mean_wait_ms, max_relative_half_width=0.15)


def test_mmc_mean_response(mmc_runs: list[Result]) -> None:
    samples = metric(mmc_runs, lambda result: api_stats(result)["mean_response_ms"])
    assert MMC.mean_response_ms is not None
    assert_agrees_with_theory("M/M/4 mean response (ms)", samples, MMC.mean_response_ms,
                              max_relative_half_width=0.06)


def test_mmc_utilisation_is_per_worker(mmc_runs: list[Result]) -> None:
    samples = metric(mmc_runs, lambda result: api_stats(result)["utilisation"])
    assert_agrees_with_theory("M/M/4 utilisation", samples, MMC.utilisation, max_relative_half_width=0.02)


# --- M/D/1 and M/G/1: Pollaczek-Khinchine -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "rate_rps", "service_time", "service_scv", "duration_s"),
    [
        ("M/D/1", 700.0, {"distribution": "deterministic", "mean_ms": 1.0}, 0.0, 18.0),
        # cv 2 makes the waits heavy-tailed (E[S^3] = 125 E[S]^3), so this one runs longer at rho 0.6.
        ("M/G/1 lognormal cv 2", 600.0, {"distribution": "lognormal", "mean_ms": 1.0, "cv": 2.0}, 4.0, 28.0),
    ],
)
def test_pollaczek_khinchine_mean_wait(
    label: str, rate_rps: float, service_time: dict[str, Any], service_scv: float, duration_s: float
) -> None:
    prediction = theory.mg1(rate_rps, service_time["mean_ms"], service_scv)
    assert prediction.mean_wait_ms is not None
    runs = replicate(service_scenario(rate_rps, service_time, duration_s, 2.0), SEEDS)
    samples = metric(runs, lambda result: api_stats(result)["mean_wait_ms"])
    assert_agrees_with_theory(f"{label} mean wait (ms)", samples, prediction.mean_wait_ms,
                              max_relative_half_width=0.12)


# --- Erlang B ---------------------------------------------------------------------------------------------

ERLANG_SERVERS = 5
ERLANG_RATE_RPS = 1500.0
ERLANG_SERVICE_MS = 2.0  # 3 erlangs offered to 5 servers: B = 0.110


@pytest.mark.parametrize(
    "service_time",
    [exponential(ERLANG_SERVICE_MS), {"distribution": "deterministic", "mean_ms": ERLANG_SERVICE_MS}],
    ids=["exponential", "deterministic"],  # Erlang B is insensitive to the service distribution
)
def test_erlang_b_blocking_fraction(service_time: dict[str, Any]) -> None:
    scenario = service_scenario(ERLANG_RATE_RPS, service_time, 9.0, 1.0, workers=ERLANG_SERVERS,
                                queue_capacity=0)
    runs = replicate(scenario, SEEDS)
    requests = [result.summary["requests"] for result in runs]
    samples = [counts["dropped"] / counts["offered"] for counts in requests]
    expected = theory.erlang_b(ERLANG_SERVERS, ERLANG_RATE_RPS * ERLANG_SERVICE_MS / 1000.0)
    assert_agrees_with_theory("Erlang B blocking fraction", samples, expected, max_relative_half_width=0.05)
    assert all(counts["dropped"] + counts["completed"] == counts["offered"] for counts in requests)


# --- random load balancing splits Poisson traffic into independent M/M/1 queues ------------------------

BALANCED_INSTANCES = 4
BALANCED_RATE_RPS = 2800.0  # 700 requests/s per instance of 1 ms each: every instance an M/M/1 at rho 0.7


@pytest.fixture(scope="module")
def balanced_runs() -> list[Result]:
    scenario = sim.parse_scenario({
        "duration_s": 11.0,
        "warmup_s": 1.0,
        "workload": {"rate_rps": BALANCED_RATE_RPS, "entry": "lb"},
        "components": {
            "lb": {"kind": "load_balancer", "target": "api", "policy": "random"},
            "api": {"kind": "service", "instances": BALANCED_INSTANCES, "workers": 1,
                    "service_time": exponential(1.0)},
        },
    })
    return replicate(scenario, SEEDS)


@pytest.mark.parametrize("instance", range(BALANCED_INSTANCES))
def test_random_balancing_gives_each_instance_mm1_utilisation_and_wait(
    balanced_runs: list[Result], instance: int
) -> None:
    per_instance = theory.mm1(BALANCED_RATE_RPS / BALANCED_INSTANCES, 1.0)
    assert per_instance.mean_wait_ms is not None
    name = f"api/instance-{instance}"

    def station(result: Result) -> dict[str, Any]:
        return api_stats(result)["stations"][name]

    utilisations = metric(balanced_runs, lambda result: station(result)["utilisation"])
    assert_agrees_with_theory(f"{name} utilisation", utilisations, per_instance.utilisation,
                              max_relative_half_width=0.03)
    waits = metric(balanced_runs, lambda result: station(result)["mean_wait_ms"])
    assert_agrees_with_theory(f"{name} mean wait (ms)", waits, per_instance.mean_wait_ms,
                              max_relative_half_width=0.15)


# --- Little's law on every component and station -----------------------------------------------------------

# L = lambda W holds on every sample path up to the requests present at the two ends of the window, an error
# of about (number present) / (number passing through) per end: well under 1% over 55 s here. The absolute
# allowance covers levels that are themselves a few hundredths of a request.
LITTLE_RELATIVE_TOLERANCE = 0.03
LITTLE_ABSOLUTE_TOLERANCE = 0.005


@pytest.fixture(scope="module")
def tiered_run() -> Result:
    scenario = sim.parse_scenario({
        "name": "tiered",
        "duration_s": 60.0,
        "warmup_s": 5.0,
        "workload": {
            "rate_rps": 300.0,
            "entry": "lb",
            "keys": {"count": 1000, "distribution": "zipf", "zipf_exponent": 0.8},
            "classes": [{"name": "read", "weight": 0.7}, {"name": "write", "weight": 0.3, "operation": "write"}],
        },
        "components": {
            "lb": {"kind": "load_balancer", "target": "api", "policy": "round_robin", "latency_ms": 0.2},
            "api": {"kind": "service", "instances": 2, "workers": 5, "service_time": exponential(3.0),
                    "calls": ["cache"]},
            "cache": {"kind": "cache", "store": "db", "capacity_keys": 100, "hit_latency_ms": 0.5,
                      "miss_latency_ms": 0.5},
            "db": {"kind": "database", "shards": 2, "replicas": 1, "pool_size": 1,
                   "read_time": exponential(10.0), "write_time": exponential(15.0)},
        },
    })
    return sim.run(scenario, seed=1)


def test_littles_law_holds_for_every_station(tiered_run: Result) -> None:
    stations = tiered_run.stations
    expected_names = {"api/instance-0", "api/instance-1", "db/shard-0/primary", "db/shard-0/replica-0",
                      "db/shard-1/primary", "db/shard-1/replica-0"}
    assert set(stations) == expected_names
    for name, station in stations.items():
        assert station["dropped"] == 0, name
        accepted_rate_rps = station["accepted"] / tiered_run.span_s
        predicted = theory.littles_law_in_system(accepted_rate_rps, station["mean_wait_ms"])
        print(f"{name}: mean queue {station['mean_queue_length']:.4f}, lambda x W {predicted:.4f}")
        assert station["mean_queue_length"] > 0.05, f"{name} never queues, so Little's law is tested vacuously"
        assert station["mean_queue_length"] == pytest.approx(
            predicted, rel=LITTLE_RELATIVE_TOLERANCE, abs=LITTLE_ABSOLUTE_TOLERANCE), name


def test_littles_law_holds_for_every_component(tiered_run: Result) -> None:
    components = tiered_run.summary["components"]
    assert set(components) == {"lb", "api", "cache", "db"}
    for name, component in components.items():
        predicted = theory.littles_law_in_system(component["arrival_rate_rps"], component["mean_response_ms"])
        print(f"{name}: mean in system {component['mean_in_system']:.4f}, lambda x W {predicted:.4f}")
        assert component["mean_in_system"] > 0.1, name
        assert component["mean_in_system"] == pytest.approx(
            predicted, rel=LITTLE_RELATIVE_TOLERANCE, abs=LITTLE_ABSOLUTE_TOLERANCE), name


# --- metamorphic relations (same seed, so variants share arrivals and service draws) -------------------------


def balanced_scenario(policy: str, instances: int) -> sim.Scenario:
    return sim.parse_scenario({
        "duration_s": 6.0,
        "warmup_s": 1.0,
        "workload": {"rate_rps": 900.0, "entry": "lb"},
        "components": {
            "lb": {"kind": "load_balancer", "target": "api", "policy": policy},
            "api": {"kind": "service", "instances": instances, "workers": 1, "service_time": exponential(2.0)},
        },
    })


# Consistent hashing is left out: it places keys, not load, and an added instance may take an uneven share.
@pytest.mark.parametrize("policy", ["round_robin", "random", "least_connections", "power_of_two"])
@pytest.mark.parametrize("seed", METAMORPHIC_SEEDS)
def test_more_instances_never_raise_p95(policy: str, seed: int) -> None:
    instance_counts = (2, 3, 4, 6)  # 1.8 erlangs: rho 0.9 per instance at 2 instances, 0.3 at 6
    p95s = [sim.run(balanced_scenario(policy, count), seed=seed).summary["latency_ms"]["p95"]
            for count in instance_counts]
    print(f"{policy} seed {seed}: p95 (ms) by instances {dict(zip(instance_counts, p95s, strict=True))}")
    assert all(later <= earlier for earlier, later in itertools.pairwise(p95s)), p95s
    assert p95s[-1] < p95s[0] / 2  # a p95 that ignored the instance count would pass vacuously


@pytest.mark.parametrize("seed", METAMORPHIC_SEEDS)
def test_more_load_never_lowers_utilisation(seed: int) -> None:
    rates_rps = (20.0, 40.0, 60.0, 80.0, 90.0, 100.0, 110.0)  # 10 ms each: up to 10% beyond saturation
    utilisations = [
        api_stats(sim.run(service_scenario(rate, exponential(10.0), 15.0, 1.0),
                          seed=seed))["utilisation"]
        for rate in rates_rps
    ]
    print(f"seed {seed}: utilisation by rate {dict(zip(rates_rps, utilisations, strict=True))}")
    assert all(later >= earlier - UTILISATION_ROUNDING
               for earlier, later in itertools.pairwise(utilisations)), utilisations
    assert utilisations[0] == pytest.approx(0.2, abs=0.05)
    assert utilisations[-1] == pytest.approx(1.0, abs=0.01)


def cached_scenario(capacity_keys: int) -> sim.Scenario:
    return sim.parse_scenario({
        "duration_s": 12.0,
        "warmup_s": 2.0,
        "workload": {"rate_rps": 500.0, "entry": "cache",
                     "keys": {"count": 2000, "distribution": "zipf", "zipf_exponent": 0.9}},
        "components": {
            "cache": {"kind": "cache", "store": "db", "capacity_keys": capacity_keys},
            "db": {"kind": "database", "pool_size": 16, "read_time": exponential(2.0),
                   "write_time": exponential(2.0)},
        },
    })


@pytest.mark.parametrize("seed", METAMORPHIC_SEEDS)
def test_bigger_cache_never_lowers_hit_ratio(seed: int) -> None:
    capacities = (10, 30, 100, 300, 1000, 2000)
    hit_ratios = [sim.run(cached_scenario(capacity), seed=seed).summary["components"]["cache"]["hit_ratio"]
                  for capacity in capacities]
    print(f"seed {seed}: hit ratio by capacity {dict(zip(capacities, hit_ratios, strict=True))}")
    assert all(later >= earlier for earlier, later in itertools.pairwise(hit_ratios)), hit_ratios
    assert hit_ratios[0] > 0.0
    assert hit_ratios[-1] - hit_ratios[0] > 0.5  # a constant hit ratio would satisfy the relation vacuously
