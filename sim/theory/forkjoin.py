"""Response-time distributions on a grid: sums, fork-join maxima, k-th order statistics, hedged and optional calls.

A distribution is its cumulative distribution function sampled at ``0, step, 2 step, ...`` (linear between
points). That makes a sum of independent times a convolution (the mass between two points at their midpoint), the
maximum of independent branches the product of their CDFs (fork-join: the step ends when all answer), the k-th
fastest of n the probability that at least k are done (a Poisson-binomial count, exact for independent
branches), and a hedged call, a second copy sent ``d`` after the first when the first has not answered, the
minimum of ``T1`` and ``d + T2``: survival ``S(t)`` before ``d`` and ``S(t) S(t - d)`` after. Branch responses
are taken as independent (their queues do not share servers). A response known only by its mean and variance is
fitted by the gamma distribution with those two moments: exact for exponential branches (SCV 1), a stated
approximation otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy import stats as distributions

GRID_POINTS = 2048
TAIL_MASS = 1e-7  # a fitted distribution's grid reaches its 1 - 1e-7 quantile


@dataclass(frozen=True, eq=False)
class GridDistribution:
    """A non-negative response time as its CDF at ``0, step_ms, 2 step_ms, ...`` (1 from the last point on)."""

    step_ms: float
    cdf: np.ndarray

    @property
    def horizon_ms(self) -> float:
        """The last grid point: the distribution has (almost) no mass beyond it."""
        return self.step_ms * (len(self.cdf) - 1)

    @classmethod
    def point(cls, value_ms: float) -> GridDistribution:
        """A constant time."""
        step_ms = max(value_ms, 1e-9) / (GRID_POINTS // 2)
        return cls(step_ms, (np.arange(GRID_POINTS) * step_ms >= value_ms - step_ms / 2).astype(float))

    @classmethod
    def from_moments(cls, mean_ms: float, variance_ms2: float) -> GridDistribution:
        """The gamma distribution with this mean and variance (exponential when they give SCV 1)."""
        if mean_ms <= 0.0:
            return cls.point(0.0)
        if variance_ms2 <= (mean_ms * 1e-6) ** 2:
            return cls.point(mean_ms)
        shape = mean_ms**2 / variance_ms2
        scale_ms = variance_ms2 / mean_ms
        horizon_ms = float(distributions.gamma.isf(TAIL_MASS, shape, scale=scale_ms))
        times = np.linspace(0.0, horizon_ms, GRID_POINTS)
        return cls(times[1], distributions.gamma.cdf(times, shape, scale=scale_ms))

    @classmethod
    def queue_wait(cls, wait_probability: float, mean_wait_ms: float) -> GridDistribution:
        """A wait that is zero with probability ``1 - wait_probability``, else exponential (M/M/c's wait)."""
        if wait_probability <= 0.0 or mean_wait_ms <= 0.0:
            return cls.point(0.0)
        waiting_mean_ms = mean_wait_ms / wait_probability
        horizon_ms = waiting_mean_ms * -np.log(TAIL_MASS)
        times = np.linspace(0.0, horizon_ms, GRID_POINTS)
        return cls(times[1], 1.0 - wait_probability * np.exp(-times / waiting_mean_ms))

    def on(self, step_ms: float, points: int = GRID_POINTS) -> np.ndarray:
        """Its CDF on another grid (linear between its own points)."""
        times = np.arange(points) * step_ms
        own = np.arange(len(self.cdf)) * self.step_ms
        return np.interp(times, own, self.cdf, right=1.0)

    @property
    def mean_ms(self) -> float:
        """The mean: the integral of the survival function (trapezoids between grid points)."""
        survival = 1.0 - self.cdf
        return float(self.step_ms * (survival[:-1] + survival[1:]).sum() / 2.0)

    @property
    def variance_ms2(self) -> float:
        """The variance: E[T^2] is the integral of 2 t S(t) (trapezoids), less the squared mean."""
        times = np.arange(len(self.cdf)) * self.step_ms
        weighted = 2.0 * times * (1.0 - self.cdf)
        second = float(self.step_ms * (weighted[:-1] + weighted[1:]).sum() / 2.0)
        return max(second - self.mean_ms**2, 0.0)

    def quantile_ms(self, probability: float) -> float:
        """The time below which ``probability`` of the responses fall (linear between grid points)."""
        index = int(np.searchsorted(self.cdf, probability))
        if index == 0:
            return 0.0
        if index >= len(self.cdf):
            return self.horizon_ms
        low, high = self.cdf[index - 1], self.cdf[index]
        fraction = (probability - low) / (high - low) if high > low else 1.0
        return (index - 1 + fraction) * self.step_ms

    def survival_at(self, time_ms: float) -> float:
        """P(T > time_ms)."""
        times = np.arange(len(self.cdf)) * self.step_ms
        return float(1.0 - np.interp(time_ms, times, self.cdf, left=0.0, right=1.0))


def _common_step(parts: Sequence[GridDistribution], horizon_ms: float) -> tuple[float, list[np.ndarray]]:
    step_ms = max(horizon_ms, 1e-9) / (GRID_POINTS - 1)
    return step_ms, [part.on(step_ms) for part in parts]


def total(parts: Sequence[GridDistribution]) -> GridDistribution:
    """The sum of independent times (a sequence of steps)."""
    if not parts:
        return GridDistribution.point(0.0)
    step_ms, cdfs = _common_step(parts, sum(part.horizon_ms for part in parts))
    summed = cdfs[0]
    for cdf in cdfs[1:]:
        summed = _add(summed, cdf)
    return GridDistribution(step_ms, summed)


def _add(cdf: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The CDF of X + Y on one grid: Y's mass between two points sits at their midpoint, where X's CDF is
    the mean of its values at the two points around it."""
    masses = np.diff(other, prepend=0.0)
    at_zero, masses[0] = masses[0], 0.0
    half_steps = np.append((cdf[:-1] + cdf[1:]) / 2.0, 1.0)
    summed = at_zero * cdf + signal.fftconvolve(half_steps, masses)[:len(cdf)]
    return np.maximum.accumulate(np.clip(summed, 0.0, 1.0))


def kth_fastest(branches: Sequence[GridDistribution], needed: int) -> GridDistribution:
    """When ``needed`` of the independent ``branches`` have answered (``needed = len``: fork-join, all of them)."""
    step_ms, cdfs = _common_step(branches, max(branch.horizon_ms for branch in branches))
    if needed == len(branches):
        return GridDistribution(step_ms, np.prod(cdfs, axis=0))
    if needed == 1:
        return GridDistribution(step_ms, 1.0 - np.prod([1.0 - cdf for cdf in cdfs], axis=0))
    done = np.zeros((len(branches) + 1, GRID_POINTS))  # done[j]: P(exactly j answered by t)
    done[0] = 1.0
    for cdf in cdfs:
        done[1:] = done[1:] * (1.0 - cdf) + done[:-1] * cdf
        done[0] = done[0] * (1.0 - cdf)
    return GridDistribution(step_ms, np.clip(done[needed:].sum(axis=0), 0.0, 1.0))


def hedged(branch: GridDistribution, delay_ms: float) -> GridDistribution:
    """The first answer of a call and of a copy sent ``delay_ms`` later if the first has not answered."""
    times = np.arange(len(branch.cdf)) * branch.step_ms
    copy_cdf = np.interp(times - delay_ms, times, branch.cdf, left=0.0, right=1.0)
    return GridDistribution(branch.step_ms, 1.0 - (1.0 - branch.cdf) * (1.0 - copy_cdf))


def sometimes(branch: GridDistribution, probability: float) -> GridDistribution:
    """A call made with ``probability`` (otherwise it takes no time)."""
    return GridDistribution(branch.step_ms, 1.0 - probability + probability * branch.cdf)
