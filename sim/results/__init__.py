"""What a run measured: the Result (records and level histories), its typed summary, time series and analysis.

``run`` is the one call that simulates a scenario and returns its Result; ``sim.run`` is the same function.
"""

from __future__ import annotations

from sim.engine.run import simulate
from sim.results.result import Result
from sim.scenario.scenario import Scenario


def run(scenario: Scenario, seed: int | None = None, duration_s: float | None = None) -> Result:
    """Simulate one replication of ``scenario`` and return its measurements.

    Args:
        scenario: A validated scenario.
        seed: Overrides the scenario's seed; the same seed always gives the same numbers.
        duration_s: Overrides the simulated duration (warm-up is kept, capped below the new duration).

    Returns:
        The run's Result: per-request records, per-component levels, time series and a summary.
    """
    return Result.from_output(simulate(scenario, seed=seed, duration_s=duration_s))


__all__ = ["Result", "run"]
