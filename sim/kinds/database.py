"""A sharded, replicated database: each node a pool of connections with a bounded wait queue.

A key's shard is fixed by hashing the key. Writes go to the shard's primary; reads go round robin over the
shard's read replicas, or to the primary when it has none. A query waits for a free connection, holds it for
its service time, then releases it.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.model.base import Price
from sim.model.distributions import DistributionSpec, from_spec
from sim.model.keys import mix_key, mix_keys
from sim.model.knobs import Knob, integer_knob
from sim.model.status import OK
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station
from sim.theory.flows import Traffic, mixture
from sim.theory.predictions import ComponentTheory, StationPrediction, combine, station


class DatabaseSpec(ComponentSpecBase):
    """Shards chosen by key hash; each shard a primary plus read replicas, each node a connection pool.

    Writes go to the shard's primary; reads are spread over its replicas (the primary when none).
    A query waits for a free connection, holds it for its service time, then releases it.
    """

    kind: Literal["database"]
    shards: Annotated[int, Field(ge=1, le=256)] = 1
    replicas: Annotated[int, Field(ge=0, le=32)] = 0
    pool_size: Annotated[int, Field(ge=1, le=4096)] = 10
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    read_time: DistributionSpec
    write_time: DistributionSpec
    price_per_node_hour: Price = 0.0
    price_per_connection_hour: Price = 0.0

    summary: ClassVar[str] = "shards by key hash, each a primary plus read replicas, each node a connection pool"

    def node_names(self, name: str) -> list[tuple[str, list[str]]]:
        """Per shard: the primary's station name and its replicas' (the one naming of database nodes)."""
        nodes = []
        for shard in range(self.shards):
            prefix = f"{name}/shard-{shard}" if self.shards > 1 else name
            nodes.append((f"{prefix}/primary", [f"{prefix}/replica-{index}" for index in range(self.replicas)]))
        return nodes

    def station_names(self, name: str) -> list[str]:
        return [station for primary, replicas in self.node_names(name) for station in (primary, *replicas)]

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Database:
        return Database(env, name, self, streams)

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """Every node an M/G/c queue of connections; shards by the engine's key hash, replicas take reads in turn."""
        read, write = from_spec(self.read_time), from_spec(self.write_time)
        bounded = context.concurrency[name] <= self.pool_size
        stations: dict[str, StationPrediction] = {}
        for (primary, replicas), (read_rps, write_rps) in zip(self.node_names(name), self.shard_rates(traffic),
                                                              strict=True):
            nodes = [(primary, [(0.0 if replicas else read_rps, read), (write_rps, write)], 1.0)]
            # reads take the shard's replicas in turn: each sees every n-th read (Erlang-n gaps, SCV 1/n)
            nodes += [(replica, [(read_rps / len(replicas), read)], 1.0 / len(replicas)) for replica in replicas]
            for node, parts, arrival_scv in nodes:
                mean_ms, scv = mixture(parts)
                stations[node] = station(sum(rate for rate, _dist in parts), (mean_ms, scv * mean_ms**2),
                                         self.pool_size, self.queue_capacity, arrival_scv, bounded=bounded)
        result = combine("database", traffic, stations)
        result.queue_free = bounded
        reads, writes = float(traffic.read_rps.sum()), float(traffic.write_rps.sum())
        result.unloaded_response_ms = ((reads * read.mean_ms + writes * write.mean_ms) / (reads + writes)
                                       if reads + writes > 0 else read.mean_ms)
        return result

    def shard_rates(self, traffic: Traffic) -> list[tuple[float, float]]:
        """(read rps, write rps) reaching each shard, by the engine's key hash."""
        if self.shards == 1:
            return [(float(traffic.read_rps.sum()), float(traffic.write_rps.sum()))]
        shard_of_key = (mix_keys(np.arange(traffic.read_rps.size)) % np.uint64(self.shards)).astype(np.int64)
        reads = np.bincount(shard_of_key, weights=traffic.read_rps, minlength=self.shards)
        writes = np.bincount(shard_of_key, weights=traffic.write_rps, minlength=self.shards)
        return list(zip(reads.tolist(), writes.tolist(), strict=True))

    def hourly_cost(self) -> float:
        nodes = self.shards * (1 + self.replicas)
        return nodes * (self.price_per_node_hour + self.pool_size * self.price_per_connection_hour)

    def capacity(self) -> dict[str, int]:
        return {"connections": self.shards * (1 + self.replicas) * self.pool_size}

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        return [
            integer_knob(name, "shards", self.shards, 1, 256, "Partitions of the data, chosen by key hash."),
            integer_knob(name, "replicas", self.replicas, 0, 32, "Read replicas per shard (writes go to the primary)."),
            integer_knob(name, "pool_size", self.pool_size, 1, 4096, "Connections per database node."),
        ]

    def describe(self, stats: StatsView) -> str:
        return f"{self.shards} shard(s) × {1 + self.replicas} node(s) × {self.pool_size} conn"

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        reasons = []
        if stats.get("dropped", 0) > 0:
            reasons.append(f"finite queue ({self.queue_capacity}) dropped {stats['dropped']:,} requests")
        keys = scenario.workload.keys
        if self.shards > 1 and keys.distribution == "zipf":
            reasons.append(f"skewed keys (Zipf {keys.zipf_exponent:g}) load one shard more than the rest")
        return reasons


def shard_of(key: int, shard_count: int) -> int:
    """The shard holding ``key``: a hash, so popular keys land on shards without pattern."""
    return mix_key(key) % shard_count


class Database(Component):
    """Runtime of a ``kind: database`` component."""

    kind = "database"

    def __init__(self, env: Scheduler, name: str, spec: DatabaseSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.read_distribution = from_spec(spec.read_time)
        self.write_distribution = from_spec(spec.write_time)
        self.sample_read_s = self.read_distribution.sampler(streams.stream(f"component/{name}/read"))
        self.sample_write_s = self.write_distribution.sampler(streams.stream(f"component/{name}/write"))
        self.primaries: list[Station] = []
        self.replicas: list[list[Station]] = []
        self.next_replica = [0] * spec.shards
        for primary, replicas in spec.node_names(name):
            self.primaries.append(self._node(primary))
            self.replicas.append([self._node(replica) for replica in replicas])
        self.stations = [station for shard in range(spec.shards)
                         for station in [self.primaries[shard], *self.replicas[shard]]]

    def _node(self, name: str) -> Station:
        return Station(self.env, name, self.spec.pool_size, self.spec.queue_capacity, self._start)

    def station_for(self, request: Request) -> Station:
        """The node that serves ``request``: its shard's primary for writes, a replica for reads."""
        shard = shard_of(request.key, len(self.primaries)) if len(self.primaries) > 1 else 0
        replicas = self.replicas[shard]
        if request.is_write or not replicas:
            return self.primaries[shard]
        turn = self.next_replica[shard]
        self.next_replica[shard] = (turn + 1) % len(replicas)
        return replicas[turn]

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        if not self.station_for(request).acquire(visit):
            self._reject(visit)

    def _start(self, visit: Visit) -> None:
        duration_s = self.sample_write_s() if visit.request.is_write else self.sample_read_s()
        self.env.call_later(duration_s, self._done, visit)

    def _done(self, visit: Visit) -> None:
        assert visit.station is not None
        visit.station.release(visit)
        self._settle(visit, OK)
