"""Service-level objectives written the way load testers write them: ``p95 < 200ms``, ``error_rate < 1%``.

Metrics: latency ``mean``, ``p50``, ``p90``, ``p95``, ``p99``, ``p999`` (units ms or s; ms if omitted),
``mean_wait`` (queueing delay per request, summed over every station it waited at), ``error_rate``
(a fraction or a percentage) and ``throughput`` (req/s).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.model.latency import LATENCY_KEYS

LATENCY_METRICS = LATENCY_KEYS
METRICS = (*LATENCY_METRICS, "mean_wait", "error_rate", "throughput")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_PATTERN = re.compile(r"^\s*([a-z_0-9.]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|%|rps)?\s*$")
_ALIASES = {"p99.9": "p999", "avg": "mean", "error": "error_rate", "errors": "error_rate", "rps": "throughput",
            "throughput_rps": "throughput", "wait": "mean_wait"}


@dataclass(frozen=True)
class Slo:
    """One objective: ``metric operator threshold`` (threshold in ms, a fraction, or req/s)."""

    text: str
    metric: str
    comparison: str
    threshold: float

    def holds(self, value: float | None) -> bool:
        """Whether a measured value meets the objective (a missing value never does)."""
        return value is not None and COMPARISONS[self.comparison](value, self.threshold)


def parse_slo(text: str) -> Slo:
    """Parse ``"p99 < 200ms"``; raise ValueError saying what is allowed."""
    match = _PATTERN.match(text.lower())
    if not match:
        raise ValueError(f"cannot read SLO {text!r}: write it like 'p99 < 200ms' or 'error_rate < 1%'")
    name, comparison, number, unit = match.groups()
    metric = _ALIASES.get(name, name)
    if metric not in METRICS:
        raise ValueError(f"unknown SLO metric {name!r}; allowed: {', '.join(METRICS)}")
    threshold = float(number)
    if not math.isfinite(threshold):  # "1e999" reads as infinity: no objective is met or missed by that
        raise ValueError(f"SLO {text!r}: the threshold must be a finite number")
    if metric in LATENCY_METRICS or metric == "mean_wait":
        if unit not in (None, "ms", "s"):
            raise ValueError(f"SLO {text!r}: latency takes ms or s (got {unit})")
        threshold *= 1000.0 if unit == "s" else 1.0
    elif metric == "error_rate":
        if unit not in (None, "%"):
            raise ValueError(f"SLO {text!r}: error_rate takes a fraction or a percentage (got {unit})")
        threshold /= 100.0 if unit == "%" else 1.0
    elif unit not in (None, "rps"):
        raise ValueError(f"SLO {text!r}: throughput takes req/s (got {unit})")
    return Slo(text.strip(), metric, comparison, threshold)


def metric_value(summary: dict[str, Any], metric: str) -> float | None:
    """The value of an SLO metric in a run summary."""
    if metric in LATENCY_METRICS:
        return summary["latency_ms"].get(metric)
    if metric == "error_rate":
        return summary["error_rate"]
    if metric == "throughput":
        return summary["throughput_rps"]
    return summary["mean_wait_ms"]


def evaluate(slos: list[Slo], summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Pass/fail of each objective for one run."""
    results = []
    for slo in slos:
        value = metric_value(summary, slo.metric)
        results.append({"slo": slo.text, "metric": slo.metric, "value": value, "threshold": slo.threshold,
                        "passed": slo.holds(value)})
    return results
