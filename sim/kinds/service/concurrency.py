"""A service's concurrency models, each a queueing model: which stations a visit holds, and for how long.

Per instance, a visit may hold a **holder** station for its whole stay and queue at a **CPU** station for each
piece of CPU work (``service_time`` before its calls, ``after_calls_time`` after them):

- ``threads`` (thread per request): the holder is ``threads`` (``workers`` servers), held while the calls run;
  with ``cores`` given, CPU work also needs one of ``cores`` (without it, a thread is its own core: the
  single station of before);
- ``event_loop`` (Node.js style): CPU work needs the loop (one server per process: each instance is one
  process); a downstream call releases it, so in-flight visits are bounded only by ``max_in_flight`` (the
  holder ``in-flight``, none when unset);
- ``goroutines`` (Go style): CPU work needs one of ``cores`` (GOMAXPROCS, default 1); waiting on a call holds
  nothing (``max_in_flight`` bounds in-flight visits when set).

Stations are named ``<instance>/threads``, ``/in-flight``, ``/cores`` or ``/loop`` (the instance's name alone
for plain threads), the same names in the runtime and the twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ConcurrencyModel = Literal["threads", "event_loop", "goroutines"]


@dataclass(frozen=True)
class InstanceLayout:
    """One instance's stations: the holder (name, servers) and the CPU station (name, servers), each optional."""

    holder: tuple[str, int] | None
    cpu: tuple[str, int] | None

    def cpu_queue_capacity(self, queue_capacity: int) -> int:
        """Room in the CPU queue: behind a holder, its servers (so it never turns work away), else the service's."""
        return self.holder[1] if self.holder is not None else queue_capacity

    @property
    def names(self) -> list[str]:
        """Its station names, holder first."""
        return [station[0] for station in (self.holder, self.cpu) if station is not None]


def instance_layout(model: ConcurrencyModel, base: str, workers: int, cores: int | None,
                    max_in_flight: int | None) -> InstanceLayout:
    """The stations of one instance named ``base`` under ``model``."""
    if model == "threads":
        if cores is None:
            return InstanceLayout((base, workers), None)
        return InstanceLayout((f"{base}/threads", workers), (f"{base}/cores", cores))
    holder = (f"{base}/in-flight", max_in_flight) if max_in_flight is not None else None
    if model == "event_loop":
        return InstanceLayout(holder, (f"{base}/loop", 1))
    return InstanceLayout(holder, (f"{base}/cores", cores or 1))


def describe_model(model: ConcurrencyModel, instances: int, workers: int, cores: int | None,
                   max_in_flight: int | None) -> str:
    """A few words for the diagram, e.g. ``4×16 threads on 4 cores`` or ``4 event loops``."""
    if model == "threads":
        return f"{instances}×{workers} workers" + (f" on {cores} cores" if cores is not None else "")
    bound = f", ≤{max_in_flight} in flight" if max_in_flight is not None else ""
    if model == "event_loop":
        return f"{instances} event loop{'s' if instances > 1 else ''}{bound}"
    return f"{instances}×{cores or 1} cores (goroutines){bound}"
