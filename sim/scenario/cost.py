"""What a configuration costs per hour and what it provisions, summed over the prices its components carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.kinds.base import CAPACITY_UNITS
from sim.scenario.scenario import Scenario


def component_costs(scenario: Scenario) -> dict[str, float]:
    """Hourly cost of each component (instances, database nodes and connections, cache memory, balancers)."""
    return {name: spec.hourly_cost() for name, spec in scenario.components.items()}


def hourly_cost(scenario: Scenario) -> float:
    """Total cost per hour of the scenario's components."""
    return sum(component_costs(scenario).values())


def usage_cost_per_hour(scenario: Scenario, components: Mapping[str, Any]) -> float:
    """What the components' use cost per hour over a run's window (a function's requests and GB-seconds), from
    each component's measured statistics; zero for kinds priced by the hour only."""
    return sum(spec.usage_cost_per_hour(components[name]) for name, spec in scenario.components.items())


def reachable_components(scenario: Scenario) -> list[str]:
    """Components some request can reach from the workload's entries (a bypassed cache is not among them)."""
    workload = scenario.workload
    pending = [workload.entry, *(item.entry for item in workload.classes if item.entry is not None)]
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(target for _field, target in scenario.components[name].downstream())
    return [name for name in scenario.components if name in reached]


def capacity(scenario: Scenario) -> dict[str, int]:
    """What the architecture pays for (components requests can reach): workers, connections, cache keys."""
    totals = dict.fromkeys(CAPACITY_UNITS, 0)
    for name in reachable_components(scenario):
        for unit, amount in scenario.components[name].capacity().items():
            totals[unit] += amount
    return {"workers": totals["workers"], "connections": totals["connections"],
            "servers": totals["workers"] + totals["connections"], "cache_keys": totals["cache_keys"]}
