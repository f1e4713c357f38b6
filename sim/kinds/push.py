"""The ``kind: push`` component: a Socket.io-style gateway that delivers each event to every connected subscriber.

Its work per event is proportional to its audience: ``subscribers`` deliveries of ``delivery_time_ms`` each,
done one after another by one of its ``workers`` (an event loop or a sender thread). Called by a service or,
typically, read by a broker's consumer group (``consumers: [{group: notify, service: push}]``), it is how a
fan-out to clients costs capacity: 500 subscribers at 0.02 ms each make a 10 ms event.

With exponential deliveries an event's work is the sum of ``subscribers`` independent exponentials, an
Erlang (gamma) time of mean ``N d`` and variance ``N d²`` (SCV ``1 / N``: a large audience makes the work
nearly constant), drawn exactly in one gamma draw; deterministic deliveries take ``N d``. The twin is the
station's M/G/c queue with those moments (exact, Pollaczek-Khinchine, with one worker).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.model.base import DAY_MS, Price, TimeMs
from sim.model.distributions import BATCH_SIZE, batched
from sim.model.knobs import Knob, integer_knob
from sim.model.status import OK
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory, combine, station

MAX_SUBSCRIBERS = 10_000_000


class PushSpec(ComponentSpecBase):
    """Delivers each event to ``subscribers`` connected clients, ``delivery_time_ms`` each, on ``workers``."""

    kind: Literal["push"]
    subscribers: Annotated[int, Field(ge=1, le=MAX_SUBSCRIBERS, examples=[1000])]
    delivery_time_ms: Annotated[TimeMs, Field(examples=[0.01])]
    delivery_distribution: Literal["exponential", "deterministic"] = "exponential"
    workers: Annotated[int, Field(ge=1, le=4096)] = 1
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 10_000
    price_per_hour: Price = 0.0

    summary: ClassVar[str] = ("a Socket.io-style push gateway: each event is delivered to every connected "
                              "subscriber, so its work grows with the audience")
    stats_fields: ClassVar[dict[str, tuple[Any, str]]] = {
        "deliveries": (int, "deliveries to subscribers completed in the window (events pushed x subscribers)"),
    }

    @model_validator(mode="after")
    def _bounded_work(self) -> PushSpec:
        if self.event_time_ms > DAY_MS:
            raise ValueError(f"subscribers x delivery_time_ms is {self.event_time_ms:g} ms, more than a day")
        return self

    @property
    def event_time_ms(self) -> float:
        """The mean work of one event: every subscriber's delivery."""
        return self.subscribers * self.delivery_time_ms

    @property
    def event_variance_ms2(self) -> float:
        """The variance of one event's work: N independent exponential deliveries add N d²; deterministic, 0."""
        return self.subscribers * self.delivery_time_ms**2 if self.delivery_distribution == "exponential" else 0.0

    def station_names(self, name: str) -> list[str]:
        return [f"{name}/senders"]

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Push:
        return Push(env, name, self, streams)

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        return {"deliveries": round(counters["events_pushed"]) * self.subscribers}

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """An M/G/c queue whose holding time is the event's work (mean ``N d``, variance ``N d²``); no queue
        when its callers can never have more events out than it has senders (a consumer group's consumers)."""
        bounded = context.concurrency[name] <= self.workers
        queues = {name_: station(traffic.rate_rps, (self.event_time_ms, self.event_variance_ms2), self.workers,
                                 self.queue_capacity, bounded=bounded) for name_ in self.station_names(name)}
        result = combine("push", traffic, queues)
        result.unloaded_response_ms = self.event_time_ms
        result.queue_free = bounded
        result.notes = [f"each event is {self.subscribers:,} deliveries of {self.delivery_time_ms:g} ms: "
                        f"{self.event_time_ms:g} ms of work"]
        return result

    def hourly_cost(self) -> float:
        return self.price_per_hour

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        return [integer_knob(name, "subscribers", self.subscribers, 1, MAX_SUBSCRIBERS,
                             "Connected clients: every event is delivered to each of them."),
                integer_knob(name, "workers", self.workers, 1, 4096, "Senders working on events at once.")]

    def describe(self, stats: StatsView) -> str:
        return f"{self.subscribers:,} subscribers × {self.workers} sender(s)"

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        if self.workers == 1:
            return []
        return ["with several senders the M/G/c wait is an approximation (exact for one sender)"]


class Push(Component):
    """Runtime of a ``kind: push`` component: one station of senders; an event holds a sender for its work."""

    kind = "push"

    def __init__(self, env: Scheduler, name: str, spec: PushSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.station = Station(env, spec.station_names(name)[0], spec.workers, spec.queue_capacity, self._start)
        self.stations = [self.station]
        self.events_pushed = 0
        self.sample_event_s = _event_sampler(spec, streams.stream(f"component/{name}/deliveries"))

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        if not self.station.acquire(visit):
            self._reject(visit)

    def _start(self, visit: Visit) -> None:
        self.env.call_later(self.sample_event_s(), self._done, visit)

    def _done(self, visit: Visit) -> None:
        self.station.release(visit)
        self.events_pushed += 1
        self._settle(visit, OK)

    def extra_fields(self) -> dict[str, float]:
        return {"events_pushed": float(self.events_pushed)}


def _event_sampler(spec: PushSpec, rng: np.random.Generator) -> Callable[[], float]:
    """One event's work in seconds: a gamma (Erlang-N) draw for exponential deliveries, else N d exactly."""
    mean_s = spec.delivery_time_ms / 1000.0
    if spec.delivery_distribution == "deterministic":
        return lambda: spec.subscribers * mean_s
    return batched(lambda size: rng.gamma(spec.subscribers, mean_s, size), BATCH_SIZE)
