"""Runtime of a ``kind: broker`` component: a partitioned topic, its retention bound, and its consumer groups.

A publish is a visit like any other: the broker answers its caller ``OK`` once the message is appended (after
``append_latency_ms``), and the message then lives on its own. Each consumer group reads every message: a
message goes to the consumer instance that owns its partition, a one-server station whose queue is that
consumer's lag (one poll loop: one message at a time, in arrival order). Serving a message means handing it to
the consumer service (``accept``, as a load balancer hands a request to an instance) and waiting for its
answer, so the consumer's own work, workers and downstream calls count where they belong.

Levels (backlog, lag per group and per partition, blocked publishers) are integrated exactly as they change,
like a station's queue; every message a group finishes (or loses to ``drop_oldest``) is one event record.
"""

from __future__ import annotations

from array import array
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.keys import mix_key
from sim.model.status import DROPPED, OK
from sim.runtime.component import Component
from sim.runtime.requests import NOT_STARTED, Reply, Request, Visit
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station

if TYPE_CHECKING:
    from sim.kinds.broker.spec import BrokerSpec


class Level:
    """A count that changes at events, with its exact time integral (area) kept as it changes."""

    __slots__ = ("area", "since_s", "value")

    def __init__(self) -> None:
        self.value = 0
        self.area = self.since_s = 0.0

    def add(self, delta: int, now: float) -> None:
        self.area += self.value * (now - self.since_s)
        self.since_s = now
        self.value += delta

    def area_at(self, now: float) -> float:
        return self.area + self.value * (now - self.since_s)


class Message:
    """One appended message: its request (key, operation), partition, publish time, and the groups yet to read it."""

    __slots__ = ("partition", "pending", "published_s", "request", "visits")

    def __init__(self, request: Request, partition: int, published_s: float, groups: int) -> None:
        self.request = request
        self.partition = partition
        self.published_s = published_s
        self.pending = groups
        self.visits: list[Visit] = []


class ConsumerGroup:
    """One consumer group: its consumer stations, which consumer owns each partition, its lag and its records."""

    def __init__(self, broker: Broker, index: int, name: str, station_names: list[str], owners: list[int]) -> None:
        self.broker = broker
        self.index = index
        self.name = name
        self.owners = owners  # partition -> consumer instance (range assignor)
        self.stations = [Station(broker.env, station, 1, broker.spec.retention_messages, self._start)
                         for station in station_names]
        self.lag = Level()
        self.partition_lag = [Level() for _partition in owners]
        self.partition_processed = [0] * len(owners)
        self.processed = 0
        self.service: Component | None = None

    def deliver(self, message: Message, now: float) -> None:
        """Queue ``message`` at the consumer that owns its partition."""
        self.lag.add(1, now)
        self.partition_lag[message.partition].add(1, now)
        visit = Visit(message.request, self._processed, message, now)
        message.visits.append(visit)
        self.stations[self.owners[message.partition]].acquire(visit)

    def _start(self, visit: Visit) -> None:
        assert self.service is not None
        self.service.accept(visit.request, self._processed, visit)

    def _processed(self, visit: Visit, status: int) -> None:
        assert visit.station is not None
        visit.station.release(visit)
        self.processed += 1
        self.partition_processed[visit.token.partition] += 1
        self.finish(visit.token, status)

    def discard(self, message: Message, visit: Visit) -> None:
        """Lose a message still waiting for this group (``drop_oldest``): its station skips it at the head."""
        visit.settled = True
        self.finish(message, DROPPED)

    def finish(self, message: Message, status: int) -> None:
        """This group is done with ``message`` (read, failed or discarded): lag falls, and a record is kept."""
        now = self.broker.env.now
        self.lag.add(-1, now)
        self.partition_lag[message.partition].add(-1, now)
        self.broker.record(self.index, message, now, status)


class Broker(Component):
    """Runtime of a ``kind: broker`` component."""

    kind = "broker"

    def __init__(self, env: Scheduler, name: str, spec: BrokerSpec, streams: Any) -> None:
        super().__init__(env, name, spec)
        self.append_s = spec.append_latency_ms / 1000.0
        self.groups = [ConsumerGroup(self, index, consumer.group, spec.consumer_station_names(name, index),
                                     spec.partition_owners(consumer.instances))
                       for index, consumer in enumerate(spec.consumers)]
        self.stations = [station for group in self.groups for station in group.stations]
        self.backlog = Level()  # messages some group has not yet finished (held against the retention bound)
        self.blocked = Level()  # publishers held because the retention bound is full
        self.waiting: deque[Visit] = deque()
        self.retained: deque[Message] = deque()  # in append order, for drop_oldest
        self.published = self.publish_rejected = self.publish_blocked = self.messages_dropped = 0
        self.next_partition = 0
        self.partition_appended = [0] * spec.partitions
        self.appended_s = array("d")
        self.event_group, self.event_partition, self.event_status = array("b"), array("h"), array("b")
        self.event_published_s, self.event_done_s = array("d"), array("d")

    def connect(self, components: dict[str, Component]) -> None:
        for group, consumer in zip(self.groups, self.spec.consumers, strict=True):
            group.service = components[consumer.service]

    def partition_of(self, request: Request) -> int:
        partitions = self.spec.partitions
        if self.spec.partition_by == "key":
            return mix_key(request.key) % partitions
        self.next_partition = (self.next_partition + 1) % partitions
        return self.next_partition

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        if self.backlog.value < self.spec.retention_messages or self._make_room():
            self._admit(visit)
        elif self.spec.when_full == "block":
            self.publish_blocked += 1
            self.blocked.add(1, self.env.now)
            visit.started_s = NOT_STARTED
            self.waiting.append(visit)
        else:
            self.publish_rejected += 1
            self._reject(visit)

    def _make_room(self) -> bool:
        """Under ``drop_oldest``, discard the oldest messages still waiting until one slot is free."""
        if self.spec.when_full != "drop_oldest":
            return False
        while self.retained and self.backlog.value >= self.spec.retention_messages:
            message = self.retained.popleft()
            waiting = [(group, visit) for group, visit in zip(self.groups, message.visits, strict=True)
                       if not visit.settled and visit.started_s == NOT_STARTED]
            if waiting:
                self.messages_dropped += 1
            for group, visit in waiting:
                group.discard(message, visit)
        return self.backlog.value < self.spec.retention_messages

    def _admit(self, visit: Visit) -> None:
        self.backlog.add(1, self.env.now)
        visit.started_s = self.env.now
        if self.append_s > 0.0:
            self.env.call_later(self.append_s, self._appended, visit)
        else:
            self._appended(visit)

    def _appended(self, visit: Visit) -> None:
        now = self.env.now
        request = visit.request
        message = Message(Request(now, request.class_index, request.is_write, request.key), self.partition_of(request),
                          visit.arrived_s, len(self.groups))
        self.published += 1
        self.partition_appended[message.partition] += 1
        self.appended_s.append(now)
        if self.spec.when_full == "drop_oldest":
            self.retained.append(message)
        for group in self.groups:
            group.deliver(message, now)
        self._settle(visit, OK)
        if not self.groups:
            self._released(message)

    def record(self, group: int, message: Message, now: float, status: int) -> None:
        """One group finished with ``message``: keep its record, and free its slot once every group has."""
        self.event_group.append(group)
        self.event_partition.append(message.partition)
        self.event_published_s.append(message.published_s)
        self.event_done_s.append(now)
        self.event_status.append(status)
        message.pending -= 1
        if message.pending == 0:
            self._released(message)

    def _released(self, message: Message) -> None:
        now = self.env.now
        self.backlog.add(-1, now)
        while self.waiting:
            visit = self.waiting.popleft()
            self.blocked.add(-1, now)
            if not visit.settled:
                self._admit(visit)
                return

    def extra_fields(self) -> dict[str, float]:
        now = self.env.now
        fields = {"published": float(self.published), "publish_rejected": float(self.publish_rejected),
                  "publish_blocked": float(self.publish_blocked), "messages_dropped": float(self.messages_dropped),
                  "backlog_area": self.backlog.area_at(now), "blocked_area": self.blocked.area_at(now)}
        for partition, count in enumerate(self.partition_appended):
            fields[f"partition-{partition}:appended"] = float(count)
        for group in self.groups:
            fields[f"{group.name}:processed"] = float(group.processed)
            fields[f"{group.name}:lag_area"] = group.lag.area_at(now)
            for partition, level in enumerate(group.partition_lag):
                fields[f"{group.name}:partition-{partition}:lag_area"] = level.area_at(now)
                fields[f"{group.name}:partition-{partition}:processed"] = float(group.partition_processed[partition])
        return fields

    def event_columns(self) -> dict[str, Any]:
        return {"appended_s": np.frombuffer(self.appended_s, dtype=np.float64),
                "group": np.frombuffer(self.event_group, dtype=np.int8),
                "partition": np.frombuffer(self.event_partition, dtype=np.int16),
                "published_s": np.frombuffer(self.event_published_s, dtype=np.float64),
                "done_s": np.frombuffer(self.event_done_s, dtype=np.float64),
                "status": np.frombuffer(self.event_status, dtype=np.int8)}
