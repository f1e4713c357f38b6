"""Where requests come from: the key space, request classes, load profiles over time, and the workload itself.

Every number carries its unit in its name; defaults live here and nowhere else.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.model.base import DAY_S, ComponentName, PositiveRateRps, PositiveSeconds, RateRps, Seconds, StrictModel
from sim.model.distributions import DistributionSpec

RateFunction = Callable[[float], float]


class KeySpaceSpec(StrictModel):
    """How request keys are drawn: ``count`` distinct keys, uniform or Zipf-popular."""

    count: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    distribution: Literal["uniform", "zipf"] = "uniform"
    zipf_exponent: Annotated[float, Field(ge=0, le=10)] = 1.0


class RequestClassSpec(StrictModel):
    """One kind of request in the mix, with its share of the traffic."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    weight: Annotated[float, Field(gt=0, le=1)]
    operation: Literal["read", "write"] = "read"
    entry: ComponentName | None = None


class StageSpec(StrictModel):
    """Hold ``rate_rps`` for ``duration_s``, reaching it by a linear ramp over the first ``ramp_s``."""

    duration_s: PositiveSeconds
    rate_rps: RateRps
    ramp_s: Seconds = 0.0

    @model_validator(mode="after")
    def _ramp_fits(self) -> StageSpec:
        if self.ramp_s > self.duration_s:
            raise ValueError(f"ramp_s must not exceed the stage's duration_s (got {self.ramp_s} > {self.duration_s})")
        return self


class StagesProfile(StrictModel):
    """k6-style stages: the rate starts at the workload's ``rate_rps`` and follows each stage in turn."""

    kind: Literal["stages"]
    stages: Annotated[list[StageSpec], Field(min_length=1, max_length=1000)]

    def rate_function(self, base_rps: float) -> tuple[RateFunction, float]:
        """The rate at each time (starting from ``base_rps``) and its maximum."""
        starts, previous = [], []
        clock, last = 0.0, base_rps
        for stage in self.stages:
            starts.append(clock)
            previous.append(last)
            clock += stage.duration_s
            last = stage.rate_rps
        stages = list(zip(previous, self.stages, strict=True))

        def rate(time_s: float) -> float:
            index = bisect.bisect_right(starts, time_s) - 1  # the stage under way (candidates arrive per event)
            if index < 0:
                return base_rps
            before, stage = stages[index]
            into = time_s - starts[index]
            if stage.ramp_s > 0 and into < stage.ramp_s:
                return before + (stage.rate_rps - before) * into / stage.ramp_s
            return stage.rate_rps

        return rate, max([base_rps] + [stage.rate_rps for stage in self.stages])


class StepProfile(StrictModel):
    """The rate jumps from the workload's ``rate_rps`` to ``rate_rps`` at ``at_s``."""

    kind: Literal["step"]
    at_s: Seconds
    rate_rps: RateRps

    def rate_function(self, base_rps: float) -> tuple[RateFunction, float]:
        """The rate at each time (``base_rps`` before the step) and its maximum."""
        return (lambda time_s: self.rate_rps if time_s >= self.at_s else base_rps), max(base_rps, self.rate_rps)


class SpikeProfile(StrictModel):
    """The rate jumps to ``rate_rps`` at ``at_s`` for ``duration_s``, then returns."""

    kind: Literal["spike"]
    at_s: Seconds
    duration_s: PositiveSeconds
    rate_rps: RateRps

    def rate_function(self, base_rps: float) -> tuple[RateFunction, float]:
        """The rate at each time (``base_rps`` outside the spike) and its maximum."""
        end_s = self.at_s + self.duration_s
        return (lambda time_s: self.rate_rps if self.at_s <= time_s < end_s else base_rps), max(base_rps,
                                                                                                 self.rate_rps)


class DiurnalProfile(StrictModel):
    """A daily-cycle sine: rate_rps * (1 + amplitude * sin(2 pi (t - phase_s) / period_s))."""

    kind: Literal["diurnal"]
    period_s: Annotated[float, Field(ge=0.001, le=DAY_S * 366)]
    amplitude: Annotated[float, Field(ge=0, le=1)]
    phase_s: Annotated[float, Field(ge=-DAY_S * 366, le=DAY_S * 366)] = 0.0

    def rate_function(self, base_rps: float) -> tuple[RateFunction, float]:
        """The rate at each time (a sine around ``base_rps``) and its maximum."""
        angular = 2 * math.pi / self.period_s

        def diurnal(time_s: float) -> float:
            return base_rps * (1 + self.amplitude * math.sin(angular * (time_s - self.phase_s)))

        return diurnal, base_rps * (1 + self.amplitude)


ProfileSpec = Annotated[
    StagesProfile | StepProfile | SpikeProfile | DiurnalProfile,
    Field(discriminator="kind"),
]


class WorkloadSpec(StrictModel):
    """Where requests come from.

    ``open``: Poisson arrivals at ``rate_rps``, optionally shaped over time by a ``profile`` (exact
    non-homogeneous Poisson, by thinning). ``closed``: ``users`` each send a request, wait for the answer,
    think for ``think_time``, and repeat; they join evenly over ``ramp_up_s``. ``trace``: replay arrival
    times (and optional class and key columns) from CSV: ``trace_file`` (a file beside the scenario file) or
    ``trace_csv`` (the CSV text itself, inside the scenario).
    Every type splits requests over ``classes`` and draws keys from ``keys``.
    """

    type: Literal["open", "closed", "trace"] = "open"
    rate_rps: PositiveRateRps | None = None
    profile: ProfileSpec | None = None
    users: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    think_time: DistributionSpec | None = None
    ramp_up_s: Seconds = 0.0
    trace_file: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    trace_csv: Annotated[str, Field(min_length=1)] | None = None
    entry: ComponentName
    keys: KeySpaceSpec = Field(default_factory=KeySpaceSpec)
    classes: Annotated[list[RequestClassSpec], Field(min_length=1, max_length=100)] = Field(
        default_factory=lambda: [RequestClassSpec(name="request", weight=1.0)]
    )

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> WorkloadSpec:
        needed = {"open": ["rate_rps"], "closed": ["users", "think_time"], "trace": []}[self.type]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            article = "an" if self.type == "open" else "a"
            raise ValueError(f"{article} {self.type} workload needs {' and '.join(missing)}")
        if self.type == "trace" and (self.trace_file is None) == (self.trace_csv is None):
            raise ValueError("a trace workload needs exactly one of trace_file (a CSV file beside the scenario) "
                             "and trace_csv (the CSV text inline)")
        foreign = {"open": ["users", "think_time", "trace_file", "trace_csv"],
                   "closed": ["rate_rps", "profile", "trace_file", "trace_csv"],
                   "trace": ["rate_rps", "profile", "users", "think_time"]}[self.type]
        present = [name for name in foreign if getattr(self, name) is not None]
        if present:
            raise ValueError(f"{', '.join(present)}: not used by workload type '{self.type}' (remove, or change type)")
        return self
