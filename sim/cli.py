"""The command line: ``python -m sim run|validate|schema|list``.

One error path for every command: a scenario problem, a bad option or an override the schema refuses exits
with code 2 and one line per problem (control characters escaped), never a traceback.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from sim.engine import run as run_scenario
from sim.gallery import first_sentence, gallery_paths
from sim.outputs import printable
from sim.report import render_summary
from sim.scenario import MAX_SEED, Scenario, ScenarioError, load_scenario, parse_scenario, scenario_json_schema

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Scalability sandbox: simulate architectures.")
EXIT_INVALID = 2

FileArgument = Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")]
SeedOption = Annotated[int | None, typer.Option(help="Override the scenario's seed.", min=0, max=MAX_SEED)]
DurationOption = Annotated[float | None, typer.Option(help="Override the simulated seconds (validated like the "
                                                           "file's duration_s).")]


def _stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str) -> NoReturn:
    """Print one line (escaped) on stderr and exit with code 2."""
    _stderr().print(printable(message), markup=False)
    raise typer.Exit(EXIT_INVALID)


def _print_problems(error: ScenarioError, source: str) -> NoReturn:
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
            _print_problems(error, source)
        fail("; ".join(str(problem) for problem in error.problems))
    except ValueError as error:
        fail(str(error))


def _load_or_exit(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except ScenarioError as error:
        _print_problems(error, str(path))


@app.command()
def run(
    file: FileArgument,
    seed: SeedOption = None,
    duration: DurationOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON document.")] = False,
    metrics_out: Annotated[Path | None, typer.Option(
        help="Also write the run's time series as OpenMetrics text (for promtool tsdb create-blocks-from).")] = None,
) -> None:
    """Simulate a scenario once and print its summary (a run stopped by its limits says so)."""
    scenario = _load_or_exit(file)
    with user_errors(str(file)):
        result = run_scenario(scenario, seed=seed, duration_s=duration)
    if metrics_out is not None:
        from sim.cli_interop import write_metrics_or_exit

        write_metrics_or_exit(result, metrics_out)
    if as_json:
        typer.echo(result.to_json())
    else:
        Console(highlight=False).print(render_summary(result.summary))


@app.command()
def validate(file: FileArgument) -> None:
    """Check a scenario file; exit 0 if valid, 2 with every problem listed."""
    scenario = _load_or_exit(file)
    typer.echo(f"{file}: valid scenario {scenario.name!r} with {len(scenario.components)} component(s)")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    typer.echo(json.dumps(scenario_json_schema(), indent=2))


@app.command("list")
def list_gallery() -> None:
    """List the gallery of ready scenarios with one-line descriptions."""
    for name, path in gallery_paths().items():
        try:
            description = first_sentence(load_scenario(path).description)
        except ScenarioError:
            description = "(invalid scenario file)"
        typer.echo(f"{name:<22} {description}")


@app.command()
def example() -> None:
    """Print a small annotated scenario to start from."""
    scenario = parse_scenario({
        "name": "example", "description": "One service with one worker, about 70% busy.",
        "workload": {"rate_rps": 70, "entry": "api"},
        "components": {"api": {"kind": "service", "service_time": {"distribution": "exponential", "mean_ms": 10}}},
    })
    typer.echo(scenario.to_yaml())
from sim import cli_experiment, cli_interop  # noqa: E402,F401  (register replicate, sweep, plan; serve, calibrate, export-load)
