"""Per-component predictions of the analytic twin (see ``sim.twin`` for the traffic equations)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from sim import theory
from sim.components.policies import ConsistentHash
from sim.dists import from_spec
from sim.profiles import mean_rate_rps
from sim.scenario import Scenario, topological_order
from sim.specs import CacheSpec, DatabaseSpec, LoadBalancerSpec, ServiceSpec
from sim.trace import workload_trace
from sim.twin import MAX_KEYS_FOR_HASH_SPLIT, ComponentTheory, Traffic, mix_keys, mixture, propagate, shard_rates

CLOSED_RATE_TOLERANCE = 1e-4  # relative width at which the closed-workload rate search stops


def predict(scenario: Scenario, total_rate_rps: float | None = None) -> dict[str, ComponentTheory]:
    """The twin's prediction for every component at the workload's mean arrival rate, computed leaves first."""
    if total_rate_rps is None:
        total_rate_rps = arrival_rate_rps(scenario)
    incoming, hit_ratios = propagate(scenario, total_rate_rps)
    predictions: dict[str, ComponentTheory] = {}
    for name in topological_order(scenario):
        spec = scenario.components[name]
        count = scenario.workload.keys.count
        traffic = incoming.get(name, Traffic(np.zeros(count), np.zeros(count)))
        if isinstance(spec, ServiceSpec):
            predictions[name] = _service(scenario, name, spec, traffic, predictions)
        elif isinstance(spec, LoadBalancerSpec):
            target = predictions[spec.target]
            response = None if target.mean_response_ms is None else spec.latency_ms + target.mean_response_ms
            predictions[name] = ComponentTheory("load_balancer", traffic.rate_rps, response, stable=target.stable)
        elif isinstance(spec, CacheSpec):
            predictions[name] = _cache(spec, traffic, hit_ratios[name], predictions[spec.store])
        elif isinstance(spec, DatabaseSpec):
            predictions[name] = _database(name, spec, traffic)
    return predictions


def _combine(kind: str, traffic: Traffic, stations: dict[str, theory.QueuePrediction],
             rates: dict[str, float], servers: dict[str, int], offered: float) -> ComponentTheory:
    """Aggregate station predictions into one component prediction (rate-weighted means)."""
    total_rate = sum(rates.values())
    total_servers = sum(servers.values())
    utilisation = sum(stations[name].utilisation * servers[name] for name in stations) / total_servers
    stable = all(prediction.stable for prediction in stations.values()) and offered < 1.0
    response = wait = None
    if stable and total_rate > 0:
        response = sum(rates[name] * (stations[name].mean_response_ms or 0.0) for name in stations) / total_rate
        wait = sum(rates[name] * (stations[name].mean_wait_ms or 0.0) for name in stations) / total_rate
    models = sorted({prediction.model for prediction in stations.values()})
    return ComponentTheory(kind, traffic.rate_rps, response, utilisation, wait, stable, ", ".join(models),
                           stations=stations, offered_utilisation=offered)


def _station(rate: float, mean_ms: float, servers: int, scv: float, queue: int,
             arrival_scv: float = 1.0) -> tuple[theory.QueuePrediction, float]:
    """One station's prediction and its offered utilisation.

    Non-Poisson arrivals (round robin hands each instance every n-th request: Erlang-n gaps, SCV 1/n) scale
    the wait by (arrival SCV + service SCV) / (1 + service SCV), the Allen-Cunneen GI/G/c approximation.
    """
    prediction = theory.station(rate, mean_ms, servers, scv, queue)
    offered = rate * mean_ms / 1000.0 / servers
    if offered >= 1.0:
        return theory.QueuePrediction(prediction.model, min(1.0, offered), None, None, None, None,
                                      max(0.0, 1.0 - 1.0 / offered), False), offered
    if arrival_scv != 1.0 and prediction.mean_wait_ms is not None:
        wait_ms = prediction.mean_wait_ms * (arrival_scv + scv) / (1.0 + scv)
        accepted = rate * (1.0 - prediction.blocking_probability)
        prediction = replace(prediction, model="GI/G/c (Allen-Cunneen)", mean_wait_ms=wait_ms,
                             mean_response_ms=wait_ms + mean_ms, mean_queue_length=accepted * wait_ms / 1000.0,
                             mean_in_system=accepted * (wait_ms + mean_ms) / 1000.0)
    return prediction, offered


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
             done: dict[str, ComponentTheory]) -> ComponentTheory:
    own = from_spec(spec.service_time)
    downstream = [done[target] for target in spec.calls]
    holding_ms = own.mean_ms + sum(item.mean_response_ms or 0.0 for item in downstream)
    scv = own.scv if not spec.calls else 1.0
    shares, arrival_scv, note = _instance_shares(scenario, name, spec, traffic)
    stations, rates, servers, offered = {}, {}, {}, 0.0
    for index, share in enumerate(shares.tolist()):
        station_name = f"{name}/instance-{index}" if spec.instances > 1 else name
        rates[station_name] = traffic.rate_rps * share
        stations[station_name], station_offered = _station(rates[station_name], holding_ms, spec.workers, scv,
                                                           spec.queue_capacity, arrival_scv)
        servers[station_name] = spec.workers
        offered = max(offered, station_offered)
    result = _combine("service", traffic, stations, rates, servers, offered)
    result.stable = result.stable and all(item.stable for item in downstream)
    if spec.calls:
        note = (note + "; " if note else "") + "holding time includes downstream responses (taken as exponential)"
    result.notes = [note] if note else []
    return result


def _cache(spec: CacheSpec, traffic: Traffic, hit_ratio: float, store: ComponentTheory) -> ComponentTheory:
    reads, writes = float(traffic.read_rps.sum()), float(traffic.write_rps.sum())
    store_ms = store.mean_response_ms
    response = None
    if store_ms is not None and reads + writes > 0:
        read_ms = hit_ratio * spec.hit_latency_ms + (1 - hit_ratio) * (spec.miss_latency_ms + store_ms)
        response = (reads * read_ms + writes * store_ms) / (reads + writes)
    notes = ["hit ratio from Che's approximation for LRU"]
    if writes > 0:
        notes.append("writes invalidate keys, so the real hit ratio is a little lower")
    return ComponentTheory("cache", reads + writes, response, stable=store.stable, model="Che (LRU)",
                           notes=notes, hit_ratio=hit_ratio)


def _database(name: str, spec: DatabaseSpec, traffic: Traffic) -> ComponentTheory:
    read, write = from_spec(spec.read_time), from_spec(spec.write_time)
    stations: dict[str, theory.QueuePrediction] = {}
    rates: dict[str, float] = {}
    offered = 0.0
    for shard, (read_rps, write_rps) in enumerate(shard_rates(spec, traffic)):
        prefix = f"{name}/shard-{shard}" if spec.shards > 1 else name
        primary_reads = read_rps if spec.replicas == 0 else 0.0
        nodes = [(f"{prefix}/primary", [(primary_reads, read), (write_rps, write)])]
        nodes += [(f"{prefix}/replica-{index}", [(read_rps / spec.replicas, read)]) for index in range(spec.replicas)]
        for node_name, parts in nodes:
            mean_ms, scv = mixture(parts)
            rates[node_name] = sum(rate for rate, _dist in parts)
            # reads take the shard's replicas in turn: each sees every n-th read (Erlang-n gaps, SCV 1/n)
            arrival_scv = 1.0 / spec.replicas if "/replica-" in node_name else 1.0
            stations[node_name], node_offered = _station(rates[node_name], mean_ms, spec.pool_size, scv,
                                                         spec.queue_capacity, arrival_scv)
            offered = max(offered, node_offered)
    servers = dict.fromkeys(stations, spec.pool_size)
    return _combine("database", traffic, stations, rates, servers, offered)


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
    """The arrival rate at which the twin expects the busiest station to saturate (None if nothing is busy).

    Utilisation grows in proportion to the arrival rate, so the rate divided by the busiest station's offered
    utilisation is where that station reaches 100%.
    """
    rate_rps = arrival_rate_rps(scenario)
    predictions = predict(scenario, rate_rps).values()
    busiest = max((item.offered_utilisation or item.utilisation or 0.0 for item in predictions), default=0.0)
    return rate_rps / busiest if rate_rps > 0 and busiest > 0 else None


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
