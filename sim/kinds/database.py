"""A sharded, replicated database: each node a pool of connections with a bounded wait queue.

A key's shard is fixed by hashing the key. Writes go to the shard's primary; reads go round robin over the
shard's read replicas, or to the primary when it has none. A query waits for a free connection, holds it for
its service time, then releases it.

Optionally replication is modelled: the primary ships each committed write to its replicas, which apply it
after ``replication_lag`` (and, with ``replicas_apply_writes``, after a write's work on one of their
connections, so a busy replica lags further); a replica read of a key whose newest write it has not applied
is stale (``sim.kinds.replication``). ``read_your_writes_s`` sends reads of recently written keys to the primary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.kinds.operations import by_partition
from sim.kinds.replication import CLASS_FIELDS, ReplicationLog, staleness
from sim.model.base import Price
from sim.model.distributions import DistributionSpec, from_spec
from sim.model.keys import mix_key
from sim.model.knobs import Knob, integer_knob
from sim.model.status import OK
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station
from sim.theory.flows import Traffic, mixture
from sim.theory.predictions import ComponentTheory, StationPrediction, combine, station

LAG_CHOICES_MS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)


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
    replication_lag: DistributionSpec | None = None
    replicas_apply_writes: bool = False
    read_your_writes_s: Annotated[float, Field(gt=0, le=3600)] | None = None

    summary: ClassVar[str] = "shards by key hash, each a primary plus read replicas, each node a connection pool"
    stats_fields: ClassVar[dict[str, tuple[type, str]]] = {
        "stale_read_ratio": (float, "share of replica reads that missed the key's newest committed write"),
        "mean_stale_age_ms": (float, "how long before a stale read the write it missed had committed"),
        "stale_reads_by_class": (dict, "per request class with replica reads: its stale_read_ratio and "
                                       "mean_stale_age_ms"),
    }

    @property
    def tracks_replication(self) -> bool:
        """Whether replicas apply writes after a lag (then replica reads are checked for staleness)."""
        return self.replicas > 0 and (self.replication_lag is not None or self.replicas_apply_writes)

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        if "replica_reads" not in counters:
            return {}
        by_class = {}
        for field_name in counters:
            if field_name.startswith("replica_reads@") and counters[field_name] > 0:
                class_name = field_name.partition("@")[2]
                by_class[class_name] = staleness(*(counters[f"{name}@{class_name}"] for name in CLASS_FIELDS))
        return {**staleness(counters["replica_reads"], counters["stale_reads"], counters["stale_age_total_s"]),
                "stale_reads_by_class": by_class}

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
        for (primary, replicas), (read_rps, write_rps, primary_reads) in zip(self.node_names(name),
                                                                             self.shard_rates(traffic), strict=True):
            replica_reads = read_rps - primary_reads if replicas else 0.0
            nodes = [(primary, [(read_rps - replica_reads, read), (write_rps, write)], 1.0)]
            applies = write_rps if self.replicas_apply_writes else 0.0
            # reads take the shard's replicas in turn: each sees every n-th read (Erlang-n gaps, SCV 1/n)
            nodes += [(replica, [(replica_reads / len(replicas), read), (applies, write)],
                       1.0 / len(replicas) if applies == 0 else 1.0) for replica in replicas]
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

    def shard_rates(self, traffic: Traffic) -> list[tuple[float, float, float]]:
        """(read rps, write rps, rps of reads kept on the primary) reaching each shard, by the engine's key hash.

        With read-your-writes a read goes to the primary when its key was written in the last window: for
        Poisson writes of rate w, a share 1 - exp(-w window) of the key's reads.
        """
        window_s = self.read_your_writes_s or 0.0
        primary_reads = traffic.read_rps * -np.expm1(-traffic.write_rps * window_s)
        columns = [column.tolist() for column in by_partition([traffic.read_rps, traffic.write_rps, primary_reads],
                                                              self.shards)]
        return list(zip(*columns, strict=True))

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
            *self._lag_knobs(name),
        ]

    def _lag_knobs(self, name: str) -> list[Knob]:
        """The mean replication lag, when replication is modelled with a lag that has a mean to set."""
        lag_ms = getattr(self.replication_lag, "mean_ms", None)
        if lag_ms is None:
            return []
        options = tuple(sorted({*LAG_CHOICES_MS, lag_ms}))
        return [Knob(f"components.{name}.replication_lag.mean_ms", f"{name}: replication lag (mean ms)", "ordered",
                     lag_ms, options=options, option_labels=tuple(f"{lag:g} ms" for lag in options), component=name,
                     help="How long a committed write takes to reach a replica; reads there meanwhile are stale.")]

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


class _Apply:
    """A replicated write on its way to one replica: which shard, replica, key and version."""

    __slots__ = ("key", "replica", "shard", "version")

    def __init__(self, shard: int, replica: int, key: int, version: int) -> None:
        self.shard, self.replica, self.key, self.version = shard, replica, key, version


def _no_reply(token: Any, status: int) -> None:
    """Replication work answers nobody."""


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
        self.logs = [ReplicationLog(spec.replicas) for _shard in range(spec.shards)] if spec.tracks_replication else []
        self.replica_of = {station: (shard, index) for shard, replicas in enumerate(self.replicas)
                           for index, station in enumerate(replicas)}
        lag = spec.replication_lag
        self.sample_lag_s = (from_spec(lag).sampler(streams.stream(f"component/{name}/replication-lag"))
                             if lag is not None else None)
        self.last_write_s: dict[int, float] = {}
        self.prune_at = 1024
        self.class_names: tuple[str, ...] = ()

    def _node(self, name: str) -> Station:
        return Station(self.env, name, self.spec.pool_size, self.spec.queue_capacity, self._start)

    def know_classes(self, class_names: tuple[str, ...]) -> None:
        self.class_names = class_names

    def extra_fields(self) -> dict[str, float]:
        if not self.logs:
            return {}
        fields = {"replica_reads": sum(log.replica_reads for log in self.logs),
                  "stale_reads": sum(log.stale_reads for log in self.logs),
                  "stale_age_total_s": sum(log.stale_age_total_s for log in self.logs)}
        for index, class_name in enumerate(self.class_names):
            counts = [log.by_class.get(index, (0.0, 0.0, 0.0)) for log in self.logs]
            for position, field_name in enumerate(CLASS_FIELDS):
                fields[f"{field_name}@{class_name}"] = sum(count[position] for count in counts)
        return fields

    def station_for(self, request: Request) -> Station:
        """The node that serves ``request``: its shard's primary for writes, a replica for reads.

        With read-your-writes, reads of a key written within the window stay on the primary.
        """
        shard = shard_of(request.key, len(self.primaries)) if len(self.primaries) > 1 else 0
        replicas = self.replicas[shard]
        if request.is_write or not replicas or self._written_lately(request.key):
            return self.primaries[shard]
        turn = self.next_replica[shard]
        self.next_replica[shard] = (turn + 1) % len(replicas)
        return replicas[turn]

    def _written_lately(self, key: int) -> bool:
        window_s = self.spec.read_your_writes_s
        return window_s is not None and self.env.now - self.last_write_s.get(key, -window_s) < window_s

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        if not self.station_for(request).acquire(visit):
            self._reject(visit)

    def _start(self, visit: Visit) -> None:
        if visit.request.is_write:
            duration_s = self.sample_write_s()
        else:
            duration_s = self.sample_read_s()
            if self.logs and visit.station in self.replica_of:
                shard, replica = self.replica_of[visit.station]
                self.logs[shard].read(visit.request.key, replica, self.env.now, visit.request.class_index)
        self.env.call_later(duration_s, self._done, visit)

    def _done(self, visit: Visit) -> None:
        assert visit.station is not None
        visit.station.release(visit)
        token = visit.token
        if isinstance(token, _Apply):
            self.logs[token.shard].apply(token.key, token.replica, token.version)
            return
        if visit.request.is_write:
            self._committed(visit)
        self._settle(visit, OK)

    def _committed(self, visit: Visit) -> None:
        """A write finished on the primary: remember it for read-your-writes and ship it to the replicas."""
        key, now = visit.request.key, self.env.now
        if self.spec.read_your_writes_s is not None:
            self.last_write_s[key] = now
            if len(self.last_write_s) > self.prune_at:
                self._prune(now - self.spec.read_your_writes_s)
        if not self.logs:
            return
        shard = shard_of(key, len(self.primaries)) if len(self.primaries) > 1 else 0
        version = self.logs[shard].commit(key, now)
        for replica in range(len(self.replicas[shard])):
            apply = _Apply(shard, replica, key, version)
            if self.sample_lag_s is not None:
                self.env.call_later(self.sample_lag_s(), self._ship, apply)
            else:
                self._ship(apply)

    def _ship(self, apply: _Apply) -> None:
        """The write reaches a replica: applied at once, or as a write's work on one of its connections."""
        if self.spec.replicas_apply_writes:
            request = Request(self.env.now, 0, True, apply.key)
            if self.replicas[apply.shard][apply.replica].acquire(Visit(request, _no_reply, apply, self.env.now)):
                return
        self.logs[apply.shard].apply(apply.key, apply.replica, apply.version)  # a full queue applies it later

    def _prune(self, oldest_s: float) -> None:
        """Forget writes older than the read-your-writes window, so the table holds recent keys only."""
        self.last_write_s = {key: time_s for key, time_s in self.last_write_s.items() if time_s > oldest_s}
        self.prune_at = 2 * len(self.last_write_s) + 1024
