"""A provisioned-throughput table (DynamoDB style): partitions by key hash, each with its share of capacity units.

The table's ``read_capacity_units`` and ``write_capacity_units`` (one unit: one request per second) are split
evenly over its partitions. Each partition refills a token bucket at its share, holding at most ``burst_s``
seconds of it; a request that finds its partition's bucket empty is throttled at once with the retryable
status ``THROTTLED``. With skewed keys the hot partition throttles while the table as a whole is under its
provisioned total. With ``adaptive_capacity`` a partition out of tokens may use the table's unused capacity
(a table-wide bucket at the provisioned total, which every served request draws on). Admitted requests are
served by the partition's ``threads`` with a bounded queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.kinds.operations import by_partition, operation_samplers
from sim.model.base import Price
from sim.model.distributions import DistributionSpec, from_spec
from sim.model.keys import mix_key
from sim.model.knobs import Knob, integer_knob
from sim.model.status import OK, THROTTLED
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station
from sim.theory.flows import Traffic, mixture
from sim.theory.predictions import ComponentTheory, combine, station

CapacityUnits = Annotated[float, Field(gt=0, le=10_000_000)]


class TableSpec(ComponentSpecBase):
    """Partitions by key hash, each allowed its share of the provisioned reads and writes per second.

    Requests beyond a partition's share (after its burst allowance) are throttled at once (``THROTTLED``,
    retryable); admitted requests wait for one of the partition's ``threads``.
    """

    kind: Literal["table"]
    partitions: Annotated[int, Field(ge=1, le=256)] = 4
    read_capacity_units: Annotated[CapacityUnits, Field(examples=[1000.0])]
    write_capacity_units: Annotated[CapacityUnits, Field(examples=[500.0])]
    burst_s: Annotated[float, Field(gt=0, le=300)] = 1.0
    adaptive_capacity: bool = False
    threads: Annotated[int, Field(ge=1, le=4096)] = 64
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    read_time: DistributionSpec
    write_time: DistributionSpec
    price_per_read_unit_hour: Price = 0.0
    price_per_write_unit_hour: Price = 0.0

    summary: ClassVar[str] = "partitions by key hash with provisioned reads/writes per second; excess is throttled"
    stats_fields: ClassVar[dict[str, tuple[type, str]]] = {
        "throttled_ratio": (float, "share of requests refused for want of capacity units"),
        "partition_throttled_ratio": (list, "per partition: share of its requests that were throttled"),
    }

    def station_names(self, name: str) -> list[str]:
        return [f"{name}/partition-{index}" for index in range(self.partitions)]

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Table:
        return Table(env, name, self, streams)

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        offered = [counters[f"offered-{index}"] for index in range(self.partitions)]
        throttled = [counters[f"throttled-{index}"] for index in range(self.partitions)]
        return {"throttled_ratio": sum(throttled) / sum(offered) if sum(offered) else None,
                "partition_throttled_ratio": [refused / asked if asked else 0.0
                                              for refused, asked in zip(throttled, offered, strict=True)]}

    def partition_rates(self, traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
        """Read and write rps reaching each partition, by the engine's key hash."""
        reads, writes = by_partition([traffic.read_rps, traffic.write_rps], self.partitions)
        return reads, writes

    def throttled_rps(self, traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
        """Reads and writes throttled per second at each partition: what its offered rate exceeds its share by.

        The fluid limit of a token bucket: a partition offered more than its share serves its share and
        refuses the rest (the bucket is nearly always empty); one offered less refuses nothing (nearly always
        full). Near the share Poisson bursts refuse a little more than this. With adaptive capacity the table's
        unused units go to the partitions over their share, in proportion to their excess.
        """
        reads, writes = self.partition_rates(traffic)
        refused = []
        for offered, units in ((reads, self.read_capacity_units), (writes, self.write_capacity_units)):
            excess = np.maximum(offered - units / self.partitions, 0.0)
            if self.adaptive_capacity and excess.sum() > 0:
                table_excess = max(float(offered.sum()) - units, 0.0)
                excess = excess * (table_excess / float(excess.sum()))
            refused.append(excess)
        return refused[0], refused[1]

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """Each partition an M/G/c queue of its admitted requests; throttled ones by the token buckets' fluid limit."""
        read, write = from_spec(self.read_time), from_spec(self.write_time)
        reads, writes = self.partition_rates(traffic)
        refused_reads, refused_writes = self.throttled_rps(traffic)
        bounded = context.concurrency[name] <= self.threads
        stations = {}
        for index, partition in enumerate(self.station_names(name)):
            parts = [(reads[index] - refused_reads[index], read), (writes[index] - refused_writes[index], write)]
            mean_ms, scv = mixture(parts)
            stations[partition] = station(sum(rate for rate, _dist in parts), (mean_ms, scv * mean_ms**2),
                                          self.threads, self.queue_capacity, bounded=bounded)
        result = combine("table", traffic, stations)
        result.queue_free = bounded
        refused = float(refused_reads.sum() + refused_writes.sum())
        if refused > 0:
            result.notes.append(f"{refused:,.1f} req/s throttled ({refused / traffic.rate_rps:.1%}), answered at once")
        served = traffic.rate_rps - refused
        result.unloaded_response_ms = ((float(reads.sum()) * read.mean_ms + float(writes.sum()) * write.mean_ms)
                                       / traffic.rate_rps if traffic.rate_rps > 0 else read.mean_ms)
        if served <= 0:
            result.mean_response_ms = None
        return result

    def hourly_cost(self) -> float:
        return (self.read_capacity_units * self.price_per_read_unit_hour
                + self.write_capacity_units * self.price_per_write_unit_hour)

    def capacity(self) -> dict[str, int]:
        return {"connections": self.partitions * self.threads}

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        units = []
        for field_name, what in (("read_capacity_units", "reads"), ("write_capacity_units", "writes")):
            value = getattr(self, field_name)
            units.append(Knob(f"components.{name}.{field_name}", f"{name}: {field_name.replace('_', ' ')}", "float",
                              value, max(1.0, value / 10), max(10.0 * value, 100.0), max(1.0, round(value / 20)),
                              component=name, help=f"Provisioned {what} per second for the whole table, split "
                                                   "evenly over its partitions."))
        return [integer_knob(name, "partitions", self.partitions, 1, 256, "Partitions, chosen by key hash."), *units,
                Knob(f"components.{name}.adaptive_capacity", f"{name}: adaptive capacity", "choice",
                     self.adaptive_capacity, options=(False, True), option_labels=("off", "on"), component=name,
                     help="Let a hot partition use the capacity the others leave unused.")]

    def describe(self, stats: StatsView) -> str:
        return (f"{self.partitions} partition(s), {self.read_capacity_units:g} RCU / "
                f"{self.write_capacity_units:g} WCU")

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        reasons = ["throttling is predicted by the token buckets' fluid limit; Poisson bursts near a partition's "
                   "share throttle a little more"]
        keys = scenario.workload.keys
        if self.partitions > 1 and keys.distribution == "zipf":
            reasons.append(f"skewed keys (Zipf {keys.zipf_exponent:g}) send one partition more than its share")
        return reasons


class TokenBucket:
    """Tokens refilled continuously at ``rate`` per second, at most ``depth``; a request takes one."""

    __slots__ = ("depth", "level", "rate", "updated_s")

    def __init__(self, rate: float, depth: float) -> None:
        self.rate, self.depth = rate, depth
        self.level, self.updated_s = depth, 0.0

    def refill(self, now: float) -> float:
        """The tokens there are at ``now``."""
        self.level = min(self.depth, self.level + (now - self.updated_s) * self.rate)
        self.updated_s = now
        return self.level


def bucket(rate: float, burst_s: float) -> TokenBucket:
    """A bucket holding ``burst_s`` seconds of ``rate``, and at least one token."""
    return TokenBucket(rate, max(1.0, rate * burst_s))


class Table(Component):
    """Runtime of a ``kind: table`` component."""

    kind = "table"

    def __init__(self, env: Scheduler, name: str, spec: TableSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.sample_read_s, self.sample_write_s = operation_samplers(spec.read_time, spec.write_time, name, streams)
        self.stations = [Station(env, partition, spec.threads, spec.queue_capacity, self._start)
                         for partition in spec.station_names(name)]
        count = spec.partitions
        # [reads, writes] per partition, and table-wide for adaptive capacity
        self.buckets = [[bucket(spec.read_capacity_units / count, spec.burst_s),
                         bucket(spec.write_capacity_units / count, spec.burst_s)] for _partition in range(count)]
        self.table_buckets = [bucket(spec.read_capacity_units, spec.burst_s),
                              bucket(spec.write_capacity_units, spec.burst_s)]
        self.offered = [0] * count
        self.throttled = [0] * count

    def extra_fields(self) -> dict[str, float]:
        fields: dict[str, float] = {f"offered-{index}": value for index, value in enumerate(self.offered)}
        fields.update({f"throttled-{index}": value for index, value in enumerate(self.throttled)})
        return fields

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        partition = mix_key(request.key) % len(self.stations) if len(self.stations) > 1 else 0
        self.offered[partition] += 1
        if not self._admit(partition, int(request.is_write)):
            self.throttled[partition] += 1
            self._settle(visit, THROTTLED)
        elif not self.stations[partition].acquire(visit):
            self._reject(visit)

    def _admit(self, partition: int, operation: int) -> bool:
        """Take a token from the partition's bucket (or, with adaptive capacity, the table's unused units)."""
        now = self.env.now
        own, table = self.buckets[partition][operation], self.table_buckets[operation]
        table.refill(now)
        if own.refill(now) >= 1.0:
            own.level -= 1.0
            table.level = max(table.level - 1.0, 0.0)
            return True
        if self.spec.adaptive_capacity and table.level >= 1.0:
            table.level -= 1.0
            return True
        return False

    def _start(self, visit: Visit) -> None:
        duration_s = self.sample_write_s() if visit.request.is_write else self.sample_read_s()
        self.env.call_later(duration_s, self._done, visit)

    def _done(self, visit: Visit) -> None:
        assert visit.station is not None
        visit.station.release(visit)
        self._settle(visit, OK)
