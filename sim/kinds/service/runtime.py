"""Runtime of a ``kind: service`` component: per instance a holder station and a CPU station.

Plain threads (no ``cores``): a worker does its own work (the service time), then runs each step of its call
graph in turn (``sim.kinds.service.calls``) and stays held while it waits, so slow dependencies exhaust the
worker pool as they do in practice. The other models (``sim.kinds.service.concurrency``) add a CPU station
(cores or the event loop) that each piece of CPU work queues for, and hold a thread (or an in-flight slot)
for the whole visit only when the model says so. A timeout ends the caller's wait; the work already started
still runs to the end (wasted work), and a visit still queued for its holder when its caller gave up is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.kinds.service.breaker import CircuitBreaker
from sim.kinds.service.calls import CompiledStep, StepRun
from sim.kinds.service.retries import RetryPolicy
from sim.model.distributions import from_spec
from sim.model.status import DROPPED, FAILED, OK, TIMED_OUT
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station

if TYPE_CHECKING:
    from sim.kinds.service.spec import ServiceSpec
    from sim.model.faults import FaultSpec


class Service(Component):
    """Runtime of a ``kind: service`` component."""

    kind = "service"

    def __init__(self, env: Scheduler, name: str, spec: ServiceSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.distribution = from_spec(spec.service_time)
        self.sample_s = self.distribution.sampler(streams.stream(f"component/{name}/service"))
        self.routing = streams.stream(f"component/{name}/routing")
        self.choices = streams.stream(f"component/{name}/calls")  # probabilistic calls: their own stream
        self.retry_draws = streams.stream(f"component/{name}/retries")  # retries' backoff jitter: theirs
        self.timeout_s = spec.timeout_ms / 1000.0 if spec.timeout_ms is not None else None
        after = spec.after_calls_time
        self.sample_after_s = (from_spec(after).sampler(streams.stream(f"component/{name}/after-calls"))
                               if after is not None else None)
        self.plain = spec.plain_threads and after is None
        self.holders: list[Station | None] = []
        self.cpus: list[Station | None] = []
        for layout in spec.layouts(name):
            holder = cpu = None
            if layout.holder is not None:
                holder = Station(env, layout.holder[0], layout.holder[1], spec.queue_capacity,
                                 self._start if self.plain else self._begin)
            if layout.cpu is not None:
                cpu = Station(env, layout.cpu[0], layout.cpu[1], layout.cpu_queue_capacity(spec.queue_capacity),
                              self._work_started)
            self.holders.append(holder)
            self.cpus.append(cpu)
        self.stations = [station for pair in zip(self.holders, self.cpus, strict=True) for station in pair
                         if station is not None]
        self.steps: list[CompiledStep] = []
        self.fault_draws = streams.stream(f"component/{name}/faults")  # which visits an error fault fails
        self.faulty = False  # a fault may strike: visits are tracked per instance, the fast path is off
        self.live: list[set[Visit]] = []
        self.down = [False] * len(self.holders)
        self.error_share = 0.0
        self.retry_policies: list[RetryPolicy] = []
        self.breakers: list[CircuitBreaker] = []

    def connect(self, components: dict[str, Component]) -> None:
        self.steps = [CompiledStep(step, components, self.retry_draws) for step in self.spec.calls]
        calls = [call for step in self.steps for call in step.calls]
        self.retry_policies = [call.retry for call in calls if call.retry is not None]
        self.breakers = [call.breaker for call in calls if call.breaker is not None]

    def extra_fields(self) -> dict[str, float]:
        """Retries sent and retries a budget refused (when any call retries); attempts circuit breakers
        refused and how often they opened (when any call has one), over all of its calls."""
        fields: dict[str, float] = {}
        if self.retry_policies:
            fields["retries"] = float(sum(policy.sent for policy in self.retry_policies))
            fields["retries_denied"] = float(sum(policy.denied for policy in self.retry_policies))
        if self.breakers:
            fields["short_circuited"] = float(sum(breaker.refused for breaker in self.breakers))
            fields["breaker_opened"] = float(sum(breaker.opened for breaker in self.breakers))
        return fields

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        """Called directly (no load balancer), a request goes to an instance chosen at random."""
        count = len(self.holders)
        if count == 1 and self.timeout_s is None and self.plain and not self.faulty:  # the common case
            visit = self._enter(request, reply, token)
            if not self.stations[0].acquire(visit):
                self._reject(visit)
            return
        index = int(self.routing.integers(count)) if count > 1 else 0
        self.accept_at(index, request, reply, token)

    def accept_at(self, index: int, request: Request, reply: Reply, token: Any) -> None:
        """Begin a visit at instance ``index`` (what a load balancer calls)."""
        visit = self._enter(request, reply, token)
        visit.instance = index
        if self.faulty and self._struck(visit, index):
            return
        if self.timeout_s is not None:
            self.env.call_later(self.timeout_s, self._expire, visit)
        holder = self.holders[index]
        if holder is None:
            self._begin(visit)
        elif not holder.acquire(visit):
            self._reject(visit)

    def prepare_fault(self, fault: FaultSpec) -> None:
        self.faulty = True
        self.live = [set() for _holder in self.holders]

    def start_fault(self, fault: FaultSpec) -> None:
        """A crash fails the instance's visits at once (their running work finishes unseen); slow stretches
        service times; errors fail a share of new visits."""
        if fault.kind == "crash":
            self.down[fault.instance] = True
            for visit in list(self.live[fault.instance]):
                self._settle(visit, FAILED)
        elif fault.kind == "slow":
            self.sample_s = _stretched(self.sample_s, fault.factor)
            if self.sample_after_s is not None:
                self.sample_after_s = _stretched(self.sample_after_s, fault.factor)
        else:
            self.error_share = fault.share

    def end_fault(self, fault: FaultSpec) -> None:
        if fault.kind == "crash":
            self.down[fault.instance] = False
        elif fault.kind == "slow":
            self.sample_s = self.sample_s.base  # type: ignore[attr-defined]
            if self.sample_after_s is not None:
                self.sample_after_s = self.sample_after_s.base  # type: ignore[attr-defined]
        else:
            self.error_share = 0.0

    def instance_up(self, index: int) -> bool:
        return not self.down[index]

    def _struck(self, visit: Visit, index: int) -> bool:
        """Fail a visit at once if its instance is down or an error fault picks it; else track it."""
        if self.down[index] or (self.error_share and self.fault_draws.random() < self.error_share):
            self._settle(visit, FAILED)
            return True
        self.live[index].add(visit)
        return False

    def _settle(self, visit: Visit, status: int) -> None:
        if self.faulty:
            self.live[visit.instance].discard(visit)
        super()._settle(visit, status)

    def draw_call(self) -> float:
        """A uniform draw deciding whether a call made with a probability is made."""
        return float(self.choices.random())

    def _start(self, visit: Visit) -> None:
        self.env.call_later(self.sample_s(), self._next_call, visit)

    def _begin(self, visit: Visit) -> None:
        """The visit holds what its model says it holds: its CPU work before the calls comes first."""
        self._work(visit, self.sample_s(), self._next_call)

    def _work(self, visit: Visit, duration_s: float, then: Callable[[Visit], None]) -> None:
        """Run ``duration_s`` of CPU work on the instance's CPU station (a core, the loop), then ``then``."""
        cpu = self.cpus[visit.instance]
        if cpu is None:
            self.env.call_later(duration_s, then, visit)
            return
        job = Visit(visit.request, _no_reply, (visit, duration_s, then), self.env.now)
        if not cpu.acquire(job):  # only a CPU station with no holder in front can be full
            if then == self._next_call:  # turned away on arrival: it spent no time inside
                self._reject(visit)
            else:
                self._finish(visit, DROPPED)

    def _work_started(self, job: Visit) -> None:
        self.env.call_later(job.token[1], self._work_done, job)

    def _work_done(self, job: Visit) -> None:
        assert job.station is not None
        job.station.release(job)
        visit, _duration_s, then = job.token
        then(visit)

    def _calls_done(self, visit: Visit) -> None:
        if self.sample_after_s is not None:
            self._work(visit, self.sample_after_s(), self._finish_ok)
        else:
            self._finish(visit, OK)

    def _finish_ok(self, visit: Visit) -> None:
        self._finish(visit, OK)

    def _next_call(self, visit: Visit) -> None:
        index = visit.call_index
        if index < len(self.steps):
            visit.call_index = index + 1
            step = self.steps[index]
            if step.direct is not None:  # a plain call: no per-step bookkeeping
                step.direct.accept(visit.request, self.step_ended, visit)
            else:
                StepRun(self, visit, step).start()
        else:
            self._calls_done(visit)

    def step_ended(self, visit: Visit, status: int) -> None:
        """A step of the call graph ended: go on to the next, or end the visit with its failure."""
        if status == OK:
            self._next_call(visit)
        else:
            self._finish(visit, status)

    def _finish(self, visit: Visit, status: int) -> None:
        if visit.station is not None:  # the holder (a thread, an in-flight slot), if the model has one
            visit.station.release(visit)
        self._settle(visit, status)

    def _expire(self, visit: Visit) -> None:
        self._settle(visit, TIMED_OUT)


class _Stretched:
    """A sampler whose draws are ``factor`` times longer (a slow fault); ``base`` is the sampler it wraps."""

    __slots__ = ("base", "factor")

    def __init__(self, base: Callable[[], float], factor: float) -> None:
        self.base = base
        self.factor = factor

    def __call__(self) -> float:
        return self.base() * self.factor


def _stretched(sampler: Callable[[], float], factor: float) -> _Stretched:
    return _Stretched(sampler, factor)


def _no_reply(_token: Any, _status: int) -> None:
    """A piece of CPU work answers no one: its visit goes on when the work is done."""
