"""Arrival processes: open Poisson arrivals split over request classes, with keys from a popularity law.

Inter-arrival times, classes and keys come from three named streams drawn in batches, so the arrival stream
is identical across variants of a scenario that change only its components (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import simpy

from sim.components.base import Component, Request, call_later
from sim.rng import RandomStreams
from sim.specs import KeySpaceSpec, WorkloadSpec

BATCH_SIZE = 4096


def key_probabilities(keys: KeySpaceSpec) -> np.ndarray:
    """Probability of each key, most popular first (Zipf: p_i proportional to 1 / i^exponent)."""
    if keys.distribution == "uniform":
        return np.full(keys.count, 1.0 / keys.count)
    weights = np.arange(1, keys.count + 1, dtype=float) ** -keys.zipf_exponent
    return weights / weights.sum()


def batched(draw: Callable[[int], np.ndarray]) -> Callable[[], float | int]:
    """A zero-argument function returning successive values of ``draw(BATCH_SIZE)``."""
    buffer: list[float | int] = []

    def next_value() -> float | int:
        if not buffer:
            batch = draw(BATCH_SIZE).tolist()
            batch.reverse()
            buffer.extend(batch)
        return buffer.pop()

    return next_value


def key_sampler(keys: KeySpaceSpec, rng: np.random.Generator) -> Callable[[], float | int]:
    """Draws key ranks (0 is the most popular key)."""
    if keys.distribution == "uniform" or keys.zipf_exponent == 0:
        return batched(lambda size: rng.integers(keys.count, size=size))
    cumulative = np.cumsum(key_probabilities(keys))
    cumulative[-1] = 1.0
    return batched(lambda size: np.searchsorted(cumulative, rng.random(size), side="right"))


class Recorder(Protocol):
    """What the workload needs from the metrics: a place to report each finished request."""

    in_flight: int
    recorded: int

    def start(self, request: Request) -> None: ...

    def finish(self, request: Request, status: int) -> None: ...


class OpenWorkload:
    """Poisson arrivals at ``rate_rps`` until ``stop_s`` or until ``max_requests`` have arrived."""

    def __init__(self, env: simpy.Environment, spec: WorkloadSpec, streams: RandomStreams,
                 components: dict[str, Component], recorder: Recorder, stop_s: float, max_requests: int) -> None:
        self.env = env
        self.recorder = recorder
        self.stop_s = stop_s
        self.max_requests = max_requests
        self.arrived = 0
        self.capped = False
        mean_gap_s = 1.0 / spec.rate_rps
        arrivals = streams.stream("workload/arrivals")
        self.next_gap_s = batched(lambda size: arrivals.exponential(mean_gap_s, size))
        self.entries = [components[request_class.entry or spec.entry] for request_class in spec.classes]
        self.is_write = [request_class.operation == "write" for request_class in spec.classes]
        self.next_key = key_sampler(spec.keys, streams.stream("workload/keys"))
        self.next_class = self._class_sampler(spec, streams.stream("workload/classes"))

    @staticmethod
    def _class_sampler(spec: WorkloadSpec, rng: np.random.Generator) -> Callable[[], float | int]:
        if len(spec.classes) == 1:
            return lambda: 0
        cumulative = np.cumsum([request_class.weight for request_class in spec.classes])
        cumulative /= cumulative[-1]
        return batched(lambda size: np.searchsorted(cumulative, rng.random(size), side="right"))

    def start(self) -> None:
        """Schedule the first arrival."""
        call_later(self.env, self.next_gap_s(), self._arrive, None)

    def _arrive(self, _unused: object) -> None:
        now = self.env.now
        if now >= self.stop_s:
            return
        if self.arrived >= self.max_requests:
            self.capped = True
            return
        self.arrived += 1
        class_index = int(self.next_class())
        request = Request(now, class_index, self.is_write[class_index], int(self.next_key()))
        self.recorder.start(request)
        self.entries[class_index].accept(request, self.recorder.finish, request)
        call_later(self.env, self.next_gap_s(), self._arrive, None)
