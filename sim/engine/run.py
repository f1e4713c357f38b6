"""Build a model from a scenario and run one replication: construct, connect, start, run, collect.

``simulate`` returns the raw measurements (``RunOutput``); ``sim.results`` turns them into a ``Result``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from sim.engine.workload import build_workload
from sim.runtime.component import Component
from sim.runtime.loop import EventLoop
from sim.runtime.recorder import LevelHistory, RequestRecorder, Snapshotter, snapshot_times
from sim.runtime.rng import RandomStreams
from sim.scenario.scenario import Scenario
from sim.scenario.sizing import fit_to_request_cap

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


@dataclass
class RunOutput:
    """The raw measurements of one replication: per-request records and cumulative level histories."""

    scenario: Scenario
    info: RunInfo
    records: dict[str, np.ndarray]
    component_levels: dict[str, LevelHistory]
    station_levels: dict[str, LevelHistory]


class Model:
    """The runtime objects of one replication, wired and ready to run."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.env = EventLoop()
        streams = RandomStreams(seed)
        self.components: dict[str, Component] = {
            name: spec.build(self.env, name, streams) for name, spec in scenario.components.items()
        }
        for component in self.components.values():
            component.connect(self.components)
        self.recorder = RequestRecorder(self.env)
        self.workload = build_workload(self.env, scenario.workload, streams, self.components, self.recorder,
                                     stop_s=scenario.duration_s, max_requests=scenario.max_requests)
        times_s = snapshot_times(scenario.duration_s, scenario.warmup_s, scenario.time_bin_s)
        self.snapshotter = Snapshotter(self.env, self.components, times_s)
        self.workload.on_cap = self.snapshotter.take  # the measured window ends where admission stopped

    def run(self) -> None:
        """Run to the end of the scenario, then let requests in flight finish (bounded by a drain budget)."""
        self.workload.start()
        self.snapshotter.start()
        self.env.run(until=self.scenario.duration_s)
        self.snapshotter.take()
        if self.recorder.in_flight > 0:
            self.recorder.drained = self.env.signal()
            self.env.run_until_signal(self.recorder.drained, self.scenario.duration_s * DRAIN_FRACTION)


def simulate(scenario: Scenario, seed: int | None = None, duration_s: float | None = None) -> RunOutput:
    """Simulate one replication of ``scenario`` and return its raw measurements.

    A run whose workload would send more than ``max_requests`` is shortened first (``sim.scenario.sizing``), with
    the reason in ``RunInfo.notes``.

    Args:
        scenario: A validated scenario.
        seed: Overrides the scenario's seed; the same seed always gives the same numbers.
        duration_s: Overrides the simulated duration (warm-up is kept, capped below the new duration).

    Returns:
        Per-request records and per-component and per-station level histories (``sim.run`` wraps them in a
        ``Result``).
    """
    if duration_s is not None:
        scenario = scenario.model_copy(update=scenario.duration_updates(duration_s))
    scenario, shortened = fit_to_request_cap(scenario)
    chosen_seed = scenario.seed if seed is None else seed
    started = time.perf_counter()
    model = Model(scenario, chosen_seed)
    model.run()
    component_levels, station_levels = model.snapshotter.histories()
    info = RunInfo(
        seed=chosen_seed,
        wall_time_s=time.perf_counter() - started,
        in_flight_at_end=model.recorder.in_flight,
        capped=model.workload.capped,
        capped_at_s=model.workload.capped_at_s,
        notes=[shortened] if shortened else [],
        snapshot_times_s=model.snapshotter.times_s,
        station_servers={station.name: station.servers for component in model.components.values()
                         for station in component.stations},
        station_owner={station.name: name for name, component in model.components.items()
                       for station in component.stations},
    )
    return RunOutput(scenario, info, model.recorder.columns(), component_levels, station_levels)
