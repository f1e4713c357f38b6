"""A station: a multi-server FIFO queue with a bounded waiting room and exact time-weighted levels.

Servers are workers, connections or threads. Work is scheduled as callbacks on the event loop
(``sim.runtime.loop``), not as one generator process per request, which keeps the engine several times faster
than idiomatic SimPy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from sim.runtime.requests import NOT_STARTED, Visit
from sim.runtime.scheduler import Scheduler


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

    def __init__(self, env: Scheduler, name: str, servers: int, queue_capacity: int,
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
        now = self.env.now
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
        now = self.env.now
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
