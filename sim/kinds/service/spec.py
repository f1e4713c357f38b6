"""The ``kind: service`` spec: instances x workers, a bounded FIFO queue per instance, a call graph of steps.

Its runtime is ``sim.kinds.service.runtime``, its call graph ``sim.kinds.service.calls``, its analytic twin
``sim.kinds.service.twin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.kinds.base import ComponentSpecBase, InstanceSplit, ScenarioView, StatsView, TwinContext
from sim.kinds.service.calls import (
    MAX_PARALLEL,
    CallSpec,
    ParallelSpec,
    Step,
    dump_step,
    step_branches,
    step_references,
)
from sim.kinds.service.concurrency import ConcurrencyModel, InstanceLayout, describe_model, instance_layout
from sim.kinds.service.runtime import Service
from sim.kinds.service.twin import predict_service, route_calls
from sim.model.base import Price, TimeMs
from sim.model.distributions import DistributionSpec, from_spec
from sim.model.faults import FaultSpec
from sim.model.knobs import Knob, integer_knob
from sim.runtime.component import Component
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory


class ServiceSpec(ComponentSpecBase):
    """Instances x workers, each instance with its own bounded FIFO queue.

    A worker is held while the request's downstream ``calls`` run: steps one after another, each a call or a
    group of calls sent at once (see ``sim.kinds.service.calls``).
    """

    kind: Literal["service"]
    instances: Annotated[int, Field(ge=1, le=1024)] = 1
    workers: Annotated[int, Field(ge=1, le=4096)] = 1
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    service_time: DistributionSpec
    after_calls_time: DistributionSpec | None = None
    concurrency: ConcurrencyModel = "threads"
    cores: Annotated[int, Field(ge=1, le=1024)] | None = None
    max_in_flight: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    timeout_ms: TimeMs | None = None
    calls: Annotated[list[Step], Field(max_length=1000)] = Field(default_factory=list)
    price_per_instance_hour: Price = 0.0

    summary: ClassVar[str] = ("instances x workers, each instance with its own queue; calls downstream in steps "
                                 "(sequential, parallel, hedged)")
    balanceable: ClassVar[bool] = True  # a load balancer may front it (it has instances to pick from)
    reference_fields: ClassVar[tuple[str, ...]] = ("calls",)
    stats_fields: ClassVar[dict[str, tuple[Any, str]]] = {
        "retries": (int, "retries its calls sent in the window (present when a call retries)"),
        "retries_denied": (int, "retries a retry budget refused in the window"),
        "retries_per_visit": (float, "retries sent per visit to it in the window"),
        "short_circuited": (int, "attempts its circuit breakers failed at once in the window (when a call has one)"),
        "breaker_opened": (int, "times its circuit breakers opened in the window"),
    }

    @model_validator(mode="after")
    def _fields_fit_the_model(self) -> ServiceSpec:
        # workers (threads) and cores stay allowed under every model, so switching the model (an app knob) keeps
        # a valid file; the models that do not use them say so in the twin's notes
        if self.concurrency == "threads" and self.max_in_flight is not None:
            raise ValueError("max_in_flight is for event_loop and goroutines; threads are bounded by workers")
        return self

    def unused_fields(self) -> list[str]:
        """Fields written in the file that its concurrency model does not use."""
        unused = {"event_loop": ("workers", "cores"), "goroutines": ("workers",)}.get(self.concurrency, ())
        return [field for field in unused if field in self.model_fields_set]

    @property
    def plain_threads(self) -> bool:
        """Thread per request with no separate cores: one station per instance, as before the models."""
        return self.concurrency == "threads" and self.cores is None

    def layouts(self, name: str) -> list[InstanceLayout]:
        """Per instance, its holder and CPU stations (``sim.kinds.service.concurrency``)."""
        return [instance_layout(self.concurrency, f"{name}/instance-{index}" if self.instances > 1 else name,
                                self.workers, self.cores, self.max_in_flight) for index in range(self.instances)]

    def downstream(self) -> list[tuple[str, str]]:
        """Every call it makes, a hedged call twice (its copy is a second visit the fan-out budget counts)."""
        return [reference for index, step in enumerate(self.calls)
                for reference in step_references(index, dump_step(step), hedges=True)]

    @classmethod
    def raw_references(cls, block: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """Every name in ``calls``, nested steps included, so dangling names are all found in one pass."""
        steps = block.get("calls")
        if not isinstance(steps, list):
            return []
        return [reference for index, step in enumerate(steps) for reference in step_references(index, step)]

    def station_names(self, name: str) -> list[str]:
        return [station for layout in self.layouts(name) for station in layout.names]

    def fault_problem(self, fault: FaultSpec) -> str | None:
        if fault.kind == "crash" and fault.instance >= self.instances:
            return f"instance {fault.instance} does not exist: it has {self.instances} (0 to {self.instances - 1})"
        return None

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        if "retries" in counters:
            entered = counters["entered"]
            stats.update(retries=int(counters["retries"]), retries_denied=int(counters["retries_denied"]),
                         retries_per_visit=counters["retries"] / entered if entered else None)
        if "short_circuited" in counters:
            stats.update(short_circuited=int(counters["short_circuited"]),
                         breaker_opened=int(counters["breaker_opened"]))
        return stats

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Component:
        return Service(env, name, self, streams)

    def route(self, name: str, arriving: Traffic, context: TwinContext) -> list[tuple[str, Traffic]]:
        return route_calls(self, arriving)

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """Each instance an M/G/c queue whose holding time is its own work plus its call graph's response."""
        return predict_service(self, name, traffic, context)

    def split(self, name: str, traffic: Traffic, context: TwinContext) -> InstanceSplit:
        """How its traffic divides over its instances: as the balancer in front says, else at random."""
        equal = np.full(self.instances, 1.0 / self.instances)
        if self.instances == 1:
            return InstanceSplit(equal, 1.0, "")
        splits = [split for caller in context.callers(name)
                  if (split := caller.instance_split(self.instances, traffic)) is not None]
        if splits and all(split.same_as(splits[0]) for split in splits):
            return splits[0]
        return InstanceSplit(equal, 1.0, "instances modelled as a random (Poisson) split")

    def concurrency_passed_on(self, inside: float) -> float:
        """Its workers bound its calls out, times the most copies one step sends to one callee."""
        holders = self.workers if self.concurrency == "threads" else self.max_in_flight
        bound = inside if holders is None else min(inside, float(self.instances * holders))
        return bound * self.widest_step()

    def widest_step(self) -> int:
        """The most calls one step can have out to one callee at once (a hedged call: two)."""
        widest = 1
        for step in self.calls:
            counts: dict[str, int] = {}
            for call in step_branches(step)[0]:
                counts[call.call] = counts.get(call.call, 0) + (2 if call.hedge_after is not None else 1)
            widest = max(widest, *counts.values())
        return widest

    def hourly_cost(self) -> float:
        return self.instances * self.price_per_instance_hour

    def capacity(self) -> dict[str, int]:
        if self.concurrency == "threads":
            return {"workers": self.instances * self.workers}
        return {"workers": self.instances * (self.cores or 1)}

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        knobs = [integer_knob(name, "instances", self.instances, 1, 1024,
                              "Copies of the service, each with its own queue.")]
        if self.concurrency == "threads":
            knobs.append(integer_knob(name, "workers", self.workers, 1, 4096,
                                      "Threads per instance: requests one instance serves at the same time."))
        knobs.append(Knob(f"components.{name}.concurrency", f"{name}: concurrency", "choice", self.concurrency,
                          options=("threads", "event_loop", "goroutines"),
                          option_labels=("threads (one per request)", "event loop (one per instance)",
                                         "goroutines on cores"),
                          component=name, help="How it serves many requests at once: what a request holds while "
                                               "it waits on a call."))
        if self.concurrency != "event_loop" and (self.cores is not None or self.concurrency == "goroutines"):
            knobs.append(integer_knob(name, "cores", self.cores or 1, 1, 1024, "CPU cores per instance."))
        return knobs + self._call_knobs(name, scenario)

    def _call_knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        """A fan-out width per parallel step; cache-or-store per plain call to a cache."""
        knobs = []
        for index, step in enumerate(self.calls):
            if isinstance(step, ParallelSpec):
                knobs.append(Knob(f"components.{name}.calls.{index}.fan_out", f"{name}: fan-out width", "int",
                                  step.fan_out, 1, MAX_PARALLEL // len(step.parallel), 1, component=name,
                                  help="How many copies of each parallel call go out at once (scatter-gather)."))
            if isinstance(step, CallSpec) and step.retries is not None:
                knobs.extend(_retry_knobs(name, index, step))
            if not isinstance(step, str):
                continue
            store = scenario.components[step].bypass_target()
            if store is not None:
                knobs.append(Knob(f"components.{name}.calls.{index}", f"{name}: reads via", "choice", step,
                                  options=(step, store),
                                  option_labels=(f"{step} (cache-aside)", f"{store} directly (no cache)"),
                                  component=name, help="Send this call through the cache, or bypass it."))
        return knobs

    def describe(self, stats: StatsView) -> str:
        return describe_model(self.concurrency, self.instances, self.workers, self.cores, self.max_in_flight)

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        reasons = []
        scv = from_spec(self.service_time).scv
        if scv != 1.0 and self.workers > 1:
            reasons.append(f"non-exponential service (SCV {scv:.2g}): M/G/c is an approximation")
        if stats.get("dropped", 0) > 0:
            reasons.append(f"finite queue ({self.queue_capacity}) dropped {stats['dropped']:,} requests")
        return reasons


RETRY_BUDGETS = (None, 0.05, 0.1, 0.2, 0.5, 1.0)


def _retry_knobs(name: str, index: int, step: CallSpec) -> list[Knob]:
    """How many retries a call makes, and the budget that bounds them (a share of calls; none by default)."""
    assert step.retries is not None
    path = f"components.{name}.calls.{index}.retries"
    budgets = RETRY_BUDGETS if step.retries.budget in RETRY_BUDGETS else (*RETRY_BUDGETS, step.retries.budget)
    return [
        Knob(f"{path}.max_retries", f"{name} -> {step.call}: retries", "int", step.retries.max_retries, 1, 10, 1,
             component=name, help="Retries after a failed or timed-out attempt, with jittered exponential backoff."),
        Knob(f"{path}.budget", f"{name} -> {step.call}: retry budget", "ordered", step.retries.budget,
             options=budgets, option_labels=tuple("none" if budget is None else f"{budget:.0%} of calls"
                                                  for budget in budgets),
             component=name, help="Retries at most this share of calls (a token bucket): stops a retry storm."),
    ]
