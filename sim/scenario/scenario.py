"""The scenario: a validated description of an architecture and its traffic, loaded from YAML or JSON.

A scenario is data only. ``load_scenario`` reads a file, ``parse_scenario`` checks a mapping, and both
raise :class:`ScenarioError` listing every problem as ``path: what is wrong (got X)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError

from sim.kinds.base import ComponentSpecBase
from sim.kinds.registry import KINDS, ComponentSpec, add_kind
from sim.model.base import StrictModel
from sim.model.errors import Problem, ScenarioError, did_you_mean
from sim.model.slo import parse_slo
from sim.model.traces import TraceError, read_trace
from sim.model.workload import WorkloadSpec
from sim.model.yaml12 import YamlError, safe_load_yaml
from sim.scenario.problems import (
    closest_kind,
    pydantic_problems,
    spelling_corrected,
    unique_problems,
    unknown_for_every_kind,
)

MAX_SCENARIO_BYTES = 1_000_000
WEIGHT_TOLERANCE = 1e-6


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
        """The scenario as YAML, defaults written out so the file documents itself (unset options left out)."""
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True)

    def duration_updates(self, duration_s: float) -> dict[str, float]:
        """The fields that run this scenario for ``duration_s`` instead: warm-up capped at half the run."""
        return {"duration_s": float(duration_s), "warmup_s": float(min(self.warmup_s, duration_s / 2))}

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain JSON-compatible data."""
        return self.model_dump(mode="json")


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
    """Validate a mapping as a scenario and list every problem at once: fields, then the wiring.

    A misspelt ``kind`` or ``distribution`` stops pydantic from checking the rest of that block, so the
    block is checked again as the closest valid name (``sim.scenario.problems.spelling_corrected``), and the
    wiring is checked on the data as written even when some fields failed.
    """
    if not isinstance(data, Mapping):
        got = type(data).__name__ if data is not None else "an empty document"
        raise ScenarioError([Problem("", f"a scenario must be a mapping of fields (got {got})")], source)
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as error:
        raise ScenarioError(field_problems(error, data), source) from None
    problems = wiring_problems(scenario)
    if problems:
        raise ScenarioError(problems, source)
    return scenario


def field_problems(error: ValidationError, data: Mapping[str, Any]) -> list[Problem]:
    """Every field problem, those hidden behind a misspelt name included, then the wiring problems the data
    as written still allows to find."""
    problems = pydantic_problems(error, data, Scenario)
    for corrected in spelling_corrected(data):
        try:
            Scenario.model_validate(corrected)
        except ValidationError as hidden:
            problems += pydantic_problems(hidden, corrected, Scenario)
    problems += unknown_for_every_kind(data)
    problems += _reference_problems(data) + _total_problems(data)
    return unique_problems(problems)


def register_kind(spec_class: type[ComponentSpecBase]) -> str:
    """Add a component kind (a ``ComponentSpecBase`` subclass) to the scenarios this process accepts."""
    name = add_kind(spec_class)
    Scenario.model_rebuild(force=True)
    return name


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors and validators."""
    return Scenario.model_json_schema()


def scenario_from_json(text: str) -> Scenario:
    """Rebuild a scenario from ``Scenario.model_dump_json`` output (used to pass scenarios between processes)."""
    return parse_scenario(json.loads(text))


# --- wiring -----------------------------------------------------------------------------------------


def wiring_problems(scenario: Scenario) -> list[Problem]:
    """Dangling names, wrong targets, cycles and class weights that do not sum to 1."""
    data = scenario.model_dump()
    problems = _reference_problems(data) + _total_problems(data)
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


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _total_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Class weights that do not sum to 1, and a warm-up as long as the run (where the numbers are numbers)."""
    problems = []
    classes = _mapping(data.get("workload")).get("classes")
    weights: list[Any] = [item.get("weight") for item in classes if isinstance(item, Mapping)] if isinstance(
        classes, list) else []
    total = float(sum(weights)) if weights and all(_number(weight) for weight in weights) else 1.0
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        problems.append(Problem("workload.classes", f"class weights must sum to 1 (got {total:g})"))
    defaults = Scenario.model_fields
    warmup_s = data.get("warmup_s", defaults["warmup_s"].default)
    duration_s = data.get("duration_s", defaults["duration_s"].default)
    if _number(warmup_s) and _number(duration_s) and warmup_s >= duration_s:
        problems.append(Problem("warmup_s", f"warm-up must be shorter than duration_s={duration_s:g} "
                                            f"(got {warmup_s:g})"))
    return problems


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _references(data: Mapping[str, Any]) -> list[tuple[str, Any, type[ComponentSpecBase] | None]]:
    """(path, name, kind class of the referrer) of every reference to a component in data as written."""
    workload = _mapping(data.get("workload"))
    references: list[tuple[str, Any, type[ComponentSpecBase] | None]] = (
        [("workload.entry", workload["entry"], None)] if "entry" in workload else [])
    classes = workload.get("classes")
    if isinstance(classes, list):
        references += [(f"workload.classes.{index}.entry", item["entry"], None) for index, item in enumerate(classes)
                       if isinstance(item, Mapping) and item.get("entry") is not None]
    for name, spec in _mapping(data.get("components")).items():
        kind = closest_kind(spec.get("kind")) if isinstance(spec, Mapping) else None
        if kind is not None:
            references += [(f"components.{name}.{suffix}", target, KINDS[kind])
                           for suffix, target in KINDS[kind].raw_references(spec)]
    return references


def _reference_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Names that point at no component, and references a kind refuses (a balancer in front of a cache)."""
    components = _mapping(data.get("components"))
    names = [str(name) for name in components]
    problems: list[Problem] = []
    for path, target, referrer in _references(data):
        if not isinstance(target, str):
            continue  # a wrong type is a field problem, reported by the field checks
        if target not in components:
            problems.append(Problem(path, f"no component named {target!r}{did_you_mean(target, names)}; "
                                          f"components: {', '.join(names)}"))
        elif referrer is not None:
            problems += referrer.reference_problems(path, target, KINDS.get(_mapping(components[target]).get("kind")))
    return problems


def _cycle_problems(scenario: Scenario) -> list[Problem]:
    """Requests follow the wiring; a cycle would send a request round forever."""
    state: dict[str, str] = {}
    problems: list[Problem] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for suffix, target in scenario.components[name].downstream():
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
        for _suffix, target in scenario.components[name].downstream():
            if target not in seen:
                visit(target)
        order.append(name)

    for name in scenario.components:
        if name not in seen:
            visit(name)
    return order
