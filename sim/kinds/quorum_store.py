"""A leaderless replicated store (Cassandra, Dynamo): every operation goes to N replicas, answered after R (W).

Each key lives on ``replication_factor`` replicas, each a station of ``threads`` servers with a bounded queue.
An operation is sent to all N; a read is answered after the R-th reply, a write after the W-th acknowledgement
(consistency levels ONE, QUORUM, ALL, or a number). The slower replicas still do the work. Each replica keeps,
per key, the newest write it has applied; a read returns the newest version among its first R replies, and is
stale when that is older than the newest write already committed (W acknowledgements) when the read began.
With R + W > N no read is stale; with R + W <= N the share of stale reads follows Bailis et al.'s PBS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.kinds.operations import operation_samplers
from sim.model.base import Price
from sim.model.distributions import DistributionSpec, from_spec
from sim.model.knobs import Knob, integer_knob
from sim.model.status import OK
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station
from sim.theory.flows import Traffic, mixture, moments
from sim.theory.predictions import ComponentTheory, combine, station
from sim.theory.quorum import order_statistic_mean, order_statistic_variance

MAX_REPLICAS = 9
Consistency = Literal["one", "quorum", "all"] | Annotated[int, Field(ge=1, le=MAX_REPLICAS)]
LEVELS = ("one", "quorum", "all")


class QuorumStoreSpec(ComponentSpecBase):
    """N replicas per key; reads answered after R replies, writes after W acknowledgements (ONE/QUORUM/ALL or R, W).

    Every operation occupies a server on each of the N replicas; the answer waits for the R-th (W-th) fastest.
    """

    kind: Literal["quorum_store"]
    replication_factor: Annotated[int, Field(ge=1, le=MAX_REPLICAS)] = 3
    read_consistency: Consistency = "quorum"
    write_consistency: Consistency = "quorum"
    threads: Annotated[int, Field(ge=1, le=4096)] = 16
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    read_time: DistributionSpec
    write_time: DistributionSpec
    price_per_node_hour: Price = 0.0

    summary: ClassVar[str] = "a leaderless replicated store: N replicas, reads after R replies, writes after W"
    stats_fields: ClassVar[dict[str, tuple[type, str]]] = {
        "stale_read_ratio": (float, "share of reads that returned a version older than the newest committed write"),
    }

    @model_validator(mode="after")
    def _levels_fit(self) -> QuorumStoreSpec:
        for field_name in ("read_consistency", "write_consistency"):
            value = getattr(self, field_name)
            if isinstance(value, int) and value > self.replication_factor:
                raise ValueError(f"{field_name} {value} is more than replication_factor {self.replication_factor}")
        return self

    def replies_needed(self, level: str | int) -> int:
        """How many replies a consistency level waits for out of the N replicas."""
        if isinstance(level, int):
            return level
        return {"one": 1, "quorum": self.replication_factor // 2 + 1, "all": self.replication_factor}[level]

    @property
    def read_quorum(self) -> int:
        return self.replies_needed(self.read_consistency)

    @property
    def write_quorum(self) -> int:
        return self.replies_needed(self.write_consistency)

    def station_names(self, name: str) -> list[str]:
        return [f"{name}/replica-{index}" for index in range(self.replication_factor)]

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> QuorumStore:
        return QuorumStore(env, name, self, streams)

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        reads = counters["quorum_reads"]
        return {"stale_read_ratio": counters["stale_reads"] / reads if reads else None}

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """Each replica an M/G/c queue seeing every operation; the answer the k-th order statistic of N replicas.

        A replica's response is taken as exponential with the queue's mean (exact for exponential service with
        nothing waiting), and the N replicas as independent, so the R-th of N has the order-statistic moments.
        """
        read, write = from_spec(self.read_time), from_spec(self.write_time)
        reads, writes = float(traffic.read_rps.sum()), float(traffic.write_rps.sum())
        parts = [(reads, read), (writes, write)]
        mean_ms, scv = mixture(parts)
        bounded = context.concurrency[name] <= self.threads
        stations = {replica: station(reads + writes, (mean_ms, scv * mean_ms**2), self.threads, self.queue_capacity,
                                     bounded=bounded) for replica in self.station_names(name)}
        result = combine("quorum_store", traffic, stations)
        result.queue_free = bounded
        result.model = f"{result.model}; R={self.read_quorum}, W={self.write_quorum} of N={self.replication_factor}"
        result.notes.append("the k-th of N replies, replicas taken as independent exponentials")
        wait_ms = result.mean_wait_ms
        result.unloaded_response_ms = self._quorum_moments(reads, writes, read.mean_ms, write.mean_ms)[0]
        if wait_ms is not None and reads + writes > 0:
            result.mean_response_ms, result.response_variance_ms2 = self._quorum_moments(
                reads, writes, wait_ms + read.mean_ms, wait_ms + write.mean_ms)
        return result

    def _quorum_moments(self, reads: float, writes: float, read_ms: float, write_ms: float) -> tuple[float, float]:
        """Mean and variance of the response over reads (R-th of N) and writes (W-th of N)."""
        count = self.replication_factor
        legs = ((reads, self.read_quorum, read_ms), (writes, self.write_quorum, write_ms))
        outcomes = [(rate, order_statistic_mean(quorum, count, mean), order_statistic_variance(quorum, count, mean))
                    for rate, quorum, mean in legs]
        if reads + writes <= 0:
            return outcomes[0][1], outcomes[0][2]
        return moments(outcomes)

    def hourly_cost(self) -> float:
        return self.replication_factor * self.price_per_node_hour

    def capacity(self) -> dict[str, int]:
        return {"connections": self.replication_factor * self.threads}

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        knobs = [integer_knob(name, "replication_factor", self.replication_factor, 1, MAX_REPLICAS,
                              "Replicas of every key (N); every operation is sent to all of them.")]
        for field_name, what in (("read_consistency", "A read"), ("write_consistency", "A write")):
            value = getattr(self, field_name)
            options = LEVELS if value in LEVELS else (*LEVELS, value)
            knobs.append(Knob(f"components.{name}.{field_name}", f"{name}: {field_name.replace('_', ' ')}", "choice",
                              value, options=options, option_labels=tuple(str(option).upper() for option in options),
                              component=name, help=f"{what} is answered after this many of the N replicas reply."))
        return knobs

    def describe(self, stats: StatsView) -> str:
        return f"N={self.replication_factor}, R={self.read_quorum}, W={self.write_quorum} × {self.threads} threads"

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        reasons = ["replicas see the same arrivals, so their queues are not independent as the twin assumes"]
        if stats.get("dropped", 0) > 0:
            reasons.append(f"finite queue ({self.queue_capacity}) dropped {stats['dropped']:,} requests")
        return reasons


class _Operation:
    """One read or write in flight: the caller's visit and how its replies stand."""

    __slots__ = ("failures", "needed", "newest", "replies", "required", "version", "visit")

    def __init__(self, visit: Visit, needed: int, version: int, required: int) -> None:
        self.visit = visit
        self.needed = needed
        self.version = version  # a write's own version
        self.required = required  # a read: the newest version committed when it began
        self.newest = 0  # a read: the newest version among its replies so far
        self.replies = self.failures = 0


UP_TO_DATE = 1 << 62  # a key with no entry: every replica holds its newest write


class QuorumStore(Component):
    """Runtime of a ``kind: quorum_store`` component.

    Per written key it keeps ``[newest version issued, newest committed, applied at replica 0, 1, ...]``, and
    drops the entry once every replica has applied the newest write and it has committed, so the state holds
    only keys written recently.
    """

    kind = "quorum_store"

    def __init__(self, env: Scheduler, name: str, spec: QuorumStoreSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.sample_read_s, self.sample_write_s = operation_samplers(spec.read_time, spec.write_time, name, streams)
        self.stations = [Station(env, station_name, spec.threads, spec.queue_capacity, self._start)
                         for station_name in spec.station_names(name)]
        self.read_quorum, self.write_quorum = spec.read_quorum, spec.write_quorum
        self.versions: dict[int, list[int]] = {}
        self.last_version = 0
        self.quorum_reads = self.stale_reads = 0

    def extra_fields(self) -> dict[str, float]:
        return {"quorum_reads": self.quorum_reads, "stale_reads": self.stale_reads}

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        entry = self.versions.get(request.key)
        if request.is_write:
            self.last_version += 1
            if entry is None:  # every replica holds all older writes of this key
                entry = self.versions[request.key] = [self.last_version - 1] * (2 + len(self.stations))
            entry[0] = self.last_version
            operation = _Operation(visit, self.write_quorum, self.last_version, 0)
        else:
            operation = _Operation(visit, self.read_quorum, 0, entry[1] if entry else 0)
        for index, replica in enumerate(self.stations):
            part = Visit(Request(request.arrival_s, request.class_index, request.is_write, request.key), reply,
                         operation, visit.arrived_s)
            part.call_index = index
            if not replica.acquire(part):
                self._failed(operation)

    def _start(self, part: Visit) -> None:
        duration_s = self.sample_write_s() if part.request.is_write else self.sample_read_s()
        self.env.call_later(duration_s, self._replied, part)

    def _replied(self, part: Visit) -> None:
        assert part.station is not None
        part.station.release(part)
        operation: _Operation = part.token
        entry = self.versions.get(part.request.key)
        if part.request.is_write:
            if entry is not None:  # no entry: the replicas already hold a newer write of this key
                entry[2 + part.call_index] = max(entry[2 + part.call_index], operation.version)
        else:
            operation.newest = max(operation.newest, entry[2 + part.call_index] if entry else UP_TO_DATE)
        operation.replies += 1
        if operation.replies == operation.needed and not operation.visit.settled:
            operation.visit.request.waited_s += part.request.waited_s
            self._answered(operation, entry)
        if entry is not None and entry[1] == entry[0] and entry.count(entry[0]) == len(entry):
            del self.versions[part.request.key]

    def _answered(self, operation: _Operation, entry: list[int] | None) -> None:
        if operation.visit.request.is_write:
            if entry is not None:
                entry[1] = max(entry[1], operation.version)
        else:
            self.quorum_reads += 1
            self.stale_reads += operation.newest < operation.required
        self._settle(operation.visit, OK)

    def _failed(self, operation: _Operation) -> None:
        """A replica's queue was full: the operation fails once too few replicas are left to answer it."""
        operation.failures += 1
        if len(self.stations) - operation.failures < operation.needed and not operation.visit.settled:
            self._reject(operation.visit)
