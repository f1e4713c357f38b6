"""What every command shares: the typer app and the one error path.

A scenario problem, a bad option or an override the schema refuses exits with code 2 and one line per problem
(control characters escaped), never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from sim.model.errors import ScenarioError
from sim.model.outputs import printable
from sim.scenario.gallery import scenario_reference
from sim.scenario.scenario import MAX_SEED, Scenario, load_scenario

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Scalability sandbox: simulate architectures.")
EXIT_INVALID = 2

FileArgument = Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON), or a gallery name from `sim list`.")]
SeedOption = Annotated[int | None, typer.Option(help="Override the scenario's seed.", min=0, max=MAX_SEED)]
DurationOption = Annotated[float | None, typer.Option(help="Override the simulated seconds (validated like the "
                                                           "file's duration_s).")]


def _stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str) -> NoReturn:
    """Print one line (escaped) on stderr and exit with code 2."""
    _stderr().print(printable(message), markup=False)
    raise typer.Exit(EXIT_INVALID)


def print_problems(error: ScenarioError, source: str) -> NoReturn:
    """Every problem of a scenario, one line each after a count, then exit with code 2."""
    console = _stderr()
    console.print(printable(f"{source}: {len(error.problems)} problem(s)"), markup=False)
    for problem in error.problems:
        console.print(f"  {problem}", markup=False)
    raise typer.Exit(EXIT_INVALID)


@contextlib.contextmanager
def user_errors(source: str = "") -> Iterator[None]:
    """Turn a scenario problem or a bad option into its message and exit code 2."""
    try:
        yield
    except ScenarioError as error:
        if source:
            print_problems(error, source)
        fail("; ".join(str(problem) for problem in error.problems))
    except ValueError as error:
        fail(str(error))


def load_or_exit(path: Path) -> Scenario:
    """The scenario a file path or gallery name refers to; on any problem, every problem listed and exit 2."""
    try:
        return load_scenario(scenario_reference(path))
    except ScenarioError as error:
        print_problems(error, str(path))
