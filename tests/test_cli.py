"""The command line, through its entry points (typer's runner and ``python -m sim``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from tests.conftest import PROJECT_ROOT, SCENARIO_DIRECTORY

runner = CliRunner()
SINGLE = str(SCENARIO_DIRECTORY / "single-server.yaml")
REQUIRED_KEYS = {"scenario", "seed", "duration_s", "warmup_s", "stable", "requests", "throughput_rps", "latency_ms",
                 "components", "bottleneck", "theory"}


def flat(text: str) -> str:
    return " ".join(text.split())


def test_run_prints_a_readable_summary() -> None:
    outcome = runner.invoke(app, ["run", SINGLE, "--duration", "10"])
    assert outcome.exit_code == 0, outcome.output
    text = flat(outcome.output)
    for phrase in ("throughput", "p50", "p95", "p99", "p99.9", "bottleneck: api is", "theory", "dropped"):
        assert phrase in text


def test_run_reports_slos_and_cost() -> None:
    outcome = runner.invoke(app, ["run", str(SCENARIO_DIRECTORY / "horizontal-scaling.yaml"), "--duration", "10"])
    text = flat(outcome.output)
    assert "SLO p99 < 200ms: pass" in text and "SLO error_rate < 0.1%: pass" in text
    assert "cost 0.83 per hour" in text  # 4 instances at 0.20 plus the balancer at 0.03


def test_run_json_has_the_documented_fields() -> None:
    outcome = runner.invoke(app, ["run", SINGLE, "--json", "--seed", "7", "--duration", "10"])
    assert outcome.exit_code == 0
    document = json.loads(outcome.output)
    assert set(document) >= REQUIRED_KEYS
    assert document["seed"] == 7 and document["duration_s"] == 10
    assert set(document["requests"]) >= {"offered", "completed", "failed", "dropped", "timed_out"}
    assert set(document["latency_ms"]) >= {"mean", "p50", "p95", "p99", "p999"}
    api = document["components"]["api"]
    assert {"kind", "utilisation", "throughput_rps", "mean_queue_length", "mean_wait_ms"} <= set(api)
    assert document["theory"]["components"]["api"]["utilisation"] == pytest.approx(0.7)
    assert document["bottleneck"]["component"] == "api"


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("workload: {rate_rps: -1, entry: apx}\ncomponents:\n  api: {kind: service, workres: 2,"
                   " service_time: {distribution: exponential, mean_ms: 1}}\n")
    outcome = runner.invoke(app, ["validate", str(bad)])
    assert outcome.exit_code == 2
    text = flat(outcome.output)
    assert "workload.rate_rps: Input should be greater than 0 (got -1)" in text
    assert "components.api.workres: unknown field (did you mean 'workers'?)" in text
    assert "Traceback" not in outcome.output


def test_validate_accepts_every_gallery_scenario() -> None:
    for path in sorted(SCENARIO_DIRECTORY.glob("*.yaml")):
        outcome = runner.invoke(app, ["validate", str(path)])
        assert outcome.exit_code == 0, (path, outcome.output)


def test_missing_file_is_a_clear_error() -> None:
    outcome = runner.invoke(app, ["run", "no/such/file.yaml"])
    assert outcome.exit_code == 2
    assert "cannot read file" in outcome.output and "Traceback" not in outcome.output


def test_schema_and_list() -> None:
    schema = json.loads(runner.invoke(app, ["schema"]).output)
    assert schema["title"] == "Scenario"
    listing = runner.invoke(app, ["list"]).output
    for name in ("single-server", "horizontal-scaling", "cache-aside", "sharded-db"):
        assert name in listing


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text("workload: {rate_rps: 5, entry: api}\ncomponents:\n  api: {kind: servce}\n")
    completed = subprocess.run([sys.executable, "-m", "sim", "validate", str(bad)], capture_output=True, text=True,
                               cwd=PROJECT_ROOT, timeout=60)
    assert completed.returncode == 2
    assert "components.api.kind: unknown value 'servce' (did you mean 'service'?)" in completed.stderr
    assert "Traceback" not in completed.stderr
    ran = subprocess.run([sys.executable, "-m", "sim", "run", SINGLE, "--json", "--duration", "5"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert ran.returncode == 0 and json.loads(ran.stdout)["scenario"] == "single-server"
