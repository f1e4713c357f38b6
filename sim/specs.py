"""The scenario's building blocks as pydantic models: distributions, workload, components.

Every number carries its unit in its name. Defaults live here and nowhere else. Unknown keys are
rejected, so a typo in a scenario file is an error instead of a silently ignored setting.
A new kind of component is one more spec class here, added to ``ComponentSpec``, plus its runtime
module in ``sim/components/``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Physical ranges: every number a scenario holds is finite (``allow_inf_nan=False`` below) and inside these, so
# no draw, product or integral downstream can overflow, and no run can be asked for absurd work.
DAY_S = 86_400.0
DAY_MS = DAY_S * 1000.0
NANOSECOND_MS = 1e-6
MAX_RATE_RPS = 1_000_000.0  # a million requests per second: far beyond any classroom scenario
MAX_CV = 100.0
MAX_PRICE = 1_000_000.0

TimeMs = Annotated[float, Field(ge=NANOSECOND_MS, le=DAY_MS)]  # a service or think time: 1 ns to a day
LatencyMs = Annotated[float, Field(ge=0, le=DAY_MS)]  # a fixed delay that may be zero
Seconds = Annotated[float, Field(ge=0, le=DAY_S)]
PositiveSeconds = Annotated[float, Field(gt=0, le=DAY_S)]
RateRps = Annotated[float, Field(ge=0, le=MAX_RATE_RPS)]
PositiveRateRps = Annotated[float, Field(gt=0, le=MAX_RATE_RPS)]
Price = Annotated[float, Field(ge=0, le=MAX_PRICE)]


class StrictModel(BaseModel):
    """Base for every scenario model: unknown keys are errors, assignments are validated, numbers are finite."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


# --- distributions -------------------------------------------------------------------------------


class ExponentialSpec(StrictModel):
    """Memoryless times with the given mean (squared coefficient of variation 1)."""

    distribution: Literal["exponential"] = "exponential"
    mean_ms: TimeMs


class DeterministicSpec(StrictModel):
    """Every sample equals ``mean_ms`` (squared coefficient of variation 0)."""

    distribution: Literal["deterministic"]
    mean_ms: TimeMs


class UniformSpec(StrictModel):
    """Times spread evenly between ``low_ms`` and ``high_ms``."""

    distribution: Literal["uniform"]
    low_ms: LatencyMs
    high_ms: TimeMs

    @model_validator(mode="after")
    def _low_below_high(self) -> UniformSpec:
        if self.low_ms >= self.high_ms:
            raise ValueError(f"low_ms must be below high_ms (got {self.low_ms} >= {self.high_ms})")
        return self


class LognormalSpec(StrictModel):
    """Right-skewed times given by their mean and coefficient of variation (std / mean)."""

    distribution: Literal["lognormal"]
    mean_ms: TimeMs
    cv: Annotated[float, Field(gt=0, le=MAX_CV)]


class EmpiricalSpec(StrictModel):
    """Times resampled uniformly from measured samples."""

    distribution: Literal["empirical"]
    samples_ms: Annotated[list[LatencyMs], Field(min_length=1, max_length=100_000)]

    @model_validator(mode="after")
    def _positive_mean(self) -> EmpiricalSpec:
        if sum(self.samples_ms) / len(self.samples_ms) < NANOSECOND_MS:
            raise ValueError("samples_ms must have a mean of at least a nanosecond (1e-6 ms)")
        return self


DistributionSpec = Annotated[
    ExponentialSpec | DeterministicSpec | UniformSpec | LognormalSpec | EmpiricalSpec,
    Field(discriminator="distribution"),
]
DISTRIBUTION_NAMES = ("exponential", "deterministic", "uniform", "lognormal", "empirical")


# --- workload --------------------------------------------------------------------------------------


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
    entry: Annotated[str, Field(max_length=100)] | None = None


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


class StepProfile(StrictModel):
    """The rate jumps from the workload's ``rate_rps`` to ``rate_rps`` at ``at_s``."""

    kind: Literal["step"]
    at_s: Seconds
    rate_rps: RateRps


class SpikeProfile(StrictModel):
    """The rate jumps to ``rate_rps`` at ``at_s`` for ``duration_s``, then returns."""

    kind: Literal["spike"]
    at_s: Seconds
    duration_s: PositiveSeconds
    rate_rps: RateRps


class DiurnalProfile(StrictModel):
    """A daily-cycle sine: rate_rps * (1 + amplitude * sin(2 pi (t - phase_s) / period_s))."""

    kind: Literal["diurnal"]
    period_s: Annotated[float, Field(ge=0.001, le=DAY_S * 366)]
    amplitude: Annotated[float, Field(ge=0, le=1)]
    phase_s: Annotated[float, Field(ge=-DAY_S * 366, le=DAY_S * 366)] = 0.0


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
    entry: Annotated[str, Field(max_length=100)]
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


# --- components ------------------------------------------------------------------------------------


class ServiceSpec(StrictModel):
    """Instances x workers, each instance with its own bounded FIFO queue.

    A worker is held while the request's downstream ``calls`` run, one after another.
    """

    kind: Literal["service"]
    instances: Annotated[int, Field(ge=1, le=1024)] = 1
    workers: Annotated[int, Field(ge=1, le=4096)] = 1
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    service_time: DistributionSpec
    timeout_ms: TimeMs | None = None
    calls: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=1000)] = Field(default_factory=list)
    price_per_instance_hour: Price = 0.0


LoadBalancerPolicy = Literal["round_robin", "random", "least_connections", "power_of_two", "consistent_hash"]
LOAD_BALANCER_POLICIES = ("round_robin", "random", "least_connections", "power_of_two", "consistent_hash")


class LoadBalancerSpec(StrictModel):
    """Spreads requests over the instances of the ``target`` service by ``policy``."""

    kind: Literal["load_balancer"]
    target: Annotated[str, Field(max_length=100)]
    policy: LoadBalancerPolicy = "round_robin"
    latency_ms: LatencyMs = 0.0
    virtual_nodes: Annotated[int, Field(ge=1, le=1000)] = 64
    price_per_hour: Price = 0.0


class CacheSpec(StrictModel):
    """A key-value cache with LRU eviction in front of ``store`` (cache-aside).

    Reads that hit return after ``hit_latency_ms``; misses pay ``miss_latency_ms``, read the store and
    fill the cache. Writes go to the store and invalidate the key. The hit ratio is never a setting:
    it emerges from the key stream, the capacity and the TTL.
    """

    kind: Literal["cache"]
    store: Annotated[str, Field(max_length=100)]
    capacity_keys: Annotated[int, Field(ge=1, le=10_000_000)]
    ttl_s: Annotated[float, Field(gt=0, le=DAY_S * 366)] | None = None
    hit_latency_ms: LatencyMs = 1.0
    miss_latency_ms: LatencyMs = 1.0
    value_size_bytes: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1024
    price_per_gb_hour: Price = 0.0


class DatabaseSpec(StrictModel):
    """Shards chosen by key hash; each shard a primary plus read replicas, each node a connection pool.

    Writes go to the shard's primary; reads are spread over its replicas (the primary when none).
    A query waits for a free connection, holds it for its service time, then releases it.
    """

    kind: Literal["database"]
    shards: Annotated[int, Field(ge=1, le=256)] = 1
    replicas: Annotated[int, Field(ge=0, le=32)] = 0
    pool_size: Annotated[int, Field(ge=1, le=4096)] = 10
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    read_time: DistributionSpec
    write_time: DistributionSpec
    price_per_node_hour: Price = 0.0
    price_per_connection_hour: Price = 0.0


ComponentSpec = Annotated[
    ServiceSpec | LoadBalancerSpec | CacheSpec | DatabaseSpec,
    Field(discriminator="kind"),
]
COMPONENT_KINDS = ("service", "load_balancer", "cache", "database")


def downstream_names(spec: ServiceSpec | LoadBalancerSpec | CacheSpec | DatabaseSpec) -> list[tuple[str, str]]:
    """The components a component sends requests to, as (field path suffix, name) pairs."""
    if isinstance(spec, ServiceSpec):
        return [(f"calls.{index}", name) for index, name in enumerate(spec.calls)]
    if isinstance(spec, LoadBalancerSpec):
        return [("target", spec.target)]
    if isinstance(spec, CacheSpec):
        return [("store", spec.store)]
    return []
