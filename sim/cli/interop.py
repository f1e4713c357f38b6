"""The commands that speak to real tools: ``python -m sim serve|calibrate|export-load`` and ``run --metrics-out``.

Registered on the main app by one import at the end of ``sim/cli.py``. A file that cannot be read or written,
or an option out of range, exits with code 2 and a one-line reason naming the file and field.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import FileArgument, app, fail, load_or_exit
from sim.results import run as run_scenario
from sim.results.result import Result


class LoadTool(StrEnum):
    locust = "locust"
    k6 = "k6"


SeedOption = Annotated[int | None, typer.Option(help="Override the scenario's seed.", min=0)]
DurationOption = Annotated[float | None, typer.Option(help="Override the simulated seconds.", min=0.001)]


def _write_or_exit(path: Path, text: str, option: str, what: str) -> None:
    """Write ``text`` to ``path`` atomically, or exit 2 naming the option and why it could not be written."""
    from sim.model.outputs import write_atomically

    try:
        write_atomically(path, text)
    except OSError as error:
        fail(f"{option} {path}: cannot write the {what} ({error.strerror or error})")


def write_metrics_or_exit(result: Result, path: Path) -> None:
    """Write the run's OpenMetrics file, or exit 2 saying why it could not be written."""
    from sim.interop.openmetrics import openmetrics_text

    _write_or_exit(path, openmetrics_text(result), "--metrics-out", "metrics")


@app.command("serve")
def serve_command(
    file: FileArgument,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second.", min=0.01, max=10_000)] = 1.0,
    port: Annotated[int, typer.Option(help="TCP port for /metrics (0: any free port).", min=0, max=65535)] = 9410,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    linger: Annotated[float, typer.Option(help="Seconds to keep serving the final values.", min=0, max=3600)] = 5.0,
    seed: SeedOption = None,
    duration: DurationOption = None,
) -> None:
    """Replay a run in scaled real time on a Prometheus /metrics endpoint; stops at the end of the run."""
    from sim.interop.exporter import serve

    scenario = load_or_exit(file)
    result = run_scenario(scenario, seed=seed, duration_s=duration)

    def announce(line: str) -> None:
        typer.echo(line)
        sys.stdout.flush()

    try:
        serve(result, speed, host, port, linger, announce)
    except OSError as error:
        fail(f"--port {port}: cannot listen on {host} ({error.strerror or error})")
    except KeyboardInterrupt:
        typer.echo("stopped")


def _emit(text: str, out: Path | None, what: str) -> None:
    """Write ``text`` to ``out`` atomically, or print it when no file is named."""
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        _write_or_exit(out, text, "--out", what)
        typer.echo(f"wrote {out} ({what}, {len(text.splitlines()):,} lines)")


@app.command("calibrate")
def calibrate_command(
    results: Annotated[Path, typer.Argument(help="Locust _stats.csv, JMeter JTL (CSV) or k6 JSON output.")],
    template: Annotated[Path, typer.Option(help="Scenario whose architecture to calibrate.")],
    request: Annotated[str | None, typer.Option(help="Request name to calibrate from (default: all).")] = None,
    baseline: Annotated[str | None, typer.Option(help="Request name that does no work (e.g. /ping): its "
                                                      "latency is taken as network and client time.")] = None,
    component: Annotated[str | None, typer.Option(help="Service whose service time to set (default: the "
                                                       "one the workload enters).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the calibrated scenario here (default: print it).")] = None,
) -> None:
    """Calibrate a scenario from a real load test: fitted service time, measured load, queueing taken out."""
    from sim.interop.calibrate import calibrate
    from sim.interop.loadtest_readers import read_load_test
    from sim.interop.loadtest_results import LoadTestError
    from sim.scenario.scenario import ScenarioError

    scenario = load_or_exit(template)
    try:
        calibration = calibrate(read_load_test(results), scenario, request, baseline, component)
    except (LoadTestError, ValueError) as error:
        fail(str(error))
        return
    except ScenarioError as error:
        fail("; ".join(str(problem) for problem in error.problems))
        return
    report = "\n".join(calibration.report())
    typer.echo(report, err=out is None)
    _emit(calibration.scenario.to_yaml(), out, "calibrated scenario")


@app.command("export-load")
def export_load_command(
    file: FileArgument,
    to: Annotated[LoadTool, typer.Option(help="The load-testing tool to write for.")],
    out: Annotated[Path | None, typer.Option(help="Write the script here (default: print it).")] = None,
    per_user_rps: Annotated[float, typer.Option(help="Locust only: requests a second each user starts, for open "
                                                     "workloads.", min=0.001)] = 1.0,
) -> None:
    """Write the scenario's load (rate, stages, spike, diurnal, classes) as a Locust module or a k6 script."""
    from sim.interop.load_profiles import k6_script, locust_module

    scenario = load_or_exit(file)
    text = locust_module(scenario, per_user_rps) if to is LoadTool.locust else k6_script(scenario)
    _emit(text, out, f"{to.value} script")
