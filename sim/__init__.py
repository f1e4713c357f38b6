"""Scalability sandbox: simulate backend architectures with queueing-correct physics.

Example:
    >>> import sim
    >>> result = sim.run(sim.load_scenario("scenarios/single-server.yaml"), seed=1)  # doctest: +SKIP
    >>> result.summary["latency_ms"]["p99"]  # doctest: +SKIP
"""

from sim.engine.run import run
from sim.experiments.studies import plan, replicate, sweep
from sim.results.result import Result
from sim.scenario.scenario import (
    Problem,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    parse_scenario_text,
    scenario_json_schema,
)

__all__ = [
    "Problem",
    "Result",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
    "parse_scenario_text",
    "plan",
    "replicate",
    "run",
    "scenario_json_schema",
    "sweep",
]
