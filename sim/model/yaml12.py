"""A safe YAML reader with YAML 1.2 scalars, so hand-written scenario files mean what they say.

PyYAML follows YAML 1.1: ``1:30`` is the number 90, ``no`` and ``on`` are booleans, ``012`` is octal and
``1e3`` is a string. Here only ``true``/``false`` are booleans, ``1e3`` is a float, ``012`` is 12, and
anything else stays a string (which the schema then rejects with a clear message). Duplicate keys are errors.

The reader is bounded before anything is built: nesting depth, node count, the size the document would have
with every alias expanded (a "billion laughs" is refused, not expanded), and the digits of an integer. Only
the standard tags are known, so no tag can run code.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 64
MAX_NODES = 200_000
MIN_EXPANDED_NODES = 10_000  # aliases may expand a document to this many nodes, or one node per character
MAX_INTEGER_DIGITS = 30


class YamlError(ValueError):
    """The text is not valid YAML for a scenario."""


class ScenarioLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars, no duplicate keys, and bounded depth, size and aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.allowed_expanded = max(MIN_EXPANDED_NODES, len(stream))
        self.depth = 0
        self.nodes = 0
        self.alias_sizes: dict[int, int] = {}
        self.expanded_by_aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH or self.nodes > MAX_NODES:
            what = f"nesting deeper than {MAX_DEPTH} levels" if self.depth > MAX_DEPTH else (
                f"more than {MAX_NODES:,} values")
            raise YamlError(f"not a scenario: {what}{_where(self.peek_event().start_mark)}")
        alias = self.check_event(AliasEvent)
        try:
            node: Node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if alias:  # refuse an alias bomb as soon as it passes the bound, not after reading the whole text
            self.expanded_by_aliases += _expanded_size(node, self.alias_sizes, self.allowed_expanded) - 1
            if self.nodes + self.expanded_by_aliases > self.allowed_expanded:
                self._refuse_expansion()
        return node

    def _refuse_expansion(self) -> None:
        raise YamlError(f"not a scenario: its aliases expand to more than {self.allowed_expanded:,} values")

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}, self.allowed_expanded) > self.allowed_expanded:
            self._refuse_expansion()
        return self.construct_document(node)


def _where(mark: Any) -> str:
    return f" on line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _expanded_size(node: Node, sizes: dict[int, int], allowed: int) -> int:
    """Values in the document with every alias expanded, counted once per node (stops past ``allowed``)."""
    key = id(node)
    if key in sizes:
        if sizes[key] < 0:
            raise YamlError(f"not a scenario: an alias refers to the value that contains it{_where(node.start_mark)}")
        return sizes[key]
    sizes[key] = -1
    total = 1
    if isinstance(node, SequenceNode):
        children: list[Node] = list(node.value)
    elif isinstance(node, MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, sizes, allowed)
        if total > allowed:
            break
    sizes[key] = total
    return total


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
    text = str(loader.construct_scalar(node))
    if len(text.lstrip("+-")) > MAX_INTEGER_DIGITS:
        raise YamlError(f"an integer of more than {MAX_INTEGER_DIGITS} digits{_where(node.start_mark)}")
    return int(text)  # decimal only: "012" is 12, as in YAML 1.2


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    return float(str(loader.construct_scalar(node)).lower().replace(".inf", "inf").replace(".nan", "nan"))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise YamlError(f"a key must be a plain value, not a list or mapping{_where(key_node.start_mark)}")
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
        raise YamlError(f"not valid YAML{_where(error.problem_mark)}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise YamlError("not valid YAML: " + " ".join(str(error).split())) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as error:  # e.g. "!!int abc", "!!timestamp x"
        if isinstance(error, YamlError):
            raise
        raise YamlError("not valid YAML: a value does not match its tag (such as !!int or !!timestamp)") from None
