"""The commands that speak to real tools: ``python -m sim serve|calibrate|export-load`` and ``run --metrics-out``.

Registered on the main app by one import at the end of ``sim/cli.py``. A file that cannot be read or written,
or an option out of range, exits with code 2 and a one-line reason naming the file and field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sim.cli import FileArgument, _load_or_exit, app
from sim.cli_experiment import _fail
from sim.engine import run as run_scenario
from sim.result import Result

SeedOption = Annotated[int | None, typer.Option(help="Override the scenario's seed.", min=0)]
DurationOption = Annotated[float | None, typer.Option(help="Override the simulated seconds.", min=0.001)]


def write_metrics_or_exit(result: Result, path: Path) -> None:
    """Write the run's OpenMetrics file, or exit 2 saying why it could not be written."""
    from sim.interop.openmetrics import write_openmetrics

    try:
        write_openmetrics(result, path)
    except OSError as error:
        _fail(f"--metrics-out {path}: cannot write ({error.strerror or error})")


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

    scenario = _load_or_exit(file)
    result = run_scenario(scenario, seed=seed, duration_s=duration)

    def announce(line: str) -> None:
        typer.echo(line)
        sys.stdout.flush()

    try:
        serve(result, speed, host, port, linger, announce)
    except OSError as error:
        _fail(f"--port {port}: cannot listen on {host} ({error.strerror or error})")
    except KeyboardInterrupt:
        typer.echo("stopped")
