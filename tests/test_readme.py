"""The README's examples run as written and give meaningful, non-contradictory answers on the gallery.

Commands are read from the README itself (every ``python -m sim ...`` line of its code blocks), so a command
that stops working, or a new one without a check, fails here.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim
from tests.conftest import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


def code_blocks(language: str | None = None) -> list[str]:
    return [body for tag, body in FENCE.findall(README) if language is None or tag == language]


def readme_commands() -> list[str]:
    """Every ``python -m sim`` command in the README's code blocks, continuation lines joined, comments cut."""
    commands = []
    for block in code_blocks():
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            text = line.split("  #", 1)[0].strip()
            if text.startswith("python -m sim "):
                commands.append(" ".join(text.split()))
    return commands


def flat(text: str) -> str:
    return " ".join(text.split())


def run_command(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    arguments = shlex.split(command)
    assert arguments[:3] == ["python", "-m", "sim"]
    return subprocess.run([sys.executable, *arguments[1:]], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder like the repository's root: the gallery under ``scenarios/``, the test fixtures under ``tests/``."""
    for folder in ("scenarios", "tests"):
        (tmp_path / folder).symlink_to(PROJECT_ROOT / folder, target_is_directory=True)
    return tmp_path


def check_run(command: str, outcome: subprocess.CompletedProcess[str], _cwd: Path) -> None:
    if "--json" in command:
        summary = json.loads(outcome.stdout)
        assert summary["stable"] is True and summary["overload"] == []
        for name, component in summary["components"].items():
            assert component["mean_response_ms"] >= component["mean_wait_ms"], name
            if component["capacity_rps"] is not None:
                assert component["throughput_rps"] <= component["capacity_rps"], name
        assert summary["throughput_rps"] == pytest.approx(summary["theory"]["arrival_rate_rps"], rel=0.1)
        assert summary["latency_ms"]["mean"] == pytest.approx(summary["theory"]["mean_latency_ms"], rel=0.15)
        return
    text = flat(outcome.stdout)
    assert "[stable]" in text and "throughput" in text and "bottleneck:" in text
    assert "cannot keep up" not in text and "UNSTABLE" not in text
    if "--duration 120" in command:
        assert "measured 117 s after 3 s warm-up" in text and "seed=7" in text
    if "--metrics-out" in command:
        metrics = (_cwd / "run.om").read_text(encoding="utf-8")
        assert metrics.rstrip().endswith("# EOF") and "http_requests_total" in metrics


def check_validate(command: str, outcome: subprocess.CompletedProcess[str], _cwd: Path) -> None:
    assert "valid scenario 'sharded-db'" in outcome.stdout


def check_schema(_command: str, outcome: subprocess.CompletedProcess[str], _cwd: Path) -> None:
    assert json.loads(outcome.stdout)["title"] == "Scenario"


def check_list(_command: str, outcome: subprocess.CompletedProcess[str], _cwd: Path) -> None:
    for name in ("single-server", "horizontal-scaling", "cache-aside", "sharded-db"):
        assert name in outcome.stdout


def check_example(_command: str, outcome: subprocess.CompletedProcess[str], _cwd: Path) -> None:
    example = sim.parse_scenario(yaml.safe_load(outcome.stdout))
    summary = sim.run(example).summary
    assert summary["stable"] is True
    assert 0.65 < summary["components"]["api"]["utilisation"] < 0.75, "the description says about 70% busy"


def check_replicate(_command: str, outcome: subprocess.CompletedProcess[str], _cwd: Path) -> None:
    text = flat(outcome.stdout)
    assert "10 replications" in text and "latency_p99_ms" in text and "warm-up (mser-5)" in text
    assert "unstable" not in text


def check_sweep(_command: str, outcome: subprocess.CompletedProcess[str], cwd: Path) -> None:
    rows = pd.read_csv(cwd / "rows.csv")
    assert len(rows) == 12 * 3
    stable = rows.groupby("workload.rate_rps")["stable"].all()
    assert stable[90] and not stable[100] and not stable[120], "the sweep crosses the knee into overload"
    throughput = rows.groupby("workload.rate_rps")["throughput_rps"].mean()
    assert throughput[120] < 101, "past capacity, throughput stays at the server's 100 req/s"
    latency = rows.groupby("workload.rate_rps")["latency_mean_ms"].mean()
    assert latency[90] > 5 * latency[10], "latency bends up before the wall"


def check_plan(_command: str, outcome: subprocess.CompletedProcess[str], _cwd: Path) -> None:
    text = flat(outcome.stdout)
    match = re.search(r"cheapest meeting p99<100ms: (.+?) at ([\d.]+)/h", text)
    assert match, text
    configuration, cost = match.group(1), float(match.group(2))
    assert cost > 0, "the gallery's sharded database has prices"
    assert "Pareto frontier" in text and configuration in text.split("Pareto frontier", 1)[1]
    assert "no component has a price" not in text and "nothing meets" not in text


def check_serve(_command: str, outcome: subprocess.CompletedProcess[str], _cwd: Path) -> None:
    assert re.search(r"serving http://127\.0\.0\.1:\d+/metrics", outcome.stdout), outcome.stdout


def check_calibrate(_command: str, outcome: subprocess.CompletedProcess[str], cwd: Path) -> None:
    assert "best fit" in outcome.stdout
    calibrated = sim.load_scenario(cwd / "calibrated.yaml")
    assert calibrated.workload.rate_rps == pytest.approx(27.05, rel=0.01), "the measured load"
    assert set(calibrated.components) >= {"api"}


def check_export_load(_command: str, _outcome: subprocess.CompletedProcess[str], cwd: Path) -> None:
    source = (cwd / "load.py").read_text(encoding="utf-8")
    compile(source, "load.py", "exec")
    assert "LoadTestShape" in source


CHECKS: dict[str, Callable[[str, subprocess.CompletedProcess[str], Path], None]] = {
    "run": check_run, "validate": check_validate, "schema": check_schema, "list": check_list,
    "example": check_example, "replicate": check_replicate, "sweep": check_sweep, "plan": check_plan,
    "serve": check_serve, "calibrate": check_calibrate, "export-load": check_export_load,
}


def test_the_readme_shows_every_command() -> None:
    commands = readme_commands()
    assert {shlex.split(command)[3] for command in commands} == set(CHECKS)


@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_runs_and_answers(command: str, workspace: Path) -> None:
    outcome = run_command(command, workspace)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.strip(), "every command prints an answer"
    assert "Traceback" not in outcome.stderr
    CHECKS[shlex.split(command)[3]](command, outcome, workspace)


def test_the_readme_validate_example_prints_what_it_shows(workspace: Path) -> None:
    bad = next(block for block in code_blocks("yaml") if "servce" in block)
    (workspace / "bad.yaml").write_text(bad, encoding="utf-8")
    shown = next(block for block in code_blocks() if block.startswith("bad.yaml: "))
    outcome = run_command("python -m sim validate bad.yaml", workspace)
    assert outcome.returncode == 2
    printed = outcome.stderr.splitlines()
    assert len(printed) == len(shown.splitlines())
    for expected, actual in zip(shown.splitlines(), printed, strict=True):
        assert actual.startswith(expected.removesuffix("...").rstrip()), (expected, actual)


def test_the_readme_python_example_runs() -> None:
    block = next(block for block in code_blocks("python") if "sim.load_scenario" in block)
    namespace: dict[str, object] = {}
    exec(compile(block.replace('"scenarios/', f'"{PROJECT_ROOT}/scenarios/'), "README.md", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(result, sim.Result) and result.summary["latency_ms"]["p99"] > 0


def json_key_table() -> set[str]:
    """The top-level keys the README's ``--json`` table names (first column, in backticks)."""
    section = README.split("### The `--json` document", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {key for row in rows for key in re.findall(r"`(\w+)`", row.split("|")[1])}


def test_the_json_key_table_names_every_summary_field_and_no_other() -> None:
    from sim.results.summary_models import RunSummary

    assert json_key_table() == set(RunSummary.model_fields)


def test_schema_summary_describes_what_run_json_prints() -> None:
    import jsonschema

    def python_m_sim(*arguments: str) -> str:
        outcome = subprocess.run([sys.executable, "-m", "sim", *arguments], capture_output=True, text=True,
                                 cwd=PROJECT_ROOT, timeout=120, check=True)
        return outcome.stdout

    schema = json.loads(python_m_sim("schema", "--summary"))
    for name in ("cache-aside", "sharded-db"):
        document = json.loads(python_m_sim("run", f"scenarios/{name}.yaml", "--duration", "6", "--json"))
        jsonschema.validate(document, schema)
    assert schema["properties"]["latency_ms"]["$ref"].endswith("LatencyStats")
    cache = next(variant for variant in schema["properties"]["components"]["additionalProperties"]["oneOf"]
                 if variant["title"] == "cache component")
    assert "hit_ratio" in cache["properties"]
