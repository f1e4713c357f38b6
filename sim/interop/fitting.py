"""Fitting service-time distributions to measured latencies, with a goodness-of-fit statement, and the knee.

Candidates: exponential (by its mean), lognormal (by the mean and spread of log latency) and deterministic plus
normal noise (mean and standard deviation). Each is scored by the Kolmogorov-Smirnov distance D between its
CDF and the data; the smallest D wins (all candidates have one or two parameters, so D compares them fairly).
With per-request samples (JMeter, k6), D is the classic statistic over every sample. With only quantiles
(Locust's percentile columns), D is the largest gap at those quantiles: a lower bound on the true distance.
The p-value uses Kolmogorov's limiting distribution with Stephens' small-sample correction; since the
parameters come from the same data it is conservative (a real misfit shows up as a smaller p than stated).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FAMILIES = ("exponential", "lognormal", "deterministic")
SIGNIFICANCE = 0.05
BODY = 0.95  # quantile fits use reported quantiles up to this one
_erf = np.vectorize(math.erf, otypes=[float])


def normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(np.asarray(z, dtype=float) / math.sqrt(2.0)))


def normal_quantile(probability: float) -> float:
    """The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be strictly between 0 and 1 (got {probability})")
    tail = min(probability, 1.0 - probability)
    if tail < 0.02425:
        q = math.sqrt(-2.0 * math.log(tail))
        value = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
        return value if probability < 0.5 else -value
    q = probability - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)


def kolmogorov_p_value(statistic: float, count: int) -> float:
    """P(D >= statistic) for ``count`` samples from the fitted distribution (asymptotic, Stephens-corrected)."""
    if statistic <= 0.0:
        return 1.0
    root = math.sqrt(count)
    scaled = (root + 0.12 + 0.11 / root) * statistic
    total = sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * scaled * scaled) for k in range(1, 101))
    return float(min(1.0, max(0.0, 2.0 * total)))


@dataclass
class DistributionFit:
    """One candidate family fitted to the data, with its Kolmogorov-Smirnov distance and p-value."""

    family: str
    location: float  # exponential: mean; lognormal: mu of log-latency; deterministic: mean (all ms or log ms)
    scale: float  # lognormal: sigma of log-latency; deterministic: noise standard deviation (ms); exponential: 0
    ks_statistic: float = math.nan
    p_value: float = math.nan

    @property
    def mean_ms(self) -> float:
        return math.exp(self.location + self.scale**2 / 2) if self.family == "lognormal" else self.location

    def cdf(self, latencies_ms: np.ndarray) -> np.ndarray:
        values = np.asarray(latencies_ms, dtype=float)
        if self.family == "exponential":
            return np.where(values > 0, 1.0 - np.exp(-np.maximum(values, 0.0) / self.location), 0.0)
        if self.family == "lognormal":
            logs = np.log(np.maximum(values, 1e-300))
            return np.where(values > 0, normal_cdf((logs - self.location) / self.scale), 0.0)
        return normal_cdf((values - self.location) / max(self.scale, 1e-12))

    def spec(self) -> dict[str, object]:
        """The fit as a scenario distribution (deterministic drops its noise: a sub-millisecond jitter)."""
        if self.family == "lognormal":
            return {"distribution": "lognormal", "mean_ms": self.mean_ms, "cv": math.sqrt(math.expm1(self.scale**2))}
        return {"distribution": self.family, "mean_ms": self.location}

    def describe(self) -> str:
        spec = self.spec()
        extra = f", cv {spec['cv']:.2f}" if "cv" in spec else (
            f" ± {self.scale:.2f} ms noise" if self.family == "deterministic" else "")
        return f"{self.family} (mean {self.mean_ms:.2f} ms{extra})"


@dataclass
class FitReport:
    """Every candidate, the best by the smallest KS distance, and a sentence saying how good it is."""

    candidates: list[DistributionFit]
    basis: str  # "samples" or "quantiles"
    count: int

    @property
    def best(self) -> DistributionFit:
        return min(self.candidates, key=lambda fit: fit.ks_statistic)

    def statement(self) -> str:
        best = self.best
        where = (f"{self.count:,} samples" if self.basis == "samples" else
                 f"{self.count:,} requests, at the reported quantiles only, so D is a lower bound")
        verdict = ("no evidence against it at the 5% level" if best.p_value >= SIGNIFICANCE else
                   "but the test rejects it at the 5% level: treat it as a rough summary")
        others = "; ".join(f"{fit.family} D = {fit.ks_statistic:.3f}" for fit in self.candidates if fit is not best)
        return (f"best fit: {best.describe()}, Kolmogorov-Smirnov D = {best.ks_statistic:.3f} over {where}, "
                f"p = {best.p_value:.3g}: {verdict} (others: {others})")


def fit_samples(latencies_ms: np.ndarray) -> FitReport:
    """Fit every family to per-request latencies (ms) and score it by the KS statistic."""
    values = np.sort(np.asarray(latencies_ms, dtype=float))
    if values.size < 2 or not np.all(np.isfinite(values)) or values[0] < 0:
        raise ValueError("fitting needs at least 2 finite, non-negative latencies")
    positive = np.maximum(values, 1e-6)
    logs = np.log(positive)
    fits = [DistributionFit("exponential", float(values.mean()), 0.0),
            DistributionFit("lognormal", float(logs.mean()), max(float(logs.std()), 1e-9)),
            DistributionFit("deterministic", float(values.mean()), float(values.std()))]
    ranks = np.arange(1, values.size + 1) / values.size
    for fit in fits:
        cdf = fit.cdf(values)
        fit.ks_statistic = float(max(np.max(ranks - cdf), np.max(cdf - (ranks - 1.0 / values.size))))
        fit.p_value = kolmogorov_p_value(fit.ks_statistic, values.size)
    return FitReport(fits, "samples", int(values.size))


def fit_quantiles(quantiles_ms: Mapping[float, float], mean_ms: float, count: int) -> FitReport:
    """Fit every family to reported quantiles (probability -> ms) and the mean, as Locust reports them.

    The spread is fitted to the body of the distribution (quantiles up to ``BODY``): a load test's far tail
    holds the odd stall of the client or the machine, which would otherwise set the whole shape. D is
    measured at every reported quantile below 1.
    """
    points = sorted((probability, value) for probability, value in quantiles_ms.items() if 0 < probability < 1)
    usable = [(probability, value) for probability, value in points if value > 0 and probability <= BODY]
    if len(usable) < 2 or not mean_ms > 0:
        raise ValueError(f"fitting needs a positive mean and at least 2 positive quantiles up to {BODY:.0%}")
    scores = np.array([normal_quantile(probability) for probability, _value in usable])
    values = np.array([value for _probability, value in usable])
    log_slope, log_intercept = np.polyfit(scores, np.log(values), 1)
    slope, _intercept = np.polyfit(scores, values, 1)
    fits = [DistributionFit("exponential", mean_ms, 0.0),
            DistributionFit("lognormal", float(log_intercept), max(float(log_slope), 1e-9)),
            DistributionFit("deterministic", mean_ms, max(float(slope), 0.0))]
    probabilities = np.array([probability for probability, _value in points])
    at = np.array([value for _probability, value in points])
    for fit in fits:
        fit.ks_statistic = float(np.max(np.abs(fit.cdf(at) - probabilities)))
        fit.p_value = kolmogorov_p_value(fit.ks_statistic, count)
    return FitReport(fits, "quantiles", count)


@dataclass
class Knee:
    """Where the latency curve bends up: the load and latency at its knee."""

    throughput_rps: float
    latency_ms: float
    index: int


def latency_knee(throughputs_rps: Sequence[float], latencies_ms: Sequence[float], min_spread: float = 0.2,
                 ) -> Knee | None:
    """The knee of latency against load: the point furthest below the chord from the lightest to the heaviest
    load, both axes scaled to [0, 1] (Kneedle, for a convex increasing curve). None with fewer than three points
    or loads spread by less than ``min_spread`` of the heaviest (a test at one load has no curve)."""
    pairs = sorted((float(x), float(y)) for x, y in zip(throughputs_rps, latencies_ms, strict=True)
                   if math.isfinite(x) and math.isfinite(y))
    if len(pairs) < 3:
        return None
    xs, ys = np.array([x for x, _y in pairs]), np.array([y for _x, y in pairs])
    if xs[-1] <= 0 or (xs[-1] - xs[0]) < min_spread * xs[-1] or ys[-1] <= ys[0]:
        return None
    x_scaled = (xs - xs[0]) / (xs[-1] - xs[0])
    y_scaled = (ys - ys[0]) / (ys[-1] - ys[0])
    index = int(np.argmax(x_scaled - y_scaled))
    return Knee(float(xs[index]), float(ys[index]), index)
