"""What a capacity plan tells its reader beyond the answer: candidates in words, why one fails, and notes.

A plan with no prices, or with no answer, is easy to misread; ``plan_notes`` says what a reader must know:
that "cheapest" then means least capacity, or which constraint even the largest candidate fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sim.experiments.planning import Candidate, metric_column
from sim.model.slo import Slo


def describe(parameters: dict[str, Any]) -> str:
    """Varied fields as ``api.instances=4, db.shards=2`` (the last two parts of each path)."""
    return ", ".join(f"{'.'.join(path.split('.')[-2:])}={value}" for path, value in parameters.items())


def why_it_fails(candidate: Candidate, slos: Sequence[Slo]) -> str:
    """Which constraint a candidate fails: the twin's reason if pruned, else instability or the SLOs missed."""
    if candidate.status == "pruned":
        return candidate.reason
    if not candidate.stable:
        where = f" ({', '.join(candidate.overflowed)} overflowed)" if candidate.overflowed else ""
        return f"it was unstable in simulation{where}"
    missed = []
    for slo in slos:
        value = candidate.value(metric_column(slo.metric))
        if not slo.holds(value):
            missed.append(f"{slo.text} measured {'nothing' if value is None else f'{value:.4g}'}")
    return "; ".join(missed) or "its replications disagree (borderline)"


def plan_notes(candidates: Sequence[Candidate], slos: Sequence[Slo], best: Candidate | None) -> list[str]:
    """What a reader must know about a plan: prices that are all zero, and why nothing met the objectives."""
    notes = []
    if candidates and all(candidate.cost_per_hour == 0 for candidate in candidates):
        notes.append("no component has a price, so every configuration costs 0 per hour: 'cheapest' means the "
                     "least capacity, and the frontier is just the fastest configuration; set "
                     "price_per_instance_hour, price_per_node_hour, price_per_connection_hour, price_per_gb_hour "
                     "or price_per_hour on the components to compare costs")
    if best is None and candidates:
        largest = max(candidates, key=lambda candidate: (candidate.capacity_units, candidate.cost_per_hour))
        notes.append(f"nothing meets {' and '.join(slo.text for slo in slos)}: even the largest candidate "
                     f"({describe(largest.parameters)}) fails ({why_it_fails(largest, slos)}); widen the ranges, "
                     "or vary what that names")
    return notes
