"""Component runtimes, one module per kind; ``build_component`` maps a spec's ``kind`` to its class."""

from __future__ import annotations

import simpy

from sim.components.base import Component
from sim.components.cache import Cache
from sim.components.database import Database
from sim.components.load_balancer import LoadBalancer
from sim.components.service import Service
from sim.rng import RandomStreams

RUNTIMES: dict[str, type[Component]] = {
    "service": Service,
    "load_balancer": LoadBalancer,
    "cache": Cache,
    "database": Database,
}


def build_component(env: simpy.Environment, name: str, spec: object, streams: RandomStreams) -> Component:
    """Construct the runtime for one component spec."""
    runtime = RUNTIMES[spec.kind]  # type: ignore[attr-defined]
    return runtime(env, name, spec, streams)  # type: ignore[call-arg]
