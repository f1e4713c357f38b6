"""The analytic twin of a broker: each consumer an M/G/1 queue fed by its partitions' share of the messages.

A consumer instance handles one message at a time, holding it for the consumer service's predicted response;
its arrival rate is the publish rate times the share of the keys its partitions hold (the same key hash the
runtime uses, so skewed keys give the same hot partition). Its queue length is the group's lag there, by
Little's law; a consumer offered at least its capacity is named unstable. After a burst, each consumer's
backlog follows the fluid model (``sim.theory.backlog``) over the workload's own rate profile, which predicts
the group's peak lag and its drain time, ``backlog / (capacity - arrival rate)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.kinds.base import ScenarioView, StatsView, TwinContext
from sim.kinds.broker.stats import DRAINED_FRACTION, MIN_BACKLOG_MESSAGES
from sim.model.profiles import mean_rate_rps, rate_function
from sim.theory.backlog import fluid_backlog, peak_and_drain
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory, StationPrediction, combine, station

if TYPE_CHECKING:
    from sim.kinds.broker.spec import BrokerSpec

FLUID_STEPS = 5_000  # time steps of the fluid path over the run (a hundredth of a second over 50 s)
TWIN_QUEUE_LIMIT = 100_000  # the retention bound as a queue limit is capped: past it, an infinite queue is as good


def predict_broker(spec: BrokerSpec, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
    """Publishers see the append latency; each consumer station is an M/G/1 queue (see the module docstring)."""
    partition_shares = spec.partition_shares(traffic)
    stations: dict[str, StationPrediction] = {}
    notes: list[str] = []
    lag: dict[str, float | None] = {}
    drain: dict[str, float | None] = {}
    limits: list[float] = []  # per consumer with messages: the publish rate at which it is exactly full
    for index, consumer in enumerate(spec.consumers):
        service = context.predictions[consumer.service]
        mean_ms = service.mean_response_ms if service.mean_response_ms is not None else service.unloaded_response_ms
        shares = consumer_shares(spec, consumer.instances, partition_shares)
        names = spec.consumer_station_names(name, index)
        for station_name, share in zip(names, shares.tolist(), strict=True):
            stations[station_name] = station(traffic.rate_rps * share, (mean_ms, service.response_variance_ms2), 1,
                                             min(spec.retention_messages, TWIN_QUEUE_LIMIT))
        group = [stations[station_name].queue for station_name in names]
        lag[consumer.group] = (sum(queue.mean_in_system or 0.0 for queue in group)
                               if all(queue.stable for queue in group) else None)
        drain[consumer.group] = group_drain_time_s(context.scenario, traffic.rate_rps, shares, mean_ms)
        limits += [1000.0 / mean_ms / share for share in shares.tolist() if share > 0 and mean_ms > 0]
        notes.append(group_note(spec, consumer.group, consumer.instances, names, shares, stations))
    if not stations:
        return ComponentTheory("broker", traffic.rate_rps, spec.append_latency_ms, model="append only",
                               unloaded_response_ms=spec.append_latency_ms, queue_free=True)
    result = combine("broker", traffic, stations)
    result.mean_response_ms = spec.append_latency_ms if result.stable else None
    result.mean_wait_ms = 0.0 if result.stable else None
    result.response_variance_ms2 = 0.0
    result.unloaded_response_ms = spec.append_latency_ms
    result.model = "M/G/1 per consumer"
    result.notes = [*notes, "publishers wait only for the append; consumers' lag = arrival rate x response "
                            "(Little's law)"]
    result.lag_messages, result.drain_time_s = lag, drain
    if spec.when_full == "block" and limits and traffic.rate_rps >= min(limits):
        blocked_publishing(result, min(limits), context.concurrency.get(name, float("inf")))
    return result


def blocked_publishing(result: ComponentTheory, limit_rps: float, publishers: float) -> None:
    """A full blocking topic: publishes are admitted as fast as the tightest consumer frees slots.

    That consumer, offered more than it can do, is always busy, so it frees a slot per holding time; the
    others keep up with their share of what is admitted. The publishers' workers (``publishers``, the most
    publishes that can be inside at once) all end up waiting here, so by Little's law a publish takes
    ``publishers / limit`` (their own work per request, outside, makes it slightly less).
    """
    result.publish_limit_rps = limit_rps
    note = f"when_full: block: publishers are held once retention is full, so at most {limit_rps:,.1f} publishes/s"
    if math.isfinite(publishers):
        result.blocked_publish_ms = 1000.0 * publishers / limit_rps
        note += (f"; their {publishers:g} workers wait here, so a publish takes about "
                 f"{result.blocked_publish_ms:,.1f} ms (Little's law)")
    result.notes.append(note)


def consumer_shares(spec: BrokerSpec, consumers: int, partition_shares: np.ndarray) -> np.ndarray:
    """Each consumer's share of the messages: the sum of its partitions' (idle consumers get none)."""
    owners = np.array(spec.partition_owners(consumers), dtype=np.int64)
    return np.bincount(owners, weights=partition_shares, minlength=consumers)


def group_note(spec: BrokerSpec, group: str, consumers: int, names: list[str], shares: np.ndarray,
               stations: dict[str, StationPrediction]) -> str:
    """One sentence on a group: idle consumers, and the consumer that cannot keep up or runs hottest."""
    active = min(consumers, spec.partitions)
    text = f"{group}: {active} of {consumers} consumer(s) own the {spec.partitions} partition(s)"
    if consumers > spec.partitions:
        text += f"; {consumers - spec.partitions} sit idle (partitions cap parallelism)"
    hottest = int(np.argmax(shares))
    fair = 1.0 / active
    item = stations[names[hottest]]
    if item.offered >= 1.0:
        text += (f"; {names[hottest]} receives {shares[hottest] / fair:.1f}x its share and cannot keep up "
                 f"(offered {item.offered:.0%} of its capacity)")
    elif shares[hottest] > 1.2 * fair:
        text += f"; {names[hottest]} receives {shares[hottest] / fair:.1f}x its share (hot partition)"
    return text


def group_drain_time_s(scenario: ScenarioView, rate_rps: float, shares: np.ndarray, holding_ms: float) -> float | None:
    """The group's drain time after its peak backlog, by the fluid model over the workload's rate profile.

    Each consumer's backlog grows at (its share of the publish rate - 1 / holding time) while positive; the
    group's lag is their sum. None for workloads without a rate profile (closed, trace) or with no backlog.
    """
    workload = scenario.workload
    if workload.type != "open" or workload.profile is None or holding_ms <= 0:
        return None
    average_rps = mean_rate_rps(workload, scenario.warmup_s, scenario.duration_s)
    if average_rps <= 0:
        return None
    rate, _peak = rate_function(workload)
    step_s = scenario.duration_s / FLUID_STEPS
    times = (np.arange(FLUID_STEPS) + 1) * step_s
    offered = np.array([rate(time_s - step_s / 2) for time_s in times]) * (rate_rps / average_rps)
    capacity_rps = 1000.0 / holding_ms
    backlog = sum(fluid_backlog(offered * share, capacity_rps, step_s) for share in shares.tolist() if share > 0)
    inside = times >= scenario.warmup_s
    _peak_backlog, drain_s = peak_and_drain(times[inside], np.asarray(backlog)[inside], DRAINED_FRACTION,
                                            MIN_BACKLOG_MESSAGES)
    return drain_s


def difference_reasons(spec: BrokerSpec, stats: StatsView, scenario: ScenarioView) -> list[str]:
    """Why the simulated consumers may differ from their M/G/1 twins."""
    reasons = ["a consumer's holding time is the consumer service's whole response, taken as independent of the "
               "queue (its variance from the service's twin)"]
    if spec.partition_by == "round_robin":
        reasons.append("round robin spreads messages more evenly than Poisson arrivals, so real lag is lower")
    if scenario.workload.profile is not None:
        reasons.append("the load changes over time: steady-state lag is for the average rate, the drain time for "
                       "the fluid path of the profile")
    if stats.get("publish_rejected", 0) or stats.get("messages_dropped", 0):
        reasons.append("the retention bound was reached: messages were refused or discarded")
    return reasons
