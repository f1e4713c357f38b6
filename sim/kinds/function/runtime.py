"""Runtime of a ``kind: function`` component: numbered instance slots, warm, busy or reclaimed.

Each request takes the lowest-numbered warm idle instance (a warm start); when there is none it starts the
lowest-numbered reclaimed slot (a cold start: the cold-start time, then the execution). An instance that
finishes stays warm for ``keep_alive_s`` and is then reclaimed, unless a request took it first; the first
``provisioned_concurrency`` slots are never reclaimed. With ``concurrency_limit`` requests running, the next
is refused at once with the retryable ``THROTTLED``. Every invocation is billed its duration rounded up to
the millisecond (the cold start's too, with ``init_billed``) at the function's memory.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

from sim.model.distributions import from_spec
from sim.model.status import OK, THROTTLED
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler

if TYPE_CHECKING:
    from sim.kinds.function.spec import FunctionSpec

RECLAIMED, WARM, BUSY = 0, 1, 2


class Function(Component):
    """Runtime of a ``kind: function`` component (module docstring)."""

    kind = "function"

    def __init__(self, env: Scheduler, name: str, spec: FunctionSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.sample_execution_s = from_spec(spec.execution_time).sampler(
            streams.stream(f"component/{name}/execution"))
        self.sample_cold_start_s = from_spec(spec.cold_start_time).sampler(
            streams.stream(f"component/{name}/cold_start"))
        limit, provisioned = spec.concurrency_limit, spec.provisioned_concurrency
        self.state = [WARM] * provisioned + [RECLAIMED] * (limit - provisioned)
        self.idle_since = [0] * limit  # a generation per slot: a reclaim scheduled for an older idle is void
        self.warm_idle = list(range(provisioned))  # heap of (lowest first) warm idle slots
        self.reclaimed = list(range(provisioned, limit))  # heap of reclaimed slots
        self.busy = 0
        self.instances = provisioned
        self.instances_area = self.busy_area = 0.0
        self.changed_s = 0.0
        self.invocations = self.cold_starts = self.throttled = self.reclaims = 0
        self.billed_ms_total = 0.0

    def _advance(self) -> None:
        now = self.env.now
        self.instances_area += self.instances * (now - self.changed_s)
        self.busy_area += self.busy * (now - self.changed_s)
        self.changed_s = now

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        if self.busy >= self.spec.concurrency_limit:
            self.throttled += 1
            self._settle(visit, THROTTLED)
            return
        self._advance()
        self.invocations += 1
        self.busy += 1
        cold_s = 0.0
        slot = self._take_warm()
        if slot is None:
            slot = heapq.heappop(self.reclaimed)
            self.instances += 1
            self.cold_starts += 1
            cold_s = self.sample_cold_start_s()
        self.state[slot] = BUSY
        execution_s = self.sample_execution_s()
        billed_s = execution_s + (cold_s if self.spec.init_billed else 0.0)
        self.billed_ms_total += math.ceil(billed_s * 1000.0 - 1e-9)
        self.env.call_later(cold_s + execution_s, self._done, (visit, slot))

    def _take_warm(self) -> int | None:
        """The lowest-numbered warm idle slot, or None (stale heap entries of reclaimed slots are skipped)."""
        while self.warm_idle:
            slot = heapq.heappop(self.warm_idle)
            if self.state[slot] == WARM:
                return slot
        return None

    def _done(self, item: tuple[Visit, int]) -> None:
        visit, slot = item
        self._advance()
        self.busy -= 1
        self.state[slot] = WARM
        self.idle_since[slot] += 1
        heapq.heappush(self.warm_idle, slot)
        if slot >= self.spec.provisioned_concurrency:
            self.env.call_later(self.spec.keep_alive_s, self._reclaim, (slot, self.idle_since[slot]))
        self._settle(visit, OK)

    def _reclaim(self, item: tuple[int, int]) -> None:
        slot, generation = item
        if self.state[slot] != WARM or self.idle_since[slot] != generation:
            return  # taken by a request since, or idle again later (a newer reclaim is scheduled)
        self._advance()
        self.state[slot] = RECLAIMED
        self.instances -= 1
        self.reclaims += 1
        heapq.heappush(self.reclaimed, slot)

    def extra_fields(self) -> dict[str, float]:
        now = self.env.now
        return {"clock_s": now, "invocations": float(self.invocations), "cold_starts": float(self.cold_starts),
                "throttled": float(self.throttled), "reclaims": float(self.reclaims),
                "billed_ms": self.billed_ms_total,
                "instances_area": self.instances_area + self.instances * (now - self.changed_s),
                "busy_area": self.busy_area + self.busy * (now - self.changed_s)}
