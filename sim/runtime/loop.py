"""The event loop: SimPy's environment with light callback entries. The only module that touches SimPy's internals.

Everything else schedules work with ``loop.call_later(delay_s, function, argument)`` and reads the clock with
``loop.now``. A callback entry is a plain tuple ``(time, priority, id, function, argument)`` pushed onto SimPy's
own heap: no Event, no process, no allocation beyond the tuple. ``step`` and ``run`` call those entries directly;
every other event (a Timeout, a process, ``run(until=event)``) takes SimPy's own path unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL, EmptySchedule

Callback = Callable[[Any], None]


class EventLoop(simpy.Environment):
    """SimPy's environment whose queue also holds light callback entries (see the module docstring)."""

    def call_later(self, delay_s: float, function: Callback, argument: Any) -> None:
        """Run ``function(argument)`` after ``delay_s`` simulated seconds."""
        heappush(self._queue, (self._now + delay_s, NORMAL, next(self._eid), function, argument))

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
        """SimPy's ``run``; with a time limit, a tight loop over the queue.

        As in SimPy, events scheduled at exactly ``until`` are left for later, and the clock ends at ``until``.
        """
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        end_s = float(until)
        if end_s <= self._now:
            raise ValueError(f"until ({end_s}) must be greater than the current simulation time")
        queue = self._queue
        while queue and queue[0][0] < end_s:
            entry = heappop(queue)
            if len(entry) == 5:
                self._now = entry[0]
                entry[3](entry[4])
            else:
                heappush(queue, entry)
                super().step()
        self._now = end_s
        return None
