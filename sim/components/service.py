"""A service: instances x workers, a bounded FIFO queue per instance, downstream calls in sequence.

Concurrency model "threads": a worker does its own work (the service time), then makes each downstream call
in turn and stays held while it waits, so slow dependencies exhaust the worker pool as they do in practice.
A timeout ends the caller's wait; the work already started still runs to the end (wasted work), and a visit
still queued when its caller gave up is skipped.
"""

from __future__ import annotations

from typing import Any

import simpy

from sim.components.base import OK, TIMED_OUT, Component, Reply, Request, Station, Visit, call_later
from sim.dists import from_spec
from sim.rng import RandomStreams
from sim.specs import ServiceSpec


class Service(Component):
    """Runtime of a ``kind: service`` component."""

    kind = "service"

    def __init__(self, env: simpy.Environment, name: str, spec: ServiceSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.distribution = from_spec(spec.service_time)
        self.sample_s = self.distribution.sampler(streams.stream(f"component/{name}/service"))
        self.routing = streams.stream(f"component/{name}/routing")
        self.timeout_s = spec.timeout_ms / 1000.0 if spec.timeout_ms is not None else None
        self.stations = [
            Station(env, f"{name}/instance-{index}" if spec.instances > 1 else name, spec.workers,
                    spec.queue_capacity, self._start)
            for index in range(spec.instances)
        ]
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
            call_later(self.env, self.timeout_s, self._expire, visit)
        if not self.stations[index].acquire(visit):
            self._reject(visit)

    def _start(self, visit: Visit) -> None:
        call_later(self.env, self.sample_s(), self._next_call, visit)

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
