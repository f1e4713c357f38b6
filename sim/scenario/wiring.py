"""The wiring of a scenario: names that point at components, what a kind may be wired to, cycles, class weights
and the static limits; checked on the data as written too, so every problem is listed in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sim.kinds.base import ComponentSpecBase
from sim.kinds.registry import KINDS
from sim.model.errors import Problem, did_you_mean
from sim.model.outputs import printable
from sim.model.slo import parse_slo
from sim.model.traces import TraceError, workload_trace
from sim.scenario.problems import closest_kind
from sim.scenario.static_limits import MAX_TOTAL_CALLS, static_limit_problems, total_calls

if TYPE_CHECKING:
    from sim.scenario.scenario import Scenario

KNOWN_NAMES_SHOWN = 20
WEIGHT_TOLERANCE = 1e-6


def wiring_problems(scenario: Scenario) -> list[Problem]:
    """Dangling names, wrong targets, cycles, class weights that do not sum to 1, and static limits."""
    calls = total_calls(scenario)
    if calls > MAX_TOTAL_CALLS:  # checked first: every later check walks the calls
        return [Problem("components", f"{calls:,} calls between components; at most {MAX_TOTAL_CALLS:,}")]
    data = scenario.model_dump()
    problems = _name_problems(scenario) + reference_problems(data) + total_problems(data, data)
    for index, text in enumerate(scenario.slos):
        try:
            parse_slo(text)
        except ValueError as error:
            problems.append(Problem(f"slos.{index}", str(error)))
    problems.extend(_trace_problems(scenario))
    problems.extend(_fault_problems(scenario))
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


def _fault_problems(scenario: Scenario) -> list[Problem]:
    """Each fault names a component that can take it (its kind says why not). One that starts after the run
    ends (a shortened run) simply never strikes."""
    problems = []
    for index, fault in enumerate(scenario.faults):
        spec = scenario.components.get(fault.component)
        if spec is None:
            problems.append(Problem(f"faults.{index}.component", f"no component {fault.component!r}"))
            continue
        reason = spec.fault_problem(fault)
        if reason is not None:
            problems.append(Problem(f"faults.{index}", reason))
    return problems


def _trace_problems(scenario: Scenario) -> list[Problem]:
    workload = scenario.workload
    if workload.type != "trace":
        return []
    try:
        workload_trace(workload)
    except TraceError as error:
        return [Problem("workload.trace_csv" if workload.trace_csv is not None else "workload.trace_file", str(error))]
    return []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def total_problems(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[Problem]:
    """Class weights that do not sum to 1, and a warm-up as long as the run (where the numbers are numbers)."""
    problems = []
    classes = _mapping(data.get("workload")).get("classes")
    weights: list[Any] = [item.get("weight") for item in classes if isinstance(item, Mapping)] if isinstance(
        classes, list) else []
    total = float(sum(weights)) if weights and all(_number(weight) for weight in weights) else 1.0
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        problems.append(Problem("workload.classes", f"class weights must sum to 1 (got {total:g})"))
    warmup_s = data.get("warmup_s", defaults["warmup_s"])
    duration_s = data.get("duration_s", defaults["duration_s"])
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


def reference_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Names that point at no component, and references a kind refuses (a balancer in front of a cache)."""
    components = _mapping(data.get("components"))
    names = [str(name) for name in components]
    listing = ", ".join(names[:KNOWN_NAMES_SHOWN]) + (f", ... ({len(names)} in all)"
                                                     if len(names) > KNOWN_NAMES_SHOWN else "")
    hints: dict[str, str] = {}
    problems: list[Problem] = []
    for path, target, referrer in _references(data):
        if not isinstance(target, str):
            continue  # a wrong type is a field problem, reported by the field checks
        if target not in components:
            if target not in hints:  # difflib over every name is slow: suggest for the first few unknown names
                hints[target] = did_you_mean(target, names) if len(hints) < KNOWN_NAMES_SHOWN else ""
            problems.append(Problem(path, f"no component named {target!r}{hints[target]}; components: {listing}"))
        elif referrer is not None:
            target_kind = _mapping(components[target]).get("kind")
            target_class = KINDS.get(target_kind) if isinstance(target_kind, str) else None
            problems += referrer.reference_problems(path, target, target_class)
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
