"""Serverless functions: cold starts under a keep-alive, the instances kept warm, and what a function costs.

A function runs each concurrent invocation on its own instance. An instance that finishes stays warm for
``keep_alive_s`` and is then reclaimed; a request that finds no warm idle instance starts one (a cold start).

**One instance, exactly.** With Poisson arrivals at rate ``r`` and requests that never overlap, a request is
cold when the gap since the previous arrival, exponential of rate ``r``, exceeds the previous request's busy
time ``B`` plus the keep-alive ``k``: ``P(cold) = E[exp(-r (k + B))] = exp(-r k) L_B(r)`` with ``L_B`` the
Laplace transform of ``B``. ``B`` is the execution ``E`` after a warm start and ``C + E`` after a cold one, so
with ``a = exp(-r k) L_E(r)``: ``p = a (1 - p + p L_C(r))``, that is ``p = a / (1 + a (1 - L_C(r)))``. With
zero-length requests this is ``exp(-r k)``; it neglects arrivals during a busy time (probability ~ ``r E[B]``).

**Many instances, approximately** (``pool``): the window-maximum approximation of ``serverless_window`` (the
instances alive are the most requests running at once over the last ``k``; a request is cold when the busy
count is at that maximum), held by the tests to the simulation within 5% at two busy instances, 8-20% at six and
3% at forty.
When the busy count has too many likely levels for that computation, the cheaper ordered-entry approximation
(``overflow_pool``): the instances as the ordered servers of an M/G/∞ system (each
request takes the lowest-numbered free one; an instance only sees the requests that found all lower ones busy,
the overflow of an M/G/i/i loss system, rate ``r B(i, a)`` by Erlang B, which holds for any holding-time
distribution). Taking that overflow as Poisson, instance ``i`` is cold at a start when its idle time, roughly
exponential of rate ``lambda_i``, exceeds ``k``: ``exp(-lambda_i k)``. Summed over instances, weighted by the
starts each receives (``lambda_i - lambda_{i+1}``), this gives the cold-start share; the holding time
includes the cold starts, so it is a fixed point. It is exact at one instance to first order in ``r E[B]``, but
undercounts cold starts when instances share the load (the overflow is burstier than Poisson). The concurrency
limit ``c`` throttles ``B(c, a)`` of the requests (Erlang loss, exact by insensitivity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.theory.queues import erlang_b

GB_PER_MB = 1.0 / 1024.0  # AWS Lambda bills memory in GB of 1,024 MB
FIXED_POINT_ROUNDS = 50
NEGLIGIBLE_OVERFLOW = 1e-12


def single_instance_cold_share(rate_rps: float, keep_alive_s: float, execution_laplace: float,
                               cold_start_laplace: float) -> float:
    """The cold-start share of one instance fed Poisson requests that never overlap (module docstring).

    Args:
        rate_rps: The Poisson arrival rate ``r``.
        keep_alive_s: How long an idle instance stays warm, ``k``.
        execution_laplace: ``E[exp(-r E)]`` of the execution time in seconds (``exp(-r e)`` when fixed).
        cold_start_laplace: ``E[exp(-r C)]`` of the cold start's extra time (``exp(-r c)`` when fixed).
    """
    warm_after = math.exp(-rate_rps * keep_alive_s) * execution_laplace
    return warm_after / (1.0 + warm_after * (1.0 - cold_start_laplace))


@dataclass(frozen=True)
class PoolPrediction:
    """The ordered-entry approximation of a function's instances (module docstring)."""

    cold_share: float  # of the admitted requests
    throttled_share: float  # of all requests, refused above the concurrency limit
    mean_instances: float  # warm instances, busy or idle, on average
    mean_busy: float  # instances running a request, on average
    holding_ms: float  # a request's mean time on its instance, cold starts included
    model: str = "ordered entry, Poisson overflow"


def overflow_rates(rate_rps: float, offered_erlangs: float, limit: int) -> list[float]:
    """``lambda_i = r B(i, a)``: the requests per second that find instances 0..i-1 busy, for i = 0..limit,
    stopping early once they are a negligible share of ``rate_rps``."""
    rates, blocking = [rate_rps], 1.0
    for servers in range(1, limit + 1):
        blocking = offered_erlangs * blocking / (servers + offered_erlangs * blocking)
        rates.append(rate_rps * blocking)
        if blocking < NEGLIGIBLE_OVERFLOW:
            break
    return rates


def _cold_rps(rates: list[float], keep_alive_s: float, provisioned: int) -> float:
    """Cold starts per second: instance i starts ``lambda_i - lambda_{i+1}`` requests, each cold when its idle
    time (exponential of rate ``lambda_i``) outlasted the keep-alive; provisioned instances never are."""
    return sum((rates[index] - rates[index + 1]) * math.exp(-rates[index] * keep_alive_s)
               for index in range(provisioned, len(rates) - 1))


def overflow_pool(rate_rps: float, execution_ms: float, cold_start_ms: float, keep_alive_s: float, limit: int,
                  provisioned: int = 0) -> PoolPrediction:
    """The ordered-entry approximation with Poisson overflow (module docstring): cheap at any load, but it
    undercounts cold starts when several instances share the load (the overflow comes in bursts)."""
    if rate_rps <= 0:
        return PoolPrediction(0.0, 0.0, float(provisioned), 0.0, execution_ms)
    cold_share = 0.0
    for _round in range(FIXED_POINT_ROUNDS):
        offered = rate_rps * (execution_ms + cold_share * cold_start_ms) / 1000.0
        admitted_rps = rate_rps * (1.0 - erlang_b(limit, offered))
        updated = _cold_rps(overflow_rates(rate_rps, offered, limit), keep_alive_s, provisioned) / admitted_rps
        converged = abs(updated - cold_share) < 1e-12
        cold_share = updated
        if converged:
            break
    holding_ms = execution_ms + cold_share * cold_start_ms
    offered = rate_rps * holding_ms / 1000.0
    rates = overflow_rates(rate_rps, offered, limit)
    throttled = erlang_b(limit, offered)
    instances = float(provisioned)
    for index in range(provisioned, len(rates) - 1):
        starts = rates[index] - rates[index + 1]
        idle_alive_s = (1.0 - math.exp(-rates[index] * keep_alive_s)) / rates[index]
        instances += min(1.0, starts * (holding_ms / 1000.0 + idle_alive_s))
    return PoolPrediction(cold_share, throttled, instances, offered * (1.0 - throttled), holding_ms)


def billed_ms(duration_ms: float) -> float:
    """A duration as billed: rounded up to the next whole millisecond."""
    return float(math.ceil(duration_ms - 1e-9))


def invocation_cost_usd(billed_duration_ms: float, memory_mb: float, price_per_million_requests: float,
                        price_per_gb_s: float) -> float:
    """One invocation's price: the request fee plus memory x billed duration in GB-seconds."""
    gb_s = memory_mb * GB_PER_MB * billed_duration_ms / 1000.0
    return price_per_million_requests / 1e6 + gb_s * price_per_gb_s


def crossover_rate_rps(instance_price_per_hour: float, billed_duration_ms: float, memory_mb: float,
                       price_per_million_requests: float, price_per_gb_s: float) -> float:
    """The steady request rate above which an always-on instance at ``instance_price_per_hour`` is cheaper
    than the function: where the function's cost per hour, rate x 3600 x per-invocation cost, meets it."""
    per_request = invocation_cost_usd(billed_duration_ms, memory_mb, price_per_million_requests, price_per_gb_s)
    return instance_price_per_hour / 3600.0 / per_request


def pool(rate_rps: float, execution_ms: float, cold_start_ms: float, keep_alive_s: float, limit: int,
         provisioned: int = 0) -> PoolPrediction:
    """Cold-start share, throttled share and warm instances of a function at Poisson rate ``rate_rps``: the
    window-maximum approximation (``sim.theory.serverless_window``) while the busy count has at most
    ``MAX_STATES`` likely levels (about 50 requests running at once) and its work is affordable (a keep-alive
    short against the execution keeps many eigenvalues), else the cheaper ordered-entry overflow approximation,
    which undercounts cold starts there 2-4 times (``tests/test_function.py``)."""
    from sim.theory.serverless_window import affordable, window_pool

    if rate_rps <= 0:
        return PoolPrediction(0.0, 0.0, float(provisioned), 0.0, execution_ms)
    overflow = overflow_pool(rate_rps, execution_ms, cold_start_ms, keep_alive_s, limit, provisioned)
    holding_ms = execution_ms + overflow.cold_share * cold_start_ms
    if not affordable(rate_rps * holding_ms / 1000.0, holding_ms, keep_alive_s, limit):
        return overflow
    cold_share, instances, throttled, holding_ms = window_pool(rate_rps, execution_ms, cold_start_ms, keep_alive_s,
                                                               limit, provisioned, overflow.cold_share)
    busy = rate_rps * holding_ms / 1000.0 * (1.0 - throttled)
    return PoolPrediction(cold_share, throttled, max(instances, float(provisioned)), busy, holding_ms,
                          "window maximum")
