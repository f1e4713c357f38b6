"""The scenario: a validated description of an architecture and its traffic, loaded from YAML or JSON.

A scenario is data only. ``load_scenario`` reads a file, ``parse_scenario`` checks a mapping, and both
raise :class:`ScenarioError` listing every problem as ``path: what is wrong (got X)``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError

from sim.scenario_yaml import YamlError, safe_load_yaml
from sim.slo import parse_slo
from sim.specs import (
    COMPONENT_KINDS,
    DISTRIBUTION_NAMES,
    ComponentSpec,
    StrictModel,
    WorkloadSpec,
    downstream_names,
)
from sim.trace import TraceError, read_trace

MAX_SCENARIO_BYTES = 1_000_000
WEIGHT_TOLERANCE = 1e-6
PROFILE_KINDS = ("stages", "step", "spike", "diurnal")
DISTRIBUTION_FIELDS = frozenset({"service_time", "read_time", "write_time", "think_time"})


class Scenario(StrictModel):
    """An architecture (named components wired by name) and the traffic sent through it."""

    name: Annotated[str, Field(min_length=1)] = "scenario"
    description: str = ""
    duration_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    warmup_s: Annotated[float, Field(ge=0)] = 5.0
    seed: Annotated[int, Field(ge=0)] = 1
    time_bin_s: Annotated[float, Field(gt=0)] = 1.0
    max_requests: Annotated[int, Field(ge=1, le=50_000_000)] = 2_000_000
    slos: list[str] = Field(default_factory=list)
    workload: WorkloadSpec
    components: Annotated[dict[str, ComponentSpec], Field(min_length=1)]

    def to_yaml(self) -> str:
        """The scenario as YAML text, with defaults written out so the file documents itself."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain JSON-compatible data."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where, and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ScenarioError(ValueError):
    """A scenario that cannot be run; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        header = f"{source}: " if source else ""
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{header}{len(problems)} problem(s) in the scenario\n{lines}")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``.yaml``, ``.yml`` or ``.json``)."""
    file_path = Path(path)
    try:
        raw_bytes = file_path.read_bytes()
    except OSError as error:
        raise ScenarioError([Problem("", f"cannot read file ({error.strerror})")], str(path)) from None
    return parse_scenario_text(raw_bytes, source=str(path), base_directory=file_path.parent)


def parse_scenario_text(text: str | bytes, source: str = "", base_directory: Path | None = None) -> Scenario:
    """Validate a scenario given as YAML or JSON text (JSON is a subset of YAML).

    A relative ``trace_file`` is found relative to ``base_directory`` (the scenario file's folder) if given.
    """
    if len(text) > MAX_SCENARIO_BYTES:
        size_problem = Problem("", f"file is too large ({len(text):,} bytes; at most {MAX_SCENARIO_BYTES:,})")
        raise ScenarioError([size_problem], source)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ScenarioError([Problem("", "file is not UTF-8 text")], source) from None
    try:
        data = safe_load_yaml(text)
    except YamlError as problem:
        raise ScenarioError([Problem("", str(problem))], source) from None
    workload: Any = data.get("workload") if isinstance(data, dict) else None
    trace = workload.get("trace_file") if isinstance(workload, dict) else None
    if base_directory is not None and isinstance(trace, str) and not Path(trace).is_absolute():
        workload["trace_file"] = str((base_directory / trace).resolve())
    return parse_scenario(data, source=source)


def parse_scenario(data: Any, source: str = "") -> Scenario:
    """Validate a mapping as a scenario: field types and ranges first, then the wiring."""
    if not isinstance(data, Mapping):
        got = type(data).__name__ if data is not None else "an empty document"
        raise ScenarioError([Problem("", f"a scenario must be a mapping of fields (got {got})")], source)
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as error:
        raise ScenarioError(_pydantic_problems(error, data), source) from None
    problems = wiring_problems(scenario)
    if problems:
        raise ScenarioError(problems, source)
    return scenario


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors and validators."""
    return Scenario.model_json_schema()


def scenario_from_json(text: str) -> Scenario:
    """Rebuild a scenario from ``Scenario.model_dump_json`` output (used to pass scenarios between processes)."""
    return parse_scenario(json.loads(text))


# --- error formatting -----------------------------------------------------------------------------


def _pydantic_problems(error: ValidationError, data: Any) -> list[Problem]:
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        location = _drop_union_tags(tuple(detail["loc"]))
        if detail["type"] == "union_tag_invalid":  # point at the tag field itself, e.g. `kind`
            location = (*location, detail["ctx"]["discriminator"].strip("'"))
        path = ".".join(str(part) for part in location)
        problems.append(Problem(path, _describe(detail, location, data)))
    return _unique(problems)


def _drop_union_tags(location: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pydantic puts the chosen union member (e.g. ``service``) in the path; users never wrote it."""
    kept: list[Any] = []
    for index, part in enumerate(location):
        after_component = index == 2 and location[0] == "components"
        after_distribution = index > 0 and location[index - 1] in DISTRIBUTION_FIELDS
        after_profile = index > 0 and location[index - 1] == "profile"
        if ((after_component and part in COMPONENT_KINDS) or (after_distribution and part in DISTRIBUTION_NAMES)
                or (after_profile and part in PROFILE_KINDS)):
            continue
        kept.append(part)
    return tuple(kept)


def _describe(detail: Mapping[str, Any], location: tuple[Any, ...], data: Any) -> str:
    kind = detail["type"]
    got = detail.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(location[:-1], data)
        hint = _did_you_mean(str(location[-1]), allowed)
        listing = f"; allowed: {', '.join(sorted(allowed))}" if allowed else ""
        return f"unknown field{hint}{listing}"
    if kind == "union_tag_invalid":
        expected = detail["ctx"]["expected_tags"]
        got = detail["ctx"]["tag"]
        options = [tag.strip(" '") for tag in str(expected).split(",")]
        return f"unknown value {got!r}{_did_you_mean(str(got), options)}; allowed: {expected}"
    if kind == "union_tag_not_found":
        field = detail.get("ctx", {}).get("discriminator", "kind").strip("'")
        return f"missing required field '{field}'"
    if kind == "missing":
        return "missing required field"
    message = detail["msg"].removeprefix("Value error, ")
    if isinstance(got, Mapping | list):  # a check across several fields: its message already says what it saw
        return message
    return f"{message} (got {_short(got)})"


def _allowed_keys(location: tuple[Any, ...], data: Any) -> list[str]:
    """The field names accepted at ``location``, found by walking the models alongside the data."""
    model: Any = Scenario
    node: Any = data
    for part in location:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        node = node.get(part) if isinstance(node, Mapping) else None
        if model is Scenario and part == "components":
            model = dict
            continue
        field_annotation = ComponentSpec if model is dict else _field_annotation(model, part)
        model = _model_for(field_annotation, node)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _field_annotation(model: Any, name: str) -> Any:
    field = getattr(model, "model_fields", {}).get(name)
    return field.annotation if field is not None else None


def _model_for(annotation: Any, node: Any) -> Any:
    """The pydantic model inside ``annotation`` that ``node`` is meant to be (by its kind or distribution)."""
    candidates = [model for model in _models_in(annotation)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    tag = {node.get("kind"), node.get("distribution")} if isinstance(node, Mapping) else set()
    for model in candidates:
        literal = model.model_fields.get("kind") or model.model_fields.get("distribution")
        if literal is not None and set(get_args(literal.annotation)) & tag:
            return model
    return None


def _models_in(annotation: Any) -> list[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[Any] = []
    for argument in get_args(annotation):
        found.extend(_models_in(argument))
    return found


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: dict[str, Problem] = {}
    for problem in problems:
        seen.setdefault(str(problem), problem)
    return list(seen.values())


# --- wiring -----------------------------------------------------------------------------------------


def wiring_problems(scenario: Scenario) -> list[Problem]:
    """Dangling names, wrong targets, cycles and class weights that do not sum to 1."""
    names = list(scenario.components)
    problems = _reference_problems(scenario, names)
    weights = sum(request_class.weight for request_class in scenario.workload.classes)
    if abs(weights - 1.0) > WEIGHT_TOLERANCE:
        problems.append(Problem("workload.classes", f"class weights must sum to 1 (got {weights:g})"))
    if scenario.warmup_s >= scenario.duration_s:
        problems.append(
            Problem("warmup_s", f"warm-up must be shorter than duration_s={scenario.duration_s:g} "
                    f"(got {scenario.warmup_s:g})")
        )
    for index, text in enumerate(scenario.slos):
        try:
            parse_slo(text)
        except ValueError as error:
            problems.append(Problem(f"slos.{index}", str(error)))
    problems.extend(_trace_problems(scenario))
    if not problems:
        problems.extend(_cycle_problems(scenario))
    return problems


def _trace_problems(scenario: Scenario) -> list[Problem]:
    workload = scenario.workload
    if workload.trace_file is None:
        return []
    try:
        read_trace(workload.trace_file, [request_class.name for request_class in workload.classes])
    except TraceError as error:
        return [Problem("workload.trace_file", str(error))]
    return []


def _reference_problems(scenario: Scenario, names: list[str]) -> list[Problem]:
    problems: list[Problem] = []

    def check(path: str, name: str) -> None:
        if name not in scenario.components:
            known = ", ".join(names)
            problems.append(Problem(path, f"no component named {name!r}{_did_you_mean(name, names)}; "
                                          f"components: {known}"))

    check("workload.entry", scenario.workload.entry)
    for index, request_class in enumerate(scenario.workload.classes):
        if request_class.entry is not None:
            check(f"workload.classes.{index}.entry", request_class.entry)
    for name, spec in scenario.components.items():
        for suffix, target in downstream_names(spec):
            check(f"components.{name}.{suffix}", target)
        if spec.kind == "load_balancer" and spec.target in scenario.components:
            target_kind = scenario.components[spec.target].kind
            if target_kind != "service":
                problems.append(Problem(f"components.{name}.target",
                                        f"a load balancer fronts a service (got {spec.target!r}, a {target_kind})"))
    return problems


def _cycle_problems(scenario: Scenario) -> list[Problem]:
    """Requests follow the wiring; a cycle would send a request round forever."""
    state: dict[str, str] = {}
    problems: list[Problem] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for suffix, target in downstream_names(scenario.components[name]):
            if state.get(target) == "open":
                loop = " -> ".join([*trail[trail.index(target):], target])
                problems.append(Problem(f"components.{name}.{suffix}",
                                        f"this call closes a cycle that never terminates ({loop})"))
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in scenario.components:
        if name not in state:
            visit(name, [name])
    return problems


def topological_order(scenario: Scenario) -> list[str]:
    """Component names, each after every component it sends requests to (leaves first)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        seen.add(name)
        for _suffix, target in downstream_names(scenario.components[name]):
            if target not in seen:
                visit(target)
        order.append(name)

    for name in scenario.components:
        if name not in seen:
            visit(name)
    return order
