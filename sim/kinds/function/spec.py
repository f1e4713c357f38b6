"""The ``kind: function`` spec: a serverless function's fields, statistics, twin, cost and knobs.

After AWS Lambda, Cloud Functions and Azure Functions: each concurrent invocation runs on a warm instance; a
request that finds none starts one (a cold start); idle instances stay warm for ``keep_alive_s`` and are then
reclaimed; ``provisioned_concurrency`` instances are always warm; above ``concurrency_limit`` running requests
the next is throttled. It is billed per request plus GB-seconds (memory x duration rounded up to 1 ms), and
provisioned instances per GB-second kept warm. The defaults are AWS Lambda's x86 prices in us-east-1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.kinds.function.runtime import Function
from sim.model.base import Price
from sim.model.distributions import DistributionSpec, from_spec
from sim.model.knobs import Knob, integer_knob
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory
from sim.theory.serverless import GB_PER_MB, billed_ms, invocation_cost_usd, pool

MAX_CONCURRENCY = 10_000
MEMORY_SIZES_MB = (128, 256, 512, 1024, 1769, 2048, 4096, 10240)
METRICS = {  # its level fields as Prometheus metrics (``metric_field``)
    "instances_area": ("sim_function_warm_instances", "Instances alive, busy or warm idle"),
    "busy_area": ("sim_function_busy_instances", "Instances running a request"),
    "invocations": ("sim_function_invocations", "Requests run (throttled ones excluded)"),
    "cold_starts": ("sim_function_cold_starts", "Invocations that started a new instance"),
    "throttled": ("sim_function_throttled", "Requests refused above the concurrency limit"),
    "reclaims": ("sim_function_reclaims", "Idle instances reclaimed after the keep-alive"),
    "billed_ms": ("sim_function_billed_milliseconds", "Billed duration, each invocation rounded up to 1 ms"),
    "clock_s": ("sim_function_clock_seconds", "Simulated time (what the function's rates are taken over)"),
}


class FunctionSpec(ComponentSpecBase):
    """A serverless function: warm instances per concurrent request, cold starts, keep-alive, per-use billing."""

    kind: Literal["function"]
    execution_time: Annotated[DistributionSpec, Field(examples=[{"distribution": "exponential", "mean_ms": 50}])]
    cold_start_time: Annotated[DistributionSpec,
                               Field(examples=[{"distribution": "lognormal", "mean_ms": 300, "cv": 0.5}])]
    keep_alive_s: Annotated[float, Field(gt=0, le=86_400)] = 600.0
    memory_mb: Annotated[int, Field(ge=128, le=10_240)] = 512
    concurrency_limit: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = 1000
    provisioned_concurrency: Annotated[int, Field(ge=0, le=MAX_CONCURRENCY)] = 0
    init_billed: bool = True
    price_per_million_requests: Price = 0.20
    price_per_gb_s: Price = 0.0000166667
    price_per_provisioned_gb_s: Price = 0.0000041667

    summary: ClassVar[str] = ("a serverless function: an instance per concurrent request, cold starts after "
                              "the keep-alive, billed per request and GB-second")
    stats_fields: ClassVar[dict[str, tuple[Any, str]]] = {
        "invocations": (int, "requests run in the window (throttled ones excluded)"),
        "cold_starts": (int, "invocations that started a new instance"),
        "cold_start_ratio": (float, "share of invocations that were cold starts"),
        "throttled_ratio": (float, "share of requests refused above the concurrency limit"),
        "mean_warm_instances": (float, "instances alive (busy or warm idle), time-averaged"),
        "mean_busy_instances": (float, "instances running a request, time-averaged"),
        "billed_gb_s": (float, "memory x billed duration (each rounded up to 1 ms), in GB-seconds"),
        "cost_usd": (float, "requests, GB-seconds and provisioned instances over the window, in USD"),
        "cost_per_million_requests_usd": (float, "cost_usd per million invocations"),
        "usage_cost_per_hour_usd": (float, "requests and GB-seconds per hour (provisioned instances excluded)"),
    }

    @model_validator(mode="after")
    def _provisioned_within_limit(self) -> FunctionSpec:
        if self.provisioned_concurrency > self.concurrency_limit:
            raise ValueError(f"provisioned_concurrency {self.provisioned_concurrency} is above concurrency_limit "
                             f"{self.concurrency_limit}")
        return self

    @property
    def memory_gb(self) -> float:
        return self.memory_mb * GB_PER_MB

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Function:
        return Function(env, name, self, streams)

    # --- results ------------------------------------------------------------------------------------

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        span_s, invocations = counters["clock_s"], counters["invocations"]
        offered = invocations + counters["throttled"]
        billed_gb_s = counters["billed_ms"] / 1000.0 * self.memory_gb
        usage_usd = invocations * self.price_per_million_requests / 1e6 + billed_gb_s * self.price_per_gb_s
        cost_usd = usage_usd + self.provisioned_cost_per_s() * span_s
        return {"invocations": round(invocations), "cold_starts": round(counters["cold_starts"]),
                "cold_start_ratio": counters["cold_starts"] / invocations if invocations else None,
                "throttled_ratio": counters["throttled"] / offered if offered else None,
                "mean_warm_instances": counters["instances_area"] / span_s if span_s > 0 else None,
                "mean_busy_instances": counters["busy_area"] / span_s if span_s > 0 else None,
                "billed_gb_s": billed_gb_s, "cost_usd": cost_usd,
                "cost_per_million_requests_usd": cost_usd / invocations * 1e6 if invocations else None,
                "usage_cost_per_hour_usd": usage_usd / span_s * 3600.0 if span_s > 0 else 0.0}

    def level_series(self, fields: tuple[str, ...], values: Any, widths: Any) -> dict[str, list[float]]:
        def per_second(field: str) -> list[float]:
            return (np.diff(values[:, fields.index(field)]) / widths).tolist()

        return {"warm_instances": per_second("instances_area"), "busy_instances": per_second("busy_area"),
                "cold_starts_per_s": per_second("cold_starts"), "throttled_per_s": per_second("throttled")}

    def metric_field(self, field: str) -> tuple[str, dict[str, str], str] | None:
        named = METRICS.get(field)
        return (named[0], {}, named[1]) if named is not None else None

    # --- theory -------------------------------------------------------------------------------------

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """M/G/∞ with a fixed keep-alive: instances alive are the most requests running at once over the last
        keep-alive, cold starts when the busy count is at that maximum (``sim.theory.serverless.pool``)."""
        execution, cold = from_spec(self.execution_time), from_spec(self.cold_start_time)
        pooled = pool(traffic.rate_rps, execution.mean_ms, cold.mean_ms, self.keep_alive_s,
                      self.concurrency_limit, self.provisioned_concurrency)
        share = pooled.cold_share
        variance = (execution.variance_ms2 + share * cold.variance_ms2
                    + share * (1.0 - share) * cold.mean_ms**2)
        result = ComponentTheory("function", traffic.rate_rps, pooled.holding_ms, None, 0.0, True,
                                 f"M/G/∞ with keep-alive ({pooled.model})",
                                 response_variance_ms2=variance, unloaded_response_ms=execution.mean_ms,
                                 queue_free=True, cold_start_ratio=share,
                                 mean_warm_instances=pooled.mean_instances)
        result.notes = [f"{share:.1%} cold starts, {pooled.mean_instances:.2f} warm instances on average",
                        f"{self.expected_cost_per_million_usd(share):.2f} USD per million requests"]
        if pooled.throttled_share > 1e-6:
            result.notes.append(f"{pooled.throttled_share:.2%} throttled above {self.concurrency_limit} at once")
        return result

    def expected_billed_ms(self, cold_share: float) -> float:
        """Mean billed duration: exactly rounded up when times are fixed, else the mean plus half a ms."""
        billed = 0.0
        parts = [(1.0, from_spec(self.execution_time))]
        if self.init_billed:
            parts.append((cold_share, from_spec(self.cold_start_time)))
        for weight, distribution in parts:
            fixed = distribution.variance_ms2 == 0
            billed += weight * (billed_ms(distribution.mean_ms) if fixed else distribution.mean_ms + 0.5)
        return billed

    def expected_cost_per_million_usd(self, cold_share: float) -> float:
        """Requests and GB-seconds per million invocations (provisioned instances excluded)."""
        return 1e6 * invocation_cost_usd(self.expected_billed_ms(cold_share), self.memory_mb,
                                         self.price_per_million_requests, self.price_per_gb_s)

    # --- money and teaching -------------------------------------------------------------------------

    def provisioned_cost_per_s(self) -> float:
        return self.provisioned_concurrency * self.memory_gb * self.price_per_provisioned_gb_s

    def hourly_cost(self) -> float:
        """The fixed part: provisioned instances kept warm (the per-use part is ``usage_cost_per_hour``)."""
        return self.provisioned_cost_per_s() * 3600.0

    def usage_cost_per_hour(self, stats: StatsView) -> float:
        return float(stats.get("usage_cost_per_hour_usd") or 0.0)

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        keep_alive = Knob(f"components.{name}.keep_alive_s", f"{name}: keep-alive (s)", "float", self.keep_alive_s,
                          0.1, max(1800.0, self.keep_alive_s), 0.1, component=name,
                          help="How long an idle instance stays warm before it is reclaimed.")
        sizes = tuple(sorted({*MEMORY_SIZES_MB, self.memory_mb}))
        memory = Knob(f"components.{name}.memory_mb", f"{name}: memory (MB)", "ordered", self.memory_mb,
                      options=sizes, option_labels=tuple(f"{size:,} MB" for size in sizes), component=name,
                      help="Memory per instance: the GB in GB-seconds billed.")
        return [keep_alive, memory,
                integer_knob(name, "provisioned_concurrency", self.provisioned_concurrency, 0,
                             self.concurrency_limit, "Instances kept warm always (billed per GB-second)."),
                integer_knob(name, "concurrency_limit", self.concurrency_limit, 1, MAX_CONCURRENCY,
                             "Requests running at once; the next is throttled.")]

    def describe(self, stats: StatsView) -> str:
        warm = stats.get("mean_warm_instances")
        shown = f"{warm:.1f} warm, " if warm is not None else ""
        return f"{shown}{self.memory_mb} MB, keep-alive {self.keep_alive_s:g} s"

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        return ["the twin counts instances as the most requests running at once over the last keep-alive, with "
                "exponential holding times (M/M/∞); the simulation draws the real ones",
                "beyond about 50 requests running at once the twin's cheaper ordered-entry approximation "
                "undercounts cold starts (the overflow to an instance comes in bursts)"]
