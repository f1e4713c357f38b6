"""Run budgets: how much work one run may do, stated in the scenario (``limits:``) and enforced while it runs.

Two kinds of limit. Static ones are checked when a scenario is validated: visits per request (fan-out along the
call graph) and time-series bins. Dynamic ones are checked while the run goes, every few thousand events
(``sim.components.base.CHECK_EVERY``) so the event loop stays fast: simulated events, wall time, records kept,
requests in flight, and cancellation.
A run that hits a dynamic limit stops, keeps what it measured, and says which limit stopped it and what to change
(``Stop``); it never raises.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, ValidationError

from sim.specs import CacheSpec, LoadBalancerSpec, ServiceSpec, StrictModel, downstream_names

if TYPE_CHECKING:
    from sim.scenario import Scenario

MAX_LEVEL_SAMPLES = 1_000_000  # time bins x stations: the snapshots' memory (about 250 bytes each)
MAX_STATIONS = 20_000
MAX_TOTAL_CALLS = 10_000
MAX_CALL_DEPTH = 50  # answers return up the chain on the Python stack: keep it far from the recursion limit
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


def merged_limits(own: LimitsSpec, imposed: LimitsSpec | Mapping[str, float] | None) -> LimitsSpec:
    """The scenario's limits, each lowered to the caller's where the caller imposes a lower one.

    Raises:
        ValueError: ``imposed`` names an unknown limit or a value outside its range.
    """
    if imposed is None:
        return own
    values = imposed.model_dump(exclude_unset=True) if isinstance(imposed, LimitsSpec) else dict(imposed)
    try:
        checked = LimitsSpec.model_validate({**own.model_dump(), **values})
    except ValidationError as error:
        details = "; ".join(f"limits.{'.'.join(map(str, item['loc']))}: {item['msg']}"
                            for item in error.errors(include_url=False))
        raise ValueError(details) from None
    lowered = {name: min(getattr(own, name), getattr(checked, name)) for name in values}
    return own.model_copy(update=lowered)


class Watchdog:
    """The dynamic limits of one run, asked every few thousand events whether the run must stop."""

    def __init__(self, limits: LimitsSpec, cancel: Cancel | None = None, imposed: frozenset[str] = frozenset(),
                 started_s: float | None = None) -> None:
        self.limits = limits
        self.counters: Callable[[], tuple[int, int]] = lambda: (0, 0)  # (records kept, requests in flight)
        self.cancel = cancel
        self.imposed = imposed  # limits the caller lowered below the scenario's: the file cannot raise them
        self.deadline_s = (time.perf_counter() if started_s is None else started_s) + limits.max_wall_time_s

    def check(self, events: int, now_s: float) -> Stop | None:
        """The limit that stops the run now, or None to carry on."""
        records, in_flight = self.counters()
        reached = [("cancelled", 1.0, self.cancel is not None and self.cancel()),
                   ("max_events", self.limits.max_events, events >= self.limits.max_events),
                   ("max_wall_time_s", self.limits.max_wall_time_s, time.perf_counter() >= self.deadline_s),
                   ("max_records", self.limits.max_records, records >= self.limits.max_records),
                   ("max_in_flight", self.limits.max_in_flight, in_flight >= self.limits.max_in_flight)]
        for name, value, hit in reached:
            if hit:
                advice = LIMIT_ADVICE[name].format(value=value)
                if name in self.imposed:
                    advice = advice.replace(f", or raise limits.{name}", f" (a limit of {value:g} set where the "
                                                                         "scenario runs, not in the file)")
                return Stop(name, float(value), now_s, advice)
        return None


# --- static limits, checked with the scenario -------------------------------------------------------


def leaves_first(scenario: Scenario) -> list[str]:
    """Component names, each after every component it sends requests to (iterative: no recursion limit)."""
    order: list[str] = []
    done: set[str] = set()
    for root in scenario.components:
        stack = [(root, iter(downstream_names(scenario.components[root])))]
        while stack:
            name, targets = stack[-1]
            target = next((target for _suffix, target in targets if target not in done), None)
            if target is None:
                stack.pop()
                if name not in done:
                    done.add(name)
                    order.append(name)
            elif all(target != open_name for open_name, _targets in stack):  # an acyclic graph never repeats
                stack.append((target, iter(downstream_names(scenario.components[target]))))
    return order


def call_graph_sizes(scenario: Scenario) -> tuple[dict[str, int], dict[str, int]]:
    """Per component, the most visits a request entering there can make, and the depth of calls below it.

    A service's calls run one after another, so a component called k times per visit multiplies everything
    below it by k; the count is exact for the worst case (every cache lookup misses). The graph must be acyclic.
    """
    visits: dict[str, int] = {}
    depth: dict[str, int] = {}
    for name in leaves_first(scenario):
        targets = [target for _suffix, target in downstream_names(scenario.components[name])]
        visits[name] = 1 + sum(visits[target] for target in targets)
        depth[name] = 1 + max((depth[target] for target in targets), default=0)
    return visits, depth


def station_count(scenario: Scenario) -> int:
    """How many stations (instances, database nodes) the scenario builds."""
    total = 0
    for spec in scenario.components.values():
        if isinstance(spec, ServiceSpec):
            total += spec.instances
        elif not isinstance(spec, LoadBalancerSpec | CacheSpec):
            total += spec.shards * (spec.replicas + 1)
    return total


def total_calls(scenario: Scenario) -> int:
    """Wires in the call graph (calls, balancer targets, cache stores)."""
    return sum(len(downstream_names(spec)) for spec in scenario.components.values())


def static_limit_problems(scenario: Scenario, limits: LimitsSpec | None = None) -> list[tuple[str, str]]:
    """(field path, message) for every static limit the scenario exceeds; the graph must be acyclic."""
    limits = limits or scenario.limits
    problems: list[tuple[str, str]] = []
    entries = {request_class.entry or scenario.workload.entry for request_class in scenario.workload.classes}
    visits, depth = call_graph_sizes(scenario)
    worst = max(entries, key=lambda name: visits[name])
    deepest = max(depth, key=lambda name: depth[name])
    if depth[deepest] > MAX_CALL_DEPTH:
        problems.append(("components", f"calls nest {depth[deepest]} components deep from {deepest!r}; at most "
                                       f"{MAX_CALL_DEPTH}"))
    if visits[worst] > limits.max_fan_out:
        problems.append(("limits.max_fan_out",
                         f"a request entering at {worst!r} can make {visits[worst]:,} visits (calls multiply along "
                         f"each path); at most {limits.max_fan_out:,}: call fewer times per request, or raise "
                         "limits.max_fan_out"))
    bins = math.ceil(scenario.duration_s / scenario.time_bin_s)
    if bins > limits.max_time_bins:
        problems.append(("time_bin_s", f"{bins:,} time bins over duration_s={scenario.duration_s:g}; at most "
                                       f"{limits.max_time_bins:,}: use time_bin_s >= "
                                       f"{scenario.duration_s / limits.max_time_bins:.3g}"))
    stations = station_count(scenario)
    if stations > MAX_STATIONS:
        problems.append(("components", f"{stations:,} stations (instances and database nodes); at most "
                                       f"{MAX_STATIONS:,}"))
    elif min(bins, limits.max_time_bins) * stations > MAX_LEVEL_SAMPLES:
        problems.append(("time_bin_s", f"{bins:,} time bins x {stations:,} stations is more than "
                                       f"{MAX_LEVEL_SAMPLES:,} level samples: widen time_bin_s"))
    return problems
