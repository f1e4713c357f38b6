"""Arrival processes (open, closed, trace replay) split over request classes, with keys from a popularity law.

Inter-arrival times, classes and keys come from three named streams drawn in batches, so the arrival stream
is identical across variants of a scenario that change only its components (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from sim.model.distributions import batched, from_spec
from sim.model.keys import key_sampler
from sim.model.profiles import rate_function
from sim.model.traces import workload_trace
from sim.model.workload import WorkloadSpec
from sim.runtime.component import Component
from sim.runtime.requests import Request
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler

BATCH_SIZE = 4096
THINNING_CHUNK = 256  # rejected candidates in a row before the search yields to the event loop


class Recorder(Protocol):
    """What the workload needs from the metrics: a place to report each finished request."""

    in_flight: int

    def finish(self, request: Request, status: int) -> None: ...


class Workload:
    """What every workload shares: classes, keys, entries, the request cap, and sending one request."""

    def __init__(self, env: Scheduler, spec: WorkloadSpec, streams: RandomStreams,
                 components: dict[str, Component], recorder: Recorder, stop_s: float, max_requests: int) -> None:
        self.env = env
        self.spec = spec
        self.recorder = recorder
        self.stop_s = stop_s
        self.max_requests = max_requests
        self.arrived = 0
        self.capped = False
        self.capped_at_s: float | None = None
        self.on_cap: Callable[[], None] | None = None
        self.entries = [components[request_class.entry or spec.entry] for request_class in spec.classes]
        self.is_write = [request_class.operation == "write" for request_class in spec.classes]
        self.next_key = key_sampler(spec.keys, streams.stream("workload/keys"))
        self.next_class = class_sampler(spec, streams.stream("workload/classes"))
        self.finish = recorder.finish

    def admit(self) -> bool:
        """Whether another request may start now (before the end, and under the cap)."""
        if self.env.now >= self.stop_s:
            return False
        if self.arrived >= self.max_requests:
            self._cap()
            return False
        return True

    def _cap(self) -> None:
        """Stop admitting for good: remember when, and let the engine mark the end of the measured window."""
        if self.capped:
            return
        self.capped = True
        self.capped_at_s = self.env.now
        if self.on_cap is not None:
            self.on_cap()

    def send(self, class_index: int | None = None, key: int | None = None, reply: Any = None) -> Request:
        """Create one request now and hand it to its entry component."""
        self.arrived += 1
        if class_index is None:
            class_index = self.next_class()
        request = Request(self.env.now, class_index, self.is_write[class_index],
                          self.next_key() if key is None else key)
        self.recorder.in_flight += 1
        self.entries[class_index].accept(request, reply or self.finish, request)
        return request

    def start(self) -> None:
        raise NotImplementedError


def class_sampler(spec: WorkloadSpec, rng: np.random.Generator) -> Callable[[], int]:
    """Draws class indices by weight."""
    if len(spec.classes) == 1:
        return lambda: 0
    cumulative = np.cumsum([request_class.weight for request_class in spec.classes])
    cumulative /= cumulative[-1]
    return batched(lambda size: np.searchsorted(cumulative, rng.random(size), side="right"), BATCH_SIZE)


class OpenWorkload(Workload):
    """Poisson arrivals; with a profile, a non-homogeneous Poisson process generated exactly by thinning."""

    def __init__(self, env: Scheduler, spec: WorkloadSpec, streams: RandomStreams,
                 components: dict[str, Component], recorder: Recorder, stop_s: float, max_requests: int) -> None:
        super().__init__(env, spec, streams, components, recorder, stop_s, max_requests)
        self.rate, self.max_rate_rps = rate_function(spec)
        self.shaped = spec.profile is not None
        arrivals = streams.stream("workload/arrivals")
        mean_gap_s = 1.0 / self.max_rate_rps if self.max_rate_rps > 0 else float("inf")
        self.next_gap_s = batched(lambda size: arrivals.exponential(mean_gap_s, size), BATCH_SIZE)
        thinning = streams.stream("workload/thinning")
        self.next_uniform = batched(lambda size: thinning.random(size), BATCH_SIZE)

    def _thin(self, clock: float) -> None:
        """Schedule the next accepted arrival after ``clock``: candidates at the peak rate, each kept with
        probability rate(t) / peak.

        Every candidate counts as an event of the run's budget, and after ``THINNING_CHUNK`` rejections in a
        row the search pauses as an event of its own, so a peak far above the current rate cannot hold the
        event loop (and its budget checks) inside one callback. The draws are the same either way.
        """
        now = self.env.now
        for candidates in range(1, THINNING_CHUNK + 1):
            clock += self.next_gap_s()
            if clock >= self.stop_s:
                self.env.extra_events += candidates
                return
            if self.next_uniform() * self.max_rate_rps < self.rate(clock):
                self.env.extra_events += candidates
                self.env.call_later(clock - now, self._arrive, None)
                return
        self.env.extra_events += THINNING_CHUNK
        self.env.call_later(clock - now, self._resume_thinning, None)

    def _resume_thinning(self, _unused: object) -> None:
        self._thin(self.env.now)

    def start(self) -> None:
        if self.max_rate_rps <= 0:
            return
        if self.shaped:
            self._thin(self.env.now)
        else:
            self.env.call_later(self.next_gap_s(), self._arrive, None)

    def _arrive(self, _unused: object) -> None:
        # The hottest path of every open run: what ``admit`` and ``send`` do, inlined.
        now = self.env.now
        if now >= self.stop_s or self.arrived >= self.max_requests:
            if now < self.stop_s:
                self._cap()
            return
        self.arrived += 1
        class_index = self.next_class()
        request = Request(now, class_index, self.is_write[class_index], self.next_key())
        self.recorder.in_flight += 1
        self.entries[class_index].accept(request, self.finish, request)
        if self.shaped:
            self._thin(now)
        else:
            self.env.call_later(self.next_gap_s(), self._arrive, None)


class ClosedWorkload(Workload):
    """``users`` virtual users: send, wait for the answer, think, repeat (joining evenly over the ramp-up)."""

    def __init__(self, env: Scheduler, spec: WorkloadSpec, streams: RandomStreams,
                 components: dict[str, Component], recorder: Recorder, stop_s: float, max_requests: int) -> None:
        super().__init__(env, spec, streams, components, recorder, stop_s, max_requests)
        assert spec.think_time is not None and spec.users is not None
        self.think_s = from_spec(spec.think_time).sampler(streams.stream("workload/think"))
        self.users = spec.users

    def start(self) -> None:
        spacing_s = self.spec.ramp_up_s / self.users
        for user in range(self.users):
            self.env.call_later(user * spacing_s, self._request, None)

    def _request(self, _unused: object) -> None:
        if self.admit():
            self.send(reply=self._answered)

    def _answered(self, request: Request, status: int) -> None:
        self.recorder.finish(request, status)
        self.env.call_later(self.think_s(), self._request, None)


class TraceWorkload(Workload):
    """Replays arrival times (seconds from the start) and optional class names and keys from a CSV file."""

    def __init__(self, env: Scheduler, spec: WorkloadSpec, streams: RandomStreams,
                 components: dict[str, Component], recorder: Recorder, stop_s: float, max_requests: int) -> None:
        super().__init__(env, spec, streams, components, recorder, stop_s, max_requests)
        self.trace = workload_trace(spec)
        self.position = 0

    def start(self) -> None:
        if len(self.trace.times_s):
            self.env.call_later(float(self.trace.times_s[0]), self._arrive, None)

    def _arrive(self, _unused: object) -> None:
        if not self.admit():
            return
        index = self.position
        self.send(self.trace.class_index(index), self.trace.key(index))
        self.position += 1
        if self.position < len(self.trace.times_s):
            self.env.call_later(float(self.trace.times_s[self.position]) - self.env.now, self._arrive, None)


def build_workload(env: Scheduler, spec: WorkloadSpec, streams: RandomStreams,
                   components: dict[str, Component], recorder: Recorder, stop_s: float,
                   max_requests: int) -> Workload:
    """The workload generator for the spec's ``type``."""
    kinds = {"open": OpenWorkload, "closed": ClosedWorkload, "trace": TraceWorkload}
    return kinds[spec.type](env, spec, streams, components, recorder, stop_s, max_requests)
