"""Requests and visits: what travels through the call graph, and a request's stay at one component.

Protocol: ``component.accept(request, reply, token)`` starts a visit; the component later calls
``reply(token, status)`` exactly once with a status from ``sim.model.status``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.runtime.stations import Station

Reply = Callable[[Any, int], None]


class Request:
    """One request travelling through the call graph; ``waited_s`` sums its queueing at every station."""

    __slots__ = ("arrival_s", "class_index", "is_write", "key", "waited_s")

    def __init__(self, arrival_s: float, class_index: int, is_write: bool, key: int) -> None:
        self.arrival_s = arrival_s
        self.class_index = class_index
        self.is_write = is_write
        self.key = key
        self.waited_s = 0.0


class Visit:
    """A request's stay in one component: who to answer, and whether the answer was already given.

    ``started_s`` is when a worker took it (the arrival for components without workers, ``NOT_STARTED`` while
    it waits in a queue), so its wait is ``started_s - arrived_s``.
    """

    __slots__ = ("arrived_s", "call_index", "instance", "queued_s", "reply", "request", "settled", "started_s",
                 "station", "token")

    def __init__(self, request: Request, reply: Reply, token: Any, arrived_s: float) -> None:
        self.request = request
        self.reply = reply
        self.token = token
        self.arrived_s = arrived_s
        self.settled = False
        self.queued_s = arrived_s
        self.started_s = arrived_s
        self.station: Station | None = None
        self.call_index = 0
        self.instance = 0  # which of its component's instances serves it


NOT_STARTED = -1.0
