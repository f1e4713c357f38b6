"""Where replications run: in this process, a local process pool, or a Dask cluster; all give the same rows.

A task is one replication: a scenario as JSON text, a seed and the warm-up rule in, one flat row of plain
numbers out, so it pickles for any executor. The seed fixes every random draw, so a row never depends on
which executor, process or machine computed it (wall time is deliberately left out of rows).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from sim.experiments.statistics import detect_warmup_s, with_warmup
from sim.model.latency import LATENCY_KEYS
from sim.model.limits import Cancel
from sim.model.outputs import to_json, write_atomically
from sim.results import run
from sim.results.summary_models import RunSummary
from sim.scenario.scenario import Scenario, scenario_from_json
from sim.twin.predict import arrival_rate_rps

if TYPE_CHECKING:
    import pandas as pd

Task = tuple[Any, ...]
Progress = Callable[[int, int], None]
AUTO_WARMUP = "auto"
COUNT_KEYS = ("offered", "completed", "failed", "dropped", "timed_out", "unfinished")
ROW_FORMATS = (".csv", ".parquet", ".json")


def summary_row(summary: RunSummary) -> dict[str, Any]:
    """One run's summary as a flat row: stability, counts, metrics, utilisation per component, the twin."""
    row: dict[str, Any] = {"stable": summary.stable, "overflowed": ",".join(summary.overflowed),
                           "slos_passed": summary.slos_passed}
    row.update({key: getattr(summary.requests, key) for key in COUNT_KEYS})
    row["throughput_rps"] = summary.throughput_rps
    row["error_rate"] = summary.error_rate
    row.update({f"latency_{key}_ms": getattr(summary.latency_ms, key) for key in LATENCY_KEYS})
    row["mean_wait_ms"] = summary.mean_wait_ms
    for name, stats in summary.components.items():
        if stats.utilisation is not None:
            row[f"utilisation_{name}"] = stats.utilisation
    row["stopped"] = summary.stopped.limit if summary.stopped else ""
    row["theory_arrival_rate_rps"] = summary.theory.arrival_rate_rps
    row["theory_mean_latency_ms"] = summary.theory.mean_latency_ms
    return row


def run_replication(scenario_json: str, seed: int, warmup: str | None = None, duration_s: float | None = None,
                    limits: dict[str, float] | None = None, cancel: Cancel | None = None) -> dict[str, Any]:
    """Run one replication and return its row (the task every executor runs).

    Args:
        scenario_json: The scenario as ``Scenario.model_dump_json()`` text.
        seed: The replication's seed.
        warmup: ``"auto"`` to detect the warm-up with MSER-5; None to keep the scenario's ``warmup_s``.
        duration_s: Overrides the simulated duration.
        limits: Lower budgets than the scenario's (see :func:`sim.run`).
        cancel: Asked while the run goes; True stops it (see :func:`sim.run`).

    Returns:
        ``seed``, the warm-up used and how it was chosen, then the metrics of ``summary_row``.
    """
    result = run(scenario_from_json(scenario_json), seed=seed, duration_s=duration_s, limits=limits, cancel=cancel)
    at_limit = False
    if warmup == AUTO_WARMUP:
        detected_s, at_limit = detect_warmup_s(result)
        result = with_warmup(result, detected_s)
    head = {"seed": seed, "warmup_s": result.scenario.warmup_s,
            "warmup_method": "mser-5" if warmup == AUTO_WARMUP else "fixed", "warmup_at_limit": at_limit}
    return {**head, **summary_row(result.summary)}


class Executor(Protocol):
    """Runs tasks (a function and argument tuples) and returns their results in task order."""

    parallelism: int

    def map(self, function: Callable[..., Any], tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        """Results of ``function(*task)`` for every task, reporting (done, total) as tasks finish."""
        ...

    def close(self) -> None:
        """Release processes or connections the executor opened."""
        ...


class _ContextManager:
    def __enter__(self) -> Any:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        return None


def _collect(futures: list[Any], completed: Any, progress: Progress | None) -> None:
    """Wait for every future, reporting progress as each one finishes."""
    for done, _future in enumerate(completed(futures), start=1):
        if progress is not None:
            progress(done, len(futures))


class LocalExecutor(_ContextManager):
    """A pool of ``workers`` local processes (one worker runs tasks in this process, with no pool)."""

    def __init__(self, workers: int | None = None) -> None:
        self.parallelism = max(1, workers if workers is not None else os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def map(self, function: Callable[..., Any], tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        if self.parallelism == 1 or len(tasks) <= 1:
            results = []
            for done, task in enumerate(tasks, start=1):
                results.append(function(*task))
                if progress is not None:
                    progress(done, len(tasks))
            return results
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.parallelism)
        futures: list[Future[Any]] = [self._pool.submit(function, *task) for task in tasks]
        _collect(futures, as_completed, progress)
        return [future.result() for future in futures]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class DaskExecutor(_ContextManager):
    """Tasks on a Dask cluster, given its scheduler address (``tcp://host:port``) or a ``distributed.Client``."""

    def __init__(self, scheduler: Any) -> None:
        from distributed import Client

        self._owns_client = isinstance(scheduler, str)
        self.client = Client(scheduler, set_as_default=False) if isinstance(scheduler, str) else scheduler
        self.parallelism = max(1, sum(self.client.nthreads().values()))

    def map(self, function: Callable[..., Any], tasks: Sequence[Task], progress: Progress | None = None) -> list[Any]:
        from distributed import as_completed as dask_completed

        futures = [self.client.submit(function, *task, pure=False) for task in tasks]
        _collect(futures, lambda pending: dask_completed(pending, loop=self.client.loop), progress)
        return list(self.client.gather(futures))

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


def make_executor(workers: int | None = None, scheduler: Any = None) -> LocalExecutor | DaskExecutor:
    """A Dask executor when a scheduler is given, else a local pool of ``workers`` processes (default: cores)."""
    return DaskExecutor(scheduler) if scheduler is not None else LocalExecutor(workers)


def run_tasks(executor: Executor, function: Callable[..., Any], tasks: Sequence[Task],
              costs: Sequence[float] | None = None, progress: Progress | None = None) -> list[Any]:
    """Run tasks costliest first (so the pool does not end waiting on one long task); results in task order."""
    order = sorted(range(len(tasks)), key=lambda index: -costs[index]) if costs is not None else list(range(len(tasks)))
    results = executor.map(function, [tasks[index] for index in order], progress)
    ordered: list[Any] = [None] * len(tasks)
    for position, index in enumerate(order):
        ordered[index] = results[position]
    return ordered


@dataclass
class RunOptions:
    """Seeds, warm-up rule, executor and progress shared by the replications of one experiment."""

    seeds: list[int]
    warmup: str | None
    executor: Executor
    progress: Progress | None = None
    done: int = 0
    total: int = 0
    costs: dict[str, float] = field(default_factory=dict)
    limits: dict[str, float] | None = None

    def run(self, variants: Sequence[Scenario]) -> list[list[dict[str, Any]]]:
        """Every variant under every seed; rows grouped by variant, in seed order."""
        texts = [variant.model_dump_json() for variant in variants]
        tasks = [(text, seed, self.warmup, None, self.limits) for text in texts for seed in self.seeds]
        costs = [self._cost(variant, text) for variant, text in zip(variants, texts, strict=True)
                 for _seed in self.seeds]
        offset = self.done
        self.total = max(self.total, offset + len(tasks))

        def report(done: int, _total: int) -> None:
            self.done = offset + done
            if self.progress is not None:
                self.progress(self.done, self.total)

        rows = run_tasks(self.executor, run_replication, tasks, costs, report)
        count = len(self.seeds)
        return [rows[index * count:(index + 1) * count] for index in range(len(variants))]

    def _cost(self, variant: Scenario, text: str) -> float:
        """Expected requests in a replication, to start the longest tasks first."""
        if text not in self.costs:
            self.costs[text] = arrival_rate_rps(variant) * variant.duration_s
        return self.costs[text]


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Tidy rows as a pandas DataFrame (one row per replication)."""
    import pandas as pd

    return pd.DataFrame(list(rows))


def save_rows(rows: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """Write tidy rows to ``path``: CSV, Parquet (needs pyarrow) or JSON (a list of objects), by extension.

    The file is written whole or not at all (a temporary file in the same folder, then a rename), so a reader
    never sees it half-written and two writers leave one complete file.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in ROW_FORMATS:
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {', '.join(ROW_FORMATS)}")
    if suffix == ".json":
        payload: bytes | str = to_json(list(rows), indent=1)
    elif suffix == ".csv":
        payload = rows_frame(rows).to_csv(index=False)
    else:
        buffer = io.BytesIO()
        rows_frame(rows).to_parquet(buffer, index=False)
        payload = buffer.getvalue()
    try:
        write_atomically(target, payload)
    except OSError as error:
        raise ValueError(f"cannot write {str(path)!r} ({error.strerror})") from None
