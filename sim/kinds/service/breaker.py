"""A circuit breaker on a call: stop calling a callee that keeps failing, then probe it before trusting it again.

``breaker: {failure_rate: 0.5, window_calls: 20, minimum_calls: 10, open_ms: 5000, half_open_calls: 3}`` on a
call, after Resilience4j's count-based breaker:

- **closed**: attempts go out; the outcomes of the last ``window_calls`` are kept, and once at least
  ``minimum_calls`` are in the window and the failed share (errors and timeouts) reaches ``failure_rate``, the
  breaker opens;
- **open**: attempts fail at once (``FAILED``, no retry), sending nothing, for ``open_ms``;
- **half-open**: the next ``half_open_calls`` attempts go out as probes, the rest fail at once; one failed
  probe opens it again, all probes answered well close it (with an empty window).

Failing fast gives a struggling callee the time to drain its queue, which is what stops a retry storm.
"""

from __future__ import annotations

from collections import deque
from typing import Annotated

from pydantic import Field, model_validator

from sim.model.base import StrictModel, TimeMs

CLOSED, OPEN, HALF_OPEN = 0, 1, 2


class BreakerSpec(StrictModel):
    """When to stop calling (a failed share over the last calls), for how long, and how many probes."""

    failure_rate: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    window_calls: Annotated[int, Field(ge=1, le=10_000)] = 20
    minimum_calls: Annotated[int, Field(ge=1, le=10_000)] = 10
    open_ms: TimeMs = 5000.0
    half_open_calls: Annotated[int, Field(ge=1, le=1000)] = 3

    @model_validator(mode="after")
    def _minimum_fits_the_window(self) -> BreakerSpec:
        if self.minimum_calls > self.window_calls:
            raise ValueError(f"minimum_calls ({self.minimum_calls}) is more than window_calls ({self.window_calls})")
        return self


class CircuitBreaker:
    """One caller's breaker for one callee: its state, its window of outcomes, and what it refused."""

    __slots__ = ("failures", "open_s", "opened", "opened_at_s", "outcomes", "probes_out", "probes_passed",
                 "refused", "spec", "state")

    def __init__(self, spec: BreakerSpec) -> None:
        self.spec = spec
        self.open_s = spec.open_ms / 1000.0
        self.state = CLOSED
        self.outcomes: deque[bool] = deque(maxlen=spec.window_calls)  # True: failed
        self.failures = 0
        self.opened_at_s = 0.0
        self.probes_out = self.probes_passed = 0
        self.opened = self.refused = 0

    def allow(self, now_s: float) -> bool:
        """Whether an attempt may go out now; a refused one is counted."""
        if self.state == OPEN and now_s >= self.opened_at_s + self.open_s:
            self.state, self.probes_out, self.probes_passed = HALF_OPEN, 0, 0
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and self.probes_out < self.spec.half_open_calls:
            self.probes_out += 1
            return True
        self.refused += 1
        return False

    def record(self, failed: bool, now_s: float) -> None:
        """An attempt that went out ended, well or not."""
        if self.state == HALF_OPEN:
            if failed:
                self._open(now_s)
            else:
                self.probes_passed += 1
                if self.probes_passed >= self.spec.half_open_calls:
                    self.state = CLOSED
                    self.outcomes.clear()
                    self.failures = 0
            return
        if self.state == OPEN:
            return  # an attempt sent before it opened: the window starts afresh after the probes
        if len(self.outcomes) == self.outcomes.maxlen and self.outcomes[0]:
            self.failures -= 1
        self.outcomes.append(failed)
        self.failures += failed
        count = len(self.outcomes)
        if count >= self.spec.minimum_calls and self.failures >= self.spec.failure_rate * count:
            self._open(now_s)

    def _open(self, now_s: float) -> None:
        self.state = OPEN
        self.opened_at_s = now_s
        self.opened += 1
