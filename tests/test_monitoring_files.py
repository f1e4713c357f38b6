"""The shipped monitoring files: the Grafana dashboard is generated and names real metrics; the alert rules
pass promtool's checks and its unit tests (monitoring/alerts-test.yml)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

import sim
from sim.interop.openmetrics import openmetrics_text
from tests.conftest import PROJECT_ROOT, SCENARIO_DIRECTORY
from tests.real_tools import require_binary

MONITORING = PROJECT_ROOT / "monitoring"
sys.path.insert(0, str(PROJECT_ROOT / "tools"))

import make_dashboard  # noqa: E402


def test_the_dashboard_file_is_up_to_date() -> None:
    assert json.loads((MONITORING / "grafana-dashboard.json").read_text()) == make_dashboard.build(), (
        "stale: run python tools/make_dashboard.py")


def expressions(path: str) -> list[str]:
    """The PromQL expressions of the dashboard's targets or of the alert and recording rules."""
    if path.endswith(".json"):
        dashboard = json.loads((MONITORING / path).read_text())
        return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    groups = yaml.safe_load((MONITORING / path).read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def metric_names(expression: str) -> set[str]:
    """Names a PromQL expression reads (identifiers followed by a selector or a range)."""
    return set(re.findall(r"\b([a-z_][a-z0-9_:]*)\s*(?=\{|\[)", expression))


@pytest.mark.parametrize("path", ["grafana-dashboard.json", "alerts.yml"])
def test_queries_name_metrics_the_sandbox_writes(path: str) -> None:
    exported = "".join(openmetrics_text(sim.run(sim.load_scenario(SCENARIO_DIRECTORY / f"{name}.yaml"), duration_s=4))
                       for name in ("cache-aside", "event-driven"))  # the broker's panels read the second
    samples = {line.split("{")[0].split(" ")[0] for line in exported.splitlines() if not line.startswith("#")}
    names = set().union(*(metric_names(expression) for expression in expressions(path)))
    recorded = {name for name in names if ":" in name}
    assert names and not (names - recorded - samples), sorted(names - recorded - samples)


@pytest.mark.parametrize("command", [["check", "rules", "alerts.yml"], ["test", "rules", "alerts-test.yml"],
                                     ["check", "config", "prometheus.yml"]])
def test_promtool_accepts_the_rules(command: list[str]) -> None:
    promtool = require_binary("promtool", "apt-get install -y prometheus")
    done = subprocess.run([promtool, *command], cwd=MONITORING, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr
