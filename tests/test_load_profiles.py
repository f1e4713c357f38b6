"""``sim export-load``: the stages follow the scenario's rate exactly; the scripts are valid Locust and k6.

k6 itself is not installable here (no Debian package, and no download beyond PyPI and Debian), so the k6
script is checked by structure (its options, parsed as JSON, carry the same stages) and by Node's parser
(``node --check``, an ES module). The Locust module is run by real Locust in tests/test_locust.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.interop.load_profiles import k6_script, locust_module, rate_profile
from sim.model.profiles import rate_function
from sim.scenario.overrides import with_overrides
from tests.conftest import SCENARIO_DIRECTORY
from tests.real_tools import require_binary

BASE = sim.load_scenario(SCENARIO_DIRECTORY / "cache-aside.yaml")
PROFILES = {
    "constant": None,
    "stages": {"kind": "stages", "stages": [{"duration_s": 8, "rate_rps": 800, "ramp_s": 4},
                                            {"duration_s": 6, "rate_rps": 200}, {"duration_s": 5, "rate_rps": 300,
                                                                                 "ramp_s": 5}]},
    "step": {"kind": "step", "at_s": 12, "rate_rps": 650},
    "spike": {"kind": "spike", "at_s": 10, "duration_s": 4, "rate_rps": 2000},
    "diurnal": {"kind": "diurnal", "period_s": 20, "amplitude": 0.6, "phase_s": 3},
}


def shaped(name: str) -> sim.Scenario:
    return with_overrides(BASE, {"workload.profile": PROFILES[name]})


def in_locust_module(code: str, expression: str, tmp_path: Path) -> Any:
    """Evaluate ``expression`` inside the exported module, in a subprocess: importing Locust monkey-patches the
    whole interpreter with gevent, which the rest of the test session must not inherit."""
    module = tmp_path / "exported.py"
    module.write_text(code)
    program = (f"import json, runpy; namespace = runpy.run_path({str(module)!r}); "
               f"print(json.dumps(eval({expression!r}, namespace)))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def k6_options(script: str) -> dict[str, Any]:
    match = re.search(r"export const options = (\{.*?\});\n", script, re.DOTALL)
    assert match, "no options object"
    return json.loads(match.group(1))


@pytest.mark.parametrize("name", list(PROFILES))
def test_stages_follow_the_scenario_rate(name: str) -> None:
    scenario = shaped(name)
    profile = rate_profile(scenario)
    rate, _peak = rate_function(scenario.workload)
    times = np.linspace(0.0, scenario.duration_s - 1e-6, 3001)
    worst = max(abs(rate(time_s) - profile.rate_at(time_s)) for time_s in times)
    amplitude = (scenario.workload.rate_rps or 0.0) * (PROFILES[name] or {}).get("amplitude", 0.0)
    assert worst <= (0.003 * amplitude if name == "diurnal" else 1e-9)  # 48 segments a period: 0.2% of amplitude
    assert profile.duration_s == pytest.approx(scenario.duration_s)


@pytest.mark.parametrize("name", ["stages", "diurnal"])
def test_the_locust_module_computes_the_same_rate(name: str, tmp_path: Path) -> None:
    scenario = shaped(name)
    times = np.linspace(0.0, scenario.duration_s - 1e-6, 500).tolist()
    values = in_locust_module(locust_module(scenario), f"[[rate_at(t) for t in {times}], DURATION_S, CLASSES, "
                                                       "issubclass(ScenarioShape, LoadTestShape)]", tmp_path)
    rates, duration_s, classes, is_shape = values
    profile = rate_profile(scenario)
    assert rates == pytest.approx([profile.rate_at(time_s) for time_s in times], abs=1e-9)
    assert duration_s == scenario.duration_s and is_shape
    assert [item[:2] for item in classes] == [["read", 0.9], ["write", 0.1]]


@pytest.mark.parametrize("name", list(PROFILES))
def test_the_k6_script_carries_the_same_stages(name: str) -> None:
    scenario = shaped(name)
    options = k6_options(k6_script(scenario))["scenarios"]["workload"]
    profile = rate_profile(scenario)
    assert options["executor"] == "ramping-arrival-rate"
    factor = 1 if options["timeUnit"] == "1s" else 60
    assert options["startRate"] == round(profile.start_rps * factor)
    assert [(float(stage["duration"].removesuffix("s")), stage["target"]) for stage in options["stages"]] == [
        (pytest.approx(duration, abs=1e-6), round(target * factor)) for duration, target in profile.stages]


def test_closed_workloads_become_users_who_think(tmp_path: Path) -> None:
    scenario = with_overrides(BASE, {"workload.type": "closed", "workload.rate_rps": None, "workload.users": 40,
                                     "workload.ramp_up_s": 8,
                                     "workload.think_time": {"distribution": "lognormal", "mean_ms": 500, "cv": 1}})
    options = k6_options(k6_script(scenario))["scenarios"]["workload"]
    assert options["executor"] == "ramping-vus"
    assert options["stages"] == [{"duration": "8s", "target": 40}, {"duration": "22s", "target": 40}]
    users, spawn_rate, thinks = in_locust_module(
        locust_module(scenario), "[USERS, SPAWN_RATE, (RANDOM.seed(4), [think_time_s() for _ in range(20000)])[1]]",
        tmp_path)
    assert (users, spawn_rate) == (40, 5.0)
    assert np.mean(thinks) == pytest.approx(0.5, rel=0.03)  # the lognormal's mean, in seconds


@pytest.mark.parametrize("name", ["stages", "diurnal"])
def test_node_parses_the_k6_script(name: str, tmp_path: Path) -> None:
    node = require_binary("node", "apt-get install -y nodejs")
    script = tmp_path / "load.mjs"
    script.write_text(k6_script(shaped(name)))
    checked = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr
    broken = tmp_path / "broken.mjs"
    broken.write_text(script.read_text().replace("export default function () {", "export default function ( {"))
    assert subprocess.run([node, "--check", str(broken)], capture_output=True, timeout=60, check=False).returncode


def test_trace_workloads_export_their_arrival_counts(tmp_path: Path) -> None:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("time_s\n" + "".join(f"{0.1 * index:.1f}\n" for index in range(30)) + "5.5\n")
    scenario = sim.parse_scenario({**BASE.to_dict(), "duration_s": 6, "warmup_s": 1,
                                   "workload": {"type": "trace", "trace_file": str(trace), "entry": "api"}})
    profile = rate_profile(scenario)
    assert [profile.rate_at(time_s) for time_s in (0.5, 1.5, 2.5, 3.5, 5.7)] == [10.0, 10.0, 10.0, 0.0, 1.0]


def test_cli_writes_the_script_or_explains(tmp_path: Path) -> None:
    target = tmp_path / "load.js"
    outcome = CliRunner().invoke(app, ["export-load", str(SCENARIO_DIRECTORY / "horizontal-scaling.yaml"),
                                       "--to", "k6", "--out", str(target)])
    assert outcome.exit_code == 0, outcome.output
    assert k6_options(target.read_text())["scenarios"]["workload"]["startRate"] == 640
    wrong = CliRunner().invoke(app, ["export-load", str(SCENARIO_DIRECTORY / "horizontal-scaling.yaml"),
                                     "--to", "jmeter"])
    assert wrong.exit_code == 2
    unwritable = CliRunner().invoke(app, ["export-load", str(SCENARIO_DIRECTORY / "horizontal-scaling.yaml"),
                                          "--to", "locust", "--out", str(tmp_path / "no" / "load.py")])
    assert unwritable.exit_code == 2 and "--out" in unwritable.output
