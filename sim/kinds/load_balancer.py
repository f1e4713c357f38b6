"""A load balancer: picks an instance of its target service by policy, after an optional fixed latency."""

from __future__ import annotations

from typing import Any

from sim.kinds.balancing import LeastConnections, PowerOfTwoChoices, make_policy
from sim.kinds.service import Service
from sim.model.specs import LoadBalancerSpec
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler


class LoadBalancer(Component):
    """Runtime of a ``kind: load_balancer`` component (a router, with no queue of its own)."""

    kind = "load_balancer"

    def __init__(self, env: Scheduler, name: str, spec: LoadBalancerSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.rng = streams.stream(f"component/{name}/routing")
        self.latency_s = spec.latency_ms / 1000.0
        self.target: Service | None = None
        self.policy: Any = None
        self.needs_loads = False

    def connect(self, components: dict[str, Component]) -> None:
        target = components[self.spec.target]
        assert isinstance(target, Service)
        self.target = target
        self.policy = make_policy(self.spec.policy, len(target.stations), self.rng, self.spec.virtual_nodes)
        self.needs_loads = isinstance(self.policy, LeastConnections | PowerOfTwoChoices)

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        if self.latency_s > 0.0:
            self.env.call_later(self.latency_s, self._route, visit)
        else:
            self._route(visit)

    def _route(self, visit: Visit) -> None:
        target: Any = self.target
        loads = [station.in_system for station in target.stations] if self.needs_loads else ()
        index = self.policy.choose(visit.request.key, loads)
        target.accept_at(index, visit.request, self._settle, visit)  # the target's answer is the balancer's
