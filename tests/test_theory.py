"""Tests for sim.theory against hand-derived textbook values and a brute-force LRU cache."""

from __future__ import annotations

import doctest
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pytest

from sim import theory
from sim.model.keys import zipf_probabilities
from sim.theory import (
    erlang_b,
    erlang_c,
    erlang_loss,
    littles_law_in_system,
    md1,
    mg1,
    mgc,
    mm1,
    mm1_response_percentile,
    mmc,
    mmc_wait_percentile,
    mmck,
    station,
)
from sim.theory.cache import che_characteristic_time, lru_hit_ratio

# M/M/2 with lambda 10/s and 150 ms service: a = 1.5 erlangs, rho = 0.75.
# Erlang C = (a^2/2! * 2/(2 - a)) / (1 + a + a^2/2! * 2/(2 - a)) = 4.5 / 7 = 9/14,
# Wq = C * S / (c - a) = 9/14 * 150 / 0.5 = 1350/7 ms.
MM2_WAIT_PROBABILITY = 9 / 14
MM2_WAIT_MS = 1350 / 7


def test_docstring_examples_run() -> None:
    assert doctest.testmod(theory).failed == 0


# --- Erlang formulas -------------------------------------------------------------------------------


def test_erlang_b_textbook_value() -> None:
    # (3^5 / 5!) / sum_{k=0..5} 3^k / k! = 2.025 / 18.4
    assert erlang_b(5, 3.0) == pytest.approx(2.025 / 18.4, rel=1e-12)
    assert erlang_b(5, 3.0) == pytest.approx(0.1101, abs=1e-4)


def test_erlang_b_single_server_and_idle() -> None:
    assert erlang_b(1, 2.0) == pytest.approx(2 / 3)
    assert erlang_b(4, 0.0) == 0.0


def test_erlang_b_is_finite_for_many_servers() -> None:
    blocking = erlang_b(10_000, 9_000.0)
    assert 0.0 < blocking < 0.01


def test_erlang_c_textbook_values() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert erlang_c(2, 1.5) == pytest.approx(MM2_WAIT_PROBABILITY, rel=1e-12)
    assert erlang_c(1, 0.6) == pytest.approx(0.6, rel=1e-12)  # one server: P(wait) = rho


def test_erlang_c_is_one_when_overloaded() -> None:
    assert erlang_c(3, 3.0) == 1.0
    assert erlang_c(3, 7.5) == 1.0


# --- Infinite-queue models ---------------------------------------------------------------------------


def test_mm1_textbook_values() -> None:
    prediction = mm1(arrival_rate_rps=8, mean_service_ms=100)  # mu = 10/s, rho = 0.8
    assert prediction.model == "M/M/1"
    assert prediction.stable
    assert prediction.utilisation == pytest.approx(0.8)
    assert prediction.mean_response_ms == pytest.approx(500.0)  # 1 / (mu - lambda) = 0.5 s
    assert prediction.mean_wait_ms == pytest.approx(400.0)
    assert prediction.mean_in_system == pytest.approx(4.0)  # rho / (1 - rho)
    assert prediction.mean_queue_length == pytest.approx(3.2)  # rho^2 / (1 - rho)
    assert prediction.blocking_probability == 0.0


def test_md1_wait_is_half_of_mm1() -> None:
    assert md1(8, 100).mean_wait_ms == pytest.approx(200.0)
    assert md1(8, 100).mean_response_ms == pytest.approx(300.0)


def test_mg1_pollaczek_khinchine_value() -> None:
    # Wq = rho * S * (1 + scv) / (2 (1 - rho)) = 0.8 * 100 * 3 / 0.4
    prediction = mg1(8, 100, service_scv=2.0)
    assert prediction.model == "M/G/1 (Pollaczek-Khinchine)"
    assert prediction.mean_wait_ms == pytest.approx(600.0)


def test_mmc_textbook_values() -> None:
    prediction = mmc(arrival_rate_rps=10, mean_service_ms=150, servers=2)
    assert prediction.model == "M/M/c"
    assert prediction.utilisation == pytest.approx(0.75)
    assert prediction.mean_wait_ms == pytest.approx(MM2_WAIT_MS)
    assert prediction.mean_response_ms == pytest.approx(MM2_WAIT_MS + 150)
    assert prediction.mean_queue_length == pytest.approx(27 / 14)  # lambda * Wq
    assert prediction.mean_in_system == pytest.approx(24 / 7)  # Lq + a


@pytest.mark.parametrize(
    ("arrival_rate_rps", "mean_service_ms", "servers"), [(10, 150, 2), (45, 80, 4), (3, 5, 1)]
)
def test_mgc_equals_mmc_for_exponential_service(
    arrival_rate_rps: float, mean_service_ms: float, servers: int
) -> None:
    general = mgc(arrival_rate_rps, mean_service_ms, servers, service_scv=1.0)
    exponential = mmc(arrival_rate_rps, mean_service_ms, servers)
    assert general.mean_wait_ms == pytest.approx(exponential.mean_wait_ms, rel=1e-12)
    assert general.mean_in_system == pytest.approx(exponential.mean_in_system, rel=1e-12)


@pytest.mark.parametrize("service_scv", [0.0, 0.25, 1.0, 4.0])
def test_mgc_equals_mg1_for_one_server(service_scv: float) -> None:
    general = mgc(7, 120, servers=1, service_scv=service_scv)
    assert general.mean_wait_ms == pytest.approx(mg1(7, 120, service_scv).mean_wait_ms, rel=1e-12)


def test_mgc_deterministic_service_halves_the_mmc_wait() -> None:
    prediction = mgc(10, 150, servers=2, service_scv=0.0)
    assert prediction.model == "M/G/c (Allen-Cunneen)"
    assert prediction.mean_wait_ms == pytest.approx(MM2_WAIT_MS / 2)


@pytest.mark.parametrize(
    ("servers", "service_scv", "model"),
    [
        (1, 1.0, "M/M/1"),
        (1, 0.0, "M/D/1"),
        (1, 0.5, "M/G/1 (Pollaczek-Khinchine)"),
        (3, 1.0, "M/M/c"),
        (3, 0.5, "M/G/c (Allen-Cunneen)"),
    ],
)
def test_mgc_names_the_model_it_reduces_to(servers: int, service_scv: float, model: str) -> None:
    assert mgc(1, 100, servers, service_scv).model == model


@pytest.mark.parametrize("arrival_rate_rps", [10.0, 25.0])
def test_overloaded_infinite_queue_is_unstable(arrival_rate_rps: float) -> None:
    prediction = mm1(arrival_rate_rps, 100)  # rho = 1 and 2.5
    assert not prediction.stable
    assert prediction.utilisation == 1.0
    assert prediction.mean_wait_ms is None
    assert prediction.mean_response_ms is None
    assert prediction.mean_queue_length is None
    assert prediction.mean_in_system is None


# --- Finite-capacity models --------------------------------------------------------------------------


def test_erlang_loss_matches_erlang_b() -> None:
    prediction = erlang_loss(arrival_rate_rps=30, mean_service_ms=100, servers=5)  # a = 3 erlangs
    blocking = 2.025 / 18.4
    assert prediction.model == "M/G/c/c (Erlang B)"
    assert prediction.blocking_probability == pytest.approx(blocking)
    assert prediction.utilisation == pytest.approx(3 * (1 - blocking) / 5)
    assert prediction.mean_in_system == pytest.approx(3 * (1 - blocking))
    assert prediction.mean_wait_ms == 0.0
    assert prediction.mean_response_ms == 100.0


def test_mm1k_textbook_values() -> None:
    # M/M/1/2 with rho = 0.5: p = (4, 2, 1) / 7; accepted rate 5 * 6/7 = 30/7 per second.
    prediction = mmck(arrival_rate_rps=5, mean_service_ms=100, servers=1, system_capacity=2)
    assert prediction.model == "M/M/c/K"
    assert prediction.blocking_probability == pytest.approx(1 / 7)
    assert prediction.utilisation == pytest.approx(3 / 7)
    assert prediction.mean_in_system == pytest.approx(4 / 7)
    assert prediction.mean_queue_length == pytest.approx(1 / 7)
    assert prediction.mean_response_ms == pytest.approx(400 / 3)  # (4/7) / (30/7) s
    assert prediction.mean_wait_ms == pytest.approx(100 / 3)  # (1/7) / (30/7) s


def test_mmck_in_overload_is_finite() -> None:
    # M/M/1/3 with rho = 2: p = (1, 2, 4, 8) / 15; accepted rate 20 * 7/15 = 28/3 per second.
    prediction = mmck(arrival_rate_rps=20, mean_service_ms=100, servers=1, system_capacity=3)
    assert prediction.stable
    assert prediction.blocking_probability == pytest.approx(8 / 15)
    assert prediction.utilisation == pytest.approx(14 / 15)
    assert prediction.mean_in_system == pytest.approx(34 / 15)
    assert prediction.mean_queue_length == pytest.approx(4 / 3)
    assert prediction.mean_wait_ms == pytest.approx(1000 / 7)  # (4/3) / (28/3) s


def test_mmck_long_queue_in_overload_sheds_the_excess() -> None:
    prediction = mmck(arrival_rate_rps=40, mean_service_ms=100, servers=2, system_capacity=100_000)
    assert prediction.utilisation == pytest.approx(1.0)
    assert prediction.blocking_probability == pytest.approx(0.5)  # 1 - 1/rho with rho = 2
    assert prediction.mean_wait_ms is not None
    assert math.isfinite(prediction.mean_wait_ms)


def test_mmck_approaches_mmc_as_capacity_grows() -> None:
    blockings = [mmck(10, 150, 2, 2 + queue_slots).blocking_probability for queue_slots in (1, 5, 20, 80)]
    assert blockings == sorted(blockings, reverse=True)
    large = mmck(10, 150, 2, 2 + 500)
    assert large.blocking_probability < 1e-50
    assert large.mean_wait_ms == pytest.approx(MM2_WAIT_MS, rel=1e-9)
    assert large.mean_in_system == pytest.approx(24 / 7, rel=1e-9)


def test_mmck_without_queue_is_erlang_loss() -> None:
    assert mmck(30, 100, 5, 5).blocking_probability == pytest.approx(2.025 / 18.4)


# --- station() dispatch -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service_scv", "queue_capacity"), [(1.0, None), (0.5, None), (1.0, 0), (1.0, 10), (0.5, 10)]
)
def test_station_with_no_arrivals_is_idle(service_scv: float, queue_capacity: int | None) -> None:
    prediction = station(0.0, 80.0, 3, service_scv, queue_capacity)
    assert prediction.utilisation == 0.0
    assert prediction.mean_wait_ms == 0.0
    assert prediction.mean_response_ms == 80.0
    assert prediction.blocking_probability == 0.0


def test_station_dispatches_by_queue_and_service() -> None:
    assert station(8, 100, 1).model == "M/M/1"
    assert station(10, 150, 2).mean_wait_ms == pytest.approx(MM2_WAIT_MS)
    assert station(30, 100, 5, queue_capacity=0).blocking_probability == pytest.approx(2.025 / 18.4)
    assert station(5, 100, 1, queue_capacity=1) == mmck(5, 100, 1, 2)
    assert station(10, 150, 2, service_scv=0.0, queue_capacity=10) == mgc(10, 150, 2, 0.0)


def test_station_finite_general_queue_in_overload_saturates() -> None:
    prediction = station(40, 100, 2, service_scv=0.5, queue_capacity=10)  # rho = 2
    assert not prediction.stable
    assert prediction.utilisation == 1.0
    assert prediction.blocking_probability == pytest.approx(0.5)
    assert prediction.mean_response_ms is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: mm1(1, 0),
        lambda: mmc(1, -5, 2),
        lambda: mmc(1, 100, 0),
        lambda: erlang_b(0, 1.0),
        lambda: station(-1, 100, 1),
        lambda: station(1, 100, 1, queue_capacity=-1),
        lambda: mg1(1, 100, service_scv=-0.1),
        lambda: mmck(1, 100, 3, 2),
        lambda: mm1_response_percentile(1, 100, 1.0),
    ],
)
def test_invalid_inputs_raise(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="must"):
        call()


# --- Percentiles and Little's law ---------------------------------------------------------------------


def test_mm1_response_percentiles() -> None:
    # Response ~ Exponential(mean 500 ms), so the q-quantile is -500 ln(1 - q).
    assert mm1_response_percentile(8, 100, 0.5) == pytest.approx(500 * math.log(2))
    assert mm1_response_percentile(8, 100, 0.95) == pytest.approx(500 * math.log(20))
    assert mm1_response_percentile(8, 100, 0.0) == 0.0
    assert mm1_response_percentile(12, 100, 0.5) == math.inf


def test_mmc_wait_percentiles() -> None:
    # P(W > t) = 9/14 exp(-t / 300 ms); 5/14 of requests never wait.
    assert mmc_wait_percentile(10, 150, 2, 0.3) == 0.0
    assert mmc_wait_percentile(10, 150, 2, 0.9) == pytest.approx(300 * math.log(45 / 7))
    # One server: P(W > t) = rho exp(-(mu - lambda) t) = 0.8 exp(-t / 500 ms).
    assert mmc_wait_percentile(8, 100, 1, 0.9) == pytest.approx(500 * math.log(8))
    assert mmc_wait_percentile(30, 100, 2, 0.5) == math.inf


def test_littles_law_converts_milliseconds() -> None:
    assert littles_law_in_system(8, 500) == pytest.approx(4.0)
    assert littles_law_in_system(0, 500) == 0.0


# --- Zipf and Che's LRU approximation ---------------------------------------------------------------


def test_zipf_probabilities() -> None:
    probabilities = zipf_probabilities(1000, 0.9)
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities[0] / probabilities[1] == pytest.approx(2**0.9)
    assert probabilities[0] / probabilities[9] == pytest.approx(10**0.9)
    assert np.all(np.diff(probabilities) < 0)
    np.testing.assert_allclose(zipf_probabilities(4, 0.0), [0.25] * 4)
    with pytest.raises(ValueError, match="key_count"):
        zipf_probabilities(0, 1.0)


def test_che_uniform_popularity_is_exact() -> None:
    # Uniform p = 1/n: n (1 - exp(-T/n)) = C gives T = -n ln(1 - C/n) and hit ratio C/n.
    uniform = zipf_probabilities(1000, 0.0)
    assert che_characteristic_time(uniform, 100) == pytest.approx(-1000 * math.log(0.9), rel=1e-9)
    assert lru_hit_ratio(uniform, 100) == pytest.approx(0.1, rel=1e-9)


def test_che_time_fills_the_cache() -> None:
    probabilities = zipf_probabilities(5000, 1.1)
    time_requests = che_characteristic_time(probabilities, 250)
    assert np.sum(1 - np.exp(-probabilities * time_requests)) == pytest.approx(250, rel=1e-9)


def test_lru_hit_ratio_increases_with_capacity() -> None:
    probabilities = zipf_probabilities(1000, 0.9)
    hit_ratios = [lru_hit_ratio(probabilities, capacity) for capacity in (0, 1, 10, 50, 100, 500, 999, 1000)]
    assert hit_ratios[0] == 0.0
    assert all(later > earlier for earlier, later in itertools.pairwise(hit_ratios))
    assert hit_ratios[-1] == 1.0


def test_lru_hit_ratio_is_one_when_every_requested_key_fits() -> None:
    probabilities = np.array([0.5, 0.0, 0.5, 0.0])
    assert che_characteristic_time(probabilities, 2) == math.inf
    assert lru_hit_ratio(probabilities, 2) == 1.0


def test_ttl_caps_the_characteristic_time() -> None:
    uniform = zipf_probabilities(10, 0.0)
    assert lru_hit_ratio(uniform, 10, ttl_requests=5) == pytest.approx(1 - math.exp(-0.5))
    uniform = zipf_probabilities(1000, 0.0)
    assert lru_hit_ratio(uniform, 100, ttl_requests=50) == pytest.approx(1 - math.exp(-0.05))
    assert lru_hit_ratio(uniform, 100, ttl_requests=1e9) == pytest.approx(0.1)


def _simulated_lru_hit_ratio(probabilities: np.ndarray, capacity_keys: int, seed: int) -> float:
    """Replay independent requests through a real LRU cache and count hits after a warm-up."""
    rng = np.random.default_rng(seed)
    requests = rng.choice(probabilities.size, size=300_000, p=probabilities)
    warm_up = 30_000
    cache: OrderedDict[int, None] = OrderedDict()
    hits = 0
    for index, key in enumerate(requests.tolist()):
        if key in cache:
            cache.move_to_end(key)
            hits += index >= warm_up
        else:
            cache[key] = None
            if len(cache) > capacity_keys:
                cache.popitem(last=False)
    return hits / (requests.size - warm_up)


def test_che_matches_brute_force_lru() -> None:
    probabilities = zipf_probabilities(1000, 0.9)
    simulated = _simulated_lru_hit_ratio(probabilities, capacity_keys=100, seed=20240611)
    predicted = lru_hit_ratio(probabilities, 100)
    assert predicted == pytest.approx(simulated, rel=0.03)


@pytest.mark.timeout(20)
def test_che_is_fast_for_a_million_keys() -> None:
    assert lru_hit_ratio(zipf_probabilities(1_000_000, 0.0), 1000) == pytest.approx(1e-3, rel=1e-6)
    assert 0.0 < lru_hit_ratio(zipf_probabilities(1_000_000, 0.8), 10_000) < 1.0
