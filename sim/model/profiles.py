"""Arrival rate over time for open workloads: the profile's own rate function, and its integral."""

from __future__ import annotations

import numpy as np

from sim.model.workload import RateFunction, WorkloadSpec


def rate_function(workload: WorkloadSpec) -> tuple[RateFunction, float]:
    """The arrival rate at each time, and its maximum (the thinning envelope)."""
    base = workload.rate_rps or 0.0
    if workload.profile is None:
        return (lambda _time_s: base), base
    return workload.profile.rate_function(base)


def expected_arrivals(workload: WorkloadSpec, start_s: float, end_s: float, points: int = 20001) -> float:
    """The integral of the rate over [start_s, end_s]: the mean number of arrivals there."""
    rate, _maximum = rate_function(workload)
    times = np.linspace(start_s, end_s, points)
    values = np.array([rate(time_s) for time_s in times])
    return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(times)))


def mean_rate_rps(workload: WorkloadSpec, start_s: float, end_s: float) -> float:
    """The time-averaged arrival rate over [start_s, end_s]."""
    if workload.profile is None:
        return workload.rate_rps or 0.0
    return expected_arrivals(workload, start_s, end_s) / (end_s - start_s)
