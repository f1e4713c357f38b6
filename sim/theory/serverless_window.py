"""The window-maximum approximation of a serverless function's instances (``sim.theory.serverless``).

An instance is alive while it runs a request or has been idle less than the keep-alive ``k``, so the instances
alive at ``t`` are (nearly) the most requests that ran at once during ``[t - k, t]``; a request is cold when
the requests running as it arrives are already that many, i.e. when the busy count is at its maximum over the
last ``k``. The busy count is taken as the M/M/∞ (or M/M/c/c under a concurrency limit ``c``) birth-death
process with the mean holding time, cold starts included (a fixed point). It is reversible, so "no higher in
the past ``k``" has the law of "no higher in the next ``k``": from level ``n``, the chance of staying at or
below ``n`` for ``k``, ``exp(Q_n k) 1`` with ``Q_n`` the generator killed on leaving ``{0..n}``
(symmetrised by detailed balance, its exponential from a tridiagonal eigendecomposition). Then

    P(cold) = sum_{n >= p} pi(n) P_n(max <= n over k) / (1 - pi(c)),   E[instances] = sum_m P(max > m)

with ``pi`` the (truncated) Poisson law of the busy count and ``p`` the provisioned instances. At one instance
(``r E[B] -> 0``) this is ``exp(-r k) (1 - r E[B])``, the closed form's first order.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.linalg import eigh_tridiagonal
from scipy.special import gammaln

MAX_STATES = 200  # above this many busy counts (about 50 running at once) the overflow approximation takes over
MAX_WORK = 2e6  # nor when the eigensolves would cost more than this (about a second)
SPECTRUM_KEPT = 40.0  # eigenvalues more than this over the window below the slowest decay are dropped
RELATIVE_TOLERANCE = 1e-4  # of the cold share, between fixed-point rounds
FIXED_POINT_ROUNDS = 30


def busy_levels(offered_erlangs: float, limit: int) -> int:
    """The highest busy count worth a state: the limit, or far enough into the Poisson tail."""
    return min(limit, int(offered_erlangs + 12.0 * math.sqrt(offered_erlangs) + 15.0))


def lowest_level(offered_erlangs: float) -> int:
    """The lowest busy count worth a state: below it the Poisson law has no mass to speak of (the chain is
    reflected there, which changes nothing measurable)."""
    return max(0, int(offered_erlangs - 12.0 * math.sqrt(offered_erlangs) - 15.0))


def band_states(offered_erlangs: float, limit: int) -> int:
    """How many busy counts the computation keeps."""
    return busy_levels(offered_erlangs, limit) - lowest_level(offered_erlangs) + 1


def affordable(offered_erlangs: float, holding_ms: float, keep_alive_s: float, limit: int) -> bool:
    """Whether the computation stays within ``MAX_STATES`` busy counts and ``MAX_WORK`` (one eigensolve per
    level, each of the band's size times the eigenvalues kept, about ``SPECTRUM_KEPT`` / (service rate x window)
    as the M/M/∞ spectrum is spaced by the service rate)."""
    states = band_states(offered_erlangs, limit)
    kept = min(states, SPECTRUM_KEPT * holding_ms / 1000.0 / keep_alive_s + 1.0)
    return states <= MAX_STATES and states * states * kept <= MAX_WORK


def _stay_at_or_below(level: int, rate_rps: float, service_rps: float, window_s: float, limit: int,
                      floor: int = 0) -> np.ndarray:
    """From each busy count floor..level, the chance of never exceeding ``level`` for ``window_s``:
    ``exp(Q k) 1`` with ``Q`` the chain on ``floor..level`` (reflected at ``floor``, killed above ``level``).

    The birth-death generator is symmetrised by the square roots of its Poisson weights (detailed balance), so
    its exponential comes from the eigenvalues of a symmetric tridiagonal matrix (same as ``expm`` to 1e-10),
    keeping only those that have not decayed by ``exp(-SPECTRUM_KEPT)`` over the window.
    """
    counts = np.arange(floor, level + 1)
    births = np.where(counts < limit, rate_rps, 0.0)  # from ``level`` a birth leaves the set: killed
    deaths = counts * service_rps
    deaths[0] = 0.0  # reflected at the floor
    diagonal, off_diagonal = -(deaths + births), np.sqrt(rate_rps * counts[1:] * service_rps)
    if counts.size > 1:  # only the eigenvalues within e^-40 of the slowest decay matter after ``window_s``
        slowest = eigh_tridiagonal(diagonal, off_diagonal, eigvals_only=True, select="i",
                                   select_range=(counts.size - 1, counts.size - 1))[0]
        values, vectors = eigh_tridiagonal(diagonal, off_diagonal, select="v",
                                           select_range=(slowest - SPECTRUM_KEPT / window_s, slowest + 1.0))
    else:
        values, vectors = eigh_tridiagonal(diagonal, off_diagonal)
    half_log_weight = 0.5 * (counts * math.log(rate_rps / service_rps) - gammaln(counts + 1))
    root = np.exp(half_log_weight - half_log_weight.max())
    staying = (vectors * np.exp(values * window_s)) @ (vectors.T @ root) / root
    return np.asarray(np.clip(staying, 0.0, 1.0))


def window_maximum(rate_rps: float, holding_ms: float, keep_alive_s: float, limit: int,
                   provisioned: int = 0) -> tuple[float, float, float]:
    """(cold-start share of admitted requests, mean instances alive, throttled share) at one holding time."""
    service_rps = 1000.0 / holding_ms
    offered = rate_rps / service_rps
    top, floor = busy_levels(offered, limit), lowest_level(offered)
    counts = np.arange(floor, top + 1)
    law = stats.poisson.pmf(counts, offered)
    law = law / law.sum() if top == limit else law
    throttled = float(law[-1]) if top == limit else 0.0
    cold, instances = 0.0, float(max(floor, provisioned))  # below the floor the maximum is always higher
    for level in range(max(floor, provisioned), top + 1):
        staying = _stay_at_or_below(level, rate_rps, service_rps, keep_alive_s, limit, floor)
        instances += 1.0 - float(law[:level - floor + 1] @ staying)
        if level < limit:
            cold += float(law[level - floor] * staying[-1])
    return cold / (1.0 - throttled), instances, throttled


def window_pool(rate_rps: float, execution_ms: float, cold_start_ms: float, keep_alive_s: float, limit: int,
                provisioned: int = 0, first_guess: float = 0.0) -> tuple[float, float, float, float]:
    """(cold share, mean instances, throttled share, mean holding ms), the holding including cold starts;
    ``first_guess`` of the cold share starts the fixed point."""
    cold_share, instances, throttled = first_guess, float(provisioned), 0.0
    for _round in range(FIXED_POINT_ROUNDS):
        updated, instances, throttled = window_maximum(rate_rps, execution_ms + cold_share * cold_start_ms,
                                                       keep_alive_s, limit, provisioned)
        converged = abs(updated - cold_share) <= RELATIVE_TOLERANCE * updated + 1e-12
        cold_share = updated
        if converged:
            break
    return cold_share, instances, throttled, execution_ms + cold_share * cold_start_ms
