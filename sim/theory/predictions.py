"""What the analytic twin predicts for a station and for a component, and how station predictions combine.

A station is described by its arrival rate and its holding time (mean and variance, in ms); its response
carries a variance too, so a caller's holding time (its own work plus its calls) has a mean and a squared
coefficient of variation that both add up correctly. Each kind's ``predict`` builds its stations with
``station`` and aggregates them with ``combine``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sim.theory import queues as theory
from sim.theory.flows import Traffic


@dataclass
class ComponentTheory:
    """The twin's prediction for one component."""

    kind: str
    arrival_rate_rps: float
    mean_response_ms: float | None
    utilisation: float | None = None
    mean_wait_ms: float | None = None
    stable: bool = True
    model: str = ""
    notes: list[str] = field(default_factory=list)
    stations: dict[str, theory.QueuePrediction] = field(default_factory=dict)
    hit_ratio: float | None = None
    offered_utilisation: float | None = None
    response_variance_ms2: float = 0.0
    unloaded_response_ms: float = 0.0
    station_load: dict[str, tuple[float, float]] = field(default_factory=dict)
    queue_free: bool = False
    p99_response_ms: float | None = None
    response_distribution: Any = None  # a GridDistribution (sim.theory.forkjoin) when the kind's twin built one
    lag_messages: dict[str, float | None] | None = None  # a broker's: per consumer group, by Little's law
    drain_time_s: dict[str, float | None] | None = None  # a broker's: per consumer group, by the fluid model
    publish_limit_rps: float | None = None  # a blocking broker's: publishes admitted per second once it is full
    blocked_publish_ms: float | None = None  # a blocking broker's: publish latency then (Little's law)
    cold_start_ratio: float | None = None  # a function's: share of invocations that start an instance
    mean_warm_instances: float | None = None  # a function's: instances alive, busy or warm idle

    INTERNAL = ("stations", "response_variance_ms2", "unloaded_response_ms", "station_load", "queue_free",
                "response_distribution")

    @property
    def saturated(self) -> bool:
        """Whether one of its own stations is offered at least its capacity (with no waiting downstream).

        A queue-free component (its callers' workers bound its concurrency) never is: its callers saturate
        first and pass on only what they complete.
        """
        return not self.queue_free and any(offered >= 1.0 for _rate, offered in self.station_load.values())

    def to_dict(self) -> dict[str, Any]:
        data = {key: value for key, value in self.__dict__.items()
                if key not in self.INTERNAL and value is not None}
        if len(self.stations) > 1:
            data["stations"] = {name: {"utilisation": prediction.utilisation,
                                       "mean_response_ms": prediction.mean_response_ms}
                                for name, prediction in self.stations.items()}
        return data


@dataclass(frozen=True)
class StationPrediction:
    """One station's queue prediction with what the component needs to combine it."""

    queue: theory.QueuePrediction
    rate_rps: float
    servers: int
    offered: float
    response_variance_ms2: float


def combine(kind: str, traffic: Traffic, stations: dict[str, StationPrediction]) -> ComponentTheory:
    """Aggregate station predictions into one component prediction (rate-weighted means and variance)."""
    total_rate = sum(station.rate_rps for station in stations.values())
    total_servers = sum(station.servers for station in stations.values())
    utilisation = sum(item.queue.utilisation * item.servers for item in stations.values()) / total_servers
    stable = all(item.queue.stable for item in stations.values())
    response = wait = None
    variance = 0.0
    if stable and total_rate > 0:
        weights = {name: item.rate_rps / total_rate for name, item in stations.items()}
        response = sum(weights[name] * (item.queue.mean_response_ms or 0.0) for name, item in stations.items())
        wait = sum(weights[name] * (item.queue.mean_wait_ms or 0.0) for name, item in stations.items())
        second_moment = sum(weights[name] * (item.response_variance_ms2 + (item.queue.mean_response_ms or 0.0) ** 2)
                            for name, item in stations.items())
        variance = max(second_moment - response**2, 0.0)
    models = sorted({item.queue.model for item in stations.values()})
    offered = max(item.offered for item in stations.values())
    return ComponentTheory(kind, traffic.rate_rps, response, utilisation, wait, stable, ", ".join(models),
                           stations={name: item.queue for name, item in stations.items()},
                           offered_utilisation=offered, response_variance_ms2=variance,
                           station_load={name: (item.rate_rps, item.offered) for name, item in stations.items()})


def station(rate: float, holding: tuple[float, float], servers: int, queue: int, arrival_scv: float = 1.0,
             bounded: bool = False) -> StationPrediction:
    """One station's prediction from its arrival rate and holding time (mean ms, variance ms²).

    Non-Poisson arrivals (round robin hands each instance every n-th request: Erlang-n gaps, SCV 1/n) scale
    the wait by (arrival SCV + service SCV) / (1 + service SCV), the Allen-Cunneen GI/G/c approximation. A
    ``bounded`` station is one its callers' workers can never fill, so nothing waits there.
    """
    mean_ms, variance = holding
    scv = variance / mean_ms**2
    offered = rate * mean_ms / 1000.0 / servers
    if bounded:  # at or past 1, the callers saturate first and pass on only what they complete
        no_queue = theory.QueuePrediction("no queue: its callers' workers bound its concurrency", min(offered, 1.0),
                                          0.0, mean_ms, 0.0, rate * mean_ms / 1000.0, 0.0, offered < 1.0)
        return StationPrediction(no_queue, rate, servers, offered, variance)
    if offered >= 1.0:
        prediction = theory.station(rate, mean_ms, servers, scv, queue)
        return StationPrediction(theory.QueuePrediction(prediction.model, min(1.0, offered), None, None, None, None,
                                                        max(0.0, 1.0 - 1.0 / offered), False),
                                 rate, servers, offered, 0.0)
    prediction = theory.station(rate, mean_ms, servers, scv, queue)
    if arrival_scv != 1.0 and prediction.mean_wait_ms is not None:
        wait_ms = prediction.mean_wait_ms * (arrival_scv + scv) / (1.0 + scv)
        accepted = rate * (1.0 - prediction.blocking_probability)
        prediction = replace(prediction, model="GI/G/c (Allen-Cunneen)", mean_wait_ms=wait_ms,
                             mean_response_ms=wait_ms + mean_ms, mean_queue_length=accepted * wait_ms / 1000.0,
                             mean_in_system=accepted * (wait_ms + mean_ms) / 1000.0)
    waits = wait_variance(prediction.mean_wait_ms or 0.0, servers, rate * mean_ms / 1000.0)
    return StationPrediction(prediction, rate, servers, offered, variance + waits)


def wait_variance(mean_wait_ms: float, servers: int, offered_erlangs: float) -> float:
    """Variance of the wait, taken as M/M/c's: zero with probability 1 - C, else exponential (C: Erlang C).

    With the service's own variance added this gives M/M/1's exponential response exactly.
    """
    waiting = theory.erlang_c(servers, offered_erlangs)
    if mean_wait_ms <= 0.0 or waiting <= 0.0:
        return 0.0
    return 2.0 * mean_wait_ms**2 / waiting - mean_wait_ms**2
