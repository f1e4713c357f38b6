"""A scenario's workload as a load-test script: a Locust module with a ``LoadTestShape``, or a k6 script.

The arrival rate over time becomes linear stages (k6's ``ramping-arrival-rate`` semantics: from the previous
target to this one over ``duration``; a zero duration jumps), exact for constant rates, stages, steps and spikes,
and within 0.3% of the amplitude for a diurnal sine (48 segments per period). A trace becomes its arrival counts
per ``time_bin_s``. Request classes keep their weights: reads are ``GET /<class>``, writes ``POST /<class>``
(edit the paths for a real system). Closed workloads become that many users thinking between requests.

Locust runs users, not arrivals, so an open rate is approximated by users that each start
``per_user_rps`` requests a second (``constant_throughput``): right on average while a response takes less
than ``1 / per_user_rps`` seconds. k6's arrival-rate executor is open, like the sandbox.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from sim.model.distributions import DistributionSpec
from sim.model.profiles import rate_function
from sim.model.traces import workload_trace
from sim.model.workload import DiurnalProfile, SpikeProfile, StagesProfile, StepProfile
from sim.scenario.scenario import Scenario

DIURNAL_SEGMENTS = 48


@dataclass
class RateProfile:
    """The arrival rate as linear stages: start at ``start_rps``; each (duration_s, target_rps) ramps to target."""

    start_rps: float
    stages: list[tuple[float, float]]

    @property
    def duration_s(self) -> float:
        return sum(duration for duration, _target in self.stages)

    def rate_at(self, time_s: float) -> float:
        """The rate these stages give at ``time_s`` (what k6 and the exported Locust shape follow)."""
        clock, previous = 0.0, self.start_rps
        for duration, target in self.stages:
            if time_s < clock + duration:
                return previous + (target - previous) * (time_s - clock) / duration
            clock, previous = clock + duration, target
        return previous


def rate_profile(scenario: Scenario) -> RateProfile:
    """The open or trace workload's rate over [0, duration_s) as linear stages."""
    workload, end_s = scenario.workload, scenario.duration_s
    if workload.type == "trace":
        assert workload.trace_file is not None
        times = workload_trace(workload).times_s
        edges = np.arange(0.0, end_s + scenario.time_bin_s, scenario.time_bin_s)
        counts = np.histogram(times, bins=edges)[0] / np.diff(edges)
        stages = [(step, float(rate)) for rate, width in zip(counts, np.diff(edges), strict=True)
                  for step in (0.0, float(width))]
        return _truncate(RateProfile(float(counts[0]), stages), end_s)
    base, profile = workload.rate_rps or 0.0, workload.profile
    if isinstance(profile, StagesProfile):
        stages = [(0.0 if stage.ramp_s == 0 else stage.ramp_s, stage.rate_rps) for stage in profile.stages]
        held = [(stage.duration_s - stage.ramp_s, stage.rate_rps) for stage in profile.stages]
        return _truncate(RateProfile(base, [item for pair in zip(stages, held, strict=True) for item in pair]
                                     + [(end_s, profile.stages[-1].rate_rps)]), end_s)
    if isinstance(profile, StepProfile):
        return _truncate(RateProfile(base, [(profile.at_s, base), (0.0, profile.rate_rps), (end_s, profile.rate_rps)]),
                         end_s)
    if isinstance(profile, SpikeProfile):
        return _truncate(RateProfile(base, [(profile.at_s, base), (0.0, profile.rate_rps),
                                            (profile.duration_s, profile.rate_rps), (0.0, base), (end_s, base)]), end_s)
    if isinstance(profile, DiurnalProfile):
        rate, _peak = rate_function(workload)
        step = max(profile.period_s / DIURNAL_SEGMENTS, 1e-3)
        points = np.append(np.arange(step, end_s, step), end_s)
        widths = np.diff(np.concatenate([[0.0], points]))
        return RateProfile(rate(0.0), [(float(width), rate(float(time_s))) for width, time_s in zip(widths, points,
                                                                                                      strict=True)])
    return RateProfile(base, [(end_s, base)])


def _truncate(profile: RateProfile, end_s: float) -> RateProfile:
    """Stages cut at ``end_s`` (a stage running past it ends there, at the rate it has reached)."""
    kept, clock = [], 0.0
    for duration, target in profile.stages:
        if clock + duration <= end_s:
            kept.append((duration, target))
            clock += duration
            continue
        if end_s > clock:
            kept.append((end_s - clock, profile.rate_at(end_s)))
        break
    return RateProfile(profile.start_rps, kept)


def class_mix(scenario: Scenario) -> list[tuple[str, float, str]]:
    """(name, weight, HTTP method) per request class."""
    return [(item.name, item.weight, "POST" if item.operation == "write" else "GET")
            for item in scenario.workload.classes]


def _distribution_data(spec: DistributionSpec) -> dict[str, object]:
    """A think-time distribution as plain data the scripts sample from (lognormal as mu and sigma of log ms)."""
    data = spec.model_dump(mode="json")
    if data["distribution"] == "lognormal":
        sigma = math.sqrt(math.log1p(float(data["cv"]) ** 2))
        return {"distribution": "lognormal", "mu": math.log(float(data["mean_ms"])) - sigma**2 / 2, "sigma": sigma}
    return data


def locust_module(scenario: Scenario, per_user_rps: float = 1.0) -> str:
    """A Locust module: users issuing the scenario's request mix, shaped over time like its workload."""
    from sim.interop.load_scripts import LOCUST_CLOSED, LOCUST_COMMON, LOCUST_OPEN

    workload = scenario.workload
    header = LOCUST_COMMON.format(name=repr(scenario.name), classes=repr(class_mix(scenario)),
                                  duration_s=repr(float(scenario.duration_s)), seed=scenario.seed)
    if workload.type == "closed":
        assert workload.users is not None and workload.think_time is not None
        spawn_rate = workload.users / workload.ramp_up_s if workload.ramp_up_s > 0 else float(workload.users)
        return header + LOCUST_CLOSED.format(users=workload.users, spawn_rate=repr(spawn_rate),
                                             think=repr(_distribution_data(workload.think_time)))
    profile = rate_profile(scenario)
    peak_users = math.ceil(max([profile.start_rps] + [target for _d, target in profile.stages]) / per_user_rps)
    return header + LOCUST_OPEN.format(start_rps=repr(profile.start_rps), stages=repr(profile.stages),
                                       per_user_rps=repr(per_user_rps), spawn_rate=repr(float(max(peak_users, 1))))


def k6_script(scenario: Scenario) -> str:
    """A k6 script whose scenario follows the workload: ``ramping-arrival-rate`` stages, or closed users."""
    from sim.interop.load_scripts import K6_SCRIPT

    workload = scenario.workload
    if workload.type == "closed":
        assert workload.users is not None and workload.think_time is not None
        ramp = [{"duration": f"{workload.ramp_up_s:g}s", "target": workload.users}] if workload.ramp_up_s else []
        executor = {"executor": "ramping-vus", "startVUs": 0 if ramp else workload.users,
                    "stages": [*ramp, {"duration": f"{scenario.duration_s - workload.ramp_up_s:g}s",
                                       "target": workload.users}], "gracefulRampDown": "0s"}
        think = _distribution_data(workload.think_time)
    else:
        executor, think = _arrival_rate_executor(rate_profile(scenario)), None
    options = {"scenarios": {"workload": executor}}
    return K6_SCRIPT.format(name=json.dumps(scenario.name), options=json.dumps(options, indent=2),
                            classes=json.dumps(class_mix(scenario)), think=json.dumps(think))


def _arrival_rate_executor(profile: RateProfile) -> dict[str, object]:
    """k6's open-model executor for these stages; rates per minute when any is fractional per second."""
    rates = [profile.start_rps] + [target for _duration, target in profile.stages]
    per_second = all(float(rate).is_integer() for rate in rates)
    unit, factor = ("1s", 1.0) if per_second else ("1m", 60.0)
    peak = max(rates)
    return {"executor": "ramping-arrival-rate", "timeUnit": unit, "startRate": round(profile.start_rps * factor),
            "preAllocatedVUs": max(1, math.ceil(peak)), "maxVUs": max(10, math.ceil(peak * 10)),
            "stages": [{"duration": f"{duration:g}s", "target": round(target * factor)}
                       for duration, target in profile.stages]}
