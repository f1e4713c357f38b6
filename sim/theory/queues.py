"""Closed-form queueing and caching predictions, the ground truth the simulator is checked against.

Times are milliseconds and rates are requests per second. A server whose mean service time is
``mean_service_ms`` completes ``1000 / mean_service_ms`` requests per second, so a station's offered
load in erlangs is ``arrival_rate_rps * mean_service_ms / 1000``. ``service_scv`` is the squared
coefficient of variation of the service time (1 exponential, 0 deterministic).

Example:
    >>> round(mm1(arrival_rate_rps=8, mean_service_ms=100).mean_response_ms, 6)
    500.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MS_PER_SECOND = 1000.0


@dataclass(frozen=True)
class QueuePrediction:
    """Steady-state prediction for one station.

    Attributes:
        model: Formula used, e.g. ``"M/M/c"`` or ``"M/G/c/c (Erlang B)"``.
        utilisation: Mean busy fraction per server (carried load, never above 1).
        mean_wait_ms: Mean time queued before service starts; None when unstable.
        mean_response_ms: Mean wait plus service; None when unstable.
        mean_queue_length: Mean number waiting, excluding those in service; None when unstable.
        mean_in_system: Mean number waiting or in service; None when unstable.
        blocking_probability: Fraction of arrivals turned away; 0 unless the queue is finite.
        stable: False when the queue grows without bound (or, for general service, saturates).
    """

    model: str
    utilisation: float
    mean_wait_ms: float | None
    mean_response_ms: float | None
    mean_queue_length: float | None
    mean_in_system: float | None
    blocking_probability: float
    stable: bool


def _validate_station(
    arrival_rate_rps: float, mean_service_ms: float, servers: int = 1, service_scv: float = 1.0
) -> None:
    """Raise ValueError naming the first invalid station parameter."""
    if not mean_service_ms > 0:
        raise ValueError(f"mean_service_ms must be positive, got {mean_service_ms}")
    if servers < 1:
        raise ValueError(f"servers must be at least 1, got {servers}")
    if not arrival_rate_rps >= 0:
        raise ValueError(f"arrival_rate_rps must be non-negative, got {arrival_rate_rps}")
    if not service_scv >= 0:
        raise ValueError(f"service_scv must be non-negative, got {service_scv}")


def _validate_quantile(quantile: float) -> None:
    if not 0 <= quantile < 1:
        raise ValueError(f"quantile must be in [0, 1), got {quantile}")


def _offered_load_erlangs(arrival_rate_rps: float, mean_service_ms: float) -> float:
    return arrival_rate_rps * mean_service_ms / MS_PER_SECOND


def _unstable(model: str, offered_utilisation: float) -> QueuePrediction:
    """Prediction for an overloaded infinite queue: servers saturate, the means diverge."""
    return QueuePrediction(model, min(1.0, offered_utilisation), None, None, None, None, 0.0, False)


def _stable_prediction(
    model: str,
    accepted_rps: float,
    mean_service_ms: float,
    servers: int,
    mean_wait_ms: float,
    blocking: float,
) -> QueuePrediction:
    """Fill in every mean from the mean wait of accepted requests, by Little's law."""
    mean_queue_length = littles_law_in_system(accepted_rps, mean_wait_ms)
    busy_servers = littles_law_in_system(accepted_rps, mean_service_ms)
    return QueuePrediction(
        model=model,
        utilisation=busy_servers / servers,
        mean_wait_ms=float(mean_wait_ms),
        mean_response_ms=float(mean_wait_ms + mean_service_ms),
        mean_queue_length=mean_queue_length,
        mean_in_system=mean_queue_length + busy_servers,
        blocking_probability=blocking,
        stable=True,
    )


def littles_law_in_system(arrival_rate_rps: float, mean_time_ms: float) -> float:
    """Mean number of requests present, L = lambda * W, with W given in milliseconds."""
    return arrival_rate_rps * mean_time_ms / MS_PER_SECOND


def erlang_b(servers: int, offered_load_erlangs: float) -> float:
    """Probability that an arrival to an M/G/c/c loss system finds every server busy (Erlang B).

    The recursion B(k) = a B(k-1) / (k + a B(k-1)) never forms a^c or c!, so it stays finite
    for thousands of servers.
    """
    if servers < 1:
        raise ValueError(f"servers must be at least 1, got {servers}")
    if not offered_load_erlangs >= 0:
        raise ValueError(f"offered_load_erlangs must be non-negative, got {offered_load_erlangs}")
    blocking = 1.0
    for server_count in range(1, servers + 1):
        blocking = offered_load_erlangs * blocking / (server_count + offered_load_erlangs * blocking)
    return blocking


def erlang_c(servers: int, offered_load_erlangs: float) -> float:
    """Probability that an arrival to an M/M/c queue has to wait (Erlang C); 1 when overloaded."""
    if offered_load_erlangs >= servers:
        return 1.0
    blocking = erlang_b(servers, offered_load_erlangs)
    return servers * blocking / (servers - offered_load_erlangs * (1.0 - blocking))


def _allen_cunneen(
    model: str, arrival_rate_rps: float, mean_service_ms: float, servers: int, service_scv: float
) -> QueuePrediction:
    """Infinite-queue prediction with wait = Erlang-C wait * (1 + scv) / 2.

    Exact for M/M/c (scv 1) and for M/G/1 (Erlang C of one server is rho, giving Pollaczek-Khinchine).
    """
    _validate_station(arrival_rate_rps, mean_service_ms, servers, service_scv)
    offered_load = _offered_load_erlangs(arrival_rate_rps, mean_service_ms)
    if offered_load >= servers:
        return _unstable(model, offered_load / servers)
    exponential_wait_ms = erlang_c(servers, offered_load) * mean_service_ms / (servers - offered_load)
    mean_wait_ms = exponential_wait_ms * (1.0 + service_scv) / 2.0
    return _stable_prediction(model, arrival_rate_rps, mean_service_ms, servers, mean_wait_ms, 0.0)


def mm1(arrival_rate_rps: float, mean_service_ms: float) -> QueuePrediction:
    """M/M/1: Poisson arrivals, one exponential server, unlimited queue."""
    return _allen_cunneen("M/M/1", arrival_rate_rps, mean_service_ms, 1, 1.0)


def mmc(arrival_rate_rps: float, mean_service_ms: float, servers: int) -> QueuePrediction:
    """M/M/c: Poisson arrivals, c exponential servers sharing one unlimited queue (exact)."""
    return _allen_cunneen("M/M/c", arrival_rate_rps, mean_service_ms, servers, 1.0)


def mg1(arrival_rate_rps: float, mean_service_ms: float, service_scv: float) -> QueuePrediction:
    """M/G/1 by the Pollaczek-Khinchine formula, exact for any service distribution."""
    return _allen_cunneen("M/G/1 (Pollaczek-Khinchine)", arrival_rate_rps, mean_service_ms, 1, service_scv)


def md1(arrival_rate_rps: float, mean_service_ms: float) -> QueuePrediction:
    """M/D/1: constant service time; the mean wait is half that of M/M/1."""
    return _allen_cunneen("M/D/1", arrival_rate_rps, mean_service_ms, 1, 0.0)


def _infinite_queue_model_name(servers: int, service_scv: float) -> str:
    if servers == 1:
        return {1.0: "M/M/1", 0.0: "M/D/1"}.get(service_scv, "M/G/1 (Pollaczek-Khinchine)")
    return "M/M/c" if service_scv == 1.0 else "M/G/c (Allen-Cunneen)"


def mgc(arrival_rate_rps: float, mean_service_ms: float, servers: int, service_scv: float) -> QueuePrediction:
    """M/G/c by Allen-Cunneen, named after the exact model it reduces to.

    Exact when servers == 1 (Pollaczek-Khinchine) or service_scv == 1 (M/M/c).
    """
    model = _infinite_queue_model_name(servers, service_scv)
    return _allen_cunneen(model, arrival_rate_rps, mean_service_ms, servers, service_scv)


def erlang_loss(arrival_rate_rps: float, mean_service_ms: float, servers: int) -> QueuePrediction:
    """M/G/c/c loss system: no queue, arrivals finding every server busy are rejected.

    Erlang B is insensitive to the service distribution, so this is exact for any service time.
    """
    _validate_station(arrival_rate_rps, mean_service_ms, servers)
    offered_load = _offered_load_erlangs(arrival_rate_rps, mean_service_ms)
    blocking = erlang_b(servers, offered_load)
    accepted_rps = arrival_rate_rps * (1.0 - blocking)
    return _stable_prediction("M/G/c/c (Erlang B)", accepted_rps, mean_service_ms, servers, 0.0, blocking)


def _mmck_state_probabilities(offered_load: float, servers: int, system_capacity: int) -> np.ndarray:
    """Stationary distribution of the number present in M/M/c/K.

    Built in log space because (a/c)^K overflows for long queues in overload.
    """
    probabilities = np.zeros(system_capacity + 1)
    if offered_load == 0:
        probabilities[0] = 1.0
        return probabilities
    counts = np.arange(1, system_capacity + 1)
    log_ratios = math.log(offered_load) - np.log(np.minimum(counts, servers))
    log_weights = np.concatenate(([0.0], np.cumsum(log_ratios)))
    weights = np.exp(log_weights - log_weights.max())
    return weights / weights.sum()


def mmck(
    arrival_rate_rps: float, mean_service_ms: float, servers: int, system_capacity: int
) -> QueuePrediction:
    """M/M/c/K: exact birth-death solution with room for K = servers + queue slots requests.

    Valid at any load, including overload, since the finite buffer bounds the queue. Means come
    from Little's law applied to accepted (not offered) arrivals.

    Args:
        arrival_rate_rps: Poisson arrival rate, before blocking.
        mean_service_ms: Mean exponential service time.
        servers: Number of parallel servers.
        system_capacity: K, the most requests present at once (in service plus queued).

    Returns:
        The prediction, with blocking_probability = P(K present).
    """
    _validate_station(arrival_rate_rps, mean_service_ms, servers)
    if system_capacity < servers:
        raise ValueError(f"system_capacity ({system_capacity}) must be at least servers ({servers})")
    offered_load = _offered_load_erlangs(arrival_rate_rps, mean_service_ms)
    probabilities = _mmck_state_probabilities(offered_load, servers, system_capacity)
    queued = np.maximum(np.arange(system_capacity + 1) - servers, 0)
    mean_queue_length = float(queued @ probabilities)
    blocking = float(probabilities[-1])
    accepted_rps = arrival_rate_rps * (1.0 - blocking)
    mean_wait_ms = mean_queue_length / accepted_rps * MS_PER_SECOND if accepted_rps > 0 else 0.0
    return _stable_prediction("M/M/c/K", accepted_rps, mean_service_ms, servers, mean_wait_ms, blocking)


def station(
    arrival_rate_rps: float,
    mean_service_ms: float,
    servers: int,
    service_scv: float = 1.0,
    queue_capacity: int | None = None,
) -> QueuePrediction:
    """Predict one station, choosing the model that fits its queue and service distribution.

    Args:
        arrival_rate_rps: Poisson arrival rate.
        mean_service_ms: Mean service time per request.
        servers: Number of parallel servers.
        service_scv: Squared coefficient of variation of service time (1 exponential).
        queue_capacity: Waiting slots beyond the servers; None for unlimited, 0 for a pure loss system.

    Returns:
        Erlang loss for no queue, exact M/M/c/K for a finite queue with exponential service, and
        M/G/c otherwise. A finite queue with general service has no closed form: below saturation
        the infinite-queue answer is used (blocking taken as 0); at or above it the servers are
        saturated, the excess 1 - 1/rho is shed, and the means are None.
    """
    _validate_station(arrival_rate_rps, mean_service_ms, servers, service_scv)
    if queue_capacity is None:
        return mgc(arrival_rate_rps, mean_service_ms, servers, service_scv)
    if queue_capacity < 0:
        raise ValueError(f"queue_capacity must be non-negative or None, got {queue_capacity}")
    if queue_capacity == 0:
        return erlang_loss(arrival_rate_rps, mean_service_ms, servers)
    if service_scv == 1.0:
        return mmck(arrival_rate_rps, mean_service_ms, servers, servers + queue_capacity)
    offered_utilisation = _offered_load_erlangs(arrival_rate_rps, mean_service_ms) / servers
    if offered_utilisation < 1.0:
        return mgc(arrival_rate_rps, mean_service_ms, servers, service_scv)
    return QueuePrediction(
        "M/G/c/K (saturated)", 1.0, None, None, None, None, 1.0 - 1.0 / offered_utilisation, False
    )


def mm1_response_percentile(arrival_rate_rps: float, mean_service_ms: float, quantile: float) -> float:
    """Response-time quantile of M/M/1 in ms: the response is exponential with rate mu - lambda.

    Returns math.inf when the queue is unstable.
    """
    _validate_station(arrival_rate_rps, mean_service_ms)
    _validate_quantile(quantile)
    utilisation = _offered_load_erlangs(arrival_rate_rps, mean_service_ms)
    if utilisation >= 1.0:
        return math.inf
    return -math.log1p(-quantile) * mean_service_ms / (1.0 - utilisation)


def mmc_wait_percentile(
    arrival_rate_rps: float, mean_service_ms: float, servers: int, quantile: float
) -> float:
    """Waiting-time quantile of M/M/c in ms, from P(W > t) = C exp(-(c mu - lambda) t).

    Returns 0 when the quantile falls inside the atom of requests that never wait, and math.inf
    when the queue is unstable.
    """
    _validate_station(arrival_rate_rps, mean_service_ms, servers)
    _validate_quantile(quantile)
    offered_load = _offered_load_erlangs(arrival_rate_rps, mean_service_ms)
    if offered_load >= servers:
        return math.inf
    wait_probability = erlang_c(servers, offered_load)
    if quantile <= 1.0 - wait_probability:
        return 0.0
    return mean_service_ms / (servers - offered_load) * math.log(wait_probability / (1.0 - quantile))
