"""Scaling curves from sweeps: latency vs load beside the twin's curve, and the Universal Scalability Law.

Gunther's Universal Scalability Law, fitted to throughput measured at several sizes (instances, users, shards):

``X(N) = lambda * N / (1 + sigma * (N - 1) + kappa * N * (N - 1))``: ``lambda`` is the throughput of one unit,
``sigma`` the contention (the serial fraction, Amdahl's law) and ``kappa`` the coherency cost (pairwise
crosstalk, which makes throughput fall past a peak). The fit is a non-negative least-squares problem in
``N / X = a + b (N - 1) + c N (N - 1)`` with ``a = 1 / lambda``, ``b = sigma / lambda`` and
``c = kappa / lambda``; each row is weighted by ``X / N`` so that residuals are relative errors of ``X``.
Both coefficients are kept non-negative by trying each set of active bounds (there are only four).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.scenario.overrides import with_overrides
from sim.scenario.scenario import Scenario, ScenarioError
from sim.twin.predict import end_to_end_ms, predict

MINIMUM_POINTS = 2
CURVE_POINTS = 60


@dataclass(frozen=True)
class UslFit:
    """A fitted Universal Scalability Law.

    Attributes:
        unit_throughput_rps: lambda, the throughput of one unit with no contention.
        contention: sigma, the fraction of work that serialises (0 is linear scaling).
        coherency: kappa, the cost of keeping units consistent with each other (above 0 throughput peaks).
        r_squared: Coefficient of determination of the fit on throughput.
    """

    unit_throughput_rps: float
    contention: float
    coherency: float
    r_squared: float

    @property
    def peak_units(self) -> float | None:
        """The size with the highest throughput, ``sqrt((1 - sigma) / kappa)``; None if it never peaks."""
        if self.coherency <= 0.0 or self.contention >= 1.0:
            return None
        return math.sqrt((1.0 - self.contention) / self.coherency)

    def throughput_rps(self, units: Sequence[float] | np.ndarray) -> np.ndarray:
        """The law's throughput at each size."""
        size = np.asarray(units, dtype=float)
        return self.unit_throughput_rps * size / (1.0 + self.contention * (size - 1.0)
                                                  + self.coherency * size * (size - 1.0))

    def curve(self, low: float, high: float, points: int = 100) -> list[dict[str, float]]:
        """Points of the fitted curve between two sizes, for plotting beside the measurements."""
        sizes = np.linspace(low, high, points)
        return [{"units": float(size), "throughput_rps": float(value)}
                for size, value in zip(sizes, self.throughput_rps(sizes), strict=True)]

    def to_dict(self) -> dict[str, float | None]:
        return {"unit_throughput_rps": self.unit_throughput_rps, "contention": self.contention,
                "coherency": self.coherency, "peak_units": self.peak_units, "r_squared": self.r_squared}


def _weighted_least_squares(design: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    solution, *_rest = np.linalg.lstsq(design * weights[:, None], target * weights, rcond=None)
    return solution


def fit_usl(units: Sequence[float], throughput_rps: Sequence[float]) -> UslFit:
    """Fit the law to measured throughput at several sizes.

    Args:
        units: Size of each measurement (instances, users, shards); at least two distinct positive values.
        throughput_rps: Measured throughput at each size (non-positive values are ignored).

    Returns:
        The fitted law, with non-negative contention and coherency.
    """
    size = np.asarray(units, dtype=float)
    measured = np.asarray(throughput_rps, dtype=float)
    keep = (measured > 0) & (size > 0)
    size, measured = size[keep], measured[keep]
    if np.unique(size).size < MINIMUM_POINTS:
        raise ValueError(f"the USL fit needs throughput at {MINIMUM_POINTS} or more distinct sizes")
    columns = np.column_stack([np.ones_like(size), size - 1.0, size * (size - 1.0)])
    target, weights = size / measured, measured / size
    best: tuple[float, np.ndarray] | None = None
    for free in itertools.product((True, False), repeat=2):
        chosen = [0] + [index + 1 for index, is_free in enumerate(free) if is_free]
        coefficients = np.zeros(3)
        coefficients[chosen] = _weighted_least_squares(columns[:, chosen], target, weights)
        if coefficients[0] <= 0 or (coefficients[1:] < 0).any():
            continue
        error = float(np.sum(((columns @ coefficients - target) * weights) ** 2))
        if best is None or error < best[0]:
            best = (error, coefficients)
    assert best is not None  # with both coefficients at zero, a = mean(N / X) weighted, which is positive
    intercept, slope, curvature = best[1]
    fit = UslFit(1.0 / intercept, slope / intercept, curvature / intercept, 0.0)
    residual = float(np.sum((fit.throughput_rps(size) - measured) ** 2))
    spread = float(np.sum((measured - measured.mean()) ** 2))
    return UslFit(fit.unit_throughput_rps, fit.contention, fit.coherency, 1.0 - residual / spread if spread else 1.0)


# --- figure data ---------------------------------------------------------------------------------------
# A sweep's points are dicts with "parameters", "replications", "intervals" ({column: Interval}) and
# "theory_mean_latency_ms"; a grid of several fields gives one series per combination of the other fields.


def split_series(points: Sequence[Mapping[str, Any]], x: str) -> list[tuple[dict[str, Any], list[Mapping[str, Any]]]]:
    """Points grouped by the values of every field but ``x``, each group sorted by ``x``."""
    groups: dict[str, tuple[dict[str, Any], list[Mapping[str, Any]]]] = {}
    for point in points:
        others = {path: value for path, value in point["parameters"].items() if path != x}
        groups.setdefault(repr(sorted(others.items())), (others, []))[1].append(point)
    return [(others, sorted(members, key=lambda point: point["parameters"][x])) for others, members in groups.values()]


def twin_latency_ms(scenario: Scenario, parameters: Mapping[str, Any]) -> float | None:
    """The twin's mean end-to-end latency for a variant (None when unstable or not a valid scenario)."""
    try:
        variant = with_overrides(scenario, parameters)
    except ScenarioError:
        return None
    return end_to_end_ms(variant, predict(variant))


def curve_values(values: Sequence[float], points: int = CURVE_POINTS) -> list[float]:
    """Values spanning a sweep's range densely: every integer for an integer field, else an even grid."""
    low, high = float(min(values)), float(max(values))
    if all(isinstance(value, int) for value in values):
        return sorted({int(value) for value in np.rint(np.linspace(low, high, min(points, int(high - low) + 1)))})
    return [float(value) for value in np.linspace(low, high, points)]


def _interval_data(point: Mapping[str, Any], column: str) -> dict[str, Any] | None:
    interval = point["intervals"].get(column)
    return None if interval is None else interval.to_dict()


def latency_vs_load(points: Sequence[Mapping[str, Any]], scenario: Scenario, x: str) -> dict[str, Any]:
    """The hockey stick: measured mean and p99 latency (with CIs) against ``x``, and the twin's mean curve."""
    series = []
    for others, members in split_series(points, x):
        measured = [{"x": point["parameters"][x], "latency_mean_ms": _interval_data(point, "latency_mean_ms"),
                     "latency_p99_ms": _interval_data(point, "latency_p99_ms"),
                     "throughput_rps": _interval_data(point, "throughput_rps"),
                     "theory_mean_latency_ms": point["theory_mean_latency_ms"]} for point in members]
        values = [point["parameters"][x] for point in members]
        numeric = all(isinstance(value, int | float) and not isinstance(value, bool) for value in values)
        theory = [{"x": value, "mean_latency_ms": twin_latency_ms(scenario, {**others, x: value})}
                  for value in (curve_values(values) if numeric else values)]
        series.append({"parameters": others, "points": measured, "theory_curve": theory})
    return {"x": x, "series": series}


def throughput_vs_size(points: Sequence[Mapping[str, Any]], x: str, column: str = "throughput_rps") -> dict[str, Any]:
    """Throughput (with CIs) against a size such as instances, with the fitted USL and its curve per series."""
    series = []
    for others, members in split_series(points, x):
        sizes = [float(point["parameters"][x]) for point in members]
        means = [point["intervals"][column].mean if column in point["intervals"] else 0.0 for point in members]
        measured = [{"x": point["parameters"][x], column: _interval_data(point, column)} for point in members]
        entry: dict[str, Any] = {"parameters": others, "points": measured, "fit": None, "curve": [], "note": None}
        unsaturated = sum(bool(point["stable"]) for point in members)
        if unsaturated:
            entry["note"] = (f"{unsaturated} of {len(members)} points kept up with the offered load, so their "
                             "throughput is the demand, not the capacity; for a meaningful USL fit drive every "
                             "point to its limit (a higher rate, or a closed workload with many users)")
        if len(set(sizes)) >= MINIMUM_POINTS:
            fit = fit_usl(sizes, means)
            entry["fit"], entry["curve"] = fit.to_dict(), fit.curve(min(sizes), max(sizes))
        series.append(entry)
    return {"x": x, "column": column, "series": series}
