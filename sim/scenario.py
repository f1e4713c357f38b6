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

from sim.inputs import InputFileError, read_regular_file, resolve_inside
from sim.limits import MAX_TOTAL_CALLS, LimitsSpec, static_limit_problems, total_calls
from sim.outputs import printable
from sim.scenario_errors import (
    Problem,
    ScenarioError,
    closest_kind,
    did_you_mean,
    pydantic_problems,
    spelling_corrected,
    unique_problems,
    unknown_for_every_kind,
)
from sim.scenario_yaml import YamlError, safe_load_yaml
from sim.slo import parse_slo
from sim.specs import (
    COMPONENT_KINDS,
    DAY_S,
    ComponentSpec,
    StrictModel,
    WorkloadSpec,
    downstream_names,
)
from sim.trace import TraceError, workload_trace

MAX_SCENARIO_BYTES = 1_000_000
MAX_COMPONENTS = 500
MAX_SEED = 2**63 - 1
KNOWN_NAMES_SHOWN = 20
UPLOAD_NAMES_NO_FILES = ("an uploaded scenario cannot name files: upload the trace beside the scenario under the "
                         "name written here, or put the CSV text in workload.trace_csv")
WEIGHT_TOLERANCE = 1e-6


class Scenario(StrictModel):
    """An architecture (named components wired by name) and the traffic sent through it."""

    name: Annotated[str, Field(min_length=1, max_length=200)] = "scenario"
    description: Annotated[str, Field(max_length=20_000)] = ""
    duration_s: Annotated[float, Field(gt=0, le=DAY_S)] = 60.0
    warmup_s: Annotated[float, Field(ge=0, le=DAY_S)] = 5.0
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 1
    time_bin_s: Annotated[float, Field(gt=0, le=DAY_S)] = 1.0
    max_requests: Annotated[int, Field(ge=1, le=50_000_000)] = 2_000_000
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    slos: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)] = Field(default_factory=list)
    workload: WorkloadSpec
    components: Annotated[dict[Annotated[str, Field(min_length=1, max_length=100)], ComponentSpec],
                          Field(min_length=1, max_length=MAX_COMPONENTS)]

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
    """Read and validate a scenario file (``.yaml``, ``.yml`` or ``.json``): a regular file of at most 1 MB.

    A ``trace_file`` it names is found inside the file's folder (never outside it).
    """
    file_path = Path(path)
    try:
        raw_bytes = read_regular_file(file_path, MAX_SCENARIO_BYTES, "file")
    except InputFileError as error:
        raise ScenarioError([Problem("", str(error))], str(path)) from None
    return parse_scenario_text(raw_bytes, source=str(path), base_directory=file_path.parent)


def parse_scenario_text(text: str | bytes, source: str = "", base_directory: Path | None = None,
                        attachments: Mapping[str, bytes] | None = None) -> Scenario:
    """Validate a scenario given as YAML or JSON text (JSON is a subset of YAML).

    With ``base_directory`` (the scenario file's folder), a ``trace_file`` is a path inside that folder. Without
    one (an upload), the scenario may name no file at all: a ``trace_file`` must be one of ``attachments`` (files
    uploaded beside it, by name), whose text is then inlined as ``trace_csv``; any other name is refused with one
    message that tells nothing about the server's files.
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
    if trace is not None:
        try:
            _place_trace(workload, trace, base_directory, attachments or {})
        except (InputFileError, TraceError) as error:
            raise ScenarioError([Problem("workload.trace_file", str(error))], source) from None
    return parse_scenario(data, source=source)


def _place_trace(workload: dict[str, Any], trace: Any, base_directory: Path | None,
                 attachments: Mapping[str, bytes]) -> None:
    """Resolve a scenario text's ``trace_file`` inside its folder, or inline an attached trace (see above)."""
    if not isinstance(trace, str):
        return  # the schema reports the wrong type
    if base_directory is not None:
        workload["trace_file"] = str(resolve_inside(base_directory, trace, "trace_file"))
    elif trace in attachments:
        try:
            workload["trace_csv"] = attachments[trace].decode("utf-8")
        except UnicodeDecodeError:
            raise TraceError("the attached trace is not UTF-8 text") from None
        del workload["trace_file"]
    else:
        raise InputFileError(UPLOAD_NAMES_NO_FILES)


def parse_scenario(data: Any, source: str = "") -> Scenario:
    """Validate a mapping as a scenario and list every problem at once: fields, then the wiring.

    A misspelt ``kind`` or ``distribution`` stops pydantic from checking the rest of that block, so the
    block is checked again as the closest valid name (``sim.scenario_errors.spelling_corrected``), and the
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


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors and validators."""
    return Scenario.model_json_schema()


def scenario_from_json(text: str) -> Scenario:
    """Rebuild a scenario from ``Scenario.model_dump_json`` output (used to pass scenarios between processes)."""
    return parse_scenario(json.loads(text))


# --- wiring -----------------------------------------------------------------------------------------


def wiring_problems(scenario: Scenario) -> list[Problem]:
    """Dangling names, wrong targets, cycles, class weights that do not sum to 1, and static limits."""
    calls = total_calls(scenario)
    if calls > MAX_TOTAL_CALLS:  # checked first: every later check walks the calls
        return [Problem("components", f"{calls:,} calls between components; at most {MAX_TOTAL_CALLS:,}")]
    data = scenario.model_dump()
    problems = _name_problems(scenario) + _reference_problems(data) + _total_problems(data)
    for index, text in enumerate(scenario.slos):
        try:
            parse_slo(text)
        except ValueError as error:
            problems.append(Problem(f"slos.{index}", str(error)))
    problems.extend(_trace_problems(scenario))
    if not problems:
        problems.extend(_cycle_problems(scenario))
    if not problems:
        problems.extend(Problem(path, message) for path, message in static_limit_problems(scenario))
    return problems


def _name_problems(scenario: Scenario) -> list[Problem]:
    """Names are printed in tables, diagrams and terminals: no control characters in them."""
    named = [(f"components.{name}", name) for name in scenario.components]
    named += [(f"workload.classes.{index}.name", item.name) for index, item in enumerate(scenario.workload.classes)]
    named.append(("name", scenario.name))
    return [Problem(printable(path), "names cannot hold control characters (such as newlines or escapes)")
            for path, name in named if not name.isprintable()]


def _trace_problems(scenario: Scenario) -> list[Problem]:
    workload = scenario.workload
    if workload.type != "trace":
        return []
    try:
        workload_trace(workload)
    except TraceError as error:
        return [Problem("workload.trace_csv" if workload.trace_csv is not None else "workload.trace_file", str(error))]
    return []


REFERENCE_FIELDS = {"service": "calls", "load_balancer": "target", "cache": "store"}


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


def _references(data: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(path, name) of every reference to a component in scenario data, as written (any types)."""
    workload = _mapping(data.get("workload"))
    references: list[tuple[str, Any]] = [("workload.entry", workload["entry"])] if "entry" in workload else []
    classes = workload.get("classes")
    if isinstance(classes, list):
        references += [(f"workload.classes.{index}.entry", item["entry"]) for index, item in enumerate(classes)
                       if isinstance(item, Mapping) and item.get("entry") is not None]
    for name, spec in _mapping(data.get("components")).items():
        field = REFERENCE_FIELDS.get(closest_kind(spec.get("kind")) or "") if isinstance(spec, Mapping) else None
        if field is None or field not in spec:
            continue
        value = spec[field]
        if isinstance(value, list):
            references += [(f"components.{name}.{field}.{index}", target) for index, target in enumerate(value)]
        else:
            references.append((f"components.{name}.{field}", value))
    return references


def _reference_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Names that point at no component, and load balancers that front something other than a service."""
    components = _mapping(data.get("components"))
    names = [str(name) for name in components]
    listing = ", ".join(names[:KNOWN_NAMES_SHOWN]) + (f", ... ({len(names)} in all)"
                                                     if len(names) > KNOWN_NAMES_SHOWN else "")
    hints: dict[str, str] = {}
    problems: list[Problem] = []
    for path, target in _references(data):
        if not isinstance(target, str):
            continue  # a wrong type is a field problem, reported by the field checks
        if target not in components:
            if target not in hints:  # difflib over every name is slow: suggest for the first few unknown names
                hints[target] = did_you_mean(target, names) if len(hints) < KNOWN_NAMES_SHOWN else ""
            problems.append(Problem(path, f"no component named {target!r}{hints[target]}; components: {listing}"))
        elif path.endswith(".target"):
            target_kind = _mapping(components[target]).get("kind")
            if target_kind in COMPONENT_KINDS and target_kind != "service":
                problems.append(Problem(path, f"a load balancer fronts a service (got {target!r}, a {target_kind})"))
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
