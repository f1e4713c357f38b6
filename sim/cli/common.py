"""What every command shares: the typer app, the exit code for bad input, and loading a scenario or exiting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sim.scenario.gallery import scenario_reference
from sim.scenario.scenario import Scenario, ScenarioError, load_scenario

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Scalability sandbox: simulate architectures.")
EXIT_INVALID = 2

FileArgument = Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON), or a gallery name from `sim list`.")]


def load_or_exit(path: Path) -> Scenario:
    """The scenario a file path or gallery name refers to; on any problem, every problem listed and exit 2."""
    try:
        return load_scenario(scenario_reference(path))
    except ScenarioError as error:
        console = Console(stderr=True, soft_wrap=True, highlight=False)
        console.print(f"{path}: {len(error.problems)} problem(s)", markup=False)
        for problem in error.problems:
            console.print(f"  {problem}", markup=False)
        raise typer.Exit(EXIT_INVALID) from None




def fail(message: str) -> None:
    """Print a one-line reason on stderr and exit with code 2 (bad input, never a traceback)."""
    Console(stderr=True, soft_wrap=True, highlight=False).print(message, markup=False)
    raise typer.Exit(EXIT_INVALID)
