"""The engine checked against closed forms, and a run set beside its analytic twin, as tidy rows.

``validation_rows`` simulates small single-station scenarios (M/M/1, M/M/c, M/G/1, M/D/1, Erlang B) over
independent replications and compares each mean, with its 95% confidence interval, to ``sim.theory.queues``.
``theory_comparison`` lines up a run's per-component numbers with the twin's prediction and says, in a few
words, why they differ where they do.

Example:
    >>> rows = validation_rows(replications=2, requests_per_replication=500)  # doctest: +SKIP
    >>> sorted(rows[0])  # doctest: +SKIP
    ['case', 'ci_high', 'ci_low', 'half_width', 'metric', 'model', ...]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.experiments.statistics import confidence_interval
from sim.model.distributions import from_spec
from sim.results import run
from sim.results.summary_models import ComponentPrediction, ComponentStats, RunSummary
from sim.scenario.scenario import Scenario, parse_scenario
from sim.theory import queues as theory

AGREEMENT_TOLERANCE = 0.10
UTILISATION_TOLERANCE = 0.03
FEW_REQUESTS = 5_000


@dataclass(frozen=True)
class ValidationCase:
    """One closed-form model: the station that realises it and the formula that predicts it."""

    name: str
    rate_rps: float
    service_time: dict[str, Any]
    workers: int
    queue_capacity: int
    predict: Callable[[float, float, int, float], theory.QueuePrediction]
    metrics: tuple[str, ...] = ("mean_response_ms", "utilisation")


CASES = (
    ValidationCase("M/M/1", 70.0, {"distribution": "exponential", "mean_ms": 10}, 1, 100_000,
                   lambda rate, mean, servers, scv: theory.mm1(rate, mean)),
    ValidationCase("M/M/c (c=3)", 240.0, {"distribution": "exponential", "mean_ms": 10}, 3, 100_000,
                   lambda rate, mean, servers, scv: theory.mmc(rate, mean, servers)),
    # Light-tailed on purpose: with heavy tails (lognormal cv 1.5) a short run rarely sees the samples that make
    # up E[S^2], so its mean wait sits below Pollaczek-Khinchine until runs are about 20x longer.
    ValidationCase("M/G/1 (uniform 0-20 ms)", 70.0, {"distribution": "uniform", "low_ms": 0, "high_ms": 20}, 1,
                   100_000, lambda rate, mean, servers, scv: theory.mg1(rate, mean, scv)),
    ValidationCase("M/D/1", 70.0, {"distribution": "deterministic", "mean_ms": 10}, 1, 100_000,
                   lambda rate, mean, servers, scv: theory.md1(rate, mean)),
    ValidationCase("Erlang B (c=5, no queue)", 300.0, {"distribution": "exponential", "mean_ms": 10}, 5, 0,
                   lambda rate, mean, servers, scv: theory.erlang_loss(rate, mean, servers),
                   ("blocking_probability", "utilisation")),
)


def case_scenario(case: ValidationCase, requests: int) -> Scenario:
    """A one-station scenario realising ``case``, long enough for about ``requests`` measured arrivals."""
    measured_s = requests / case.rate_rps
    warmup_s = max(1.0, measured_s / 10)
    return parse_scenario({
        "name": f"validation {case.name}",
        "duration_s": warmup_s + measured_s,
        "warmup_s": warmup_s,
        "time_bin_s": warmup_s + measured_s,
        "workload": {"rate_rps": case.rate_rps, "entry": "server"},
        "components": {"server": {"kind": "service", "workers": case.workers, "queue_capacity": case.queue_capacity,
                                  "service_time": case.service_time}},
    })


def _observe(summary: RunSummary, metric: str) -> float:
    if metric == "blocking_probability":
        counts = summary.requests
        return counts.dropped / counts.offered if counts.offered else 0.0
    if metric == "mean_response_ms":
        return float(summary.latency_ms.mean or 0.0)
    return float(getattr(summary.components["server"], metric))


def validate_case(case: ValidationCase, replications: int = 5, base_seed: int = 1,
                  requests_per_replication: int = 6_000) -> list[dict[str, Any]]:
    """Tidy rows (one per metric) comparing ``replications`` runs of ``case`` to its closed form."""
    scenario = case_scenario(case, requests_per_replication)
    distribution = from_spec(scenario.components["server"].service_time)  # type: ignore[attr-defined]
    prediction = case.predict(case.rate_rps, distribution.mean_ms, case.workers, distribution.scv)
    summaries = [run(scenario, seed=base_seed + index).summary for index in range(replications)]
    rows = []
    for metric in case.metrics:
        interval = confidence_interval([_observe(summary, metric) for summary in summaries])
        assert interval is not None
        mean, half_width = interval.mean, interval.half_width
        predicted = float(getattr(prediction, metric))
        rows.append({
            "case": case.name, "model": prediction.model, "metric": metric, "predicted": predicted,
            "simulated": mean, "ci_low": mean - half_width, "ci_high": mean + half_width, "half_width": half_width,
            "replications": replications, "relative_error": (mean - predicted) / predicted if predicted else 0.0,
            "within_ci": mean - half_width <= predicted <= mean + half_width,
        })
    return rows


def validation_rows(replications: int = 5, base_seed: int = 1,
                    requests_per_replication: int = 6_000) -> list[dict[str, Any]]:
    """Every closed-form case, a few seconds in all: rows of case, metric, prediction, mean and 95% CI."""
    return [row for case in CASES for row in validate_case(case, replications, base_seed, requests_per_replication)]


# --- a run beside its analytic twin -------------------------------------------------------------------


def _relative_difference(simulated: float | None, predicted: float | None) -> float | None:
    if simulated is None or predicted is None or predicted == 0:
        return None
    return (simulated - predicted) / predicted


def _differs(stats: ComponentStats, predicted: ComponentPrediction) -> bool:
    response = _relative_difference(stats.mean_response_ms, predicted.mean_response_ms)
    simulated_util, predicted_util = stats.utilisation, predicted.utilisation
    util_gap = 0.0 if simulated_util is None or predicted_util is None else abs(simulated_util - predicted_util)
    return (predicted.mean_response_ms is None or (response is not None and abs(response) > AGREEMENT_TOLERANCE)
            or util_gap > UTILISATION_TOLERANCE)


def _spec_reasons(scenario: Scenario, name: str, stats: ComponentStats) -> list[str]:
    return scenario.components[name].difference_reasons(name, stats, scenario)


def _note(scenario: Scenario, name: str, stats: ComponentStats, predicted: ComponentPrediction,
          summary: RunSummary) -> str:
    if not _differs(stats, predicted):
        return f"agrees within {AGREEMENT_TOLERANCE:.0%}"
    reasons = []
    if not predicted.stable or predicted.mean_response_ms is None:
        reasons.append("load at or above capacity: theory has no steady state, the simulated queue fills and drops")
    reasons += _spec_reasons(scenario, name, stats) + list(predicted.notes)
    hit_ratio = getattr(stats, "hit_ratio", None)
    if hit_ratio is not None and predicted.hit_ratio is not None:
        reasons.append(f"hit ratio {hit_ratio:.0%} simulated vs {predicted.hit_ratio:.0%} predicted")
    if summary.requests.completed < FEW_REQUESTS:
        reasons.append(f"short run ({summary.requests.completed:,} requests): sampling noise")
    return "; ".join(reasons) if reasons else "random variation: run longer or average more seeds"


def theory_comparison(summary: RunSummary, scenario: Scenario) -> list[dict[str, Any]]:
    """Per component: simulated and predicted utilisation and mean response, and a note on any difference."""
    rows = []
    for name, stats in summary.components.items():
        predicted = summary.theory.components.get(name) or ComponentPrediction(kind=stats.kind, arrival_rate_rps=0)
        rows.append({
            "component": name,
            "kind": stats.kind,
            "model": predicted.model,
            "utilisation_simulated": stats.utilisation,
            "utilisation_predicted": predicted.utilisation,
            "response_simulated_ms": stats.mean_response_ms,
            "response_predicted_ms": predicted.mean_response_ms,
            "response_difference": _relative_difference(stats.mean_response_ms,
                                                        predicted.mean_response_ms),
            "wait_simulated_ms": stats.mean_wait_ms,
            "throughput_simulated_rps": stats.throughput_rps,
            "capacity_simulated_rps": stats.capacity_rps,
            "note": _note(scenario, name, stats, predicted, summary),
        })
    return rows
