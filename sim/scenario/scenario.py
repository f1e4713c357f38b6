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
from sim.kinds.registry import ComponentSpec, add_kind
from sim.model.base import DAY_S, StrictModel
from sim.model.errors import Problem, ScenarioError
from sim.model.faults import FaultSpec
from sim.model.inputs import InputFileError, read_regular_file, resolve_inside
from sim.model.limits import LimitsSpec
from sim.model.traces import TraceError
from sim.model.workload import WorkloadSpec
from sim.model.yaml12 import YamlError, safe_load_yaml
from sim.scenario.problems import (
    pydantic_problems,
    spelling_corrected,
    unique_problems,
    unknown_for_every_kind,
)
from sim.scenario.wiring import reference_problems, total_problems, wiring_problems

MAX_SCENARIO_BYTES = 1_000_000
MAX_COMPONENTS = 500
MAX_SEED = 2**63 - 1
UPLOAD_NAMES_NO_FILES = ("an uploaded scenario cannot name files: upload the trace beside the scenario under the "
                         "name written here, or put the CSV text in workload.trace_csv")


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
    faults: Annotated[list[FaultSpec], Field(max_length=1000)] = Field(default_factory=list)

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
    block is checked again as the closest valid name (``sim.model.errors.spelling_corrected``), and the
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
    problems += reference_problems(data) + total_problems(data, _DEFAULTS)
    return unique_problems(problems)


_DEFAULTS = {name: field.default for name, field in Scenario.model_fields.items()
             if name in ("warmup_s", "duration_s")}


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
