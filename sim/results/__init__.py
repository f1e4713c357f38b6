"""What a run measured: the Result (records and level histories), its typed summary, time series and analysis.

``run`` is the one call that simulates a scenario and returns its Result; ``sim.run`` is the same function.
"""

from __future__ import annotations

from collections.abc import Mapping

from sim.engine.run import simulate
from sim.model.limits import Cancel, LimitsSpec
from sim.results.result import Result
from sim.scenario.scenario import Scenario


def run(scenario: Scenario, seed: int | None = None, duration_s: float | None = None, *,
        limits: LimitsSpec | Mapping[str, float] | None = None, cancel: Cancel | None = None) -> Result:
    """Simulate one replication of ``scenario`` and return its measurements.

    Args:
        scenario: A validated scenario.
        seed: Overrides the scenario's seed; the same seed always gives the same numbers.
        duration_s: Overrides the simulated duration (validated like the file's; warm-up is capped below it).
        limits: Lower budgets than the scenario's own (e.g. ``{"max_wall_time_s": 5}``); never raises them.
        cancel: Asked every few thousand events; when it returns True the run stops as if over budget.

    Returns:
        The run's Result: per-request records, per-component levels, time series and a summary (with a
        ``stopped`` entry when a limit or ``cancel`` ended the run early).

    Raises:
        ScenarioError: a bad override (seed, duration, limits) or a static limit the scenario exceeds.
    """
    return Result.from_output(simulate(scenario, seed=seed, duration_s=duration_s, limits=limits, cancel=cancel))


__all__ = ["Result", "run"]
