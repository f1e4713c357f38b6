"""The scenario commands: ``python -m sim run|validate|schema|list|example``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sim.cli.common import DurationOption, FileArgument, SeedOption, app, load_or_exit, user_errors
from sim.cli.interop import write_metrics_or_exit
from sim.cli.render import render_summary
from sim.results import run as run_scenario
from sim.results.summary_models import summary_json_schema
from sim.scenario.gallery import first_sentence, gallery_paths
from sim.scenario.scenario import ScenarioError, load_scenario, parse_scenario, scenario_json_schema


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
    scenario = load_or_exit(file)
    with user_errors(str(file)):
        result = run_scenario(scenario, seed=seed, duration_s=duration)
    if metrics_out is not None:
        write_metrics_or_exit(result, metrics_out)
    if as_json:
        typer.echo(result.to_json())
    else:
        Console(highlight=False).print(render_summary(result.summary))


@app.command()
def validate(file: FileArgument) -> None:
    """Check a scenario file; exit 0 if valid, 2 with every problem listed."""
    scenario = load_or_exit(file)
    typer.echo(f"{file}: valid scenario {scenario.name!r} with {len(scenario.components)} component(s)")


@app.command()
def schema(summary: Annotated[bool, typer.Option("--summary", help="The schema of a run's --json summary "
                                                  "instead.")] = False) -> None:
    """Print the JSON Schema of scenario files (or, with --summary, of the run summary --json prints)."""
    typer.echo(json.dumps(summary_json_schema() if summary else scenario_json_schema(), indent=2))


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
