"""The analytic twin of a service: an M/G/c queue per instance whose holding time is its work plus its calls.

A plain call adds its callee's mean and variance to the holding time (as before the call graph had groups). A
group step (parallel, first-k, hedged, probabilistic or optional calls) is worked out on a grid
(``sim.theory.forkjoin``): each call's response distribution (the callee's own when its twin built one, else
the gamma fit of its mean and variance), hedged at the callee's predicted percentile, made with its probability,
then the k-th fastest of the step's calls (all: the maximum, fork-join). A service with such a step also gets a
p99: its queue wait (M/M/c's shape: none with probability 1 - C, else exponential) plus its work plus its steps,
all taken independent. Timeouts are not modelled (they cut only what the twin predicts to be rare).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.kinds.base import InstanceSplit, TwinContext
from sim.kinds.service.calls import is_plain, step_branches
from sim.model.distributions import from_spec
from sim.theory import queues
from sim.theory.flows import Traffic
from sim.theory.forkjoin import GridDistribution, hedged, kth_fastest, sometimes, total
from sim.theory.predictions import ComponentTheory, StationPrediction, combine, station

if TYPE_CHECKING:
    from sim.kinds.service.spec import ServiceSpec


def route_calls(spec: ServiceSpec, arriving: Traffic) -> list[tuple[str, Traffic]]:
    """Each call's traffic: scaled by its probability, and by 1 + (1 - q) when hedged at percentile q."""
    routes: list[tuple[str, Traffic]] = []
    for step in spec.calls:
        for call in step_branches(step)[0]:
            quantile = call.hedge_quantile
            factor = call.probability * (1.0 + (1.0 - quantile if quantile is not None else 0.0))
            routes.append((call.call, arriving if factor == 1.0 else
                           Traffic(arriving.read_rps * factor, arriving.write_rps * factor)))
    return routes


def callee_distribution(prediction: ComponentTheory) -> GridDistribution:
    """A callee's response distribution: its twin's own, else the gamma fit of its mean and variance."""
    if prediction.response_distribution is not None:
        return prediction.response_distribution
    mean_ms = prediction.mean_response_ms
    return GridDistribution.from_moments(mean_ms if mean_ms is not None else prediction.unloaded_response_ms,
                                         prediction.response_variance_ms2)


def group_distribution(step: object, context: TwinContext) -> GridDistribution:
    """A group step's response distribution: the k-th fastest of its (hedged, probabilistic) calls."""
    calls, needed = step_branches(step)  # type: ignore[arg-type]
    branches = []
    for call in calls:
        branch = callee_distribution(context.predictions[call.call])
        if call.hedge_quantile is not None:
            branch = hedged(branch, branch.quantile_ms(call.hedge_quantile))
        if call.probability < 1.0:
            branch = sometimes(branch, call.probability)
        branches.append(branch)
    return kth_fastest(branches, needed)


def step_moments(spec: ServiceSpec, context: TwinContext
                 ) -> tuple[float, float, float, list[ComponentTheory | GridDistribution]]:
    """The call graph's mean, variance and unloaded mean response (ms), and each step (a callee's prediction
    for a plain call, the distribution of a group)."""
    mean_ms = variance = unloaded_ms = 0.0
    parts: list[ComponentTheory | GridDistribution] = []
    for step in spec.calls:
        if is_plain(step):
            callee = context.predictions[step if isinstance(step, str) else step.call]  # type: ignore[union-attr]
            # a callee with no steady state has no mean response: the unloaded one bounds it from below
            mean_ms += callee.mean_response_ms if callee.mean_response_ms is not None else callee.unloaded_response_ms
            variance += callee.response_variance_ms2
            unloaded_ms += callee.unloaded_response_ms
            parts.append(callee)
        else:
            group = group_distribution(step, context)
            mean_ms += group.mean_ms
            variance += group.variance_ms2
            unloaded_ms += group.mean_ms
            parts.append(group)
    return mean_ms, variance, unloaded_ms, parts


def cpu_phases(spec: ServiceSpec) -> list[tuple[float, float]]:
    """(mean ms, variance ms^2) of each piece of CPU work: before the calls, and after them if any."""
    phases = [from_spec(spec.service_time)]
    if spec.after_calls_time is not None:
        phases.append(from_spec(spec.after_calls_time))
    return [(phase.mean_ms, phase.variance_ms2) for phase in phases]


def predict_service(spec: ServiceSpec, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
    """Each instance's stations as M/G/c queues; see the module docstring and ``sim.kinds.service.concurrency``."""
    calls_ms, calls_variance, calls_unloaded_ms, parts = step_moments(spec, context)
    phases = cpu_phases(spec)
    cpu_ms, cpu_variance = sum(mean for mean, _ in phases), sum(variance for _, variance in phases)
    split = spec.split(name, traffic, context)
    concurrency = context.concurrency[name]
    if spec.plain_threads:
        holding = (cpu_ms + calls_ms, cpu_variance + calls_variance)
        stations = {station_name: station(traffic.rate_rps * share, holding, spec.workers, spec.queue_capacity,
                                          split.arrival_scv, bounded=concurrency <= spec.workers)
                    for station_name, share in zip(spec.station_names(name), split.shares.tolist(), strict=True)}
        result = combine("service", traffic, stations)
        result.queue_free = concurrency <= spec.workers
    else:
        result = _predict_with_cpu(spec, name, traffic, split, concurrency, (calls_ms, calls_variance))
    result.unloaded_response_ms = cpu_ms + calls_unloaded_ms
    result.notes = ([split.note] if split.note else []) + result.notes
    if spec.calls:
        result.notes.append("holding time includes downstream responses (means and variances added)")
    if not all(is_plain(step) for step in spec.calls):
        _add_tail(spec, result, cpu_ms + calls_ms, parts)
    if any(call.retries is not None for step in spec.calls for call in step_branches(step)[0]):
        result.notes.append("retries: the twin sends first attempts only; the load retries add, and the "
                            "two stable states they can make, are sim.theory.retries' fixed points")
    if spec.plain_threads and concurrency <= spec.workers:
        result.notes.append(f"its callers never have more than {concurrency:g} calls out, within its "
                            f"{spec.workers} worker(s), so requests never wait here")
    return result


def _predict_with_cpu(spec: ServiceSpec, name: str, traffic: Traffic, split: InstanceSplit, concurrency: float,
                      calls: tuple[float, float]) -> ComponentTheory:
    """Threads on cores, an event loop or goroutines: per instance a CPU station (M/G/c on CPU time only, each
    piece of work a visit) and, when the model holds one, a holder station whose holding time is the CPU work,
    its waits for the CPU and the calls."""
    phases = cpu_phases(spec)
    count = len(phases)
    cpu_mean = sum(mean for mean, _ in phases) / count
    cpu_variance = sum(variance + mean**2 for mean, variance in phases) / count - cpu_mean**2
    holders: dict[str, StationPrediction] = {}
    cpus: dict[str, StationPrediction] = {}
    visits: dict[str, tuple[float, float]] = {}  # per instance: a visit's mean and variance without a holder
    for layout, share in zip(spec.layouts(name), split.shares.tolist(), strict=True):
        rate = traffic.rate_rps * share
        assert layout.cpu is not None
        cpu_name, cores = layout.cpu
        queue_free = layout.holder is not None and min(layout.holder[1], concurrency) <= cores
        cpu = station(rate * count, (cpu_mean, cpu_variance), cores, layout.cpu_queue_capacity(spec.queue_capacity),
                      split.arrival_scv, bounded=queue_free or concurrency <= cores)
        cpus[cpu_name] = cpu
        wait_ms = cpu.queue.mean_wait_ms or 0.0
        wait_variance = max(cpu.response_variance_ms2 - cpu_variance, 0.0)
        holding = (count * (cpu_mean + wait_ms) + calls[0],
                   sum(variance for _, variance in phases) + count * wait_variance + calls[1])
        if layout.holder is None:
            visits[cpu_name] = holding
        else:
            holder_name, servers = layout.holder
            holders[holder_name] = station(rate, holding, servers, spec.queue_capacity, split.arrival_scv,
                                           bounded=concurrency <= servers)
    result = combine("service", traffic, holders or cpus)
    if not holders and result.stable:
        _visit_without_holder(result, cpus, visits, count)
    everything = {**holders, **cpus}
    result.stations = {name: item.queue for name, item in everything.items()}
    result.station_load = {name: (item.rate_rps, item.offered) for name, item in everything.items()}
    servers = sum(item.servers for item in everything.values())
    result.utilisation = sum(item.queue.utilisation * item.servers for item in everything.values()) / servers
    result.offered_utilisation = max(item.offered for item in everything.values())
    result.queue_free = bool(holders) and concurrency <= min(item.servers for item in holders.values())
    result.model = ", ".join(sorted({item.queue.model for item in everything.values()}))
    where = "loop" if spec.concurrency == "event_loop" else "cores"
    result.notes = [f"{spec.concurrency}: CPU work queues at the {where} (an M/G/c queue on CPU time only)"]
    if spec.unused_fields():
        result.notes.append(f"{spec.concurrency} does not use {' or '.join(spec.unused_fields())}")
    return result


def _visit_without_holder(result: ComponentTheory, cpus: dict[str, StationPrediction],
                          visits: dict[str, tuple[float, float]], count: int) -> None:
    """With nothing held for the whole visit, its response is its CPU responses plus its calls."""
    total_rate = sum(item.rate_rps for item in cpus.values())
    weights = {name: item.rate_rps / total_rate for name, item in cpus.items()}
    result.mean_response_ms = sum(weights[name] * visits[name][0] for name in cpus)
    result.mean_wait_ms = sum(weights[name] * count * (item.queue.mean_wait_ms or 0.0) for name, item in cpus.items())
    second = sum(weights[name] * (visits[name][1] + visits[name][0] ** 2) for name in cpus)
    result.response_variance_ms2 = max(second - result.mean_response_ms**2, 0.0)


def _add_tail(spec: ServiceSpec, result: ComponentTheory, holding_ms: float,
              parts: list[ComponentTheory | GridDistribution]) -> None:
    """The response distribution and its p99, for a service whose call graph has group steps."""
    result.notes.append("group steps worked out on a grid: calls independent, gamma-fitted where only two "
                        "moments are known; timeouts not modelled")
    if result.mean_wait_ms is None or not spec.plain_threads:
        return  # the wait's shape is M/M/c's only for plain threads
    phases = cpu_phases(spec)
    erlangs = result.arrival_rate_rps / spec.instances * holding_ms / 1000.0
    waiting = queues.erlang_c(spec.workers, erlangs) if not result.queue_free else 0.0
    wait = GridDistribution.queue_wait(waiting, result.mean_wait_ms)
    steps = [part if isinstance(part, GridDistribution) else callee_distribution(part) for part in parts]
    response = total([wait, GridDistribution.from_moments(sum(mean for mean, _ in phases),
                                                                sum(variance for _, variance in phases)), *steps])
    result.response_distribution = response
    result.p99_response_ms = response.quantile_ms(0.99)
