"""Independent replications and Student-t confidence intervals for the statistical tests.

A statistical test runs one scenario under several seeds, turns each run into one number, and checks a
closed-form value against the 95% confidence interval of those numbers. Two guards keep such a test honest:
the interval must be narrow (a broken engine with wild variance cannot pass by having a huge interval),
and the theory value must fall inside it, widened by a stated factor and a small stated bias allowance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

import sim
from sim.results.result import Result

CONFIDENCE_LEVEL = 0.95
# The tests are seeded, so "flaky" means "fails for a seed set that a correct engine could produce".
# With 10 replications the plain 95% t-interval would miss a correct value in 1 check of 20; widened by 1.5
# it misses when |t| > 3.39 on 9 degrees of freedom, about 1 check in 125.
DEFAULT_WIDENING = 1.5
# Every estimator here is a ratio (total wait / requests, busy time / window) over a window that cuts
# requests in flight at both ends, which biases it by O(mean wait / window length): below 0.1% for the
# scenarios in these tests. Half a percent of the theory value covers that, and is far smaller than any bug
# worth catching.
DEFAULT_RELATIVE_BIAS = 0.005


@dataclass(frozen=True)
class ConfidenceInterval:
    """A mean with the half-width of its Student-t confidence interval."""

    mean: float
    half_width: float
    replications: int

    @property
    def relative_half_width(self) -> float:
        """Half-width as a fraction of the mean (inf when the mean is zero)."""
        return self.half_width / abs(self.mean) if self.mean else math.inf

    def __str__(self) -> str:
        return f"{self.mean:.5g} ± {self.half_width:.3g} (95% CI, {self.replications} replications)"


def confidence_interval(samples: Iterable[float], level: float = CONFIDENCE_LEVEL) -> ConfidenceInterval:
    """The Student-t confidence interval for the mean of independent replications.

    Args:
        samples: One value per replication; at least two, all finite.
        level: Two-sided confidence level.

    Returns:
        The sample mean and the interval's half-width t_{(1+level)/2, n-1} * s / sqrt(n).
    """
    values = np.asarray(list(samples), dtype=float)
    if values.size < 2:
        raise ValueError(f"need at least two replications for a confidence interval, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"replication values must be finite, got {values.tolist()}")
    quantile = stats.t.ppf((1.0 + level) / 2.0, values.size - 1)
    half_width = float(quantile * values.std(ddof=1) / math.sqrt(values.size))
    return ConfidenceInterval(float(values.mean()), half_width, int(values.size))


def replicate(scenario: sim.Scenario, seeds: Sequence[int]) -> list[Result]:
    """One independent run of ``scenario`` per seed."""
    return [sim.run(scenario, seed=seed) for seed in seeds]


def metric(results: Sequence[Result], extract: Callable[[Result], float]) -> list[float]:
    """One number per replication."""
    return [float(extract(result)) for result in results]


def assert_agrees_with_theory(
    label: str,
    samples: Iterable[float],
    theory_value: float,
    max_relative_half_width: float,
    widening: float = DEFAULT_WIDENING,
    relative_bias: float = DEFAULT_RELATIVE_BIAS,
) -> ConfidenceInterval:
    """Assert that the replications are precise and that ``theory_value`` lies in their widened interval.

    Args:
        label: What is measured, for the failure message.
        samples: One value per replication.
        theory_value: The closed-form value the engine must reproduce.
        max_relative_half_width: The interval's half-width may be at most this fraction of its mean.
        widening: Factor applied to the half-width before the comparison.
        relative_bias: Extra allowance, as a fraction of ``theory_value``, for known small biases.

    Returns:
        The interval, so a caller can report or reuse it.
    """
    interval = confidence_interval(samples)
    print(f"{label}: measured {interval}; theory {theory_value:.5g}")
    assert interval.relative_half_width <= max_relative_half_width, (
        f"{label}: the replications disagree too much to test anything: {interval} "
        f"(relative half-width {interval.relative_half_width:.1%} > {max_relative_half_width:.1%})"
    )
    allowed = widening * interval.half_width + relative_bias * abs(theory_value)
    assert abs(interval.mean - theory_value) <= allowed, (
        f"{label}: theory {theory_value:.5g} is outside {interval} widened to ±{allowed:.3g} "
        f"(off by {interval.mean - theory_value:+.3g}, {(interval.mean - theory_value) / theory_value:+.1%})"
    )
    return interval
