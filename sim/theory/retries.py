"""Retries as a fixed point: the load retries add depends on the failures, which depend on the load.

A caller sends ``rate`` requests per second to a station of ``servers`` exponential servers (mean service
``mean_service_ms``) and gives up on an attempt after ``timeout_ms``, retrying up to ``max_retries`` times. At
an attempt rate x the station is M/M/c, an attempt fails when its response exceeds the timeout (probability
p(x); 1 once x reaches capacity, where the queue grows without bound), and each request sends
``A(p) = 1 + p + ... + p^max_retries`` attempts, at most ``1 + budget`` with a retry budget. The attempt rate
is a fixed point of ``x = rate x A(p(x))``. Without a budget there can be two stable ones: the healthy state
near ``rate``, and the saturated state ``rate x (1 + max_retries)`` at or above capacity, where every attempt
times out and the station does nothing but wasted work: a metastable failure (Bronson et al., "Metastable
Failures in Distributed Systems", HotOS 2021). Which one a system sits in depends on where it starts: a spike
that pushes the attempt rate past the unstable fixed point between them tips it over, and it stays there after
the spike ends. A budget small enough that ``rate x (1 + budget)`` is below capacity removes the saturated state.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from sim.theory.numeric import bisect_root
from sim.theory.queues import erlang_c

GRID_POINTS = 4000


@dataclass(frozen=True)
class RetryState:
    """One fixed point: the attempt rate, an attempt's failure probability, the requests that succeed, and
    whether small disturbances die out (stable) or grow (the tipping point between two stable states)."""

    attempt_rate_rps: float
    failure_probability: float
    success_share: float
    stable: bool

    @property
    def saturated(self) -> bool:
        return self.failure_probability >= 1.0 - 1e-12


def mmc_response_tail(arrival_rate_rps: float, mean_service_ms: float, servers: int, time_ms: float) -> float:
    """P(response > time_ms) at an M/M/c FCFS station (1 when it cannot keep up): with probability 1 - C the
    response is one exponential service, else an exponential wait at rate c mu - lambda plus the service."""
    service_rate = 1000.0 / mean_service_ms
    drain_rate = servers * service_rate - arrival_rate_rps
    if drain_rate <= 0.0:
        return 1.0
    waiting = erlang_c(servers, arrival_rate_rps * mean_service_ms / 1000.0)
    time_s = time_ms / 1000.0
    service_tail = math.exp(-service_rate * time_s)
    if abs(drain_rate - service_rate) < 1e-9 * service_rate:
        wait_and_service_tail = (1.0 + service_rate * time_s) * service_tail
    else:
        wait_and_service_tail = ((drain_rate * service_tail - service_rate * math.exp(-drain_rate * time_s))
                                 / (drain_rate - service_rate))
    return min(1.0, (1.0 - waiting) * service_tail + waiting * wait_and_service_tail)


def attempts_per_request(failure_probability: float, max_retries: int, budget: float | None = None) -> float:
    """Mean attempts per request: 1 + p + ... + p^max_retries, at most 1 + budget."""
    attempts = sum(failure_probability ** attempt for attempt in range(max_retries + 1))
    return min(attempts, 1.0 + budget) if budget is not None else attempts


def retry_fixed_points(rate_rps: float, mean_service_ms: float, servers: int, timeout_ms: float,
                       max_retries: int, budget: float | None = None) -> list[RetryState]:
    """Every fixed point of the attempt rate, lowest first, each marked stable or not."""
    def excess(attempt_rate: float) -> float:  # offered attempts minus attempts: positive below a fixed point
        failure = mmc_response_tail(attempt_rate, mean_service_ms, servers, timeout_ms)
        return rate_rps * attempts_per_request(failure, max_retries, budget) - attempt_rate

    high = rate_rps * (1.0 + (budget if budget is not None else max_retries)) * 1.001
    grid = [rate_rps + (high - rate_rps) * index / GRID_POINTS for index in range(GRID_POINTS + 1)]
    states = []
    for low_rate, high_rate in itertools.pairwise(grid):
        low_excess, high_excess = excess(low_rate), excess(high_rate)
        if low_excess >= 0.0 > high_excess or low_excess < 0.0 <= high_excess:
            crossing_down = low_excess >= 0.0  # excess falls through zero: pushed back from both sides

            def below_root(rate: float, down: bool = crossing_down) -> bool:
                return (excess(rate) >= 0.0) == down

            _, root = bisect_root(below_root, low_rate, high_rate, relative_tolerance=1e-9, steps=200)
            states.append(_state(root, rate_rps, mean_service_ms, servers, timeout_ms, max_retries, budget,
                                 crossing_down))
    return states


def _state(attempt_rate: float, rate_rps: float, mean_service_ms: float, servers: int, timeout_ms: float,
           max_retries: int, budget: float | None, stable: bool) -> RetryState:
    failure = mmc_response_tail(attempt_rate, mean_service_ms, servers, timeout_ms)
    attempts = attempts_per_request(failure, max_retries, budget)
    unlimited = attempts_per_request(failure, max_retries)
    # with a binding budget only (attempts - 1) retries per request are sent: a request fails when its first
    # attempt and every retry it gets fail; spread evenly, that is about p^attempts
    success = 1.0 - (failure ** (max_retries + 1) if attempts >= unlimited - 1e-12 else failure ** attempts)
    return RetryState(attempt_rate, failure, success, stable)


def settles_in(states: list[RetryState], attempt_rate_rps: float) -> RetryState:
    """The stable state a system starting at ``attempt_rate_rps`` moves to: the nearest stable fixed point
    on the same side of every unstable one."""
    stable = [state for state in states if state.stable]
    if not stable:
        raise ValueError("no stable state")
    tipping = [state.attempt_rate_rps for state in states if not state.stable]
    below = [rate for rate in tipping if rate <= attempt_rate_rps]
    floor = max(below) if below else -math.inf
    ceiling = min((rate for rate in tipping if rate > attempt_rate_rps), default=math.inf)
    return next(state for state in stable if floor < state.attempt_rate_rps < ceiling)
