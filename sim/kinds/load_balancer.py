"""A load balancer: picks an instance of its target service by policy, after an optional fixed latency."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from sim.kinds.balancing import LeastConnections, PowerOfTwoChoices, make_policy
from sim.kinds.base import ComponentSpecBase, ScenarioView
from sim.model.base import NonNegativeFloat
from sim.model.errors import Problem
from sim.model.knobs import Knob
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler

LoadBalancerPolicy = Literal["round_robin", "random", "least_connections", "power_of_two", "consistent_hash"]
LOAD_BALANCER_POLICIES = ("round_robin", "random", "least_connections", "power_of_two", "consistent_hash")


class LoadBalancerSpec(ComponentSpecBase):
    """Spreads requests over the instances of the ``target`` service by ``policy``."""

    kind: Literal["load_balancer"]
    target: str
    policy: LoadBalancerPolicy = "round_robin"
    latency_ms: NonNegativeFloat = 0.0
    virtual_nodes: Annotated[int, Field(ge=1, le=1000)] = 64
    price_per_hour: NonNegativeFloat = 0.0

    summary: ClassVar[str] = "spreads requests over the instances of a service by a balancing policy"

    reference_fields: ClassVar[tuple[str, ...]] = ("target",)

    @classmethod
    def reference_problems(cls, path: str, target: str, target_class: type[ComponentSpecBase] | None) -> list[Problem]:
        if target_class is None or getattr(target_class, "balanceable", False):
            return []
        kind = target_class.model_fields["kind"].annotation.__args__[0]
        return [Problem(path, f"a load balancer fronts a service (got {target!r}, a {kind})")]

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> LoadBalancer:
        return LoadBalancer(env, name, self, streams)

    def hourly_cost(self) -> float:
        return self.price_per_hour

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        labels = tuple(policy.replace("_", " ") for policy in LOAD_BALANCER_POLICIES)
        return [Knob(f"components.{name}.policy", f"{name}: policy", "choice", self.policy,
                     options=LOAD_BALANCER_POLICIES, option_labels=labels, component=name,
                     help="How the balancer picks an instance for each request.")]

    def describe(self, stats: Mapping[str, Any]) -> str:
        return self.policy.replace("_", " ")

    def difference_reasons(self, name: str, stats: Mapping[str, Any], scenario: ScenarioView) -> list[str]:
        return [f"its response is {self.target}'s plus {self.latency_ms:g} ms; see {self.target}"]


class LoadBalancer(Component):
    """Runtime of a ``kind: load_balancer`` component (a router, with no queue of its own)."""

    kind = "load_balancer"

    def __init__(self, env: Scheduler, name: str, spec: LoadBalancerSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.rng = streams.stream(f"component/{name}/routing")
        self.latency_s = spec.latency_ms / 1000.0
        self.target: Any = None  # the target's runtime: it has ``stations`` and ``accept_at``
        self.policy: Any = None
        self.needs_loads = False

    def connect(self, components: dict[str, Component]) -> None:
        self.target = target = components[self.spec.target]
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
