"""Fuzzing the scenario schema: any text is either a valid scenario that runs within its budget, or a refusal.

Inputs are mutations of the gallery files (values replaced by extreme numbers, wrong types and control
characters; keys deleted, added or renamed; loads scaled up a thousandfold) and hostile YAML (deep nesting,
alias bombs, huge integers, tags, binary junk). For every input: ``parse_scenario_text`` returns or raises
ScenarioError (never anything else); a valid scenario runs to completion within a small budget, its summary is
strict JSON and its terminal report renders.

The normal suite runs a fixed, derandomised sample. The long run is one command::

    FUZZ_EXAMPLES=10000 python -m pytest -m fuzz -p no:cacheprovider tests/test_fuzz.py

which also checks the process's peak memory (under 1 GB).
"""

from __future__ import annotations

import copy
import io
import json
import os
import resource
import time
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

import sim
from sim.cli.render import render_summary
from sim.scenario.gallery import gallery_paths

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
LONG_RUN = "FUZZ_EXAMPLES" in os.environ
FUZZ_LIMITS = {"max_wall_time_s": 1.0, "max_events": 200_000}
HANG_BOUND_S = 15.0  # a run past its 1 s budget by this much would be a hang (generous: shared cores)
PEAK_MEMORY_BYTES = 1024**3
GALLERY = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in gallery_paths().values()]
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NASTY_TEXT = st.sampled_from(["", "\x1b[31mred", "a\nb", "[bold]x[/bold]", "../../etc/passwd", "/dev/zero",
                              "\x00", "é" * 50, "api", "db", "cache", "zipf", "exponential", "round_robin"])
EXTREME = st.one_of(
    st.sampled_from([0, -1, 1, 2, 1000, 2**31, 2**63, 10**30, -(10**40), 10**40]),
    st.sampled_from([0.0, -0.0, 1e-300, 1e-9, 1e-6, 0.5, 1e6, 1e9, 1e308, float("inf"), float("-inf"),
                     float("nan")]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    NASTY_TEXT,
    st.text(max_size=30),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.integers(-5, 5), NASTY_TEXT), max_size=4),
    st.dictionaries(NASTY_TEXT, st.integers(-5, 5), max_size=3),
)


def _slots(node: Any, slots: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a nested structure."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in list(items):
        slots.append((node, key))
        _slots(child, slots)
    return slots


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


PLAUSIBLE = st.one_of(st.integers(0, 64), st.floats(0.0, 5000.0), st.sampled_from([0.001, 0.5, 1, 2, 100, 100_000]))


@st.composite
def mutated_gallery(draw: st.DrawFn) -> str:
    """A gallery scenario with one to three mutations, as YAML text (about half stay valid, some get heavy)."""
    data = copy.deepcopy(draw(st.sampled_from(GALLERY)))
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(data, [])
        numbers = [slot for slot in slots if _is_number(slot[0][slot[1]])]
        action = draw(st.sampled_from(["scale", "scale", "scale", "plausible", "plausible", "extreme", "delete",
                                       "add"]))
        if action in ("scale", "plausible") and numbers:
            node, key = draw(st.sampled_from(numbers))
            factor = draw(st.sampled_from([1000, 100, 10, 0.1, 0.001]))
            node[key] = node[key] * factor if action == "scale" else draw(PLAUSIBLE)
            continue
        node, key = draw(st.sampled_from(slots))
        if action == "delete" and isinstance(node, dict):
            del node[key]
        elif action == "add" and isinstance(node, dict):
            node[draw(NASTY_TEXT)] = draw(EXTREME)
        else:
            node[key] = draw(EXTREME)
    return yaml.safe_dump(data, allow_unicode=draw(st.booleans()))


def _alias_bomb(width: int) -> str:
    """Nine levels of anchors, each a list of ``width`` aliases of the level below: width**9 values expanded."""
    lines = ["l0: &l0 [x]"]
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


HOSTILE = st.one_of(
    st.integers(10, 400).map(lambda depth: "a: " + "[" * depth + "]" * depth),
    st.integers(10, 400).map(lambda depth: "a:\n" + "".join("  " * level + "b:\n" for level in range(depth))),
    st.integers(2, 12).map(_alias_bomb),
    st.integers(20, 6000).map(lambda digits: "seed: " + "7" * digits),
    st.sampled_from(["a: !!python/object:os.system {}", "a: !!python/name:os.system", "!!set {a, b}",
                     "a: !!binary aGVsbG8=", "a: !!timestamp 2001-12-14", "? [a]\n: b", "a: &a [*a]",
                     "a: *undefined", "a: !custom 1", "- 1\n- 2", "null", "1", "'text'", "{", "a: 1\na: 2",
                     "a: \"\\e[31m\\x00\"", "\ufeffname: x"]),
    st.binary(max_size=200),
    st.text(max_size=200),
)


def _check_scenario_text(text: str | bytes) -> None:
    """The property: refused cleanly, or run within its budget with strict JSON and a printable report."""
    try:
        scenario = sim.parse_scenario_text(text, source="fuzz.yaml")
    except sim.ScenarioError as error:
        assert error.problems and all(str(problem) for problem in error.problems)
        return
    started = time.monotonic()
    try:
        result = sim.run(scenario, limits=FUZZ_LIMITS)
    except sim.ScenarioError:
        return  # the budget's own static limits are lower than the file's: refused up front
    assert time.monotonic() - started < FUZZ_LIMITS["max_wall_time_s"] + HANG_BOUND_S
    json.loads(result.to_json(), parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    Console(file=io.StringIO(), width=120).print(render_summary(result.summary))
    if LONG_RUN:
        peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        assert peak_bytes < PEAK_MEMORY_BYTES, f"peak memory {peak_bytes / 1024**2:.0f} MiB"


@pytest.mark.fuzz
@pytest.mark.timeout(max(300, EXAMPLES))  # the suite's 300 s per test is for a test, not for a long fuzz run
@FUZZ_SETTINGS
@given(mutated_gallery())
def test_mutated_gallery_scenarios_validate_or_run_within_budget(text: str) -> None:
    _check_scenario_text(text)


@pytest.mark.fuzz
@pytest.mark.timeout(max(300, EXAMPLES))
@FUZZ_SETTINGS
@given(HOSTILE)
def test_hostile_yaml_is_refused_or_harmless(text: str | bytes) -> None:
    _check_scenario_text(text)
