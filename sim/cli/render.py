"""A run's summary as readable text (rich renderables), for the terminal.

Names come from the scenario file, so every piece of text is a plain ``Text`` with control characters escaped:
no rich markup is parsed and no escape sequence reaches the terminal.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from sim.model.outputs import printable
from sim.results.summary_models import RunSummary


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _state(summary: RunSummary) -> str:
    if summary.stable is None:
        return "NO VERDICT"
    return "stable" if summary.stable else f"UNSTABLE (overflowed: {', '.join(summary.overflowed)})"


def _latency_line(summary: RunSummary) -> str:
    latency, unfinished = summary.latency_ms, summary.requests.unfinished
    if latency.mean is None and unfinished:
        return (f"latency ms  - (none of the requests that arrived in the window finished; {unfinished:,} were still "
                "in flight when the drain ended)")
    return (f"latency ms  mean {_ms(latency.mean)}  p50 {_ms(latency.p50)}  p95 {_ms(latency.p95)}  "
            f"p99 {_ms(latency.p99)}  p99.9 {_ms(latency.p999)}")


def headline(summary: RunSummary) -> Text:
    """Scenario, verdict, throughput, request outcomes, latency percentiles, overloads and the bottleneck."""
    counts = summary.requests
    lines = [
        f"{summary.scenario}  seed={summary.seed}  measured {summary.measured_s:.4g} s "
        f"after {summary.warmup_s:g} s warm-up  [{_state(summary)}]",
        f"throughput {summary.throughput_rps:,.1f} req/s   offered {counts.offered:,}  completed "
        f"{counts.completed:,}  failed {counts.failed:,}  dropped {counts.dropped:,}  "
        f"timed out {counts.timed_out:,}  unfinished {counts.unfinished:,}"
        + (f"  throttled {counts.throttled:,}" if counts.throttled else ""),
        _latency_line(summary),
    ]
    if summary.no_verdict:
        lines.append(summary.no_verdict)
    bottleneck = summary.bottleneck
    if bottleneck:
        lines.append(f"bottleneck: {bottleneck.reason}")
    lines.extend(f"overload: {entry.message}" for entry in summary.overload
                 if not bottleneck or entry.station != bottleneck.component)
    for objective in summary.slos:
        value = "-" if objective.value is None else f"{objective.value:.4g}"
        lines.append(f"SLO {objective.slo}: {'pass' if objective.passed else 'FAIL'} (measured {value})")
    if summary.cost_per_hour:
        lines.append(f"cost {summary.cost_per_hour:.2f} per hour")
    lines.extend(f"warning: {warning}" for warning in summary.warnings or [])
    return Text("\n".join(printable(line) for line in lines))


def component_table(summary: RunSummary) -> Table:
    """One row per component: simulated numbers with the theory's prediction beside them."""
    table = Table(title="components (simulated | theory)")
    for column in ("component", "kind", "util", "util theory", "queue", "wait ms", "resp ms", "resp theory",
                   "drops"):
        table.add_column(column, justify="left" if column in ("component", "kind") else "right")
    theory = summary.theory.components
    for name, stats in summary.components.items():
        predicted = theory.get(name)
        hit_ratio = getattr(stats, "hit_ratio", None)
        cold_ratio = getattr(stats, "cold_start_ratio", None)
        kind = stats.kind + (f" (hit {_percent(hit_ratio)})" if hit_ratio is not None else "")
        kind += f" (cold {_percent(cold_ratio)})" if cold_ratio is not None else ""
        table.add_row(Text(printable(name)), Text(printable(kind)), _percent(stats.utilisation),
                      _percent(predicted.utilisation if predicted else None),
                      f"{stats.mean_queue_length:.2f}", _ms(stats.mean_wait_ms), _ms(stats.mean_response_ms),
                      _ms(predicted.mean_response_ms if predicted else None), f"{stats.dropped:,}")
    return table


def render_summary(summary: RunSummary) -> Group:
    """Everything the terminal shows for ``python -m sim run``."""
    mean_theory = summary.theory.mean_latency_ms
    footer = Text(f"theory: mean latency {_ms(mean_theory)} ms vs simulated {_ms(summary.latency_ms.mean)} ms")
    return Group(headline(summary), component_table(summary), footer)
