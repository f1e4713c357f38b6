"""Component runtimes, one module per kind; ``build_component`` maps a spec's ``kind`` to its class."""

from __future__ import annotations

from sim.kinds.cache import Cache
from sim.kinds.database import Database
from sim.kinds.load_balancer import LoadBalancer
from sim.kinds.service import Service
from sim.runtime.component import Component
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler

RUNTIMES: dict[str, type[Component]] = {
    "service": Service,
    "load_balancer": LoadBalancer,
    "cache": Cache,
    "database": Database,
}


def build_component(env: Scheduler, name: str, spec: object, streams: RandomStreams) -> Component:
    """Construct the runtime for one component spec."""
    runtime = RUNTIMES[spec.kind]  # type: ignore[attr-defined]
    return runtime(env, name, spec, streams)  # type: ignore[call-arg]
