"""Static limits, checked when a scenario is validated: fan-out along the call graph, call depth, stations, time bins.

The call graph must be acyclic (checked before these).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.model.limits import LimitsSpec

if TYPE_CHECKING:
    from sim.scenario.scenario import Scenario

MAX_LEVEL_SAMPLES = 1_000_000  # time bins x stations: the snapshots' memory (about 250 bytes each)
MAX_STATIONS = 20_000
MAX_TOTAL_CALLS = 10_000
MAX_CALL_DEPTH = 50  # answers return up the chain on the Python stack: keep it far from the recursion limit


def leaves_first(scenario: Scenario) -> list[str]:
    """Component names, each after every component it sends requests to (iterative: no recursion limit)."""
    order: list[str] = []
    done: set[str] = set()
    for root in scenario.components:
        stack = [(root, iter(scenario.components[root].downstream()))]
        while stack:
            name, targets = stack[-1]
            target = next((target for _suffix, target in targets if target not in done), None)
            if target is None:
                stack.pop()
                if name not in done:
                    done.add(name)
                    order.append(name)
            elif all(target != open_name for open_name, _targets in stack):  # an acyclic graph never repeats
                stack.append((target, iter(scenario.components[target].downstream())))
    return order


def call_graph_sizes(scenario: Scenario) -> tuple[dict[str, int], dict[str, int]]:
    """Per component, the most visits a request entering there can make, and the depth of calls below it.

    A service's calls run one after another, so a component called k times per visit multiplies everything
    below it by k; the count is exact for the worst case (every cache lookup misses). The graph must be acyclic.
    """
    visits: dict[str, int] = {}
    depth: dict[str, int] = {}
    for name in leaves_first(scenario):
        targets = [target for _suffix, target in scenario.components[name].downstream()]
        visits[name] = 1 + sum(visits[target] for target in targets)
        depth[name] = 1 + max((depth[target] for target in targets), default=0)
    return visits, depth


def station_count(scenario: Scenario) -> int:
    """How many stations (instances, database nodes) the scenario builds."""
    return sum(len(spec.station_names(name)) for name, spec in scenario.components.items())


def total_calls(scenario: Scenario) -> int:
    """Wires in the call graph (calls, balancer targets, cache stores)."""
    return sum(len(spec.downstream()) for spec in scenario.components.values())


def static_limit_problems(scenario: Scenario, limits: LimitsSpec | None = None) -> list[tuple[str, str]]:
    """(field path, message) for every static limit the scenario exceeds; the graph must be acyclic."""
    limits = limits or scenario.limits
    problems: list[tuple[str, str]] = []
    entries = {request_class.entry or scenario.workload.entry for request_class in scenario.workload.classes}
    visits, depth = call_graph_sizes(scenario)
    worst = max(entries, key=lambda name: visits[name])
    deepest = max(depth, key=lambda name: depth[name])
    if depth[deepest] > MAX_CALL_DEPTH:
        problems.append(("components", f"calls nest {depth[deepest]} components deep from {deepest!r}; at most "
                                       f"{MAX_CALL_DEPTH}"))
    if visits[worst] > limits.max_fan_out:
        problems.append(("limits.max_fan_out",
                         f"a request entering at {worst!r} can make {visits[worst]:,} visits (calls multiply along "
                         f"each path); at most {limits.max_fan_out:,}: call fewer times per request, or raise "
                         "limits.max_fan_out"))
    bins = math.ceil(scenario.duration_s / scenario.time_bin_s)
    if bins > limits.max_time_bins:
        problems.append(("time_bin_s", f"{bins:,} time bins over duration_s={scenario.duration_s:g}; at most "
                                       f"{limits.max_time_bins:,}: use time_bin_s >= "
                                       f"{scenario.duration_s / limits.max_time_bins:.3g}"))
    stations = station_count(scenario)
    if stations > MAX_STATIONS:
        problems.append(("components", f"{stations:,} stations (instances and database nodes); at most "
                                       f"{MAX_STATIONS:,}"))
    elif min(bins, limits.max_time_bins) * stations > MAX_LEVEL_SAMPLES:
        problems.append(("time_bin_s", f"{bins:,} time bins x {stations:,} stations is more than "
                                       f"{MAX_LEVEL_SAMPLES:,} level samples: widen time_bin_s"))
    return problems
