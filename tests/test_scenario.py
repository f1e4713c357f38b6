"""Scenario files: validation messages that name the field, YAML traps, round trips."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.scenario.scenario import parse_scenario_text
from tests.conftest import SCENARIO_DIRECTORY, single_service

BASE = single_service()


def broken(change: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(top)
    for path, value in (change or {}).items():
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return data


DELETE = object()

BROKEN_SCENARIOS = [
    (broken({"workload.rate_rps": -5}), "workload.rate_rps", "greater than 0"),
    (broken({"workload.rate_rps": "fast"}), "workload.rate_rps", "valid number"),
    (broken({"workload.entry": "apii"}), "workload.entry", "did you mean 'api'"),
    (broken({"components.api.instancs": 2}), "components.api.instancs", "did you mean 'instances'"),
    (broken({"components.api.kind": "servce"}), "components.api.kind", "did you mean 'service'"),
    (broken({"components.api.kind": DELETE}), "components.api", "missing required field 'kind'"),
    (broken({"components.api.workers": 0}), "components.api.workers", "greater than or equal to 1"),
    (broken({"components.api.service_time": {"distribution": "exponential", "mean_ms": 0}}),
     "components.api.service_time.mean_ms", "greater than or equal to 0.000001"),
    (broken({"components.api.service_time": {"distribution": "gaussian", "mean_ms": 1}}),
     "components.api.service_time.distribution", "allowed"),
    (broken({"components.api.service_time": {"distribution": "exponential", "mean": 1}}),
     "components.api.service_time.mean", "did you mean 'mean_ms'"),
    (broken({"components.api.service_time": {"distribution": "uniform", "low_ms": 5, "high_ms": 2}}),
     "components.api.service_time", "low_ms must be below high_ms"),
    (broken({"components.api.calls": ["db"]}), "components.api.calls.0", "no component named 'db'"),
    (broken({"workload.classes": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.3}]}),
     "workload.classes", "sum to 1 (got 0.8)"),
    (broken(duratoin_s=5), "duratoin_s", "did you mean 'duration_s'"),
    (broken(warmup_s=30), "warmup_s", "shorter than duration_s"),
    (broken(components={}), "components", "at least 1"),
]


@pytest.mark.parametrize(("data", "path", "message"), BROKEN_SCENARIOS)
def test_broken_scenario_names_the_field(data: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(sim.ScenarioError) as caught:
        sim.parse_scenario(data)
    lines = [str(problem) for problem in caught.value.problems]
    assert any(line.startswith(f"{path}: ") and message in line for line in lines), lines


@pytest.mark.parametrize(("data", "path", "message"), BROKEN_SCENARIOS)
def test_broken_scenario_file_exits_2_through_the_cli(data: dict[str, Any], path: str, message: str,
                                                      tmp_path) -> None:
    scenario_file = tmp_path / "broken.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    outcome = CliRunner().invoke(app, ["validate", str(scenario_file)])
    assert outcome.exit_code == 2
    lines = [" ".join(line.split()) for line in outcome.output.splitlines()]
    assert any(line.startswith(f"{path}: ") and message in line for line in lines), outcome.output
    assert "Traceback" not in outcome.output


def test_every_problem_is_listed_at_once() -> None:
    data = broken({"workload.rate_rps": -1, "components.api.workers": 0, "components.api.speed": 3})
    with pytest.raises(sim.ScenarioError) as caught:
        sim.parse_scenario(data)
    paths = {problem.path for problem in caught.value.problems}
    assert {"workload.rate_rps", "components.api.workers", "components.api.speed"} <= paths


def problem_lines(data: dict[str, Any]) -> list[str]:
    with pytest.raises(sim.ScenarioError) as caught:
        sim.parse_scenario(data)
    return [str(problem) for problem in caught.value.problems]


def test_a_misspelt_kind_does_not_hide_the_other_typos() -> None:
    data = broken({"components.api.kind": "servce", "components.api.workres": 2,
                   "components.api.service_time": {"distribution": "exponentail", "mean_ms": 4}})
    lines = problem_lines(data)
    assert len(lines) == 3, lines
    assert lines[0].startswith("components.api.kind: unknown value 'servce' (did you mean 'service'?)")
    assert any(line.startswith("components.api.service_time.distribution: unknown value 'exponentail' "
                               "(did you mean 'exponential'?)") for line in lines)
    assert any(line.startswith("components.api.workres: unknown field (did you mean 'workers'?)") for line in lines)


def test_an_unknown_kind_lists_fields_no_kind_accepts_and_the_wiring_is_still_checked() -> None:
    data = broken({"workload.rate_rps": -1, "workload.entry": "apx",
                   "workload.classes": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.3}]})
    data["components"]["db"] = {"kind": "storage", "pool": 3, "pool_size": 2}
    data["components"]["api"]["calls"] = ["dbb"]
    lines = problem_lines(data)
    assert any(line.startswith("components.db.kind: unknown value 'storage'") for line in lines)
    assert "components.db.pool: unknown field for every kind (did you mean 'pool_size'?)" in lines
    assert not any(line.startswith("components.db.pool_size") for line in lines), "some kind accepts pool_size"
    assert any(line.startswith("workload.rate_rps: ") for line in lines)
    assert any(line.startswith("workload.entry: no component named 'apx' (did you mean 'api'?)") for line in lines)
    assert any(line.startswith("components.api.calls.0: no component named 'dbb' (did you mean 'db'?)")
               for line in lines)
    assert "workload.classes: class weights must sum to 1 (got 0.8)" in lines


def test_a_misspelt_profile_kind_does_not_hide_its_fields() -> None:
    data = broken({"workload.profile": {"kind": "stpe", "at_s": 5, "rate_rps": -3}})
    lines = problem_lines(data)
    assert any(line.startswith("workload.profile.kind: unknown value 'stpe' (did you mean 'step'?)")
               for line in lines), lines
    assert any(line.startswith("workload.profile.rate_rps: ") for line in lines), lines


def test_cycle_is_rejected_with_the_loop() -> None:
    data = broken({"components.api.calls": ["worker"]})
    data["components"]["worker"] = {"kind": "service", "service_time": {"distribution": "exponential", "mean_ms": 1},
                                    "calls": ["api"]}
    with pytest.raises(sim.ScenarioError) as caught:
        sim.parse_scenario(data)
    assert any("cycle" in str(problem) and "api -> worker -> api" in str(problem) for problem in caught.value.problems)


def test_load_balancer_must_front_a_service() -> None:
    data = broken({"workload.entry": "lb"})
    data["components"]["lb"] = {"kind": "load_balancer", "target": "db"}
    data["components"]["db"] = {"kind": "database", "read_time": {"distribution": "exponential", "mean_ms": 1},
                                "write_time": {"distribution": "exponential", "mean_ms": 1}}
    with pytest.raises(sim.ScenarioError, match=r"components\.lb\.target: a load balancer fronts a service"):
        sim.parse_scenario(data)


@pytest.mark.parametrize(("text", "message"), [
    ("workload: [unclosed", "not valid YAML on line 1"),
    ("- just\n- a list\n", "must be a mapping"),
    ("", "empty document"),
    ("name: a\nname: b\n", "duplicate key 'name' on line 2"),
])
def test_unreadable_text(text: str, message: str) -> None:
    with pytest.raises(sim.ScenarioError, match=message):
        parse_scenario_text(text)


def test_oversized_file_is_refused_before_parsing() -> None:
    with pytest.raises(sim.ScenarioError, match="too large"):
        parse_scenario_text("#" * 1_000_001)


def test_yaml_1_1_traps_are_not_sprung() -> None:
    data = yaml.safe_dump(BASE)
    text = data.replace("name: test", "name: no").replace("duration_s: 20", "duration_s: 1e3")
    scenario = parse_scenario_text(text)
    assert scenario.name == "no"  # YAML 1.1 would make this the boolean False
    assert scenario.duration_s == 1000.0  # YAML 1.1 would make this a string
    with pytest.raises(sim.ScenarioError, match=r"workload\.rate_rps"):
        parse_scenario_text(text.replace("rate_rps: 50.0", "rate_rps: 1:30"))  # YAML 1.1 reads 90


def test_yaml_and_json_round_trip() -> None:
    scenario = sim.parse_scenario(BASE)
    assert parse_scenario_text(scenario.to_yaml()) == scenario
    assert sim.parse_scenario(json.loads(scenario.model_dump_json())) == scenario


def test_scenario_built_in_code_dumps_to_loadable_yaml(tmp_path) -> None:
    scenario = sim.Scenario(
        name="coded",
        workload={"rate_rps": 10, "entry": "api"},
        components={"api": {"kind": "service", "service_time": {"distribution": "deterministic", "mean_ms": 5}}},
    )
    path = tmp_path / "coded.yaml"
    path.write_text(scenario.to_yaml())
    assert sim.load_scenario(path) == scenario


def test_json_schema_describes_components() -> None:
    schema = sim.scenario_json_schema()
    assert "components" in schema["properties"]
    assert {"ServiceSpec", "LoadBalancerSpec", "CacheSpec", "DatabaseSpec"} <= set(schema["$defs"])


def test_a_list_in_place_of_a_kind_is_a_field_named_problem() -> None:
    text = (SCENARIO_DIRECTORY / "cache-aside.yaml").read_text().replace("kind: service", "kind: []")
    with pytest.raises(sim.ScenarioError) as raised:
        sim.parse_scenario_text(text, source="fuzz.yaml")
    assert [problem.path for problem in raised.value.problems] == ["components.api.kind"]
