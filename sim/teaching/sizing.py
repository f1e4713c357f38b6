"""Interactive run sizing: how long to simulate so a page answers in a second or two and its numbers hold.

The cost of a run grows with the number of component visits, roughly requests times components, so every
interactive size here is a budget of visits turned into simulated seconds.
"""

from __future__ import annotations

import math

from sim.model.distributions import from_spec
from sim.model.workload import WorkloadSpec
from sim.scenario.overrides import with_overrides
from sim.scenario.scenario import Scenario
from sim.scenario.sizing import expected_requests

VISITS_PER_INTERACTIVE_RUN = 60_000  # about 0.3-0.6 s of engine time on a 2-core machine
MAX_VISITS_PER_INTERACTIVE_RUN = 150_000  # never more: about 1-2 s, so the page never freezes
MIN_INTERACTIVE_DURATION_S = 4.0
MIN_MEASURED_REQUESTS = 10_000  # a hundred requests beyond the p99: enough for a stable estimate
TARGET_TIME_BINS = 30


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


def duration_for_visits(scenario: Scenario, visits: float, minimum_s: float) -> float:
    """The simulated seconds (whole, at least ``minimum_s``, at most the file's) that hold about ``visits``
    component visits: the cost of a run grows with requests times components."""
    rate_rps = requests_per_second(scenario)
    if not rate_rps:
        return float(scenario.duration_s)
    affordable_s = math.floor(visits / (rate_rps * len(scenario.components)))
    return float(max(minimum_s, min(scenario.duration_s, affordable_s)))


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
