"""Cache hit ratios in closed form: Che's characteristic-time approximation for LRU (with optional TTL).

Time is counted in requests: the characteristic time T of an LRU cache of C keys solves
sum_i (1 - exp(-p_i T)) = C, and the hit ratio is sum_i p_i (1 - exp(-p_i T)).
"""

from __future__ import annotations

import math

import numpy as np

from sim.theory.numeric import bisect_root

_RELATIVE_TOLERANCE = 1e-12


def _positive_probabilities(request_probabilities: np.ndarray) -> np.ndarray:
    """Validate, drop never-requested keys and normalise to sum 1."""
    probabilities = np.asarray(request_probabilities, dtype=float).ravel()
    if probabilities.size == 0 or not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
        raise ValueError("request_probabilities must be a non-empty array of finite non-negative values")
    total = probabilities.sum()
    if total <= 0:
        raise ValueError("request_probabilities must not all be zero")
    return probabilities[probabilities > 0] / total


def _expected_occupancy(probabilities: np.ndarray, time_requests: float) -> float:
    """Expected number of distinct keys among the last time_requests requests."""
    return float(-np.expm1(-probabilities * time_requests).sum())


def _characteristic_time(probabilities: np.ndarray, capacity_keys: float) -> float:
    if not capacity_keys >= 0:
        raise ValueError(f"capacity_keys must be non-negative, got {capacity_keys}")
    if capacity_keys == 0:
        return 0.0
    if capacity_keys >= probabilities.size:
        return math.inf
    # Occupancy(T) < T for T > 0, so the root lies above capacity; double until bracketed.
    lower, upper = float(capacity_keys), 2.0 * capacity_keys
    while _expected_occupancy(probabilities, upper) < capacity_keys:
        lower, upper = upper, 2.0 * upper
    lower, upper = bisect_root(lambda time: _expected_occupancy(probabilities, time) < capacity_keys, lower, upper,
                          relative_tolerance=_RELATIVE_TOLERANCE, geometric=True)
    return math.sqrt(lower * upper)


def che_characteristic_time(request_probabilities: np.ndarray, capacity_keys: int) -> float:
    """Che's characteristic time T of an LRU cache, in requests.

    T solves sum_i (1 - exp(-p_i T)) = capacity: a key stays cached for T requests after its last
    request. It is 0 for an empty cache and math.inf when every requested key fits.
    """
    return _characteristic_time(_positive_probabilities(request_probabilities), capacity_keys)


def lru_hit_ratio(
    request_probabilities: np.ndarray, capacity_keys: int, ttl_requests: float | None = None
) -> float:
    """Hit ratio of an LRU cache under the independent reference model (Che's approximation).

    Args:
        request_probabilities: Per-key request probabilities; rescaled to sum 1, zeros ignored.
        capacity_keys: Number of keys the cache holds.
        ttl_requests: Optional time-to-live as a number of requests (ttl_s * request rate); entries
            then live min(T, ttl) requests, the usual TTL-LRU approximation.

    Returns:
        Fraction of requests that hit, sum_i p_i (1 - exp(-p_i T_eff)).
    """
    probabilities = _positive_probabilities(request_probabilities)
    effective_time = _characteristic_time(probabilities, capacity_keys)
    if ttl_requests is not None:
        if not ttl_requests >= 0:
            raise ValueError(f"ttl_requests must be non-negative, got {ttl_requests}")
        effective_time = min(effective_time, ttl_requests)
    if math.isinf(effective_time):
        return 1.0
    return float(probabilities @ -np.expm1(-probabilities * effective_time))


def stampede_store_reads(read_rps: float, refill_ms: float) -> float:
    """Expected store reads per refill of a key read ``read_rps`` times a second (Poisson), without coalescing.

    The first read after the key expires misses and reads the store; every read arriving before that read's
    answer fills the cache (``refill_ms``, the store's response) misses too: 1 + r x refill on average.
    With single-flight coalescing it is 1.
    """
    return 1.0 + read_rps * refill_ms / 1000.0
