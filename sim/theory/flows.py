"""Traffic for the analytic twin: per-key read and write rates, and the moments of mixed outcomes.

Traffic is carried per key, so caches (Che's approximation), shards (the engine's key hash) and consistent
hashing see the same skew as the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.distributions import Distribution


@dataclass
class Traffic:
    """Read and write rates (requests per second) for every key."""

    read_rps: np.ndarray
    write_rps: np.ndarray

    @property
    def rate_rps(self) -> float:
        return float(self.read_rps.sum() + self.write_rps.sum())

    def __add__(self, other: Traffic) -> Traffic:
        return Traffic(self.read_rps + other.read_rps, self.write_rps + other.write_rps)


def mixture(parts: list[tuple[float, Distribution]]) -> tuple[float, float]:
    """Mean (ms) and squared coefficient of variation of a rate-weighted mix of distributions."""
    total = sum(rate for rate, _distribution in parts)
    if total <= 0:
        return parts[0][1].mean_ms, parts[0][1].scv
    mean = sum(rate * dist.mean_ms for rate, dist in parts) / total
    second_moment = sum(rate * (dist.variance_ms2 + dist.mean_ms**2) for rate, dist in parts) / total
    return mean, max(second_moment / mean**2 - 1.0, 0.0)


def moments(parts: list[tuple[float, float, float]]) -> tuple[float, float]:
    """Mean and variance of a rate-weighted mix of (rate, mean, variance) outcomes."""
    total = sum(rate for rate, _mean, _variance in parts)
    mean = sum(rate * part_mean for rate, part_mean, _variance in parts) / total
    second = sum(rate * (variance + part_mean**2) for rate, part_mean, variance in parts) / total
    return mean, max(second - mean**2, 0.0)
