"""The watchdog: asked every few thousand events whether a run must stop (its dynamic limits, and cancellation)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sim.model.limits import LIMIT_ADVICE, Cancel, LimitsSpec, Stop


class Watchdog:
    """The dynamic limits of one run, asked every few thousand events whether the run must stop."""

    def __init__(self, limits: LimitsSpec, cancel: Cancel | None = None, imposed: frozenset[str] = frozenset(),
                 started_s: float | None = None) -> None:
        self.limits = limits
        self.counters: Callable[[], tuple[int, int]] = lambda: (0, 0)  # (records kept, requests in flight)
        self.cancel = cancel
        self.imposed = imposed  # limits the caller lowered below the scenario's: the file cannot raise them
        self.deadline_s = (time.perf_counter() if started_s is None else started_s) + limits.max_wall_time_s

    def check(self, events: int, now_s: float) -> Stop | None:
        """The limit that stops the run now, or None to carry on."""
        records, in_flight = self.counters()
        reached = [("cancelled", 1.0, self.cancel is not None and self.cancel()),
                   ("max_events", self.limits.max_events, events >= self.limits.max_events),
                   ("max_wall_time_s", self.limits.max_wall_time_s, time.perf_counter() >= self.deadline_s),
                   ("max_records", self.limits.max_records, records >= self.limits.max_records),
                   ("max_in_flight", self.limits.max_in_flight, in_flight >= self.limits.max_in_flight)]
        for name, value, hit in reached:
            if hit:
                advice = LIMIT_ADVICE[name].format(value=value)
                if name in self.imposed:
                    advice = advice.replace(f", or raise limits.{name}", f" (a limit of {value:g} set where the "
                                                                         "scenario runs, not in the file)")
                return Stop(name, float(value), now_s, advice)
        return None
