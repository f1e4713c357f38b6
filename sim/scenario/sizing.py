"""Sizing a run to its request cap: an overloaded scenario is shortened before it starts, not cut off mid-way.

``max_requests`` bounds memory and time. An open or replayed workload sends a number of requests known in
advance (its rate integrated over the run, or the trace's rows), so a run that would pass the cap is shortened
first, keeping its warm-up's share of the run, and says so; the measured window then holds data. A closed
workload's request count depends on the system's speed, so it is not sized here: if it reaches the cap, the
engine ends the measured window there (see ``sim.results.result``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.model.profiles import expected_arrivals, rate_function
from sim.model.traces import workload_trace
from sim.scenario.scenario import Scenario

CAP_HEADROOM = 0.9  # aim below the cap: the count of a Poisson stream fluctuates around its mean
_BISECTION_STEPS = 60


def expected_requests(scenario: Scenario, duration_s: float) -> float | None:
    """Requests the workload sends in [0, duration_s): exact for a trace, the mean for open arrivals.

    None for a closed workload, whose request count depends on how fast the system answers.
    """
    workload = scenario.workload
    if workload.type == "open":
        if workload.profile is None:
            return float(workload.rate_rps or 0.0) * duration_s
        return expected_arrivals(workload, 0.0, duration_s)
    if workload.type == "trace":
        times = workload_trace(workload).times_s
        return float(np.searchsorted(times, duration_s, side="left"))
    return None


def _duration_for(scenario: Scenario, requests: float) -> float:
    """The longest duration whose expected request count stays at or below ``requests`` (bisection)."""
    low, high = 0.0, scenario.duration_s
    for _step in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if (expected_requests(scenario, middle) or 0.0) <= requests:
            low = middle
        else:
            high = middle
    return low


def fit_to_request_cap(scenario: Scenario) -> tuple[Scenario, str | None]:
    """``scenario`` shortened so that its expected requests fit ``max_requests``, and why (None if unchanged).

    The warm-up and the time bins keep their share of the run, so the measured window keeps its share too.
    """
    budget = CAP_HEADROOM * scenario.max_requests
    workload = scenario.workload
    if workload.type == "open" and rate_function(workload)[1] * scenario.duration_s <= budget:
        return scenario, None  # even the peak rate fits: no need to integrate a profile
    planned = expected_requests(scenario, scenario.duration_s)
    if planned is None or planned <= budget:
        return scenario, None
    duration_s = _round_down(_duration_for(scenario, budget))
    if duration_s <= 0.0:
        return scenario, None  # not even one request fits: the engine's cap and the verdict check take over
    share = duration_s / scenario.duration_s
    bin_s = 2.0 ** math.floor(math.log2(scenario.time_bin_s * share))  # exact edges, as sim.teaching.knobs does
    updates: dict[str, Any] = {"duration_s": duration_s, "warmup_s": _round_down(scenario.warmup_s * share),
                               "time_bin_s": bin_s}
    reason = (f"shortened from {scenario.duration_s:g} s to {duration_s:.3g} s (warm-up {updates['warmup_s']:.3g} s): "
              f"the full run would send about {planned:,.0f} requests, more than max_requests="
              f"{scenario.max_requests:,}; raise max_requests (at most 50,000,000) to simulate longer")
    return scenario.model_copy(update=updates), reason


def _round_down(value: float) -> float:
    """``value`` cut to three significant digits (a readable duration that never exceeds the one computed)."""
    if value <= 0.0:
        return 0.0
    unit = 10.0 ** (math.floor(math.log10(value)) - 2)
    return math.floor(value / unit) * unit
