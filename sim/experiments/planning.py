"""Parameter grids and the capacity search: screen every candidate with the analytic twin, simulate the survivors.

A grid comes from ``--vary path=spec`` options (``1:64``, ``100:2000:100``, ``0.5:1:0.25`` or ``a,b,c``). The
search prices each configuration (``sim.scenario.cost``), asks the twin whether it can keep up and how slow it will be,
skips what the twin rules out, and simulates the rest cheapest first with the same seeds for every candidate
(common random numbers), stopping at the first wave that meets the objectives.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.experiments.executors import save_rows
from sim.experiments.statistics import Interval
from sim.model.slo import LATENCY_METRICS, Slo
from sim.scenario.cost import capacity, hourly_cost
from sim.scenario.overrides import with_overrides
from sim.scenario.scenario import Scenario
from sim.twin.predict import arrival_rate_rps, end_to_end_ms, predict

# The twin's mean latency bounds these from below (a tail percentile is above the mean in any queue worth
# planning for); the median is not bounded by the mean, so only stability prunes it.
MEAN_BOUNDED_METRICS = ("mean", "p90", "p95", "p99", "p999")
NEAR_ZERO_LOAD = 1e-6
Vary = Mapping[str, Sequence[Any] | str] | Sequence[str] | str
_DECIMALS = 12
MAX_VALUES = 10_000  # values of one --vary, and combinations of them all


def parse_value(text: str) -> Any:
    """A command-line value as int, float, bool or (otherwise) str."""
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    for convert in (int, float):
        try:
            return convert(stripped)
        except ValueError:
            continue
    return stripped


def parse_values(spec: str) -> list[Any]:
    """Values from ``start:end[:step]`` (inclusive; step 1 by default), ``a,b,c``, or a single value."""
    if ":" not in spec:
        values = [parse_value(part) for part in spec.split(",") if part.strip()]
        if not values:
            raise ValueError(f"no values in {spec!r}")
        if len(values) > MAX_VALUES:
            raise ValueError(f"{len(values):,} values; at most {MAX_VALUES:,}")
        return values
    parts = [parse_value(part) for part in spec.split(":")]
    if len(parts) not in (2, 3) or not all(isinstance(part, int | float) and not isinstance(part, bool)
                                           for part in parts):
        raise ValueError(f"cannot read range {spec!r}: write start:end or start:end:step with numbers")
    start, end, step = (*parts, 1) if len(parts) == 2 else parts
    if not all(math.isfinite(part) for part in (start, end, step)):
        raise ValueError(f"range {spec!r} needs finite numbers")
    if step <= 0 or end < start:
        raise ValueError(f"range {spec!r} needs start <= end and a positive step")
    count = math.floor((end - start) / step + 1e-9) + 1
    if count > MAX_VALUES:
        raise ValueError(f"range {spec!r} has {count:,} values; at most {MAX_VALUES:,} (use a larger step)")
    if all(isinstance(part, int) for part in (start, end, step)):
        return [start + index * step for index in range(count)]
    return [round(start + index * step, _DECIMALS) for index in range(count)]


def parse_vary(option: str) -> tuple[str, list[Any]]:
    """``"workload.rate_rps=100:2000:100"`` as (field path, values)."""
    path, separator, spec = option.partition("=")
    if not separator or not path.strip():
        raise ValueError(f"cannot read --vary {option!r}: write path=values, e.g. workload.rate_rps=100:1000:100")
    return path.strip(), parse_values(spec)


def normalise_vary(vary: Vary) -> dict[str, list[Any]]:
    """Varied fields as {path: values}, from a mapping (values or spec strings) or ``path=spec`` string(s)."""
    if isinstance(vary, str):
        vary = [vary]
    if isinstance(vary, Mapping):
        return {path: parse_values(values) if isinstance(values, str) else list(values)
                for path, values in vary.items()}
    return dict(parse_vary(option) for option in vary)


def grid(vary: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the varied values, in order (the last field varies fastest)."""
    paths = list(vary)
    if any(len(vary[path]) == 0 for path in paths):
        raise ValueError("every varied field needs at least one value")
    points = math.prod(len(vary[path]) for path in paths)
    if points > MAX_VALUES:
        raise ValueError(f"the --vary values make {points:,} combinations; at most {MAX_VALUES:,}")
    return [dict(zip(paths, values, strict=True)) for values in itertools.product(*(vary[path] for path in paths))]


@dataclass
class Candidate:
    """One configuration of a capacity search, with what the twin predicts and what simulation measured."""

    index: int
    parameters: dict[str, Any]
    scenario: Scenario
    cost_per_hour: float
    capacity_units: int
    predicted_latency_ms: float | None = None
    predicted_wait_ms: float | None = None
    status: str = "pending"
    reason: str = ""
    intervals: dict[str, Interval] = field(default_factory=dict)
    stable: bool | None = None
    meets_slo: bool | None = None
    borderline: bool = False
    saturated: dict[str, float] = field(default_factory=dict)
    overflowed: list[str] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[float, int, int]:
        """Cheapest first; equal prices go to the configuration with less capacity."""
        return (self.cost_per_hour, self.capacity_units, self.index)

    def value(self, column: str) -> float | None:
        interval = self.intervals.get(column)
        return None if interval is None else interval.mean

    def to_dict(self) -> dict[str, Any]:
        return {"parameters": self.parameters, "cost_per_hour": self.cost_per_hour,
                "capacity_units": self.capacity_units, "predicted_latency_ms": self.predicted_latency_ms,
                "predicted_wait_ms": self.predicted_wait_ms, "status": self.status, "reason": self.reason,
                "stable": self.stable, "overflowed": self.overflowed, "meets_slo": self.meets_slo,
                "borderline": self.borderline,
                "intervals": {name: interval.to_dict() for name, interval in self.intervals.items()}}


def build_candidates(scenario: Scenario, vary: Mapping[str, Sequence[Any]]) -> list[Candidate]:
    """Every grid point as a validated, priced candidate with the twin's predicted latency and wait."""
    candidates = []
    for index, parameters in enumerate(grid(vary)):
        variant = with_overrides(scenario, parameters)
        candidate = Candidate(index, parameters, variant, hourly_cost(variant), capacity(variant)["servers"])
        rate = arrival_rate_rps(variant)
        predictions = predict(variant, rate)
        latency = end_to_end_ms(variant, predictions)
        candidate.saturated = {station: offered for prediction in predictions.values() if prediction.saturated
                               for station, (_rate, offered) in prediction.station_load.items() if offered >= 1.0}
        if latency is not None and all(prediction.stable for prediction in predictions.values()):
            candidate.predicted_latency_ms = latency
            unloaded = end_to_end_ms(variant, predict(variant, rate * NEAR_ZERO_LOAD)) or 0.0
            candidate.predicted_wait_ms = max(0.0, latency - unloaded)
        candidates.append(candidate)
    return candidates


def metric_column(metric: str) -> str:
    """The row column holding an SLO metric."""
    if metric in LATENCY_METRICS:
        return f"latency_{metric}_ms"
    return {"mean_wait": "mean_wait_ms", "error_rate": "error_rate", "throughput": "throughput_rps"}[metric]


def screening_reason(candidate: Candidate, slos: Sequence[Slo], margin: float) -> str:
    """Why the twin rules a candidate out without simulating it ("" when it must be simulated)."""
    if candidate.predicted_latency_ms is None:
        if candidate.saturated:
            worst = max(candidate.saturated, key=candidate.saturated.__getitem__)
            return (f"unstable: the twin puts {worst} at {candidate.saturated[worst]:.2f}x its capacity, so its "
                    "queue grows without bound")
        return "unstable: the twin says a component cannot keep up with the offered load"
    for slo in slos:
        if slo.comparison not in ("<", "<="):
            continue
        if slo.metric in MEAN_BOUNDED_METRICS:
            predicted, what = candidate.predicted_latency_ms, "mean latency"
        elif slo.metric == "mean_wait":
            predicted, what = candidate.predicted_wait_ms or 0.0, "mean wait"
        else:
            continue
        if predicted > slo.threshold * margin:
            return (f"too slow: the twin predicts a {what} of {predicted:.3g} ms, over {margin:g}x the "
                    f"{slo.threshold:g} ms of '{slo.text}'")
    return ""


def judge(candidate: Candidate, slos: Sequence[Slo]) -> None:
    """Set whether a simulated candidate meets every objective (by its mean) and whether that is borderline."""
    meets, borderline = bool(candidate.stable), False
    for slo in slos:
        interval = candidate.intervals.get(metric_column(slo.metric))
        if interval is None:
            meets = False
            continue
        meets = meets and slo.holds(interval.mean)
        borderline = borderline or slo.holds(interval.low) != slo.holds(interval.high)
    candidate.meets_slo, candidate.borderline = meets, borderline


def frontier_candidates(remaining: Sequence[Candidate], reference_ms: float, improvement: float) -> list[Candidate]:
    """More expensive candidates the twin expects to be faster, each by ``improvement``, than any cheaper one."""
    chosen: list[Candidate] = []
    best_ms = reference_ms
    for candidate in remaining:
        predicted = candidate.predicted_latency_ms
        if predicted is not None and predicted < best_ms * (1.0 - improvement):
            chosen.append(candidate)
            best_ms = predicted
    return chosen


def pareto_frontier(candidates: Sequence[Candidate], column: str = "latency_p99_ms") -> list[Candidate]:
    """Stable simulated candidates that no other beats on both cost and ``column`` (cheapest first)."""
    measured = [candidate for candidate in candidates if candidate.stable and candidate.value(column) is not None]
    measured.sort(key=lambda candidate: (candidate.cost_per_hour, candidate.value(column), candidate.sort_key))
    frontier: list[Candidate] = []
    best = math.inf
    for candidate in measured:
        value = candidate.value(column)
        assert value is not None
        if value < best:
            frontier.append(candidate)
            best = value
    return frontier


def search(candidates: Sequence[Candidate], slos: Sequence[Slo], simulate: Callable[[list[Candidate]], None],
           wave: int, explore_frontier: bool, improvement: float) -> Candidate | None:
    """Simulate unpruned candidates cheapest first, ``wave`` at a time, until a wave meets the objectives.

    Then, with ``explore_frontier``, simulate the pricier candidates the twin expects to be faster than
    anything cheaper (see :func:`frontier_candidates`); mark the rest as skipped. Returns the answer or None.
    """
    queue = sorted((item for item in candidates if item.status == "pending"), key=lambda item: item.sort_key)
    best = None
    while queue and best is None:
        batch, queue = queue[:wave], queue[wave:]
        simulate(batch)
        best = next((item for item in batch if item.meets_slo), None)
    if explore_frontier and queue:
        simulated = [item.predicted_latency_ms or 0.0 for item in candidates if item.status == "simulated"]
        extra = frontier_candidates(queue, min(simulated, default=0.0), improvement)
        if extra:
            simulate(extra)
    for candidate in queue:
        if candidate.status == "pending":
            candidate.status = "skipped"
            candidate.reason = "not needed: pricier than the answer and not predicted to be faster"
    return best


@dataclass
class PlanResult:
    """A capacity plan: the cheapest configuration meeting the objectives, the frontier, and every candidate.

    Attributes:
        slos: The objectives, as written.
        best: The cheapest candidate whose replication means meet every objective (None if none does).
        frontier: Simulated stable candidates not beaten on both cost and p99, cheapest first.
        candidates: Every grid point, with its status (pruned, simulated, skipped) and reason.
        rows: One tidy row per simulated replication (parameters + cost + seed + metrics).
        seeds: The seeds every simulated candidate ran under (common random numbers).
        notes: What to know before trusting the answer (no prices; why nothing met the objectives).
    """

    slos: list[str]
    best: Candidate | None
    frontier: list[Candidate]
    candidates: list[Candidate]
    rows: list[dict[str, Any]]
    seeds: list[int]
    notes: list[str] = field(default_factory=list)

    def with_status(self, status: str) -> list[Candidate]:
        return [candidate for candidate in self.candidates if candidate.status == status]

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain JSON-ready data (every candidate included)."""
        counts = {status: len(self.with_status(status)) for status in ("simulated", "pruned", "skipped")}
        return {"slos": self.slos, "seeds": self.seeds, "notes": self.notes,
                "best": self.best.to_dict() if self.best else None,
                "frontier": [candidate.to_dict() for candidate in self.frontier], "counts": counts,
                "candidates": [candidate.to_dict() for candidate in self.candidates]}

    def save(self, path: str | Path) -> None:
        """Write the simulated rows as CSV, Parquet or JSON (by the file's extension)."""
        save_rows(self.rows, path)
