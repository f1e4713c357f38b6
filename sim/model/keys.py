"""Request keys: their popularity (uniform or Zipf), how they are drawn, and the hash that places them.

The engine (shards, hash rings) and the analytic twin use the same popularity and the same hash from here, so
theory sees exactly the skew the simulation does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.model.distributions import batched
from sim.model.workload import KeySpaceSpec

KEY_BATCH_SIZE = 4096
MASK_64 = (1 << 64) - 1
_GOLDEN, _MIX_1, _MIX_2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def zipf_probabilities(key_count: int, exponent: float) -> np.ndarray:
    """Zipf popularity p_i proportional to 1 / i^exponent for ranks i = 1..key_count; 0 is uniform."""
    if key_count < 1:
        raise ValueError(f"key_count must be at least 1, got {key_count}")
    if not exponent >= 0:
        raise ValueError(f"exponent must be non-negative, got {exponent}")
    weights = np.arange(1, key_count + 1, dtype=float) ** -float(exponent)
    return weights / weights.sum()


def key_probabilities(keys: KeySpaceSpec) -> np.ndarray:
    """Probability of each key of a workload's key space, most popular first."""
    if keys.distribution == "uniform":
        return np.full(keys.count, 1.0 / keys.count)
    return zipf_probabilities(keys.count, keys.zipf_exponent)


def key_sampler(keys: KeySpaceSpec, rng: np.random.Generator) -> Callable[[], int]:
    """Draws key ranks (0 is the most popular key)."""
    if keys.distribution == "uniform" or keys.zipf_exponent == 0:
        return batched(lambda size: rng.integers(keys.count, size=size), KEY_BATCH_SIZE)
    cumulative = np.cumsum(key_probabilities(keys))
    cumulative[-1] = 1.0
    return batched(lambda size: np.searchsorted(cumulative, rng.random(size), side="right"), KEY_BATCH_SIZE)


def mix_key(key: int) -> int:
    """SplitMix64 finaliser: spreads consecutive keys evenly over 64 bits (shards and hash rings use it)."""
    value = (key + _GOLDEN) & MASK_64
    value = ((value ^ (value >> 30)) * _MIX_1) & MASK_64
    value = ((value ^ (value >> 27)) * _MIX_2) & MASK_64
    return value ^ (value >> 31)


def mix_keys(keys: np.ndarray) -> np.ndarray:
    """``mix_key`` of every key at once (unsigned 64-bit arithmetic wraps exactly like the masks above)."""
    with np.errstate(over="ignore"):
        value = keys.astype(np.uint64) + np.uint64(_GOLDEN)
        value = (value ^ (value >> np.uint64(30))) * np.uint64(_MIX_1)
        value = (value ^ (value >> np.uint64(27))) * np.uint64(_MIX_2)
        return value ^ (value >> np.uint64(31))
