"""Change a scenario by field path (``workload.rate_rps``, ``components.api.instances``) and revalidate.

Sweeps, capacity plans and the app's controls all go through here, so a changed value is checked exactly
like one written in a file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sim.scenario.scenario import Problem, Scenario, ScenarioError, parse_scenario

# Every field, optional ones included, appears in ``Scenario.to_dict()``, so a name missing there is unknown.


def get_field(scenario: Scenario, path: str) -> Any:
    """The value at a dotted field path (list items by index, e.g. ``workload.classes.0.weight``)."""
    node: Any = scenario.to_dict()
    for part in path.split("."):
        node = _child(node, part, path)
    return node


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """A new, validated scenario with each dotted path set to its value (the original is unchanged)."""
    data = copy.deepcopy(scenario.to_dict())
    for path, value in overrides.items():
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = _child(node, part, path)
        if isinstance(node, list):
            index = _index(node, last, path)
            node[index] = value
        elif isinstance(node, dict):
            if last not in node:
                raise ScenarioError([Problem(path, f"no such field {last!r}")])
            node[last] = value
        else:
            raise ScenarioError([Problem(path, "cannot set a field inside a plain value")])
    return parse_scenario(data)


def _child(node: Any, part: str, path: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, part, path)]
    if isinstance(node, dict) and part in node:
        return node[part]
    raise ScenarioError([Problem(path, f"no such field {part!r}")])


def _index(node: list[Any], part: str, path: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ScenarioError([Problem(path, f"{part!r} is not an index of a list with {len(node)} item(s)")])
    return int(part)

