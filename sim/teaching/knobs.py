"""The main knobs of a scenario, derived from its components: what a control panel offers to change.

The workload offers its load (rate or users); each component kind offers its own knobs (``knobs()`` in its
module, see ``sim.model.knobs.Knob``). Nothing here knows about a user interface.

Example:
    >>> from sim.scenario.gallery import load_gallery_scenario
    >>> [knob.path for knob in scenario_knobs(load_gallery_scenario("single-server"))]
    ['workload.rate_rps', 'components.api.instances', 'components.api.workers']
"""

from __future__ import annotations

import math
from typing import Any

from sim.model.distributions import from_spec
from sim.model.knobs import Knob, nice_step
from sim.model.workload import WorkloadSpec
from sim.scenario.overrides import with_overrides
from sim.scenario.scenario import Scenario
from sim.scenario.sizing import expected_requests

VISITS_PER_INTERACTIVE_RUN = 60_000  # about 0.3-0.6 s of engine time on a 2-core machine
MAX_VISITS_PER_INTERACTIVE_RUN = 150_000  # never more: about 1-2 s, so the page never freezes
MIN_INTERACTIVE_DURATION_S = 4.0
MIN_MEASURED_REQUESTS = 10_000  # a hundred requests beyond the p99: enough for a stable estimate
TARGET_TIME_BINS = 30


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


def offered_rate_estimate(workload: WorkloadSpec) -> float | None:
    """Requests per second the workload sends at most: the peak of an open profile, or users over think time
    for a closed loop (an upper bound: responses add to the cycle). None for a replayed trace."""
    if workload.rate_rps is not None:
        profile = workload.profile
        stage_rates = [stage.rate_rps for stage in getattr(profile, "stages", [])]
        peak = max([workload.rate_rps, getattr(profile, "rate_rps", 0.0), *stage_rates])
        return float(peak * (1 + getattr(profile, "amplitude", 0.0)))
    if workload.users is not None and workload.think_time is not None:
        return workload.users * 1000.0 / max(from_spec(workload.think_time).mean_ms, 1.0)
    return None


def requests_per_second(scenario: Scenario) -> float | None:
    """Requests the workload sends per second on average over the run (an upper bound for a closed loop)."""
    expected = expected_requests(scenario, scenario.duration_s)
    if expected is not None:
        return expected / scenario.duration_s
    return offered_rate_estimate(scenario.workload)


def default_duration_s(scenario: Scenario) -> float:
    """A simulated duration that keeps an interactive run under a second or two, yet long enough to trust.

    The cost of a run grows with the number of component visits, roughly requests times components. The
    scenario's own duration is kept when it fits ``VISITS_PER_INTERACTIVE_RUN``; otherwise the run is
    shortened to that budget, but not below ``MIN_INTERACTIVE_DURATION_S`` nor below what
    ``MIN_MEASURED_REQUESTS`` after the warm-up need (for a stable p99), unless that would pass
    ``MAX_VISITS_PER_INTERACTIVE_RUN``, the ceiling no run crosses.
    """
    rate_rps = requests_per_second(scenario)
    if not rate_rps:
        return float(scenario.duration_s)
    visits_per_s = rate_rps * len(scenario.components)
    if visits_per_s * scenario.duration_s <= VISITS_PER_INTERACTIVE_RUN:
        return float(scenario.duration_s)
    measured_s = MIN_MEASURED_REQUESTS / rate_rps
    trusted_s = max(MIN_INTERACTIVE_DURATION_S, scenario.warmup_s + measured_s, 2 * measured_s)
    chosen_s = max(VISITS_PER_INTERACTIVE_RUN / visits_per_s,
                   min(trusted_s, MAX_VISITS_PER_INTERACTIVE_RUN / visits_per_s))
    return _readable(min(float(scenario.duration_s), chosen_s))


def _readable(duration_s: float) -> float:
    """Whole seconds from 2 s up; two significant digits below (never longer than asked)."""
    if duration_s >= 2.0:
        return float(math.floor(duration_s))
    unit = 10.0 ** (math.floor(math.log10(duration_s)) - 1)
    return math.floor(duration_s / unit) * unit


def shortened_note(base: Scenario, duration_s: float) -> str | None:
    """Why an interactive run is shorter than its file (None when it is not)."""
    if duration_s >= base.duration_s:
        return None
    rate_rps = requests_per_second(base) or 0.0
    return (f"Simulating {duration_s:g} s of the file's {base.duration_s:g} s: at about {rate_rps:,.0f} req/s "
            f"through {len(base.components)} component(s), the whole run would take too long for an interactive "
            "page. Move *Simulated duration* in the sidebar to run longer.")


def with_duration(scenario: Scenario, duration_s: float) -> Scenario:
    """``scenario`` run for ``duration_s``: warm-up capped at half of it, time bins fine enough for ~30 points.

    Bins are powers of two seconds so that bin edges are exact and never near-duplicate the warm-up edge.
    """
    bin_s = min(scenario.time_bin_s, 2.0 ** math.floor(math.log2(max(duration_s / TARGET_TIME_BINS, 1 / 64))))
    return with_overrides(scenario, {**scenario.duration_updates(duration_s), "time_bin_s": float(bin_s)})


def wiring(scenario: Scenario) -> list[tuple[str, str]]:
    """Every (caller, callee) pair of component names, in the scenario's order."""
    return [(name, target) for name, spec in scenario.components.items() for _field, target in spec.downstream()]
