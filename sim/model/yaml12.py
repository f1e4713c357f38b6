"""A safe YAML reader with YAML 1.2 scalars, so hand-written scenario files mean what they say.

PyYAML follows YAML 1.1: ``1:30`` is the number 90, ``no`` and ``on`` are booleans, ``012`` is octal and
``1e3`` is a string. Here only ``true``/``false`` are booleans, ``1e3`` is a float, ``012`` is 12, and
anything else stays a string (which the schema then rejects with a clear message). Duplicate keys are errors.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class YamlError(ValueError):
    """The text is not valid YAML for a scenario."""


class ScenarioLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and no duplicate keys."""


ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in {
        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(
    r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    return int(loader.construct_scalar(node))  # decimal only: "012" is 12, as in YAML 1.2


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    return float(str(loader.construct_scalar(node)).lower().replace(".inf", "inf").replace(".nan", "nan"))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            line = key_node.start_mark.line + 1
            raise YamlError(f"duplicate key {key!r} on line {line}")
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
ScenarioLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
ScenarioLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def safe_load_yaml(text: str) -> Any:
    """Parse YAML (or JSON) text with YAML 1.2 scalars; raise YamlError with the line on error."""
    try:
        return yaml.load(text, Loader=ScenarioLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" on line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise YamlError(f"not valid YAML{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise YamlError(f"not valid YAML: {error}") from None
