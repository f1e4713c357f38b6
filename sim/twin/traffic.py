"""The analytic twin of a scenario: traffic equations, then every station as a multi-server queue.

Traffic is carried per key (read and write rates for each key), so caches (Che's approximation), shards
(the same key hash as the engine) and consistent hashing see the same skew as the simulation. Predictions are
computed leaves first, because a service's worker is held while its downstream calls run: its holding time is
its own service time plus the response of everything it calls (means and variances add).

A caller's workers also bound how many of its calls can be in flight at once: a component fed only by callers
whose workers number no more than its own servers (per station) can never make a request wait
(:func:`concurrency_bounds`), so the twin gives it no queue at all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.kinds.cache import CacheSpec
from sim.kinds.database import DatabaseSpec
from sim.kinds.load_balancer import LoadBalancerSpec
from sim.kinds.service import ServiceSpec
from sim.model.distributions import Distribution
from sim.model.keys import key_probabilities, mix_keys
from sim.scenario.scenario import Scenario, topological_order
from sim.theory import queues as theory
from sim.theory.cache import che_characteristic_time

MAX_KEYS_FOR_HASH_SPLIT = 2_000_000


@dataclass
class Traffic:
    """Read and write rates (requests per second) for every key."""

    read_rps: np.ndarray
    write_rps: np.ndarray

    @property
    def rate_rps(self) -> float:
        return float(self.read_rps.sum() + self.write_rps.sum())

    def __add__(self, other: Traffic) -> Traffic:
        return Traffic(self.read_rps + other.read_rps, self.write_rps + other.write_rps)


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

    INTERNAL = ("stations", "response_variance_ms2", "unloaded_response_ms", "station_load", "queue_free")

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


def entry_traffic(scenario: Scenario, total_rate_rps: float) -> dict[str, Traffic]:
    """The traffic each component receives straight from the workload at ``total_rate_rps``."""
    workload = scenario.workload
    probabilities = key_probabilities(workload.keys)
    zeros = np.zeros_like(probabilities)
    traffic: dict[str, Traffic] = {}
    for request_class in workload.classes:
        rate = probabilities * total_rate_rps * request_class.weight
        flow = Traffic(zeros, rate) if request_class.operation == "write" else Traffic(rate, zeros)
        entry = request_class.entry or workload.entry
        traffic[entry] = traffic[entry] + flow if entry in traffic else flow
    return traffic


def hit_ratio_for(spec: CacheSpec, traffic: Traffic) -> float:
    """Che's approximation on the read stream, with TTL and write invalidation.

    A read hits when the key's last event was a read (a write invalidates it) no longer ago than the
    characteristic time (or the TTL, if shorter). With Poisson events per key this gives, for key i,
    r_i / (r_i + w_i) * (1 - exp(-(r_i + w_i) * tau)); without writes it is Che's formula.
    """
    read_rate = float(traffic.read_rps.sum())
    if read_rate <= 0:
        return 0.0
    popularity = np.round(traffic.read_rps / read_rate, 15).tobytes()
    characteristic_s = _characteristic_requests(spec.capacity_keys, popularity) / read_rate
    if spec.ttl_s is not None:
        characteristic_s = min(characteristic_s, spec.ttl_s)
    events = traffic.read_rps + traffic.write_rps
    with np.errstate(invalid="ignore", divide="ignore"):
        fresh = -np.expm1(-events * characteristic_s) if np.isfinite(characteristic_s) else 1.0
        per_key = np.where(events > 0, traffic.read_rps / events * fresh, 0.0)
    return float((traffic.read_rps * per_key).sum() / read_rate)


@functools.lru_cache(maxsize=32)
def _characteristic_requests(capacity_keys: int, popularity: bytes) -> float:
    """Che's characteristic time in requests; it depends on popularity only, not on the rate, so a search over
    rates (the closed-workload fixed point, sweeps of the load) computes it once."""
    return che_characteristic_time(np.frombuffer(popularity, dtype=np.float64), capacity_keys)


def propagate(scenario: Scenario, total_rate_rps: float) -> tuple[dict[str, Traffic], dict[str, float]]:
    """Traffic equations: each component's incoming per-key traffic, and each cache's predicted hit ratio."""
    incoming = entry_traffic(scenario, total_rate_rps)
    hit_ratios: dict[str, float] = {}
    zero = Traffic(np.zeros(scenario.workload.keys.count), np.zeros(scenario.workload.keys.count))
    for name in reversed(topological_order(scenario)):
        spec = scenario.components[name]
        arriving = incoming.get(name, zero)
        if isinstance(spec, ServiceSpec):
            sends = [(target, arriving) for target in spec.calls]
        elif isinstance(spec, LoadBalancerSpec):
            sends = [(spec.target, arriving)]
        elif isinstance(spec, CacheSpec):
            hits = hit_ratios[name] = hit_ratio_for(spec, arriving)
            sends = [(spec.store, Traffic(arriving.read_rps * (1 - hits), arriving.write_rps))]
        else:
            sends = []
        for target, flow in sends:
            incoming[target] = incoming[target] + flow if target in incoming else flow
    return incoming, hit_ratios


def mixture(parts: list[tuple[float, Distribution]]) -> tuple[float, float]:
    """Mean (ms) and squared coefficient of variation of a rate-weighted mix of distributions."""
    total = sum(rate for rate, _distribution in parts)
    if total <= 0:
        return parts[0][1].mean_ms, parts[0][1].scv
    mean = sum(rate * dist.mean_ms for rate, dist in parts) / total
    second_moment = sum(rate * (dist.variance_ms2 + dist.mean_ms**2) for rate, dist in parts) / total
    return mean, max(second_moment / mean**2 - 1.0, 0.0)


def shard_rates(spec: DatabaseSpec, traffic: Traffic) -> list[tuple[float, float]]:
    """(read rps, write rps) reaching each shard, by the engine's key hash."""
    if spec.shards == 1:
        return [(float(traffic.read_rps.sum()), float(traffic.write_rps.sum()))]
    shard_of_key = (mix_keys(np.arange(traffic.read_rps.size)) % np.uint64(spec.shards)).astype(np.int64)
    reads = np.bincount(shard_of_key, weights=traffic.read_rps, minlength=spec.shards)
    writes = np.bincount(shard_of_key, weights=traffic.write_rps, minlength=spec.shards)
    return list(zip(reads.tolist(), writes.tolist(), strict=True))


def downstream_closure(scenario: Scenario) -> dict[str, set[str]]:
    """Every component each component waits on, directly or through others."""
    closure: dict[str, set[str]] = {}
    for name in topological_order(scenario):  # leaves first: a callee's closure is ready before its callers'
        targets = {target for _field, target in scenario.components[name].downstream()}
        closure[name] = targets.union(*(closure[target] for target in targets))
    return closure


UNBOUNDED = float("inf")


def concurrency_bounds(scenario: Scenario) -> dict[str, float]:
    """The most visits that can be inside each component at once (infinite for an open workload's entry).

    A service's workers are held while its calls run, and each worker has at most one call out at a time, so
    a service passes on at most ``instances x workers`` concurrent calls; a cache or a load balancer passes on
    what it receives. A closed workload's entry holds at most ``users`` requests.
    """
    workload = scenario.workload
    entries = {workload.entry, *(item.entry for item in workload.classes if item.entry)}
    from_clients = float(workload.users) if workload.type == "closed" and workload.users else UNBOUNDED
    bounds: dict[str, float] = {}
    for name in reversed(topological_order(scenario)):  # callers first: a callee's feeders are all done
        feeders = [caller for caller, spec in scenario.components.items()
                   if any(target == name for _field, target in spec.downstream())]
        bounds[name] = (from_clients if name in entries else 0.0) + sum(
            _passed_on(scenario.components[caller], bounds[caller]) for caller in feeders)
    return bounds


def _passed_on(spec: Any, inside: float) -> float:
    if isinstance(spec, ServiceSpec):
        return min(inside, float(spec.instances * spec.workers))
    return inside
