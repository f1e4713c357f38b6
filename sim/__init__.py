"""Scalability sandbox: simulate backend architectures with queueing-correct physics.

Example:
    >>> import sim
    >>> result = sim.run(sim.load_scenario("scenarios/single-server.yaml"), seed=1)  # doctest: +SKIP
    >>> result.summary["latency_ms"]["p99"]  # doctest: +SKIP
"""

from sim.engine import run
from sim.experiment import plan, replicate, sweep
from sim.limits import LimitsSpec
from sim.result import Result
from sim.scenario import (
    Problem,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    parse_scenario_text,
    scenario_json_schema,
)

__all__ = [
    "LimitsSpec",
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
