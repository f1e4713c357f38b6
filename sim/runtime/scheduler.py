"""What components need from the event loop: the clock and a way to run a callback later.

Kinds and stations are written against this protocol, not against the loop itself, so importing a kind (for its
spec, cost or twin) never loads SimPy; ``sim.runtime.loop.EventLoop`` is the implementation the engine uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Scheduler(Protocol):
    """The simulated clock (seconds) and delayed callbacks; ``extra_events`` counts work done inside a callback
    (such as rejected thinning candidates) against the run's event budget."""

    extra_events: int

    @property
    def now(self) -> float: ...

    def call_later(self, delay_s: float, function: Callable[[Any], None], argument: Any) -> None: ...
