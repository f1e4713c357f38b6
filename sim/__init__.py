"""Scalability sandbox: simulate backend architectures with queueing-correct physics.

The public API is loaded on first use, so ``import sim.theory`` (or any other layer) loads only what that layer
needs: the closed forms and the analytic twin never load the engine or SimPy.

Example:
    >>> import sim
    >>> result = sim.run(sim.load_scenario("scenarios/single-server.yaml"), seed=1)  # doctest: +SKIP
    >>> result.summary.latency_ms.p99  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.experiments.studies import plan, replicate, sweep
    from sim.model.errors import Problem, ScenarioError
    from sim.model.limits import LimitsSpec
    from sim.results import run
    from sim.results.result import Result
    from sim.scenario.scenario import (
        Scenario,
        load_scenario,
        parse_scenario,
        parse_scenario_text,
        scenario_json_schema,
    )

_PUBLIC = {
    "LimitsSpec": "sim.model.limits",
    "Problem": "sim.model.errors",
    "Result": "sim.results.result",
    "Scenario": "sim.scenario.scenario",
    "ScenarioError": "sim.model.errors",
    "load_scenario": "sim.scenario.scenario",
    "parse_scenario": "sim.scenario.scenario",
    "parse_scenario_text": "sim.scenario.scenario",
    "plan": "sim.experiments.studies",
    "replicate": "sim.experiments.studies",
    "run": "sim.results",
    "scenario_json_schema": "sim.scenario.scenario",
    "sweep": "sim.experiments.studies",
}
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


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
