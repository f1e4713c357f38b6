"""The event loop: SimPy's environment with light callback entries. The only module that touches SimPy's internals.

Everything else schedules work with ``loop.call_later(delay_s, function, argument)`` and reads the clock with
``loop.now``. A callback entry is a plain tuple ``(time, priority, id, function, argument)`` pushed onto SimPy's
own heap: no Event, no process, no allocation beyond the tuple. ``step`` and ``run`` call those entries directly;
every other event (a Timeout, a process, ``run(until=event)``) takes SimPy's own path unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL, EmptySchedule, StopSimulation

Callback = Callable[[Any], None]
CHECK_EVERY = 4096  # events between two looks at the run's budget (wall clock, cancel hook, counters)


class EventLoop(simpy.Environment):
    """SimPy's environment whose queue also holds light callback entries, with a budget on its work.

    ``run`` counts the entries it processes (``events``, plus ``extra_events`` that callbacks report for work
    done inside them, such as rejected thinning candidates) and, every ``check_every`` entries, asks
    ``watchdog(events, now)`` whether to stop; a non-None answer is kept in ``stopped`` and ends the run where it
    is, with the clock at the last event.
    """

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.events = 0
        self.extra_events = 0
        self.watchdog: Callable[[int, float], Any] | None = None
        self.check_every = CHECK_EVERY  # a smaller event budget is checked more often (see sim.engine.run)
        self.stopped: Any = None

    def call_later(self, delay_s: float, function: Callback, argument: Any) -> None:
        """Run ``function(argument)`` after ``delay_s`` simulated seconds."""
        entry: tuple[Any, ...] = (self._now + delay_s, NORMAL, next(self._eid), function, argument)
        heappush(self._queue, entry)

    def signal(self) -> simpy.Event:
        """An event that some callback will trigger with ``succeed()`` (e.g. "every request has finished")."""
        return simpy.Event(self)

    def run_until_signal(self, signal: simpy.Event, budget_s: float) -> None:
        """Run until ``signal`` is triggered or ``budget_s`` more simulated seconds have passed."""
        self.run(until=self.any_of([signal, self.timeout(budget_s)]))

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
