"""Runtime of a ``kind: service`` component: instances x workers, each with a bounded FIFO queue.

Concurrency model "threads": a worker does its own work (the service time), then runs each step of its call
graph in turn (``sim.kinds.service.calls``) and stays held while it waits, so slow dependencies exhaust the
worker pool as they do in practice. A timeout ends the caller's wait; the work already started still runs to
the end (wasted work), and a visit still queued when its caller gave up is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.kinds.service.calls import CompiledStep, StepRun
from sim.model.distributions import from_spec
from sim.model.status import OK, TIMED_OUT
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station

if TYPE_CHECKING:
    from sim.kinds.service.spec import ServiceSpec


class Service(Component):
    """Runtime of a ``kind: service`` component."""

    kind = "service"

    def __init__(self, env: Scheduler, name: str, spec: ServiceSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.distribution = from_spec(spec.service_time)
        self.sample_s = self.distribution.sampler(streams.stream(f"component/{name}/service"))
        self.routing = streams.stream(f"component/{name}/routing")
        self.choices = streams.stream(f"component/{name}/calls")  # probabilistic calls: their own stream
        self.timeout_s = spec.timeout_ms / 1000.0 if spec.timeout_ms is not None else None
        self.stations = [Station(env, station, spec.workers, spec.queue_capacity, self._start)
                         for station in spec.station_names(name)]
        self.steps: list[CompiledStep] = []

    def connect(self, components: dict[str, Component]) -> None:
        self.steps = [CompiledStep(step, components) for step in self.spec.calls]

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

    def draw_call(self) -> float:
        """A uniform draw deciding whether a call made with a probability is made."""
        return float(self.choices.random())

    def _start(self, visit: Visit) -> None:
        self.env.call_later(self.sample_s(), self._next_call, visit)

    def _next_call(self, visit: Visit) -> None:
        index = visit.call_index
        if index < len(self.steps):
            visit.call_index = index + 1
            step = self.steps[index]
            if step.direct is not None:  # a plain call: no per-step bookkeeping
                step.direct.accept(visit.request, self.step_ended, visit)
            else:
                StepRun(self, visit, step).start()
        else:
            self._finish(visit, OK)

    def step_ended(self, visit: Visit, status: int) -> None:
        """A step of the call graph ended: go on to the next, or end the visit with its failure."""
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
