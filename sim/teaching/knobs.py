"""The main knobs of a scenario, derived from its components: what a control panel offers to change.

The workload offers its load (rate or users); each component kind offers its own knobs (``knobs()`` in its
module, see ``sim.model.knobs.Knob``). Nothing here knows about a user interface.

Example:
    >>> from sim.scenario.gallery import load_gallery_scenario
    >>> [knob.path for knob in scenario_knobs(load_gallery_scenario("single-server"))]
    ['workload.rate_rps', 'components.api.instances', 'components.api.workers', 'components.api.concurrency']
"""

from __future__ import annotations

import math
from typing import Any

from sim.model.knobs import Knob, nice_step
from sim.model.workload import WorkloadSpec
from sim.scenario.scenario import Scenario


def _grid_step(value: float) -> float:
    """A 1-2-5 step near a tenth of ``value`` that divides it, so the slider grid passes through ``value``."""
    step = nice_step(value / 10)
    while step >= value / 100:
        if abs(value / step - round(value / step)) < 1e-9:
            return step
        step = nice_step(step * 0.99)
    return nice_step(value / 10)


def _rate_knob(rate: float) -> Knob:
    step = _grid_step(rate)
    minimum = rate - math.floor(rate / step - 1e-9) * step  # on the grid through ``rate``, above zero
    maximum = minimum + math.ceil((4 * rate - minimum) / step) * step
    return Knob("workload.rate_rps", "arrival rate (req/s)", "float", rate, round(minimum, 9), round(maximum, 9), step,
                help="Requests per second arriving at random (Poisson) at the entry component.")


def _workload_knobs(workload: WorkloadSpec) -> list[Knob]:
    """The load: an open workload's arrival rate, a closed one's users; a replayed trace has none."""
    if workload.rate_rps is not None:
        return [_rate_knob(float(workload.rate_rps))]
    if workload.users is not None:
        users = workload.users
        return [Knob("workload.users", "users (closed loop)", "int", users, 1, max(16, 4 * users), 1,
                     help="Virtual users, each sending a request, waiting for it, thinking, and repeating.")]
    return []


def scenario_knobs(scenario: Scenario) -> list[Knob]:
    """The main knobs of ``scenario``: the load (rate or users), then each component's, in the scenario's order."""
    knobs = _workload_knobs(scenario.workload)
    for name in scenario.components:
        knobs.extend(scenario.components[name].knobs(name, scenario))
    return knobs


def changed_values(knobs: list[Knob], values: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` (path -> value) that differ from the knobs' current values."""
    current = {knob.path: knob.value for knob in knobs}
    return {path: value for path, value in values.items() if path in current and value != current[path]}


def alternative_value(knob: Knob) -> Any:
    """A contrasting value for an A/B comparison: double a count, raise a rate by half, the next option."""
    if knob.kind == "int":
        doubled = max(2 * knob.value, knob.value + 1)
        return int(min(doubled, knob.maximum if knob.maximum is not None else doubled))
    if knob.kind == "float":
        raised = knob.value * 1.5
        return float(min(raised, knob.maximum)) if knob.maximum is not None else raised
    index = knob.options.index(knob.value)
    return knob.options[(index + 1) % len(knob.options)]


def wiring(scenario: Scenario) -> list[tuple[str, str]]:
    """Every (caller, callee) pair of component names, in the scenario's order."""
    return [(name, target) for name, spec in scenario.components.items() for _field, target in spec.downstream()]
