"""What a configuration costs per hour, from the prices written on its components."""

from __future__ import annotations

from sim.model.specs import CacheSpec, DatabaseSpec, LoadBalancerSpec, ServiceSpec, downstream_names
from sim.scenario.scenario import Scenario

BYTES_PER_GB = 1e9


def component_costs(scenario: Scenario) -> dict[str, float]:
    """Hourly cost of each component: instances, database nodes and connections, cache memory, balancers."""
    costs: dict[str, float] = {}
    for name, spec in scenario.components.items():
        if isinstance(spec, ServiceSpec):
            costs[name] = spec.instances * spec.price_per_instance_hour
        elif isinstance(spec, DatabaseSpec):
            nodes = spec.shards * (1 + spec.replicas)
            costs[name] = nodes * (spec.price_per_node_hour + spec.pool_size * spec.price_per_connection_hour)
        elif isinstance(spec, CacheSpec):
            costs[name] = spec.capacity_keys * spec.value_size_bytes / BYTES_PER_GB * spec.price_per_gb_hour
        elif isinstance(spec, LoadBalancerSpec):
            costs[name] = spec.price_per_hour
    return costs


def hourly_cost(scenario: Scenario) -> float:
    """Total cost per hour of the scenario's components."""
    return sum(component_costs(scenario).values())


def reachable_components(scenario: Scenario) -> list[str]:
    """Components some request can reach from the workload's entries (a bypassed cache is not among them)."""
    workload = scenario.workload
    pending = [workload.entry, *(item.entry for item in workload.classes if item.entry is not None)]
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(target for _field, target in downstream_names(scenario.components[name]))
    return [name for name in scenario.components if name in reached]


def capacity(scenario: Scenario) -> dict[str, int]:
    """What the architecture pays for (components requests can reach): workers, connections, cache keys."""
    workers = connections = cache_keys = 0
    for name in reachable_components(scenario):
        spec = scenario.components[name]
        if isinstance(spec, ServiceSpec):
            workers += spec.instances * spec.workers
        elif isinstance(spec, DatabaseSpec):
            connections += spec.shards * (1 + spec.replicas) * spec.pool_size
        elif isinstance(spec, CacheSpec):
            cache_keys += spec.capacity_keys
    return {"workers": workers, "connections": connections, "servers": workers + connections,
            "cache_keys": cache_keys}
