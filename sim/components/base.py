"""The runtime building blocks every component shares: requests, visits, stations and the call protocol.

Protocol: ``component.accept(request, reply, token)`` starts a visit; the component later calls
``reply(token, status)`` exactly once. Work is scheduled as callbacks on SimPy's event queue, not as one
generator process per request, which keeps the engine several times faster than idiomatic SimPy.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL, EmptySchedule, StopSimulation

OK, DROPPED, TIMED_OUT, FAILED = 0, 1, 2, 3
CHECK_EVERY = 4096  # events between two looks at the run's budget (wall clock, cancel hook, counters)
STATUS_NAMES = ("ok", "dropped", "timed_out", "failed")

Reply = Callable[[Any, int], None]


class Request:
    """One request travelling through the call graph; ``waited_s`` sums its queueing at every station."""

    __slots__ = ("arrival_s", "class_index", "is_write", "key", "waited_s")

    def __init__(self, arrival_s: float, class_index: int, is_write: bool, key: int) -> None:
        self.arrival_s = arrival_s
        self.class_index = class_index
        self.is_write = is_write
        self.key = key
        self.waited_s = 0.0


class Visit:
    """A request's stay in one component: who to answer, and whether the answer was already given.

    ``started_s`` is when a worker took it (the arrival for components without workers, ``NOT_STARTED`` while
    it waits in a queue), so its wait is ``started_s - arrived_s``.
    """

    __slots__ = ("arrived_s", "call_index", "queued_s", "reply", "request", "settled", "started_s", "station",
                 "token")

    def __init__(self, request: Request, reply: Reply, token: Any, arrived_s: float) -> None:
        self.request = request
        self.reply = reply
        self.token = token
        self.arrived_s = arrived_s
        self.settled = False
        self.queued_s = arrived_s
        self.started_s = arrived_s
        self.station: Station | None = None
        self.call_index = 0


NOT_STARTED = -1.0


class Environment(simpy.Environment):
    """SimPy's environment, whose queue also holds light callback entries, with a budget on its work.

    ``call_later`` pushes ``(time, priority, id, function, argument)`` onto SimPy's own heap: no Event, no
    process, no allocation beyond the tuple. ``step`` and ``run`` call those entries directly; every other
    event (a Timeout, a process, ``run(until=event)``) takes SimPy's own path unchanged.

    ``run`` counts the entries it processes (``events``, plus ``extra_events`` that callbacks report for work
    done inside them) and, every ``CHECK_EVERY`` entries, asks ``watchdog(events, now)`` whether to stop; a
    non-None answer is kept in ``stopped`` and ends the run where it is, with the clock at the last event.
    """

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.events = 0
        self.extra_events = 0
        self.watchdog: Callable[[int, float], Any] | None = None
        self.check_every = CHECK_EVERY  # a smaller event budget is checked more often (see sim.engine)
        self.stopped: Any = None

    def step(self) -> None:
        try:
            entry = heappop(self._queue)
        except IndexError:
            raise EmptySchedule from None
        if len(entry) == 5:
            self._now = entry[0]
            entry[3](entry[4])
            return
        heappush(self._queue, entry)  # put it back for SimPy's own step
        super().step()

    def run(self, until: float | simpy.Event | None = None) -> Any:
        """SimPy's ``run`` as a tight loop over the queue, stopping early if the watchdog says so.

        As in SimPy, events scheduled at exactly ``until`` are left for later, and the clock ends at ``until``
        (unless the run was stopped). With an event, runs until it is processed and returns its value.
        """
        end_s = math.inf
        if isinstance(until, simpy.Event):
            if until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        elif until is not None:
            end_s = float(until)
            if end_s <= self._now:
                raise ValueError(f"until ({end_s}) must be greater than the current simulation time")
        try:
            finished = self._loop(end_s)
        except StopSimulation as stop:
            return stop.args[0]
        if finished and end_s < math.inf:
            self._now = end_s
        elif finished and isinstance(until, simpy.Event):
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')
        return None

    def _loop(self, end_s: float) -> bool:
        """Process entries before ``end_s``; False if the watchdog stopped the run first."""
        queue = self._queue
        chunk = range(self.check_every)
        while self.stopped is None:
            processed = 0
            for processed in chunk:
                if not queue or queue[0][0] >= end_s:
                    self.events += processed
                    return True
                entry = heappop(queue)
                if len(entry) == 5:
                    self._now = entry[0]
                    entry[3](entry[4])
                else:
                    heappush(queue, entry)
                    super().step()
            self.events += processed + 1
            if self.watchdog is not None:
                self.stopped = self.watchdog(self.events + self.extra_events, self._now)
        return False


def call_later(env: simpy.Environment, delay_s: float, function: Callable[[Any], None], argument: Any) -> None:
    """Run ``function(argument)`` after ``delay_s`` simulated seconds (``env`` must be this module's Environment)."""
    heappush(env._queue, (env._now + delay_s, NORMAL, next(env._eid), function, argument))  # type: ignore[attr-defined,misc]


class Station:
    """A multi-server FIFO queue with a bounded waiting room and exact time-weighted levels.

    ``servers`` are workers, connections or threads; ``queue_capacity`` visits may wait; one more is dropped.
    Visits already settled elsewhere (their caller timed out) are skipped when they reach the head: they leave
    without service (``abandoned``). Time integrals are kept as running sums (area = sum of end times - sum of
    start times + level x now), so a change of level costs an addition, not an integration step. Every visit
    that leaves (served or abandoned) adds its wait and its response to ``departed_*``, so means taken over
    the visits that left in a window always have response >= wait.
    """

    FIELDS = ("busy_area", "queue_area", "arrivals", "drops", "starts", "wait_total_s", "completions",
              "abandoned", "departed_wait_s", "departed_response_s", "queued", "busy")

    def __init__(self, env: simpy.Environment, name: str, servers: int, queue_capacity: int,
                 on_start: Callable[[Visit], None]) -> None:
        self.env = env
        self.name = name
        self.servers = servers
        self.queue_capacity = queue_capacity
        self.on_start = on_start
        self.busy = 0
        self.queue: deque[Visit] = deque()
        self.busy_started_sum_s = self.busy_ended_sum_s = self.queued_sum_s = 0.0
        self.arrivals = self.drops = self.starts = self.completions = self.abandoned = 0
        self.wait_total_s = self.departed_wait_s = self.departed_response_s = 0.0

    @property
    def in_system(self) -> int:
        """Visits waiting or being served: what least-connections balancing looks at."""
        return self.busy + len(self.queue)

    def acquire(self, visit: Visit) -> bool:
        """Start ``visit`` on a free server, or queue it; False when the queue is full (dropped)."""
        self.arrivals += 1
        visit.station = self
        now = self.env._now  # type: ignore[attr-defined]
        visit.queued_s = now
        if self.busy < self.servers:
            self.busy += 1
            self.busy_started_sum_s += now
            self.starts += 1
            visit.started_s = now
            self.on_start(visit)
            return True
        if len(self.queue) >= self.queue_capacity:
            self.drops += 1
            return False
        visit.started_s = NOT_STARTED
        self.queued_sum_s += now
        self.queue.append(visit)
        return True

    def release(self, visit: Visit) -> None:
        """``visit`` is done: free its server and hand it straight to the next live visit (no idle gap)."""
        now = self.env._now  # type: ignore[attr-defined]
        self.completions += 1
        self.departed_wait_s += visit.started_s - visit.queued_s
        self.departed_response_s += now - visit.queued_s
        queue = self.queue
        while queue:
            waiting = queue.popleft()
            waited_s = now - waiting.queued_s
            self.queued_sum_s -= waiting.queued_s
            self.wait_total_s += waited_s
            if not waiting.settled:
                waiting.started_s = now
                waiting.request.waited_s += waited_s
                self.starts += 1
                self.on_start(waiting)
                return
            self.abandoned += 1  # its caller gave up: it leaves without service
            self.departed_wait_s += waited_s
            self.departed_response_s += waited_s
        self.busy -= 1
        self.busy_ended_sum_s += now

    def snapshot(self, now: float) -> list[float]:
        """Cumulative values of ``FIELDS`` at ``now`` (the last two are the levels at ``now``)."""
        busy_area = self.busy_ended_sum_s - self.busy_started_sum_s + self.busy * now
        queue_area = self.wait_total_s + len(self.queue) * now - self.queued_sum_s
        return [busy_area, queue_area, self.arrivals, self.drops, self.starts, self.wait_total_s, self.completions,
                self.abandoned, self.departed_wait_s, self.departed_response_s, len(self.queue), self.busy]


class Component:
    """Base of every component: a name, its stations, and visit accounting for Little's law.

    A visit the component turns away on arrival (its queue is full) is ``rejected``: it spends no time inside.
    Every other visit adds its response and its wait when it settles, so means over the visits that settled
    in a window have response >= wait, and in-system = throughput x response (Little's law) up to the visits
    present at the window's two ends.
    """

    kind = "component"
    FIELDS = ("in_system_area", "entered", "settled", "failed", "response_total_s", "rejected", "wait_total_s",
              "in_system")

    def __init__(self, env: simpy.Environment, name: str, spec: Any) -> None:
        self.env = env
        self.name = name
        self.spec = spec
        self.stations: list[Station] = []
        self.in_system = 0
        self.open_arrivals_sum_s = self.response_total_s = self.wait_total_s = 0.0
        self.entered = self.settled = self.failed = self.rejected = 0

    def connect(self, components: dict[str, Component]) -> None:
        """Look up downstream components by name (called once, after all are built)."""

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        """Begin a visit; ``reply(token, status)`` is called exactly once when it ends."""
        raise NotImplementedError

    def extra_fields(self) -> dict[str, float]:
        """Component-specific cumulative counters (e.g. cache hits), snapshotted with the rest."""
        return {}

    def _enter(self, request: Request, reply: Reply, token: Any) -> Visit:
        now = self.env._now  # type: ignore[attr-defined]
        self.in_system += 1
        self.entered += 1
        self.open_arrivals_sum_s += now
        return Visit(request, reply, token, now)

    def _reject(self, visit: Visit) -> None:
        """Turn a visit away on arrival (its station's queue is full): it is answered DROPPED at once."""
        self.rejected += 1
        self._settle(visit, DROPPED)

    def _settle(self, visit: Visit, status: int) -> None:
        """Answer the caller once; later answers for the same visit (after a timeout) are ignored."""
        if visit.settled:
            return
        visit.settled = True
        now = self.env._now  # type: ignore[attr-defined]
        self.in_system -= 1
        self.settled += 1
        self.open_arrivals_sum_s -= visit.arrived_s
        self.response_total_s += now - visit.arrived_s
        started_s = visit.started_s
        self.wait_total_s += (now if started_s == NOT_STARTED else started_s) - visit.arrived_s
        if status:
            self.failed += 1
        visit.reply(visit.token, status)

    def snapshot(self, now: float) -> list[float]:
        """Cumulative values of ``FIELDS`` (the last is the level at ``now``) then ``extra_fields`` at ``now``."""
        in_system_area = self.response_total_s + self.in_system * now - self.open_arrivals_sum_s
        values = [in_system_area, self.entered, self.settled, self.failed, self.response_total_s, self.rejected,
                  self.wait_total_s, self.in_system]
        return values + list(self.extra_fields().values())
