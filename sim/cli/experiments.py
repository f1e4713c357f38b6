"""The experiment commands: ``python -m sim replicate|sweep|plan``, with progress bars and tables (rich).

Registered on the shared app (``sim.cli.common``) when ``sim.cli`` is imported. Bad options (a range, an SLO, a field
path, a value the schema refuses, an output that cannot be written) exit with code 2 and a one-line reason, like
scenario problems do, and they are all checked before the first replication runs.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from sim.cli.common import DurationOption, FileArgument, app, fail, load_or_exit, user_errors
from sim.experiments.executors import ROW_FORMATS
from sim.experiments.plan_notes import describe
from sim.experiments.planning import Candidate, PlanResult, metric_column
from sim.experiments.statistics import Interval
from sim.experiments.studies import MAX_REPLICATIONS, MAX_WORKERS, SIZE_FIELDS, plan, replicate, sweep
from sim.model.outputs import check_writable, printable, to_json, write_atomically
from sim.model.slo import parse_slo

VaryOption = Annotated[list[str], typer.Option("--vary", help="path=start:end[:step] or path=a,b,c; repeatable.")]
ReplicationsOption = Annotated[int, typer.Option("--replications", "-n", min=1, max=MAX_REPLICATIONS,
                                                 help="Seeds per configuration.")]
WarmupOption = Annotated[str | None, typer.Option(help="Seconds to discard, or 'auto' (MSER-5); default: the file's.")]
WorkersOption = Annotated[int | None, typer.Option(help="Local worker processes (default: one per core).", min=1,
                                                   max=MAX_WORKERS)]
SchedulerOption = Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://127.0.0.1:8786.")]
OutOption = Annotated[Path | None, typer.Option(help="Write tidy rows to .csv, .parquet or .json.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")]

_stdout = Console(highlight=False)


def _check_outputs(out: Path | None, figures: Path | None = None) -> None:
    """Refuse an output that cannot be written before any work starts."""
    with user_errors():
        if out is not None:
            check_writable(out, ROW_FORMATS)
        if figures is not None:
            check_writable(figures)


def _plain(text: str) -> Text:
    """User text for a table: no markup parsed, control characters escaped."""
    return Text(printable(text))


def _finite_option(name: str, value: float) -> None:
    if not math.isfinite(value):
        fail(f"--{name} must be a finite number (got {value})")


@contextlib.contextmanager
def _progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr; yields the callback experiments report (done, total) to."""
    if not enabled:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _warmup(text: str | None) -> float | str | None:
    if text is None or text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        fail(f"--warmup takes a number of seconds or 'auto' (got {text!r})")


def _ci(interval: Interval | None, digits: int = 4) -> str:
    if interval is None:
        return "-"
    return f"{interval.mean:.{digits}g} ± {interval.half_width:.2g}" if interval.replications > 1 else (
        f"{interval.mean:.{digits}g}")


def _finish(result: Any, document: dict[str, Any], out: Path | None, as_json: bool) -> bool:
    """Save rows and print JSON if asked; True when the JSON replaced the tables.

    Runs stopped by their limits are counted on stderr either way (their rows say which limit, in ``stopped``).
    """
    if out is not None:
        with user_errors():
            result.save(out)
    stopped = [row["stopped"] for row in result.rows if row.get("stopped")]
    if stopped:
        Console(stderr=True, highlight=False).print(
            f"warning: {len(stopped)} of {len(result.rows)} runs were stopped early by their limits "
            f"({', '.join(sorted(set(stopped)))}): their numbers cover only what they simulated", markup=False,
            style="yellow")
    if as_json:
        typer.echo(to_json(document))
    return as_json


@app.command("replicate")
def replicate_command(file: FileArgument, replications: ReplicationsOption = 10, warmup: WarmupOption = None,
                      duration: DurationOption = None, workers: WorkersOption = None,
                      scheduler: SchedulerOption = None, out: OutOption = None, as_json: JsonOption = False,
                      precision: Annotated[float, typer.Option(help="Warn when the p99 CI is wider than this "
                                                                    "fraction of p99.", min=0.0)] = 0.10) -> None:
    """Run independent replications and print each metric with its 95% confidence interval."""
    _finite_option("precision", precision)
    _check_outputs(out)
    scenario = load_or_exit(file)
    with user_errors(), _progress_bar("replications", not as_json) as progress:
        report = replicate(scenario, replications, warmup=_warmup(warmup), duration_s=duration,
                           p99_precision=precision, workers=workers, scheduler=scheduler, progress=progress)
    if _finish(report, report.to_dict(), out, as_json):
        return
    table = Table("metric", "mean ± 95% CI", "low", "high",
                  title=_plain(f"{report.scenario}: {replications} replications"))
    for name, interval in report.summary.items():
        finite = interval.replications > 1
        table.add_row(_plain(name), _ci(interval), f"{interval.low:.4g}" if finite else "-",
                      f"{interval.high:.4g}" if finite else "-")
    _stdout.print(table)
    warm = report.warmup
    _stdout.print(f"warm-up ({warm['method']}): {warm['min_s']:g}-{warm['max_s']:g} s", markup=False)
    for warning in report.warnings:
        _stdout.print(printable(f"warning: {warning}"), markup=False, style="yellow")


def _print_usl(document: dict[str, Any]) -> None:
    for series in document["series"]:
        fit = series["fit"]
        if fit is None:
            continue
        where = ", ".join(f"{path}={value}" for path, value in series["parameters"].items())
        peak = f"{fit['peak_units']:.1f}" if fit["peak_units"] is not None else "none"
        _stdout.print(f"USL fit of throughput vs {document['x']}{' (' + where + ')' if where else ''}: "
                      f"contention σ={fit['contention']:.4g}, coherency κ={fit['coherency']:.4g}, "
                      f"λ={fit['unit_throughput_rps']:.4g} req/s per unit, peak at {peak}, R²={fit['r_squared']:.3f}",
                      markup=False)
        if series.get("note"):
            _stdout.print(f"note: {series['note']}", markup=False, style="yellow")


def _figures_html(figure_data: dict[str, Any]) -> str:
    """The sweep's charts as one self-contained HTML page (Plotly's script embedded once)."""
    from sim import viz

    charts = [viz.hockey_stick_figure(figure_data["latency_vs_load"])]
    if "scalability" in figure_data:
        charts.append(viz.scalability_figure(figure_data["scalability"]))
    parts = [chart.to_html(full_html=False, include_plotlyjs=index == 0) for index, chart in enumerate(charts)]
    return "<!doctype html><html><head><meta charset='utf-8'><title>sweep</title></head><body>" + "".join(
        parts) + "</body></html>"


@app.command("sweep")
def sweep_command(file: FileArgument, vary: VaryOption, replications: ReplicationsOption = 1,
                  warmup: WarmupOption = None, duration: DurationOption = None, workers: WorkersOption = None,
                  scheduler: SchedulerOption = None, out: OutOption = None, as_json: JsonOption = False,
                  figures: Annotated[Path | None, typer.Option(help="Write the figures (latency vs load with the "
                                                                   "theory curve; USL fit): .html for charts, "
                                                                   "anything else for their data as JSON.")] = None,
                  ) -> None:
    """Run every combination of the --vary values; print one row per point and write tidy rows."""
    _check_outputs(out, figures)
    scenario = load_or_exit(file)
    with user_errors(), _progress_bar("sweep", not as_json) as progress:
        result = sweep(scenario, vary, replications, warmup=_warmup(warmup), duration_s=duration, workers=workers,
                       scheduler=scheduler, progress=progress)
    figure_data = {"latency_vs_load": result.latency_vs_load()}
    if any(path.rsplit(".", 1)[-1] in SIZE_FIELDS for path in result.parameters):
        figure_data["scalability"] = result.scalability()
    if figures is not None:
        with user_errors():
            write_atomically(figures, _figures_html(figure_data) if figures.suffix.lower() == ".html"
                             else to_json(figure_data, indent=1))
    points = result.points()
    document = {"parameters": result.parameters, "seeds": result.seeds, "figures": figure_data,
                "points": [{**point, "intervals": {name: interval.to_dict() for name, interval in
                                                   point["intervals"].items()}} for point in points]}
    if _finish(result, document, out, as_json):
        return
    headers = [escape(printable(path)) for path in result.parameters]
    table = Table(*headers, "throughput req/s", "mean ms", "p99 ms", "theory mean ms", "stable")
    for point in points:
        intervals, theory = point["intervals"], point["theory_mean_latency_ms"]
        values = [_plain(str(value)) for value in point["parameters"].values()]
        table.add_row(*values, _ci(intervals.get("throughput_rps")),
                      _ci(intervals.get("latency_mean_ms")), _ci(intervals.get("latency_p99_ms")),
                      "unstable" if theory is None else f"{theory:.4g}", "yes" if point["stable"] else "no")
    _stdout.print(table)
    if "scalability" in figure_data:
        _print_usl(figure_data["scalability"])


def _candidate_row(candidate: Candidate, columns: list[str]) -> list[str]:
    return [describe(candidate.parameters), f"{candidate.cost_per_hour:.4g}",
            *(_ci(candidate.intervals.get(column)) for column in columns)]


def _print_plan(result: PlanResult) -> None:
    columns = list(dict.fromkeys([metric_column(parse_slo(text).metric) for text in result.slos]
                                 + ["latency_p99_ms"]))
    counts = {status: len(result.with_status(status)) for status in ("pruned", "simulated", "skipped")}
    _stdout.print(f"{len(result.candidates)} candidates: {counts['pruned']} pruned by the twin, "
                  f"{counts['simulated']} simulated ({len(result.seeds)} seeds each), {counts['skipped']} not needed",
                  markup=False)
    if result.best is None:
        _stdout.print(f"no configuration meets {' and '.join(result.slos)}", markup=False, style="red")
    else:
        best = _candidate_row(result.best, columns)
        caution = " (borderline: the CI straddles the threshold)" if result.best.borderline else ""
        _stdout.print(f"cheapest meeting {' and '.join(result.slos)}: {best[0]} at {best[1]}/h; "
                      + "; ".join(f"{column} {text}" for column, text in zip(columns, best[2:], strict=True))
                      + caution, markup=False, style="green")
    if result.frontier:
        table = Table("configuration", "cost per hour", *columns, title="Pareto frontier: cost vs p99")
        for candidate in result.frontier:
            table.add_row(*(_plain(cell) for cell in _candidate_row(candidate, columns)))
        _stdout.print(table)
    for note in result.notes:
        _stdout.print(f"note: {printable(note)}", markup=False, style="yellow")


@app.command("plan")
def plan_command(file: FileArgument, vary: VaryOption,
                 slo: Annotated[list[str], typer.Option("--slo", help="Objective such as 'p99<200ms'; repeatable.")],
                 rate: Annotated[float | None, typer.Option(help="Set workload.rate_rps (req/s).", min=0.0)] = None,
                 replications: ReplicationsOption = 3, warmup: WarmupOption = None, duration: DurationOption = None,
                 margin: Annotated[float, typer.Option(help="Skip candidates the twin predicts slower than this "
                                                            "many times a latency threshold.", min=1.0)] = 1.5,
                 frontier: Annotated[bool, typer.Option(help="Also simulate pricier candidates that may extend "
                                                              "the frontier.")] = True,
                 workers: WorkersOption = None, scheduler: SchedulerOption = None, out: OutOption = None,
                 as_json: JsonOption = False) -> None:
    """Find the cheapest configuration meeting the SLO, and the Pareto frontier of cost vs p99."""
    _finite_option("margin", margin)
    _check_outputs(out)
    scenario = load_or_exit(file)
    with user_errors(), _progress_bar("plan", not as_json) as progress:
        result = plan(scenario, slo, vary, rate_rps=rate, replications=replications, margin=margin,
                      explore_frontier=frontier, warmup=_warmup(warmup), duration_s=duration, workers=workers,
                      scheduler=scheduler, progress=progress)
    if not _finish(result, result.to_dict(), out, as_json):
        _print_plan(result)
