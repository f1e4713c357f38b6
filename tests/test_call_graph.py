"""The call graph's schema: strict, field-named errors, every dangling name in one pass, the fan-out budget."""

from __future__ import annotations

import pytest

from sim.model.errors import ScenarioError
from sim.scenario.scenario import parse_scenario
from sim.scenario.static_limits import call_graph_sizes
from tests.test_fanout import fan_out


def problems_for(calls: list, **extra: object) -> dict[str, str]:
    data = fan_out(["b0"], branches=3).model_dump(mode="json", exclude_none=True)
    data["components"]["gateway"]["calls"] = calls
    data.update(extra)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    return {problem.path: problem.message for problem in caught.value.problems}


def test_every_dangling_name_in_nested_steps_is_found_in_one_pass() -> None:
    problems = problems_for([{"parallel": ["b0", "nope1", {"call": "nope2", "hedge_after": "p95"}]}, "nope3",
                             {"call": "b1", "probability": 0}])
    assert set(problems) == {"components.gateway.calls.0.parallel.1", "components.gateway.calls.0.parallel.2.call",
                             "components.gateway.calls.1", "components.gateway.calls.2.probability"}
    assert "no component named 'nope2'" in problems["components.gateway.calls.0.parallel.2.call"]


@pytest.mark.parametrize(("step", "path", "words"), [
    ({"parallel": ["b0", "b1"], "first": 3}, "components.gateway.calls.0", "first=3 is more than the 2"),
    ({"parallel": []}, "components.gateway.calls.0.parallel", "at least 1"),
    ({"parallel": ["b0"], "bogus": 1}, "components.gateway.calls.0.bogus", "unknown field"),
    ({"call": "b0", "hedge_after": "p42"}, "components.gateway.calls.0.hedge_after", "pattern"),
    ({"call": "b0", "timeout_ms": -1}, "components.gateway.calls.0.timeout_ms", "greater than"),
    ({"parallel": [{"call": "b0", "x": 1}]}, "components.gateway.calls.0.parallel.0.x", "unknown field"),
    (7, "components.gateway.calls.0", "valid"),
])
def test_a_malformed_step_is_named_by_its_field(step: object, path: str, words: str) -> None:
    problems = problems_for([step])
    assert path in problems, problems
    assert words in problems[path]


def test_the_fan_out_budget_counts_parallel_branches_and_hedges() -> None:
    steps = [{"parallel": [{"call": f"b{index}", "hedge_after": "p95"} for index in range(3)]}]
    visits, _depth = call_graph_sizes(fan_out(steps, branches=3))
    assert visits["gateway"] == 1 + 3 * 2  # three branches, each with its hedged copy
    problems = problems_for(steps, limits={"max_fan_out": 6})
    assert "7 visits" in problems["limits.max_fan_out"]


def test_a_flat_list_still_means_sequential_calls() -> None:
    scenario = fan_out(["b0", "b1"], branches=2)
    assert [target for _path, target in scenario.components["gateway"].downstream()] == ["b0", "b1"]
    assert scenario.model_dump(mode="json")["components"]["gateway"]["calls"] == ["b0", "b1"]
