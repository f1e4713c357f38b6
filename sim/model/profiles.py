"""Arrival rate over time for open workloads: stages with ramps, step, spike and a diurnal sine."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

import numpy as np

from sim.model.specs import SpikeProfile, StagesProfile, StepProfile, WorkloadSpec

RateFunction = Callable[[float], float]


def _stages_rate(profile: StagesProfile, base_rps: float) -> RateFunction:
    starts, previous, rates = [], [], []
    clock, last = 0.0, base_rps
    for stage in profile.stages:
        starts.append(clock)
        previous.append(last)
        rates.append(stage.rate_rps)
        clock += stage.duration_s
        last = stage.rate_rps
    stages = list(zip(previous, rates, profile.stages, strict=True))

    def rate(time_s: float) -> float:
        index = bisect.bisect_right(starts, time_s) - 1  # the stage under way (candidates arrive per event)
        if index < 0:
            return base_rps
        before, target, stage = stages[index]
        into = time_s - starts[index]
        if stage.ramp_s > 0 and into < stage.ramp_s:
            return before + (target - before) * into / stage.ramp_s
        return target

    return rate


def rate_function(workload: WorkloadSpec) -> tuple[RateFunction, float]:
    """The arrival rate at each time, and its maximum (the thinning envelope)."""
    base = workload.rate_rps or 0.0
    profile = workload.profile
    if profile is None:
        return (lambda _time_s: base), base
    if isinstance(profile, StagesProfile):
        return _stages_rate(profile, base), max([base] + [stage.rate_rps for stage in profile.stages])
    if isinstance(profile, StepProfile):
        return (lambda time_s: profile.rate_rps if time_s >= profile.at_s else base), max(base, profile.rate_rps)
    if isinstance(profile, SpikeProfile):
        end_s = profile.at_s + profile.duration_s
        return (lambda time_s: profile.rate_rps if profile.at_s <= time_s < end_s else base), max(base,
                                                                                                   profile.rate_rps)
    angular = 2 * math.pi / profile.period_s

    def diurnal(time_s: float) -> float:
        return base * (1 + profile.amplitude * math.sin(angular * (time_s - profile.phase_s)))

    return diurnal, base * (1 + profile.amplitude)


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
