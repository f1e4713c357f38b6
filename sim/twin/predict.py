"""The analytic twin of a scenario: every component predicted by its kind, leaves first, end to end.

The traffic equations (``sim.twin.equations``) give each component its per-key traffic; each kind's ``predict``
(``sim/kinds/``) turns that into station queues; past any station's capacity the twin predicts no steady state
for everything on a path through it. The closed-workload rate and the saturation rate are found by bisection.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sim.kinds.base import TwinContext
from sim.model.distributions import from_spec
from sim.model.profiles import mean_rate_rps
from sim.model.traces import workload_trace
from sim.scenario.scenario import Scenario
from sim.scenario.wiring import topological_order
from sim.theory.numeric import bisect_root
from sim.theory.predictions import ComponentTheory
from sim.twin.equations import concurrency_bounds, downstream_closure, propagate

CLOSED_RATE_TOLERANCE = 1e-4  # relative width at which the closed-workload rate search stops
SATURATION_TOLERANCE = 1e-9  # relative width at which the saturation-rate search stops
MAX_SEARCH_RATE_RPS = 1e12


def predict(scenario: Scenario, total_rate_rps: float | None = None) -> dict[str, ComponentTheory]:
    """The twin's prediction for every component at the workload's mean arrival rate, computed leaves first.

    Past any station's capacity there is no steady state: that component, every caller that waits on it and
    every component its traffic flows on to are predicted unstable, with no latency (see
    :func:`_spread_saturation`).
    """
    if total_rate_rps is None:
        total_rate_rps = arrival_rate_rps(scenario)
    context = TwinContext(scenario, concurrency=concurrency_bounds(scenario))
    incoming = propagate(scenario, total_rate_rps, context)
    for name in topological_order(scenario):  # callees first: a caller's holding time includes their responses
        context.predictions[name] = scenario.components[name].predict(name, incoming[name], context)
    return _spread_saturation(scenario, context.predictions)


def _spread_saturation(scenario: Scenario, predictions: dict[str, ComponentTheory]) -> dict[str, ComponentTheory]:
    """Mark unstable, with no latency, every component on a path through a saturated station.

    A caller holds its workers while it waits on a saturated callee, so its holding time has no bound; a
    callee behind a saturated station receives that station's throughput, not the offered rate, so the
    traffic equations no longer describe it.
    """
    saturated = [name for name, prediction in predictions.items() if prediction.saturated]
    if not saturated:
        return predictions
    waits_on = downstream_closure(scenario)
    for name, prediction in predictions.items():
        upstream_of = [cause for cause in saturated if cause in waits_on[name]]
        behind = [cause for cause in saturated if name in waits_on[cause]]
        if name not in saturated and not upstream_of and not behind:
            continue
        if upstream_of:
            prediction.notes.append(f"waits on {', '.join(upstream_of)}, which cannot keep up, so its own "
                                    "queue grows too")
        if behind:
            prediction.notes.append(f"its traffic passes through {', '.join(behind)}, which cannot keep up: "
                                    "it receives that throughput, not the offered rate")
        _mark_unstable(prediction, keep_utilisation=name in saturated)
    return predictions


def _mark_unstable(prediction: ComponentTheory, keep_utilisation: bool) -> None:
    prediction.stable = False
    prediction.mean_response_ms = prediction.mean_wait_ms = prediction.p99_response_ms = None
    prediction.response_distribution = None
    if not keep_utilisation:
        prediction.utilisation = None  # set by a neighbour's overload, which the twin does not model
    prediction.stations = {name: replace(queue, mean_wait_ms=None, mean_response_ms=None, mean_queue_length=None,
                                         mean_in_system=None, stable=False)
                           for name, queue in prediction.stations.items()}


def end_to_end_ms(scenario: Scenario, predictions: dict[str, ComponentTheory]) -> float | None:
    """Mean latency over the request classes; None when a component on the way cannot keep up."""
    total = 0.0
    for request_class in scenario.workload.classes:
        response = predictions[request_class.entry or scenario.workload.entry].mean_response_ms
        if response is None:
            return None
        total += request_class.weight * response
    return total


def arrival_rate_rps(scenario: Scenario) -> float:
    """The mean arrival rate over the measured window, for any workload type.

    A closed workload's rate is found by its fixed point: N users cycling through response time R(X) and think
    time Z send X = N / (R(X) + Z), with R from the twin at rate X (the response-time law).
    """
    workload = scenario.workload
    if workload.type == "open":
        return mean_rate_rps(workload, scenario.warmup_s, scenario.duration_s)
    if workload.type == "trace":
        times = workload_trace(workload).times_s
        inside = (times >= scenario.warmup_s) & (times < scenario.duration_s)
        return float(inside.sum()) / (scenario.duration_s - scenario.warmup_s)
    assert workload.users is not None and workload.think_time is not None
    think_ms = from_spec(workload.think_time).mean_ms
    users = workload.users

    def below_fixed_point(rate: float) -> bool:
        response = end_to_end_ms(scenario, predict(scenario, rate))
        return response is not None and users * 1000.0 / (response + think_ms) >= rate

    # each step is a full prediction: stop at 0.01%
    low, _high = bisect_root(below_fixed_point, 0.0, users * 1000.0 / think_ms,
                             relative_tolerance=CLOSED_RATE_TOLERANCE, steps=10_000)
    return low


def saturation_rate_rps(scenario: Scenario) -> float | None:
    """The arrival rate at which the twin expects the first station to saturate (None if none ever does).

    Holding times grow with the load (a caller waits on its callees) and hit ratios change with it, so the rate
    is found by bisection on "some station is offered at least its capacity", not by scaling one utilisation.
    """
    def saturated(rate_rps: float) -> bool:
        return any(prediction.saturated for prediction in predict(scenario, rate_rps).values())

    high = arrival_rate_rps(scenario) or 1.0
    while not saturated(high):
        high *= 2.0
        if high > MAX_SEARCH_RATE_RPS:
            return None
    _low, high = bisect_root(lambda rate: not saturated(rate), 0.0, high,
                             relative_tolerance=SATURATION_TOLERANCE, steps=10_000)
    return high


def theory_summary(scenario: Scenario, rate: float | None = None,
                   predictions: dict[str, ComponentTheory] | None = None) -> dict[str, Any]:
    """The twin as JSON-ready data: per component, plus the predicted mean end-to-end latency.

    ``rate`` and ``predictions`` may be passed in when the caller has already computed them.
    """
    if rate is None:
        rate = arrival_rate_rps(scenario)
    if predictions is None:
        predictions = predict(scenario, rate)
    return {
        "arrival_rate_rps": rate,
        "components": {name: prediction.to_dict() for name, prediction in predictions.items()},
        "mean_latency_ms": end_to_end_ms(scenario, predictions),
    }
