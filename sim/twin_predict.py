"""Per-component predictions of the analytic twin (see ``sim.twin`` for the traffic equations)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from sim.components.policies import ConsistentHash
from sim.dists import from_spec
from sim.profiles import mean_rate_rps
from sim.scenario import Scenario, topological_order
from sim.specs import CacheSpec, DatabaseSpec, LoadBalancerSpec, ServiceSpec
from sim.trace import workload_trace
from sim.twin import (
    MAX_KEYS_FOR_HASH_SPLIT,
    ComponentTheory,
    Traffic,
    concurrency_bounds,
    downstream_closure,
    mix_keys,
    mixture,
    propagate,
    shard_rates,
)
from sim.twin_queues import StationPrediction, combine, moments, station

CLOSED_RATE_TOLERANCE = 1e-4  # relative width at which the closed-workload rate search stops
SATURATION_TOLERANCE = 1e-9  # relative width at which the saturation-rate search stops
MAX_SEARCH_RATE_RPS = 1e12


def predict(scenario: Scenario, total_rate_rps: float | None = None) -> dict[str, ComponentTheory]:
    """The twin's prediction for every component at the workload's mean arrival rate, computed leaves first.

    Past any station's capacity there is no steady state: that component, every caller that waits on it and
    every component its traffic flows on to are predicted unstable, with no latency (see
    :func:`_spread_saturation`).
    """
    if total_rate_rps is None:
        total_rate_rps = arrival_rate_rps(scenario)
    incoming, hit_ratios = propagate(scenario, total_rate_rps)
    bounds = concurrency_bounds(scenario)
    predictions: dict[str, ComponentTheory] = {}
    for name in topological_order(scenario):
        spec = scenario.components[name]
        count = scenario.workload.keys.count
        traffic = incoming.get(name, Traffic(np.zeros(count), np.zeros(count)))
        if isinstance(spec, ServiceSpec):
            predictions[name] = _service(scenario, name, spec, traffic, predictions, bounds[name])
        elif isinstance(spec, LoadBalancerSpec):
            predictions[name] = _balancer(spec, traffic, predictions[spec.target])
        elif isinstance(spec, CacheSpec):
            predictions[name] = _cache(spec, traffic, hit_ratios[name], predictions[spec.store])
        elif isinstance(spec, DatabaseSpec):
            predictions[name] = _database(name, spec, traffic, bounds[name])
    return _spread_saturation(scenario, predictions)


def _spread_saturation(scenario: Scenario, predictions: dict[str, ComponentTheory]) -> dict[str, ComponentTheory]:
    """Mark unstable, with no latency, every component on a path through a saturated station.

    A caller holds its workers while it waits on a saturated callee, so its holding time has no bound; a
    callee behind a saturated station receives that station's throughput, not the offered rate, so the
    traffic equations no longer describe it.
    """
    saturated = [name for name, prediction in predictions.items() if prediction.saturated]
    if not saturated:
        return predictions
    waits_on = downstream_closure(scenario)
    for name, prediction in predictions.items():
        upstream_of = [cause for cause in saturated if cause in waits_on[name]]
        behind = [cause for cause in saturated if name in waits_on[cause]]
        if name not in saturated and not upstream_of and not behind:
            continue
        if upstream_of:
            prediction.notes.append(f"waits on {', '.join(upstream_of)}, which cannot keep up, so its own "
                                    "queue grows too")
        if behind:
            prediction.notes.append(f"its traffic passes through {', '.join(behind)}, which cannot keep up: "
                                    "it receives that throughput, not the offered rate")
        _mark_unstable(prediction, keep_utilisation=name in saturated)
    return predictions


def _mark_unstable(prediction: ComponentTheory, keep_utilisation: bool) -> None:
    prediction.stable = False
    prediction.mean_response_ms = prediction.mean_wait_ms = None
    if not keep_utilisation:
        prediction.utilisation = None  # set by a neighbour's overload, which the twin does not model
    prediction.stations = {name: replace(queue, mean_wait_ms=None, mean_response_ms=None, mean_queue_length=None,
                                         mean_in_system=None, stable=False)
                           for name, queue in prediction.stations.items()}


def _instance_shares(scenario: Scenario, name: str, spec: ServiceSpec,
                     traffic: Traffic) -> tuple[np.ndarray, float, str]:
    """Fraction of the service's traffic each instance gets, the arrival SCV there, and a note on the model."""
    equal = np.full(spec.instances, 1.0 / spec.instances)
    balancers = [other for other in scenario.components.values()
                 if isinstance(other, LoadBalancerSpec) and other.target == name]
    policies = {balancer.policy for balancer in balancers}
    if spec.instances == 1:
        return equal, 1.0, ""
    if policies == {"round_robin"}:
        return equal, 1.0 / spec.instances, "round robin: each instance sees every n-th request (Erlang-n gaps)"
    if "consistent_hash" in policies and traffic.read_rps.size <= MAX_KEYS_FOR_HASH_SPLIT:
        balancer = next(item for item in balancers if item.policy == "consistent_hash")
        return _hash_shares(spec, balancer.virtual_nodes, traffic), 1.0, "split by the consistent-hash ring"
    note = "instances modelled as a random (Poisson) split"
    if policies & {"least_connections", "power_of_two"}:
        note += "; the balancer does better than random, so waits are overestimated"
    return equal, 1.0, note


def _hash_shares(spec: ServiceSpec, virtual_nodes: int, traffic: Traffic) -> np.ndarray:
    ring = ConsistentHash(spec.instances, virtual_nodes)
    positions = np.searchsorted(np.array(ring.ring_hashes, dtype=np.uint64),
                                mix_keys(np.arange(traffic.read_rps.size)), side="left")
    owners = np.array(ring.ring_instances)[positions % len(ring.ring_instances)]
    per_key = traffic.read_rps + traffic.write_rps
    shares = np.bincount(owners, weights=per_key, minlength=spec.instances)
    return shares / max(per_key.sum(), 1e-300)


def _service(scenario: Scenario, name: str, spec: ServiceSpec, traffic: Traffic,
             done: dict[str, ComponentTheory], concurrency: float) -> ComponentTheory:
    own = from_spec(spec.service_time)
    downstream = [done[target] for target in spec.calls]
    # a callee with no steady state has no mean response: the unloaded one bounds the holding time from below
    holding_ms = own.mean_ms + sum(item.mean_response_ms if item.mean_response_ms is not None
                                   else item.unloaded_response_ms for item in downstream)
    holding = (holding_ms, own.variance_ms2 + sum(item.response_variance_ms2 for item in downstream))
    shares, arrival_scv, note = _instance_shares(scenario, name, spec, traffic)
    stations = {}
    for index, share in enumerate(shares.tolist()):
        station_name = f"{name}/instance-{index}" if spec.instances > 1 else name
        stations[station_name] = station(traffic.rate_rps * share, holding, spec.workers, spec.queue_capacity,
                                          arrival_scv, bounded=concurrency <= spec.workers)
    result = combine("service", traffic, stations)
    result.queue_free = concurrency <= spec.workers
    result.unloaded_response_ms = own.mean_ms + sum(item.unloaded_response_ms for item in downstream)
    notes = [note] if note else []
    if spec.calls:
        notes.append("holding time includes downstream responses (means and variances added)")
    if concurrency <= spec.workers:
        notes.append(f"its callers never have more than {concurrency:g} calls out, within its {spec.workers} "
                     "worker(s), so requests never wait here")
    result.notes = notes
    return result


def _balancer(spec: LoadBalancerSpec, traffic: Traffic, target: ComponentTheory) -> ComponentTheory:
    response = None if target.mean_response_ms is None else spec.latency_ms + target.mean_response_ms
    return ComponentTheory("load_balancer", traffic.rate_rps, response,
                           response_variance_ms2=target.response_variance_ms2,
                           unloaded_response_ms=spec.latency_ms + target.unloaded_response_ms)


def _cache(spec: CacheSpec, traffic: Traffic, hit_ratio: float, store: ComponentTheory) -> ComponentTheory:
    reads, writes = float(traffic.read_rps.sum()), float(traffic.write_rps.sum())
    store_variance = store.response_variance_ms2

    def outcomes(store_ms: float) -> list[tuple[float, float, float]]:  # (rate, mean ms, variance ms²)
        return [(reads * hit_ratio, spec.hit_latency_ms, 0.0),
                (reads * (1 - hit_ratio), spec.miss_latency_ms + store_ms, store_variance),
                (writes, store_ms, store_variance)]

    response, variance = None, 0.0
    if store.mean_response_ms is not None and reads + writes > 0:
        response, variance = moments(outcomes(store.mean_response_ms))
    notes = ["hit ratio from Che's approximation for LRU"]
    if writes > 0:
        notes.append("writes invalidate keys, so the real hit ratio is a little lower")
    return ComponentTheory("cache", reads + writes, response, model="Che (LRU)", notes=notes, hit_ratio=hit_ratio,
                           response_variance_ms2=variance,
                           unloaded_response_ms=moments(outcomes(store.unloaded_response_ms))[0]
                           if reads + writes > 0 else spec.hit_latency_ms)


def _database(name: str, spec: DatabaseSpec, traffic: Traffic, concurrency: float) -> ComponentTheory:
    read, write = from_spec(spec.read_time), from_spec(spec.write_time)
    stations: dict[str, StationPrediction] = {}
    for shard, (read_rps, write_rps) in enumerate(shard_rates(spec, traffic)):
        prefix = f"{name}/shard-{shard}" if spec.shards > 1 else name
        primary_reads = read_rps if spec.replicas == 0 else 0.0
        nodes = [(f"{prefix}/primary", [(primary_reads, read), (write_rps, write)])]
        nodes += [(f"{prefix}/replica-{index}", [(read_rps / spec.replicas, read)]) for index in range(spec.replicas)]
        for node_name, parts in nodes:
            mean_ms, scv = mixture(parts)
            # reads take the shard's replicas in turn: each sees every n-th read (Erlang-n gaps, SCV 1/n)
            arrival_scv = 1.0 / spec.replicas if "/replica-" in node_name else 1.0
            stations[node_name] = station(sum(rate for rate, _dist in parts), (mean_ms, scv * mean_ms**2),
                                           spec.pool_size, spec.queue_capacity, arrival_scv,
                                           bounded=concurrency <= spec.pool_size)
    result = combine("database", traffic, stations)
    result.queue_free = concurrency <= spec.pool_size
    reads, writes = float(traffic.read_rps.sum()), float(traffic.write_rps.sum())
    result.unloaded_response_ms = ((reads * read.mean_ms + writes * write.mean_ms) / (reads + writes)
                                   if reads + writes > 0 else read.mean_ms)
    return result


def end_to_end_ms(scenario: Scenario, predictions: dict[str, ComponentTheory]) -> float | None:
    """Mean latency over the request classes; None when a component on the way cannot keep up."""
    total = 0.0
    for request_class in scenario.workload.classes:
        response = predictions[request_class.entry or scenario.workload.entry].mean_response_ms
        if response is None:
            return None
        total += request_class.weight * response
    return total


def arrival_rate_rps(scenario: Scenario) -> float:
    """The mean arrival rate over the measured window, for any workload type.

    A closed workload's rate is found by its fixed point: N users cycling through response time R(X) and think
    time Z send X = N / (R(X) + Z), with R from the twin at rate X (the response-time law).
    """
    workload = scenario.workload
    if workload.type == "open":
        return mean_rate_rps(workload, scenario.warmup_s, scenario.duration_s)
    if workload.type == "trace":
        times = workload_trace(workload).times_s
        inside = (times >= scenario.warmup_s) & (times < scenario.duration_s)
        return float(inside.sum()) / (scenario.duration_s - scenario.warmup_s)
    assert workload.users is not None and workload.think_time is not None
    think_ms = from_spec(workload.think_time).mean_ms
    low, high = 0.0, workload.users * 1000.0 / think_ms
    while high - low > CLOSED_RATE_TOLERANCE * high:  # each step is a full prediction: stop at 0.01%
        rate = (low + high) / 2
        response = end_to_end_ms(scenario, predict(scenario, rate))
        if response is None or workload.users * 1000.0 / (response + think_ms) < rate:
            high = rate
        else:
            low = rate
    return low


def saturation_rate_rps(scenario: Scenario) -> float | None:
    """The arrival rate at which the twin expects the first station to saturate (None if none ever does).

    Holding times grow with the load (a caller waits on its callees) and hit ratios change with it, so the rate
    is found by bisection on "some station is offered at least its capacity", not by scaling one utilisation.
    """
    def saturated(rate_rps: float) -> bool:
        return any(prediction.saturated for prediction in predict(scenario, rate_rps).values())

    high = arrival_rate_rps(scenario) or 1.0
    while not saturated(high):
        high *= 2.0
        if high > MAX_SEARCH_RATE_RPS:
            return None
    low = 0.0
    while high - low > SATURATION_TOLERANCE * high:
        middle = (low + high) / 2.0
        if saturated(middle):
            high = middle
        else:
            low = middle
    return high


def theory_summary(scenario: Scenario, rate: float | None = None,
                   predictions: dict[str, ComponentTheory] | None = None) -> dict[str, Any]:
    """The twin as JSON-ready data: per component, plus the predicted mean end-to-end latency.

    ``rate`` and ``predictions`` may be passed in when the caller has already computed them.
    """
    if rate is None:
        rate = arrival_rate_rps(scenario)
    if predictions is None:
        predictions = predict(scenario, rate)
    return {
        "arrival_rate_rps": rate,
        "components": {name: prediction.to_dict() for name, prediction in predictions.items()},
        "mean_latency_ms": end_to_end_ms(scenario, predictions),
    }
