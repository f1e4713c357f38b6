"""A load balancer: picks an instance of its target service by policy, after an optional fixed latency."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

import numpy as np
from pydantic import Field

from sim.kinds.balancing import ConsistentHash, LeastConnections, PowerOfTwoChoices, make_policy
from sim.kinds.base import ComponentSpecBase, InstanceSplit, ScenarioView, StatsView, TwinContext
from sim.model.base import ComponentName, LatencyMs, Price
from sim.model.errors import Problem
from sim.model.faults import HealthCheckSpec
from sim.model.keys import mix_keys
from sim.model.knobs import Knob
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory

MAX_KEYS_FOR_HASH_SPLIT = 2_000_000  # past this, the ring's split is taken as even (per-key work is slow)

LoadBalancerPolicy = Literal["round_robin", "random", "least_connections", "power_of_two", "consistent_hash"]
LOAD_BALANCER_POLICIES = ("round_robin", "random", "least_connections", "power_of_two", "consistent_hash")


class LoadBalancerSpec(ComponentSpecBase):
    """Spreads requests over the instances of the ``target`` service by ``policy``."""

    kind: Literal["load_balancer"]
    target: ComponentName
    policy: LoadBalancerPolicy = "round_robin"
    latency_ms: LatencyMs = 0.0
    virtual_nodes: Annotated[int, Field(ge=1, le=1000)] = 64
    health_check: HealthCheckSpec | None = None
    price_per_hour: Price = 0.0

    summary: ClassVar[str] = "spreads requests over the instances of a service by a balancing policy"

    reference_fields: ClassVar[tuple[str, ...]] = ("target",)

    @classmethod
    def reference_problems(cls, path: str, target: str, target_class: type[ComponentSpecBase] | None) -> list[Problem]:
        if target_class is None or getattr(target_class, "balanceable", False):
            return []
        kind = get_args(target_class.model_fields["kind"].annotation)[0]
        return [Problem(path, f"a load balancer fronts a service (got {target!r}, a {kind})")]

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> LoadBalancer:
        return LoadBalancer(env, name, self, streams)

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """No queue of its own: its target's response plus the fixed latency."""
        target = context.predictions[self.target]
        response = None if target.mean_response_ms is None else self.latency_ms + target.mean_response_ms
        return ComponentTheory("load_balancer", traffic.rate_rps, response,
                               response_variance_ms2=target.response_variance_ms2,
                               unloaded_response_ms=self.latency_ms + target.unloaded_response_ms)

    def instance_split(self, instances: int, traffic: Traffic) -> InstanceSplit | None:
        equal = np.full(instances, 1.0 / instances)
        if self.policy == "round_robin":
            return InstanceSplit(equal, 1.0 / instances,
                                 "round robin: each instance sees every n-th request (Erlang-n gaps)")
        if self.policy == "consistent_hash" and traffic.read_rps.size <= MAX_KEYS_FOR_HASH_SPLIT:
            return InstanceSplit(self._hash_shares(instances, traffic), 1.0, "split by the consistent-hash ring")
        note = "instances modelled as a random (Poisson) split"
        if self.policy in ("least_connections", "power_of_two"):
            note += "; the balancer does better than random, so waits are overestimated"
        return InstanceSplit(equal, 1.0, note)

    def _hash_shares(self, instances: int, traffic: Traffic) -> np.ndarray:
        """Each instance's share of the traffic, by the same ring the runtime uses."""
        ring = ConsistentHash(instances, self.virtual_nodes)
        positions = np.searchsorted(np.array(ring.ring_hashes, dtype=np.uint64),
                                    mix_keys(np.arange(traffic.read_rps.size)), side="left")
        owners = np.array(ring.ring_instances)[positions % len(ring.ring_instances)]
        per_key = traffic.read_rps + traffic.write_rps
        shares = np.bincount(owners, weights=per_key, minlength=instances)
        return shares / max(per_key.sum(), 1e-300)

    def hourly_cost(self) -> float:
        return self.price_per_hour

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        labels = tuple(policy.replace("_", " ") for policy in LOAD_BALANCER_POLICIES)
        return [Knob(f"components.{name}.policy", f"{name}: policy", "choice", self.policy,
                     options=LOAD_BALANCER_POLICIES, option_labels=labels, component=name,
                     help="How the balancer picks an instance for each request.")]

    def describe(self, stats: StatsView) -> str:
        return self.policy.replace("_", " ")

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
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
        self.health: HealthChecker | None = None
        if spec.health_check is not None:
            self.health = HealthChecker(env, spec.health_check, streams.stream(f"component/{name}/health"))

    def connect(self, components: dict[str, Component]) -> None:
        self.target = target = components[self.spec.target]
        self.policy = make_policy(self.spec.policy, len(target.stations), self.rng, self.spec.virtual_nodes)
        self.needs_loads = isinstance(self.policy, LeastConnections | PowerOfTwoChoices)
        if self.health is not None:
            self.health.watch(target, len(target.stations))

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
        if self.health is not None and not self.health.in_rotation[index]:
            index = self._healthy_choice(visit, loads, index)
        target.accept_at(index, visit.request, self._settle, visit)  # the target's answer is the balancer's

    def _healthy_choice(self, visit: Visit, loads: Any, first: int) -> int:
        """Choose again among the instances in rotation (all out: the first choice, as balancers fail open)."""
        assert self.health is not None
        rotation = self.health.in_rotation
        if not any(rotation):
            return first
        if self.needs_loads:
            loads = [load if healthy else 1 << 40 for load, healthy in zip(loads, rotation, strict=True)]
        for _attempt in range(4 * len(rotation)):
            index: int = self.policy.choose(visit.request.key, loads)
            if rotation[index]:
                return index
        return rotation.index(True)

    def extra_fields(self) -> dict[str, float]:
        if self.health is None:
            return {}
        return {"instances_in_rotation": float(sum(self.health.in_rotation)),
                "removed_from_rotation": float(self.health.removed)}


class HealthChecker:
    """Probes every instance each interval from a random phase; ``unhealthy_threshold`` failed probes in a row
    take an instance out of rotation, ``healthy_threshold`` good ones bring it back."""

    def __init__(self, env: Scheduler, spec: HealthCheckSpec, draws: np.random.Generator) -> None:
        self.env = env
        self.spec = spec
        self.interval_s = spec.interval_ms / 1000.0
        self.phase_s = float(draws.random()) * self.interval_s
        self.target: Any = None
        self.in_rotation: list[bool] = []
        self.streaks: list[int] = []  # failed probes in a row (in rotation) or good ones (out of it)
        self.removed = 0

    def watch(self, target: Any, instances: int) -> None:
        self.target = target
        self.in_rotation = [True] * instances
        self.streaks = [0] * instances
        self.env.call_later(self.phase_s, self._probe, None)

    def _probe(self, _token: Any) -> None:
        for index, healthy in enumerate(self.in_rotation):
            answered = self.target.instance_up(index)
            if answered != healthy:  # a probe that disagrees with the rotation: one more in the streak
                self.streaks[index] += 1
                needed = self.spec.healthy_threshold if answered else self.spec.unhealthy_threshold
                if self.streaks[index] >= needed:
                    self.in_rotation[index] = answered
                    self.streaks[index] = 0
                    self.removed += not answered
            else:
                self.streaks[index] = 0
        self.env.call_later(self.interval_s, self._probe, None)
