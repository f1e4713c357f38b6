"""What a configuration costs per hour, from the prices written on its components."""

from __future__ import annotations

from sim.scenario import Scenario
from sim.specs import CacheSpec, DatabaseSpec, LoadBalancerSpec, ServiceSpec

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


def capacity_units(scenario: Scenario) -> int:
    """Workers plus connections: a price-free measure of how much capacity a configuration buys."""
    total = 0
    for spec in scenario.components.values():
        if isinstance(spec, ServiceSpec):
            total += spec.instances * spec.workers
        elif isinstance(spec, DatabaseSpec):
            total += spec.shards * (1 + spec.replicas) * spec.pool_size
    return total
