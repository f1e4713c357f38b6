"""Run budgets: how much work one run may do, stated in the scenario (``limits:``) and enforced while it runs.

Two kinds of limit. Static ones are checked when a scenario is validated (``sim.scenario.static_limits``): visits
per request (fan-out along the call graph) and time-series bins. Dynamic ones are checked while the run goes,
every few thousand events (``sim.runtime.loop.CHECK_EVERY``) by a ``sim.runtime.watchdog.Watchdog`` so the event
loop stays fast: simulated events, wall time, records kept, requests in flight, and cancellation.
A run that hits a dynamic limit stops, keeps what it measured, and says which limit stopped it and what to change
(``Stop``); it never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError

from sim.model.base import StrictModel

Cancel = Callable[[], bool]


class LimitsSpec(StrictModel):
    """A run's budget; each field has a safe default and a hard ceiling (a caller may only lower them)."""

    max_events: Annotated[int, Field(ge=1_000, le=2_000_000_000)] = 200_000_000
    max_wall_time_s: Annotated[float, Field(gt=0, le=86_400)] = 900.0
    max_records: Annotated[int, Field(ge=1_000, le=50_000_000)] = 20_000_000
    max_in_flight: Annotated[int, Field(ge=100, le=10_000_000)] = 2_000_000
    max_time_bins: Annotated[int, Field(ge=10, le=100_000)] = 10_000
    max_fan_out: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000


LIMIT_ADVICE = {
    "max_events": "the run needed more simulated events than {value:,}: shorten duration_s, lower the arrival "
                  "rate or the calls per request, or raise limits.max_events",
    "max_wall_time_s": "the run took longer than {value:g} s of real time: shorten duration_s or lower the "
                       "arrival rate, or raise limits.max_wall_time_s",
    "max_records": "more than {value:,} requests finished: shorten duration_s or lower the arrival rate, or "
                   "raise limits.max_records",
    "max_in_flight": "more than {value:,} requests were in flight at once (the system cannot keep up): lower "
                     "the arrival rate or add capacity, or raise limits.max_in_flight",
    "cancelled": "the run was cancelled before it finished",
}


@dataclass(frozen=True)
class Stop:
    """Why a run stopped before its end: the limit's name and value, when, and what to change."""

    limit: str
    value: float
    at_s: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def limit_values(limits: LimitsSpec | Mapping[str, float]) -> dict[str, float]:
    """The limits someone set, as a plain dict (a ``LimitsSpec``'s unset fields left out)."""
    return limits.model_dump(exclude_unset=True) if isinstance(limits, LimitsSpec) else dict(limits)


def merged_limits(own: LimitsSpec, imposed: LimitsSpec | Mapping[str, float] | None) -> LimitsSpec:
    """The scenario's limits, each lowered to the caller's where the caller imposes a lower one.

    Raises:
        ValueError: ``imposed`` names an unknown limit or a value outside its range.
    """
    if imposed is None:
        return own
    values = limit_values(imposed)
    try:
        checked = LimitsSpec.model_validate({**own.model_dump(), **values})
    except ValidationError as error:
        details = "; ".join(f"limits.{'.'.join(map(str, item['loc']))}: {item['msg']}"
                            for item in error.errors(include_url=False))
        raise ValueError(details) from None
    lowered = {name: min(getattr(own, name), getattr(checked, name)) for name in values}
    return own.model_copy(update=lowered)
