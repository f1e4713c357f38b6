"""Traffic equations of the analytic twin: what reaches each component, and how much can be inside it at once.

Traffic is carried per key from the workload's entries down the call graph, callers before callees; each kind
says what it passes on (``route``: a cache passes its misses). Concurrency follows the same way: a caller's
workers bound how many of its calls can be out at once (``concurrency_passed_on``), so a component fed only by
callers whose workers number no more than its own servers can never make a request wait.
"""

from __future__ import annotations

import numpy as np

from sim.kinds.base import TwinContext
from sim.model.keys import key_probabilities
from sim.scenario.scenario import Scenario
from sim.scenario.wiring import topological_order
from sim.theory.flows import Traffic

UNBOUNDED = float("inf")


def entry_traffic(scenario: Scenario, total_rate_rps: float) -> dict[str, Traffic]:
    """The traffic each component receives straight from the workload at ``total_rate_rps``."""
    workload = scenario.workload
    probabilities = key_probabilities(workload.keys)
    zeros = np.zeros_like(probabilities)
    traffic: dict[str, Traffic] = {}
    for request_class in workload.classes:
        rate = probabilities * total_rate_rps * request_class.weight
        flow = Traffic(zeros, rate) if request_class.operation == "write" else Traffic(rate, zeros)
        entry = request_class.entry or workload.entry
        traffic[entry] = traffic[entry] + flow if entry in traffic else flow
    return traffic


def zero_traffic(scenario: Scenario) -> Traffic:
    """No traffic at all, over the scenario's key space."""
    count = scenario.workload.keys.count
    return Traffic(np.zeros(count), np.zeros(count))


def propagate(scenario: Scenario, total_rate_rps: float, context: TwinContext) -> dict[str, Traffic]:
    """Each component's incoming per-key traffic at ``total_rate_rps`` (what kinds work out on the way goes in
    ``context.routed``)."""
    incoming = entry_traffic(scenario, total_rate_rps)
    for name in reversed(topological_order(scenario)):  # callers first
        arriving = incoming.setdefault(name, zero_traffic(scenario))
        for target, flow in scenario.components[name].route(name, arriving, context):
            incoming[target] = incoming[target] + flow if target in incoming else flow
    return incoming


def downstream_closure(scenario: Scenario) -> dict[str, set[str]]:
    """Every component each component waits on, directly or through others."""
    closure: dict[str, set[str]] = {}
    for name in topological_order(scenario):  # leaves first: a callee's closure is ready before its callers'
        targets = {target for _field, target in scenario.components[name].downstream()}
        closure[name] = targets.union(*(closure[target] for target in targets))
    return closure


def concurrency_bounds(scenario: Scenario) -> dict[str, float]:
    """The most visits that can be inside each component at once (infinite for an open workload's entry).

    A service's workers are held while its calls run, and each worker has at most one call out at a time, so
    a service passes on at most ``instances x workers`` concurrent calls; a cache or a load balancer passes on
    what it receives. A closed workload's entry holds at most ``users`` requests.
    """
    workload = scenario.workload
    entries = {workload.entry, *(item.entry for item in workload.classes if item.entry)}
    from_clients = float(workload.users) if workload.type == "closed" and workload.users else UNBOUNDED
    bounds: dict[str, float] = {}
    for name in reversed(topological_order(scenario)):  # callers first: a callee's feeders are all done
        feeders = [caller for caller, spec in scenario.components.items()
                   if any(target == name for _field, target in spec.downstream())]
        bounds[name] = (from_clients if name in entries else 0.0) + sum(
            scenario.components[caller].concurrency_passed_on(bounds[caller]) for caller in feeders)
    return bounds
