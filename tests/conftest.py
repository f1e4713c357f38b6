"""Shared fixtures: small scenarios built in code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import sim

# Property tests draw the same examples on every run and machine: no flakes, and a failure reproduces.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIRECTORY = PROJECT_ROOT / "scenarios"


def single_service(rate_rps: float = 50.0, mean_ms: float = 10.0, **service: Any) -> dict[str, Any]:
    """A one-service scenario as plain data; ``service`` overrides the service's fields."""
    spec = {"kind": "service", "service_time": {"distribution": "exponential", "mean_ms": mean_ms}, **service}
    return {"name": "test", "duration_s": 20, "warmup_s": 2, "workload": {"rate_rps": rate_rps, "entry": "api"},
            "components": {"api": spec}}


@pytest.fixture
def small_scenario() -> sim.Scenario:
    return sim.parse_scenario(single_service())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat the figures tests measured against real tools (Prometheus, Locust) at the end of the run."""
    from tests.real_tools import FIGURES

    if FIGURES:
        terminalreporter.section("measured against real tools")
        for line in FIGURES:
            terminalreporter.write_line(line)
