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


def lfu_hit_ratio(request_probabilities: np.ndarray, capacity_keys: int) -> float:
    """Hit ratio of a perfect LFU cache under the independent reference model: the mass of the top keys.

    With stationary popularity the access counts rank keys by popularity in the long run, so the cache holds
    the ``capacity_keys`` most popular keys and a request hits when it asks for one of them.
    """
    probabilities = np.sort(_positive_probabilities(request_probabilities))[::-1]
    return float(probabilities[:max(int(capacity_keys), 0)].sum())


def write_behind_store_writes_rps(write_rps: np.ndarray, flush_interval_ms: float) -> np.ndarray:
    """Per-key rate of store writes from a write-behind buffer flushed every ``flush_interval_ms``.

    With Poisson writes of rate w to a key, a flush writes the key when it was written at least once since the
    last flush, which happens with probability 1 - exp(-w D): writes to one key within a period coalesce.
    """
    interval_s = flush_interval_ms / 1000.0
    return -np.expm1(-np.asarray(write_rps, dtype=float) * interval_s) / interval_s


def early_refresh_probability(read_rps: float, refill_ms: float, beta: float, ttl_s: float) -> float:
    """Chance that XFetch (early probabilistic refresh) refreshes a key before its TTL runs out.

    A read with time Δ left before expiry refreshes when -refill x beta x ln U >= Δ (U uniform), which happens
    with probability exp(-Δ / (refill x beta)). Poisson reads of rate r so thinned give refreshes of intensity
    r exp(-Δ / (refill x beta)); none over the key's life [ttl, 0] has probability
    exp(-r x refill x beta x (1 - exp(-ttl / (refill x beta)))).
    """
    scale_s = refill_ms / 1000.0 * beta
    if scale_s <= 0:
        return 0.0
    return float(-math.expm1(-read_rps * scale_s * -math.expm1(-ttl_s / scale_s)))


def early_refresh_store_reads(read_rps: float, refill_ms: float, beta: float, ttl_s: float) -> float:
    """Expected store reads per refill of a key refreshed early by XFetch, without coalescing.

    The first refresh starts a lead L before expiry, with P(L < x) = exp(-H(x)) where
    H(x) = r x refill x beta x (exp(-x / (refill x beta)) - exp(-ttl / (refill x beta))) is the refresh
    intensity integrated from the entry's fill to x before expiry (``early_refresh_probability``). When L is
    shorter than the refill the key expires first, and every read in the gap misses and reads the store too:
    1 + r E[max(0, refill - L)] = 1 + r x integral over [0, refill] of exp(-H(x)) dx (Simpson's rule).
    """
    refill_s, scale_s = refill_ms / 1000.0, refill_ms / 1000.0 * beta
    if refill_s <= 0 or scale_s <= 0:
        return 1.0 + read_rps * max(refill_s, 0.0)
    lead_s = np.linspace(0.0, refill_s, 2049)
    intensity = read_rps * scale_s * (np.exp(-lead_s / scale_s) - math.exp(-ttl_s / scale_s))
    late = np.exp(-np.maximum(intensity, 0.0))
    weights = np.ones(lead_s.size)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return 1.0 + read_rps * float(weights @ late) * (lead_s[1] - lead_s[0]) / 3.0
