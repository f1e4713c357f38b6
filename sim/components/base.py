"""The runtime building blocks every component shares: requests, visits, stations and the call protocol.

Protocol: ``component.accept(request, reply, token)`` starts a visit; the component later calls
``reply(token, status)`` exactly once. Work is scheduled as callbacks on SimPy's event queue, not as one
generator process per request, which keeps the engine several times faster than idiomatic SimPy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import simpy
from simpy.core import NORMAL

OK, DROPPED, TIMED_OUT, FAILED = 0, 1, 2, 3
STATUS_NAMES = ("ok", "dropped", "timed_out", "failed")

Reply = Callable[[Any, int], None]


class Request:
    """One request travelling through the call graph."""

    __slots__ = ("arrival_s", "class_index", "is_write", "key")

    def __init__(self, arrival_s: float, class_index: int, is_write: bool, key: int) -> None:
        self.arrival_s = arrival_s
        self.class_index = class_index
        self.is_write = is_write
        self.key = key


class Visit:
    """A request's stay in one component: who to answer, and whether the answer was already given."""

    __slots__ = ("arrived_s", "call_index", "queued_s", "reply", "request", "settled", "station", "token")

    def __init__(self, request: Request, reply: Reply, token: Any, arrived_s: float) -> None:
        self.request = request
        self.reply = reply
        self.token = token
        self.arrived_s = arrived_s
        self.settled = False
        self.queued_s = arrived_s
        self.station: Station | None = None
        self.call_index = 0


class _Callback(simpy.Event):
    """A SimPy event that calls ``function(argument)`` when it fires; cheaper than a process."""

    def __init__(self, env: simpy.Environment, delay_s: float, function: Callable[[Any], None],
                 argument: Any) -> None:
        self.env = env
        self.callbacks = [_fire]
        self._ok = True
        self._value = None
        self.function = function
        self.argument = argument
        env.schedule(self, NORMAL, delay_s)


def _fire(event: _Callback) -> None:
    event.function(event.argument)


def call_later(env: simpy.Environment, delay_s: float, function: Callable[[Any], None], argument: Any) -> None:
    """Run ``function(argument)`` after ``delay_s`` simulated seconds."""
    _Callback(env, delay_s, function, argument)


class Station:
    """A multi-server FIFO queue with a bounded waiting room and time-weighted levels.

    ``servers`` are workers, connections or threads; ``queue_capacity`` visits may wait; one more is dropped.
    Visits already settled elsewhere (their caller timed out) are skipped when they reach the head.
    """

    FIELDS = ("busy_area", "queue_area", "arrivals", "drops", "starts", "wait_total_s", "completions")

    def __init__(self, env: simpy.Environment, name: str, servers: int, queue_capacity: int,
                 on_start: Callable[[Visit], None]) -> None:
        self.env = env
        self.name = name
        self.servers = servers
        self.queue_capacity = queue_capacity
        self.on_start = on_start
        self.busy = 0
        self.queue: deque[Visit] = deque()
        self.busy_area = self.queue_area = self.last_change_s = 0.0
        self.arrivals = self.drops = self.starts = self.completions = 0
        self.wait_total_s = 0.0

    @property
    def in_system(self) -> int:
        """Visits waiting or being served: what least-connections balancing looks at."""
        return self.busy + len(self.queue)

    def _account(self, now: float) -> None:
        elapsed = now - self.last_change_s
        if elapsed > 0.0:
            self.busy_area += self.busy * elapsed
            self.queue_area += len(self.queue) * elapsed
            self.last_change_s = now

    def acquire(self, visit: Visit) -> bool:
        """Start ``visit`` on a free server, or queue it; False when the queue is full (dropped)."""
        self.arrivals += 1
        if self.busy < self.servers:
            self._account(self.env.now)
            self.busy += 1
            self.starts += 1
            visit.station = self
            self.on_start(visit)
            return True
        if len(self.queue) >= self.queue_capacity:
            self.drops += 1
            return False
        self._account(self.env.now)
        visit.queued_s = self.env.now
        visit.station = self
        self.queue.append(visit)
        return True

    def release(self) -> None:
        """Free a server and hand it to the next live visit in the queue."""
        now = self.env.now
        self._account(now)
        self.completions += 1
        queue = self.queue
        while queue:
            visit = queue.popleft()
            self.wait_total_s += now - visit.queued_s
            if not visit.settled:
                self.starts += 1
                self.on_start(visit)
                return
        self.busy -= 1

    def snapshot(self, now: float) -> list[float]:
        """Cumulative values of ``FIELDS`` at ``now`` (areas brought up to date without changing state)."""
        elapsed = now - self.last_change_s
        return [self.busy_area + self.busy * elapsed, self.queue_area + len(self.queue) * elapsed,
                self.arrivals, self.drops, self.starts, self.wait_total_s, self.completions]


class Component:
    """Base of every component: a name, its stations, and visit accounting for Little's law."""

    kind = "component"
    FIELDS = ("in_system_area", "entered", "settled", "failed", "response_total_s")

    def __init__(self, env: simpy.Environment, name: str, spec: Any) -> None:
        self.env = env
        self.name = name
        self.spec = spec
        self.stations: list[Station] = []
        self.in_system = 0
        self.in_system_area = self.last_change_s = self.response_total_s = 0.0
        self.entered = self.settled = self.failed = 0

    def connect(self, components: dict[str, Component]) -> None:
        """Look up downstream components by name (called once, after all are built)."""

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        """Begin a visit; ``reply(token, status)`` is called exactly once when it ends."""
        raise NotImplementedError

    def extra_fields(self) -> dict[str, float]:
        """Component-specific cumulative counters (e.g. cache hits), snapshotted with the rest."""
        return {}

    def _enter(self, request: Request, reply: Reply, token: Any) -> Visit:
        now = self.env.now
        self._account(now)
        self.in_system += 1
        self.entered += 1
        return Visit(request, reply, token, now)

    def _settle(self, visit: Visit, status: int) -> None:
        """Answer the caller once; later answers for the same visit (after a timeout) are ignored."""
        if visit.settled:
            return
        visit.settled = True
        now = self.env.now
        self._account(now)
        self.in_system -= 1
        self.settled += 1
        self.response_total_s += now - visit.arrived_s
        if status != OK:
            self.failed += 1
        visit.reply(visit.token, status)

    def _account(self, now: float) -> None:
        elapsed = now - self.last_change_s
        if elapsed > 0.0:
            self.in_system_area += self.in_system * elapsed
            self.last_change_s = now

    def snapshot(self, now: float) -> list[float]:
        """Cumulative values of ``FIELDS`` then ``extra_fields`` at ``now``."""
        elapsed = now - self.last_change_s
        values = [self.in_system_area + self.in_system * elapsed, self.entered, self.settled, self.failed,
                  self.response_total_s]
        return values + list(self.extra_fields().values())
