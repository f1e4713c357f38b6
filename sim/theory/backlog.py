"""Backlogs as fluids: a queue fed faster than it is served grows at the difference, and drains at the reverse.

Over a burst the random fluctuations of arrivals and service are small beside the trend, so a backlog's path is
``dB/dt = arrival(t) - capacity`` while it is positive (a deterministic fluid model); once the burst ends, a
backlog ``B`` clears in ``B / (capacity - arrival rate)``. The twin uses it for a broker's lag after a spike.
"""

from __future__ import annotations

import numpy as np


def drain_time_s(backlog: float, capacity_rps: float, arrival_rate_rps: float) -> float:
    """How long a backlog of ``backlog`` messages takes to clear: infinite when arrivals keep up with capacity."""
    if backlog <= 0:
        return 0.0
    headroom = capacity_rps - arrival_rate_rps
    return backlog / headroom if headroom > 0 else float("inf")


def fluid_backlog(arrival_rps: np.ndarray, capacity_rps: float, step_s: float) -> np.ndarray:
    """The backlog after each step of ``step_s`` seconds, fed at ``arrival_rps[k]`` during step ``k``.

    A loop, not a cumulative sum: the backlog is reflected at zero (a server with nothing to do cannot bank
    capacity for later).
    """
    backlog = np.empty(arrival_rps.size)
    level = 0.0
    for index, change in enumerate(((arrival_rps - capacity_rps) * step_s).tolist()):
        level = max(level + change, 0.0)
        backlog[index] = level
    return backlog


def peak_and_drain(times_s: np.ndarray, backlog: np.ndarray, drained_fraction: float,
                   minimum: float) -> tuple[float, float | None]:
    """The largest backlog on a path, and how long after it the backlog fell to ``drained_fraction`` of it.

    None when the peak is below ``minimum`` (no backlog worth the name) or the path never drains that far.
    """
    if backlog.size == 0:
        return 0.0, None
    peak_index = int(np.argmax(backlog))
    peak = float(backlog[peak_index])
    if peak < minimum:
        return peak, None
    after = np.nonzero(backlog[peak_index:] <= drained_fraction * peak)[0]
    return peak, float(times_s[peak_index + after[0]] - times_s[peak_index]) if after.size else None
