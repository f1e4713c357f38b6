"""Output analysis of replications: warm-up detection (MSER-5), Student-t confidence intervals, warnings.

Means carry 95% intervals from independent replications: each replication gives one number, and the interval
is ``mean ± t_{0.975, n-1} * s / sqrt(n)``. The t quantile is computed here exactly (numpy and ``math`` only),
so confidence intervals need no SciPy at run time.

MSER-5 (White, 1997) chooses how much of a run's start to discard: it groups the per-request latencies, in
arrival order, into batches of five, and deletes the prefix that minimises the squared standard error of the
remaining batch means. The search is limited to the first half of the run; a minimum at that limit means the
run is too short to reach steady state.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.model.latency import LATENCY_KEYS
from sim.model.status import OK
from sim.results.result import Result
from sim.theory.numeric import bisect_root

CONFIDENCE_LEVEL = 0.95
MSER_BATCH_SIZE = 5
MINIMUM_MSER_BATCHES = 10
SUMMARY_METRICS = ("throughput_rps", "error_rate", *(f"latency_{key}_ms" for key in LATENCY_KEYS), "mean_wait_ms")


def _two_sided_probability(t_value: float, degrees_of_freedom: int) -> float:
    """P(|T| <= t) for Student's t with integer degrees of freedom (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t_value / math.sqrt(degrees_of_freedom))
    cosine_squared = math.cos(theta) ** 2
    if degrees_of_freedom % 2 == 1:
        term = total = math.cos(theta)
        for power in range(3, degrees_of_freedom - 1, 2):
            term *= cosine_squared * (power - 1) / power
            total += term
        series = total * math.sin(theta) if degrees_of_freedom > 1 else 0.0
        return 2.0 / math.pi * (theta + series)
    term = total = 1.0
    for power in range(2, degrees_of_freedom - 1, 2):
        term *= cosine_squared * (power - 1) / power
        total += term
    return math.sin(theta) * total


@functools.lru_cache(maxsize=256)
def student_t_quantile(degrees_of_freedom: int, level: float = CONFIDENCE_LEVEL) -> float:
    """The t value with ``level`` of Student's t distribution between -t and t (e.g. 2.262 for 9, 0.95)."""
    if degrees_of_freedom < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"need degrees_of_freedom >= 1 and 0 < level < 1 (got {degrees_of_freedom}, {level})")
    low, high = 0.0, 1.0
    while _two_sided_probability(high, degrees_of_freedom) < level:
        low, high = high, high * 2.0
    _low, high = bisect_root(lambda t_value: _two_sided_probability(t_value, degrees_of_freedom) < level, low, high)
    return high


@dataclass(frozen=True)
class Interval:
    """A mean over independent replications with the half-width of its confidence interval.

    Attributes:
        mean: Sample mean of the replications' values.
        half_width: t quantile times the standard error (infinite with fewer than two values).
        replications: How many values the interval is built from.
        level: Two-sided confidence level.
    """

    mean: float
    half_width: float
    replications: int
    level: float = CONFIDENCE_LEVEL

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @property
    def relative_half_width(self) -> float:
        """Half-width as a fraction of the mean (infinite when the mean is zero)."""
        return self.half_width / abs(self.mean) if self.mean else math.inf

    def to_dict(self) -> dict[str, float | int | None]:
        """Plain data; an infinite half-width becomes None so the result stays valid JSON."""
        finite = math.isfinite(self.half_width)
        return {"mean": self.mean, "half_width": self.half_width if finite else None,
                "low": self.low if finite else None, "high": self.high if finite else None,
                "replications": self.replications, "level": self.level}

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.half_width:.2g}"


def confidence_interval(values: Iterable[float | None], level: float = CONFIDENCE_LEVEL) -> Interval | None:
    """The Student-t interval of the mean of the given values (missing values skipped; None if none are left)."""
    present = np.array([value for value in values if value is not None], dtype=float)
    if present.size == 0:
        return None
    if present.size == 1:
        return Interval(float(present[0]), math.inf, 1, level)
    standard_error = float(present.std(ddof=1)) / math.sqrt(present.size)
    return Interval(float(present.mean()), student_t_quantile(present.size - 1, level) * standard_error,
                    int(present.size), level)


@dataclass(frozen=True)
class Truncation:
    """Where MSER-5 cuts a series: observations to delete, and whether the cut hit the half-way limit."""

    deleted: int
    at_limit: bool


def mser_truncation(values: np.ndarray, batch_size: int = MSER_BATCH_SIZE) -> Truncation:
    """MSER-5: the prefix of ``values`` to delete so that the rest has the smallest squared standard error."""
    batches = len(values) // batch_size
    if batches < MINIMUM_MSER_BATCHES:
        return Truncation(0, False)
    means = np.asarray(values[: batches * batch_size], dtype=float).reshape(batches, batch_size).mean(axis=1)
    suffix_sum = np.cumsum(means[::-1])[::-1]
    suffix_squares = np.cumsum((means * means)[::-1])[::-1]
    remaining = np.arange(batches, 0, -1, dtype=float)
    squared_error = (suffix_squares - suffix_sum * suffix_sum / remaining) / (remaining * remaining)
    limit = batches // 2
    best = int(np.argmin(squared_error[: limit + 1]))
    return Truncation(best * batch_size, best == limit)


def detect_warmup_s(result: Result) -> tuple[float, bool]:
    """MSER-5 over the run's successful latencies in arrival order, rounded up to a snapshot time.

    Returns:
        The warm-up in seconds (a time the Result can cut its window at) and whether the detection hit the
        half-way limit (then the run is too short for a trustworthy warm-up).
    """
    ok = result.records["status"] == OK
    arrivals = result.records["arrival_s"][ok]
    order = np.argsort(arrivals, kind="stable")
    truncation = mser_truncation(result.records["latency_ms"][ok][order])
    if truncation.deleted == 0:
        return 0.0, truncation.at_limit
    cut_s = float(arrivals[order][truncation.deleted])
    times = [time_s for time_s in result.info.snapshot_times_s if time_s < result.scenario.duration_s]
    position = min(bisect.bisect_left(times, cut_s), len(times) - 1)
    return times[position], truncation.at_limit


def with_warmup(result: Result, warmup_s: float) -> Result:
    """The same run measured from ``warmup_s`` (which must be one of its snapshot times)."""
    if warmup_s == result.scenario.warmup_s:
        return result
    scenario = result.scenario.model_copy(update={"warmup_s": warmup_s})
    return Result(scenario, result.info, result.records, result.component_levels, result.station_levels,
                  result.events)


def interval_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Interval]:
    """A confidence interval for every metric column of replication rows (metrics and utilisations)."""
    columns = [column for column in rows[0] if column in SUMMARY_METRICS or column.startswith("utilisation_")]
    summary = {}
    for column in columns:
        interval = confidence_interval(row.get(column) for row in rows)
        if interval is not None:
            summary[column] = interval
    return summary


def warmup_report(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How the warm-up was chosen and its value in each replication."""
    values = [float(row["warmup_s"]) for row in rows]
    return {"method": rows[0]["warmup_method"], "warmup_s": values, "min_s": min(values), "max_s": max(values),
            "mean_s": sum(values) / len(values)}


def replication_warnings(rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Interval],
                         p99_precision: float) -> list[str]:
    """Plain-language warnings: a p99 known too loosely, unstable replications, a warm-up at its limit."""
    warnings = []
    p99 = summary.get("latency_p99_ms")
    if p99 is not None and p99.relative_half_width > p99_precision:
        known = "with one replication there is no interval" if p99.replications < 2 else (
            f"p99 is known only to ±{p99.relative_half_width:.0%}")
        warnings.append(f"run longer: {known} (95% CI over {p99.replications} replication(s)), wider than the "
                        f"±{p99_precision:.0%} asked for; increase duration_s or the number of replications")
    unstable = [row for row in rows if row["stable"] is False]
    inconclusive = sum(row["stable"] is None for row in rows)
    if inconclusive:
        warnings.append(f"{inconclusive} of {len(rows)} replication(s) gave no verdict: they reached max_requests "
                        "before a quarter of the measured window; raise max_requests or shorten the run")
    if unstable:
        names = sorted({name for row in unstable for name in str(row.get("overflowed", "")).split(",") if name})
        where = f" ({', '.join(names)} overflowed)" if names else ""
        warnings.append(f"{len(unstable)} of {len(rows)} replication(s) were unstable{where}: the offered load "
                        "exceeds capacity, so their latencies grow with the run length and mean little")
    at_limit = sum(bool(row.get("warmup_at_limit")) for row in rows)
    if at_limit:
        warnings.append(f"run longer: in {at_limit} replication(s) the warm-up detection reached half the run, "
                        "so the system may not have settled")
    return warnings
