"""A cache server's own CPU: every command it receives is a piece of work on its cores.

Redis runs commands on one event loop (one core, however many the machine has); Memcached runs them on several
worker threads. Either way the server is a station of one or ``threads`` servers holding each command for
``operation_time``, so a hot cache can be the bottleneck itself, an M/G/1 (event loop) or M/G/c (threads)
queue on its CPU time. Each read is one command (GET); a miss that read the store adds one (the fill's SET);
each write is one (DEL, or SET under write-through and write-behind).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from sim.model.base import StrictModel
from sim.model.distributions import DistributionSpec, from_spec
from sim.runtime.requests import Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.runtime.stations import Station


class CacheServerSpec(StrictModel):
    """How the cache server runs commands: one event loop (Redis) or ``threads`` worker threads (Memcached)."""

    model: Literal["event_loop", "threads"] = "event_loop"
    threads: Annotated[int, Field(ge=1, le=256)] = 4
    operation_time: DistributionSpec
    queue_capacity: Annotated[int, Field(ge=0, le=1_000_000)] = 10_000

    @property
    def servers(self) -> int:
        """Commands that can run at once: 1 on an event loop, one per thread otherwise."""
        return 1 if self.model == "event_loop" else self.threads

    def describe(self) -> str:
        return "event loop (1 core)" if self.model == "event_loop" else f"{self.threads} threads"


def _no_reply(token: Any, status: int) -> None:
    """A command's station visit answers nobody: its continuation is in its token."""


class CacheServer:
    """The server's station: ``run(request, then, argument)`` queues one command, then calls
    ``then(argument, waited_s)`` when it has run (False when the queue was full and it was refused)."""

    def __init__(self, env: Scheduler, station_name: str, spec: CacheServerSpec, streams: RandomStreams,
                 component: str) -> None:
        self.env = env
        self.station = Station(env, station_name, spec.servers, spec.queue_capacity, self._start)
        self.sample_s = from_spec(spec.operation_time).sampler(streams.stream(f"component/{component}/operation"))

    def run(self, request: Request, then: Callable[[Any, float], None], argument: Any) -> bool:
        return self.station.acquire(Visit(request, _no_reply, (then, argument), self.env.now))

    def _start(self, command: Visit) -> None:
        self.env.call_later(self.sample_s(), self._done, command)

    def _done(self, command: Visit) -> None:
        self.station.release(command)
        then, argument = command.token
        then(argument, command.started_s - command.queued_s)
