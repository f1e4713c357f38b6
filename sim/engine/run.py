"""Build a model from a scenario and run one replication: construct, connect, start, run, collect.

``simulate`` returns the raw measurements (``RunOutput``); ``sim.results`` turns them into a ``Result``. Every run
has a budget (``sim.model.limits``): the scenario's ``limits``, lowered by the caller's if given. A run that
reaches one stops where it is and reports what it measured up to there, with a ``stopped`` entry saying why.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.faults import schedule_faults
from sim.engine.workload import build_workload
from sim.model.errors import Problem, ScenarioError
from sim.model.limits import Cancel, LimitsSpec, Stop, merged_limits
from sim.runtime.component import Component
from sim.runtime.loop import EventLoop
from sim.runtime.recorder import LevelHistory, RequestRecorder, Snapshotter, snapshot_times
from sim.runtime.rng import RandomStreams
from sim.runtime.watchdog import Watchdog
from sim.scenario.overrides import with_overrides
from sim.scenario.scenario import MAX_SEED, Scenario
from sim.scenario.sizing import fit_to_request_cap
from sim.scenario.static_limits import static_limit_problems

DRAIN_FRACTION = 0.5


@dataclass
class RunInfo:
    """Facts about how a run went, beside its measurements."""

    seed: int
    wall_time_s: float
    in_flight_at_end: int
    capped: bool
    snapshot_times_s: list[float]
    station_servers: dict[str, int] = field(default_factory=dict)
    station_owner: dict[str, str] = field(default_factory=dict)
    capped_at_s: float | None = None
    notes: list[str] = field(default_factory=list)
    stopped: dict[str, Any] | None = None  # the limit that ended the run early (``sim.model.limits.Stop``), if any


@dataclass
class RunOutput:
    """The raw measurements of one replication: per-request records and cumulative level histories."""

    scenario: Scenario
    info: RunInfo
    records: dict[str, np.ndarray]
    component_levels: dict[str, LevelHistory]
    station_levels: dict[str, LevelHistory]
    events: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # per component with event records


class Model:
    """The runtime objects of one replication, wired and ready to run."""

    def __init__(self, scenario: Scenario, seed: int, watchdog: Watchdog | None = None) -> None:
        self.scenario = scenario
        self.env = EventLoop()
        streams = RandomStreams(seed)
        self.components: dict[str, Component] = {
            name: spec.build(self.env, name, streams) for name, spec in scenario.components.items()
        }
        class_names = tuple(request_class.name for request_class in scenario.workload.classes)
        for component in self.components.values():
            component.connect(self.components)
            component.know_classes(class_names)
        schedule_faults(self.env, scenario.faults, self.components)
        self.recorder = RequestRecorder(self.env)
        self.workload = build_workload(self.env, scenario.workload, streams, self.components, self.recorder,
                                       stop_s=scenario.duration_s, max_requests=scenario.max_requests)
        times_s = snapshot_times(scenario.duration_s, scenario.warmup_s, scenario.time_bin_s)
        self.snapshotter = Snapshotter(self.env, self.components, times_s)
        self.workload.on_cap = self.snapshotter.take  # the measured window ends where admission stopped
        if watchdog is not None:
            recorder = self.recorder
            self.env.watchdog = watchdog.check
            self.env.check_every = min(self.env.check_every, watchdog.limits.max_events)
            watchdog.counters = lambda: (len(recorder.status), recorder.in_flight)

    def run(self) -> None:
        """Run to the end of the scenario, then let requests in flight finish (bounded by a drain budget).

        A run stopped by its budget before the end ends its snapshots where it stopped (see ``measured``).
        """
        self.workload.start()
        self.snapshotter.start()
        self.env.run(until=self.scenario.duration_s)
        if self.env.stopped is not None:
            self.snapshotter.close_early(self.measured_from_s(self.env.now))
            return
        self.snapshotter.take()
        if self.recorder.in_flight > 0:
            self.recorder.drained = self.env.signal()
            self.env.run_until_signal(self.recorder.drained, self.scenario.duration_s * DRAIN_FRACTION)

    def measured_from_s(self, end_s: float) -> float:
        """Where a run's measured window starts: the warm-up's end, or the first snapshot if it stopped before."""
        warmup_s = self.scenario.warmup_s
        taken = self.snapshotter.taken_s
        return warmup_s if warmup_s < end_s and warmup_s in taken else (taken[0] if taken else 0.0)

    def measured(self) -> tuple[Scenario, dict[str, Any] | None]:
        """The scenario as measured (its window cut at the stop, if stopped early) and the stop, if any."""
        stop: Stop | None = self.env.stopped
        if stop is None:
            return self.scenario, None
        report = stop.to_dict()
        if self.snapshotter.taken_s[-1] >= self.scenario.duration_s:
            report["message"] = (f"stopped while requests in flight were finishing, after the measured window: "
                                 f"{stop.message}; {self.recorder.in_flight:,} requests count as unfinished")
            return self.scenario, report
        end_s = self.snapshotter.taken_s[-1]
        start_s = self.measured_from_s(end_s)
        report["message"] = (f"stopped at {stop.at_s:.4g} of {self.scenario.duration_s:g} simulated seconds: "
                             f"{stop.message}. The numbers cover [{start_s:.4g}, {end_s:.4g}) s only")
        return self.scenario.model_copy(update={"duration_s": end_s, "warmup_s": start_s}), report


def simulate(scenario: Scenario, seed: int | None = None, duration_s: float | None = None, *,
             limits: LimitsSpec | Mapping[str, float] | None = None, cancel: Cancel | None = None) -> RunOutput:
    """Simulate one replication of ``scenario`` and return its raw measurements.

    A run whose workload would send more than ``max_requests`` is shortened first (``sim.scenario.sizing``), with
    the reason in ``RunInfo.notes``.

    The arguments are those of ``sim.run`` (``sim.results.run``), which wraps this in a ``Result``.

    Returns:
        Per-request records and per-component and per-station level histories (``sim.run`` wraps them in a
        ``Result``), with a ``stopped`` entry in its info when a limit or ``cancel`` ended the run early.

    Raises:
        ScenarioError: a bad override (seed, duration, limits) or a static limit the scenario exceeds.
    """
    scenario, chosen_seed, budget = _checked(scenario, seed, duration_s, limits)
    scenario, shortened = fit_to_request_cap(scenario)
    started = time.perf_counter()
    imposed = frozenset(name for name, value in budget if value != getattr(scenario.limits, name))
    model = Model(scenario, chosen_seed, Watchdog(budget, cancel, imposed, started))
    model.run()
    measured, stopped = model.measured()
    component_levels, station_levels = model.snapshotter.histories()
    info = RunInfo(
        seed=chosen_seed,
        wall_time_s=time.perf_counter() - started,
        in_flight_at_end=model.recorder.in_flight,
        capped=model.workload.capped,
        capped_at_s=model.workload.capped_at_s,
        notes=[shortened] if shortened else [],
        snapshot_times_s=model.snapshotter.taken_s,
        station_servers={station.name: station.servers for component in model.components.values()
                         for station in component.stations},
        station_owner={station.name: name for name, component in model.components.items()
                       for station in component.stations},
        stopped=stopped,
    )
    events = {name: columns for name, component in model.components.items() if (columns := component.event_columns())}
    return RunOutput(measured, info, model.recorder.columns(), component_levels, station_levels, events)


def _checked(scenario: Scenario, seed: int | None, duration_s: float | None,
             limits: LimitsSpec | Mapping[str, float] | None) -> tuple[Scenario, int, LimitsSpec]:
    """Overrides validated like file values, and the run's budget (the scenario's, lowered by ``limits``)."""
    if duration_s is not None:
        scenario = with_overrides(scenario, scenario.duration_updates(duration_s))
    chosen_seed = scenario.seed if seed is None else seed
    if isinstance(chosen_seed, bool) or not isinstance(chosen_seed, int) or not 0 <= chosen_seed <= MAX_SEED:
        raise ScenarioError([Problem("seed", f"a seed is a whole number from 0 to {MAX_SEED} (got {seed!r})")])
    try:
        budget = merged_limits(scenario.limits, limits)
    except ValueError as error:
        raise ScenarioError([Problem("limits", str(error))]) from None
    problems = static_limit_problems(scenario, budget) if budget != scenario.limits else []
    if problems:
        raise ScenarioError([Problem(path, message) for path, message in problems])
    return scenario, chosen_seed, budget
