"""A service: instances x workers, a bounded FIFO queue per instance, downstream calls in sequence.

Concurrency model "threads": a worker does its own work (the service time), then makes each downstream call
in turn and stays held while it waits, so slow dependencies exhaust the worker pool as they do in practice.
A timeout ends the caller's wait; the work already started still runs to the end (wasted work), and a visit
still queued when its caller gave up is skipped.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.kinds.base import ComponentSpecBase, InstanceSplit, ScenarioView, StatsView, TwinContext
from sim.model.base import ComponentName, Price, TimeMs
from sim.model.distributions import DistributionSpec, from_spec
from sim.model.knobs import Knob, integer_knob
from sim.model.status import OK, TIMED_OUT
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory, combine, station


class ServiceSpec(ComponentSpecBase):
    """Instances x workers, each instance with its own bounded FIFO queue.

    A worker is held while the request's downstream ``calls`` run, one after another.
    """

    kind: Literal["service"]
    instances: Annotated[int, Field(ge=1, le=1024)] = 1
    workers: Annotated[int, Field(ge=1, le=4096)] = 1
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    service_time: DistributionSpec
    timeout_ms: TimeMs | None = None
    calls: Annotated[list[ComponentName], Field(max_length=1000)] = Field(default_factory=list)
    price_per_instance_hour: Price = 0.0

    summary: ClassVar[str] = "instances x workers, each instance with its own queue; calls downstream in sequence"
    balanceable: ClassVar[bool] = True  # a load balancer may front it (it has instances to pick from)
    reference_fields: ClassVar[tuple[str, ...]] = ("calls",)

    def station_names(self, name: str) -> list[str]:
        return [f"{name}/instance-{index}" if self.instances > 1 else name for index in range(self.instances)]

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Service:
        return Service(env, name, self, streams)

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """Each instance an M/G/c queue whose holding time is its own work plus its calls' responses."""
        own = from_spec(self.service_time)
        downstream = [context.predictions[target] for target in self.calls]
        # a callee with no steady state has no mean response: the unloaded one bounds the holding time from below
        holding_ms = own.mean_ms + sum(item.mean_response_ms if item.mean_response_ms is not None
                                       else item.unloaded_response_ms for item in downstream)
        holding = (holding_ms, own.variance_ms2 + sum(item.response_variance_ms2 for item in downstream))
        split = self._split(name, traffic, context)
        concurrency = context.concurrency[name]
        stations = {station_name: station(traffic.rate_rps * share, holding, self.workers, self.queue_capacity,
                                          split.arrival_scv, bounded=concurrency <= self.workers)
                    for station_name, share in zip(self.station_names(name), split.shares.tolist(), strict=True)}
        result = combine("service", traffic, stations)
        result.queue_free = concurrency <= self.workers
        result.unloaded_response_ms = own.mean_ms + sum(item.unloaded_response_ms for item in downstream)
        result.notes = [split.note] if split.note else []
        if self.calls:
            result.notes.append("holding time includes downstream responses (means and variances added)")
        if concurrency <= self.workers:
            result.notes.append(f"its callers never have more than {concurrency:g} calls out, within its "
                                f"{self.workers} worker(s), so requests never wait here")
        return result

    def _split(self, name: str, traffic: Traffic, context: TwinContext) -> InstanceSplit:
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
        return min(inside, float(self.instances * self.workers))

    def hourly_cost(self) -> float:
        return self.instances * self.price_per_instance_hour

    def capacity(self) -> dict[str, int]:
        return {"workers": self.instances * self.workers}

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        knobs = [
            integer_knob(name, "instances", self.instances, 1, 1024, "Copies of the service, each with its own queue."),
            integer_knob(name, "workers", self.workers, 1, 4096, "Requests one instance serves at the same time."),
        ]
        for index, target in enumerate(self.calls):
            store = scenario.components[target].bypass_target()
            if store is not None:
                knobs.append(Knob(f"components.{name}.calls.{index}", f"{name}: reads via", "choice", target,
                                  options=(target, store),
                                  option_labels=(f"{target} (cache-aside)", f"{store} directly (no cache)"),
                                  component=name, help="Send this call through the cache, or bypass it."))
        return knobs

    def describe(self, stats: StatsView) -> str:
        return f"{self.instances}×{self.workers} workers"

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        reasons = []
        scv = from_spec(self.service_time).scv
        if scv != 1.0 and self.workers > 1:
            reasons.append(f"non-exponential service (SCV {scv:.2g}): M/G/c is an approximation")
        if stats.get("dropped", 0) > 0:
            reasons.append(f"finite queue ({self.queue_capacity}) dropped {stats['dropped']:,} requests")
        return reasons


class Service(Component):
    """Runtime of a ``kind: service`` component."""

    kind = "service"

    def __init__(self, env: Scheduler, name: str, spec: ServiceSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.distribution = from_spec(spec.service_time)
        self.sample_s = self.distribution.sampler(streams.stream(f"component/{name}/service"))
        self.routing = streams.stream(f"component/{name}/routing")
        self.timeout_s = spec.timeout_ms / 1000.0 if spec.timeout_ms is not None else None
        self.stations = [Station(env, station, spec.workers, spec.queue_capacity, self._start)
                         for station in spec.station_names(name)]
        self.downstream: list[Component] = []

    def connect(self, components: dict[str, Component]) -> None:
        self.downstream = [components[name] for name in self.spec.calls]

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        """Called directly (no load balancer), a request goes to an instance chosen at random."""
        count = len(self.stations)
        if count == 1 and self.timeout_s is None:  # the common case, without the extra calls
            visit = self._enter(request, reply, token)
            if not self.stations[0].acquire(visit):
                self._reject(visit)
            return
        index = int(self.routing.integers(count)) if count > 1 else 0
        self.accept_at(index, request, reply, token)

    def accept_at(self, index: int, request: Request, reply: Reply, token: Any) -> None:
        """Begin a visit at instance ``index`` (what a load balancer calls)."""
        visit = self._enter(request, reply, token)
        if self.timeout_s is not None:
            self.env.call_later(self.timeout_s, self._expire, visit)
        if not self.stations[index].acquire(visit):
            self._reject(visit)

    def _start(self, visit: Visit) -> None:
        self.env.call_later(self.sample_s(), self._next_call, visit)

    def _next_call(self, visit: Visit) -> None:
        if visit.call_index < len(self.downstream):
            target = self.downstream[visit.call_index]
            visit.call_index += 1
            target.accept(visit.request, self._call_returned, visit)
        else:
            self._finish(visit, OK)

    def _call_returned(self, visit: Visit, status: int) -> None:
        if status == OK:
            self._next_call(visit)
        else:
            self._finish(visit, status)

    def _finish(self, visit: Visit, status: int) -> None:
        assert visit.station is not None
        visit.station.release(visit)
        self._settle(visit, status)

    def _expire(self, visit: Visit) -> None:
        self._settle(visit, TIMED_OUT)
