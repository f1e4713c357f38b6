"""A sharded, replicated database: each node a pool of connections with a bounded wait queue.

A key's shard is fixed by hashing the key. Writes go to the shard's primary; reads go round robin over the
shard's read replicas, or to the primary when it has none. A query waits for a free connection, holds it for
its service time, then releases it.
"""

from __future__ import annotations

from typing import Any

import simpy

from sim.components.base import OK, Component, Reply, Request, Station, Visit, call_later
from sim.components.policies import mix_key
from sim.dists import from_spec
from sim.rng import RandomStreams
from sim.specs import DatabaseSpec


def shard_of(key: int, shard_count: int) -> int:
    """The shard holding ``key``: a hash, so popular keys land on shards without pattern."""
    return mix_key(key) % shard_count


class Database(Component):
    """Runtime of a ``kind: database`` component."""

    kind = "database"

    def __init__(self, env: simpy.Environment, name: str, spec: DatabaseSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.read_distribution = from_spec(spec.read_time)
        self.write_distribution = from_spec(spec.write_time)
        self.sample_read_s = self.read_distribution.sampler(streams.stream(f"component/{name}/read"))
        self.sample_write_s = self.write_distribution.sampler(streams.stream(f"component/{name}/write"))
        self.primaries: list[Station] = []
        self.replicas: list[list[Station]] = []
        self.next_replica = [0] * spec.shards
        for shard in range(spec.shards):
            prefix = f"{name}/shard-{shard}" if spec.shards > 1 else name
            self.primaries.append(self._node(f"{prefix}/primary"))
            self.replicas.append([self._node(f"{prefix}/replica-{index}") for index in range(spec.replicas)])
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
        call_later(self.env, duration_s, self._done, visit)

    def _done(self, visit: Visit) -> None:
        assert visit.station is not None
        visit.station.release(visit)
        self._settle(visit, OK)
