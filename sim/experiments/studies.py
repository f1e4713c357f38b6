"""Experiments: independent replications with confidence intervals, parameter sweeps, and capacity plans.

Every experiment is a list of replications (scenario, seed) run by one executor (``sim.experiments.executors``): a local
process pool by default, a Dask cluster when given a scheduler address. Each replication returns a tidy row
(parameters + seed + metrics); summaries are Student-t intervals over the replications (``sim.experiments.statistics``).

Example:
    >>> import sim
    >>> scenario = sim.load_scenario("scenarios/single-server.yaml")  # doctest: +SKIP
    >>> report = sim.replicate(scenario, 5, warmup="auto")  # doctest: +SKIP
    >>> report.summary["latency_p99_ms"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.experiments.executors import (
    AUTO_WARMUP,
    Executor,
    Progress,
    RunOptions,
    make_executor,
    rows_frame,
    save_rows,
)
from sim.experiments.plan_notes import plan_notes
from sim.experiments.planning import (
    Candidate,
    PlanResult,
    Vary,
    build_candidates,
    grid,
    judge,
    normalise_vary,
    pareto_frontier,
    screening_reason,
    search,
)
from sim.experiments.scaling import latency_vs_load, throughput_vs_size
from sim.experiments.statistics import Interval, interval_summary, replication_warnings, warmup_report
from sim.model.limits import LimitsSpec, limit_values, merged_limits
from sim.model.slo import Slo, parse_slo
from sim.scenario.overrides import with_overrides
from sim.scenario.scenario import MAX_SEED, Scenario

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PlanResult", "ReplicationReport", "SweepResult", "plan", "replicate", "sweep"]

DEFAULT_REPLICATIONS = 10
MAX_REPLICATIONS = 10_000
MAX_WORKERS = 256
MAX_RUNS = 100_000  # replications in one experiment (grid points x seeds): refused up front beyond this
DEFAULT_P99_PRECISION = 0.10
DEFAULT_MARGIN = 1.5
DEFAULT_FRONTIER_IMPROVEMENT = 0.10
WarmupRule = float | str | None
Limits = LimitsSpec | Mapping[str, float]


def _plain_limits(limits: Limits | None) -> dict[str, float] | None:
    """Limits as a plain dict, so they travel to any executor; checked here, before any task starts."""
    if limits is None:
        return None
    plain = limit_values(limits)
    merged_limits(LimitsSpec(), plain)  # raises ValueError naming a bad limit
    return plain


@dataclass
class ReplicationReport:
    """Independent replications of one scenario.

    Attributes:
        scenario: The scenario's name.
        rows: One tidy row per replication (seed, warm-up, counts, metrics, utilisation per component).
        summary: A 95% Student-t interval per metric column (``latency_p99_ms``, ``utilisation_api``, ...).
        warmup: How the warm-up was chosen (``fixed`` or ``mser-5``) and its value in each replication.
        warnings: Plain-language cautions, e.g. "run longer" when the p99 interval is too wide.
    """

    scenario: str
    rows: list[dict[str, Any]]
    summary: dict[str, Interval]
    warmup: dict[str, Any]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "replications": len(self.rows), "warmup": self.warmup,
                "summary": {name: interval.to_dict() for name, interval in self.summary.items()},
                "warnings": self.warnings, "rows": self.rows}

    def to_pandas(self) -> pd.DataFrame:
        return rows_frame(self.rows)

    def save(self, path: str | Path) -> None:
        """Write the rows as CSV, Parquet or JSON (by the file's extension)."""
        save_rows(self.rows, path)


SIZE_FIELDS = ("instances", "workers", "users", "shards", "replicas", "pool_size")
LOAD_FIELDS = ("rate_rps", "users")


@dataclass
class SweepResult:
    """A parameter sweep: tidy rows (parameters + seed + metrics), per-point summaries and figure data."""

    scenario: Scenario
    parameters: list[str]
    seeds: list[int]
    rows: list[dict[str, Any]]

    def points(self) -> list[dict[str, Any]]:
        """One entry per grid point: its parameters, intervals over its seeds, and the twin's mean latency."""
        count = len(self.seeds)
        entries = []
        for start in range(0, len(self.rows), count):
            group = self.rows[start:start + count]
            entries.append({"parameters": {path: group[0][path] for path in self.parameters},
                            "replications": count, "intervals": interval_summary(group),
                            "theory_mean_latency_ms": group[0]["theory_mean_latency_ms"],
                            "stable": all(row["stable"] for row in group)})
        return entries

    def _field(self, endings: Sequence[str], x: str | None) -> str:
        if x is not None:
            return x
        return next((path for path in self.parameters if path.rsplit(".", 1)[-1] in endings), self.parameters[0])

    def latency_vs_load(self, x: str | None = None) -> dict[str, Any]:
        """Hockey-stick data: latency (mean, p99, CIs) against load, with the twin's curve (default x: a rate)."""
        return latency_vs_load(self.points(), self.scenario, self._field(LOAD_FIELDS, x))

    def scalability(self, x: str | None = None) -> dict[str, Any]:
        """Throughput against a size field (default: instances, workers, ...) with a fitted USL per series."""
        return throughput_vs_size(self.points(), self._field(SIZE_FIELDS, x))

    def to_pandas(self) -> pd.DataFrame:
        return rows_frame(self.rows)

    def save(self, path: str | Path) -> None:
        """Write the rows as CSV, Parquet or JSON (by the file's extension)."""
        save_rows(self.rows, path)


def _prepare(scenario: Scenario, warmup: WarmupRule, duration_s: float | None) -> tuple[Scenario, str | None]:
    """Apply a duration and a fixed warm-up to the scenario (validated here, before any task starts)."""
    updates: dict[str, Any] = {}
    if duration_s is not None:
        updates = scenario.duration_updates(duration_s)
    if isinstance(warmup, int | float) and not isinstance(warmup, bool):
        updates["warmup_s"] = float(warmup)
    elif warmup not in (None, AUTO_WARMUP):
        raise ValueError(f"warmup must be a number of seconds, 'auto' or None (got {warmup!r})")
    return (with_overrides(scenario, updates) if updates else scenario), (AUTO_WARMUP if warmup == AUTO_WARMUP
                                                                          else None)


def _seeds(scenario: Scenario, replications: int, seeds: Sequence[int] | None, variants: int = 1) -> list[int]:
    """The replications' seeds, refused up front when the experiment would be too large."""
    count = len(seeds) if seeds is not None else replications
    if not 1 <= count <= MAX_REPLICATIONS:
        raise ValueError(f"replications must be from 1 to {MAX_REPLICATIONS:,} (got {count:,})")
    if count * variants > MAX_RUNS:
        raise ValueError(f"{variants:,} configurations x {count:,} replications is more than {MAX_RUNS:,} runs")
    chosen = list(seeds) if seeds is not None else [scenario.seed + index for index in range(replications)]
    if any(isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED for seed in chosen):
        raise ValueError(f"seeds are whole numbers from 0 to {MAX_SEED}")
    return chosen


@contextlib.contextmanager
def _executor(executor: Executor | None, workers: int | None, scheduler: Any) -> Iterator[Executor]:
    if executor is not None:
        yield executor
        return
    owned = make_executor(workers, scheduler)
    try:
        yield owned
    finally:
        owned.close()


def replicate(scenario: Scenario, replications: int = DEFAULT_REPLICATIONS, *, seeds: Sequence[int] | None = None,
              warmup: WarmupRule = None, duration_s: float | None = None,
              p99_precision: float = DEFAULT_P99_PRECISION, workers: int | None = None, scheduler: Any = None,
              executor: Executor | None = None, progress: Progress | None = None,
              limits: Limits | None = None) -> ReplicationReport:
    """Run independent replications of a scenario and summarise them with 95% confidence intervals.

    Args:
        scenario: The scenario to replicate.
        replications: How many; seeds are ``scenario.seed``, ``scenario.seed + 1``, ... unless ``seeds`` is given.
        seeds: Explicit seeds, one per replication (overrides ``replications``).
        warmup: None keeps the scenario's ``warmup_s``; a number of seconds fixes it; ``"auto"`` detects it per
            replication with MSER-5 (rounded up to a snapshot time) and reports it.
        duration_s: Overrides the simulated duration.
        p99_precision: Warn "run longer" when the p99 interval's half-width exceeds this fraction of its mean.
        workers: Local processes (default: one per core). Ignored when ``scheduler`` or ``executor`` is given.
        scheduler: A Dask scheduler address (``tcp://host:port``) or ``distributed.Client``.
        executor: An executor to reuse (the caller closes it).
        progress: Called with (replications done, total) as they finish.
        limits: Lower budgets than the scenario's for every replication (as for :func:`sim.run`).

    Returns:
        Per-replication rows, intervals per metric, the warm-up used, and warnings.
    """
    prepared, rule = _prepare(scenario, warmup, duration_s)
    chosen = _seeds(prepared, replications, seeds)
    with _executor(executor, workers, scheduler) as running:
        rows = RunOptions(chosen, rule, running, progress, limits=_plain_limits(limits)).run([prepared])[0]
    summary = interval_summary(rows)
    return ReplicationReport(prepared.name, rows, summary, warmup_report(rows),
                             replication_warnings(rows, summary, p99_precision))


def sweep(scenario: Scenario, vary: Vary, replications: int = 1, *, seeds: Sequence[int] | None = None,
          warmup: WarmupRule = None, duration_s: float | None = None, workers: int | None = None,
          scheduler: Any = None, executor: Executor | None = None, progress: Progress | None = None,
          limits: Limits | None = None) -> SweepResult:
    """Run every combination of the varied fields, each under the same seeds (common random numbers).

    Args:
        scenario: The base scenario.
        vary: ``{"workload.rate_rps": [100, 200]}``, ``{"components.api.instances": "1:8"}`` or
            ``["workload.rate_rps=100:2000:100"]``; several fields make a grid.
        replications: Seeds per point (``scenario.seed`` onwards) unless ``seeds`` is given.
        seeds, warmup, duration_s, workers, scheduler, executor, progress, limits: As for :func:`replicate`.

    Returns:
        Tidy rows (parameters + seed + metrics), with per-point summaries and figure data.
    """
    prepared, rule = _prepare(scenario, warmup, duration_s)
    fields = normalise_vary(vary)
    points = grid(fields)
    chosen = _seeds(prepared, replications, seeds, len(points))
    variants = [with_overrides(prepared, parameters) for parameters in points]
    with _executor(executor, workers, scheduler) as running:
        grouped = RunOptions(chosen, rule, running, progress, limits=_plain_limits(limits)).run(variants)
    rows = [{**parameters, **row} for parameters, point_rows in zip(points, grouped, strict=True)
            for row in point_rows]
    return SweepResult(prepared, list(fields), chosen, rows)


def _simulate(candidates: Sequence[Candidate], options: RunOptions, slos: Sequence[Slo],
              rows: list[dict[str, Any]]) -> None:
    for candidate, candidate_rows in zip(candidates, options.run([item.scenario for item in candidates]),
                                         strict=True):
        candidate.status, candidate.intervals = "simulated", interval_summary(candidate_rows)
        candidate.stable = all(row["stable"] for row in candidate_rows)
        candidate.overflowed = sorted({name for row in candidate_rows for name in row["overflowed"].split(",") if name})
        judge(candidate, slos)
        rows.extend({**candidate.parameters, "cost_per_hour": candidate.cost_per_hour, **row}
                    for row in candidate_rows)


def plan(scenario: Scenario, slo: str | Sequence[str], vary: Vary, *, rate_rps: float | None = None,
         replications: int = 3, seeds: Sequence[int] | None = None, margin: float = DEFAULT_MARGIN,
         explore_frontier: bool = True, frontier_improvement: float = DEFAULT_FRONTIER_IMPROVEMENT,
         warmup: WarmupRule = None, duration_s: float | None = None, workers: int | None = None,
         scheduler: Any = None, executor: Executor | None = None, progress: Progress | None = None,
         limits: Limits | None = None) -> PlanResult:
    """Find the cheapest configuration that meets the objectives, and the Pareto frontier of cost vs p99.

    The twin screens every grid point first: candidates it finds unstable, or whose predicted mean latency
    (or mean wait) exceeds a latency objective's threshold by more than ``margin`` times, are not simulated.
    The rest are simulated cheapest first, in waves as wide as the executor, all under the same seeds; the
    search stops after the first wave holding a candidate whose mean over the replications meets every
    objective. With ``explore_frontier``, pricier candidates the twin expects to be at least
    ``frontier_improvement`` faster than anything cheaper are simulated too, to trace the frontier.

    Args:
        scenario: The base scenario; prices come from its components (``sim.scenario.cost``).
        slo: One objective such as ``"p99<200ms"`` or several (all must hold).
        vary: The fields to search, as for :func:`sweep`.
        rate_rps: Sets ``workload.rate_rps`` (open workloads) before the search.
        replications, seeds, warmup, duration_s, workers, scheduler, executor, progress, limits: As for
            :func:`replicate` (progress counts replications against an upper bound).
        margin: How far past a latency threshold the twin's prediction must be to skip a candidate.
        explore_frontier: Also simulate pricier candidates that may extend the frontier.
        frontier_improvement: Fraction by which such a candidate must be predicted faster.

    Returns:
        The best candidate (None if none meets the objectives), the frontier, every candidate, and the rows.
    """
    texts = [slo] if isinstance(slo, str) else list(slo)
    slos = [parse_slo(text) for text in texts]
    base = with_overrides(scenario, {"workload.rate_rps": rate_rps}) if rate_rps is not None else scenario
    prepared, rule = _prepare(base, warmup, duration_s)
    fields = normalise_vary(vary)
    chosen = _seeds(prepared, replications, seeds, len(grid(fields)))
    candidates = build_candidates(prepared, fields)
    for candidate in candidates:
        candidate.reason = screening_reason(candidate, slos, margin)
        candidate.status = "pruned" if candidate.reason else "pending"
    rows: list[dict[str, Any]] = []
    pending = sum(candidate.status == "pending" for candidate in candidates)
    with _executor(executor, workers, scheduler) as running:
        options = RunOptions(chosen, rule, running, progress, total=pending * len(chosen),
                             limits=_plain_limits(limits))
        best = search(candidates, slos, lambda batch: _simulate(batch, options, slos, rows),
                      max(1, running.parallelism // len(chosen)), explore_frontier, frontier_improvement)
    return PlanResult(texts, best, pareto_frontier(candidates), candidates, rows, chosen,
                      plan_notes(candidates, slos, best))
