"""Compare: two variants of the scenario, run on the same seed (common random numbers), side by side."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import sim
from app_pages.shared import current_selection, knob_widget, milliseconds, percent, rate, simulate, stopped_note
from sim import viz
from sim.results.summary_models import RunSummary
from sim.scenario.cost import capacity, hourly_cost
from sim.scenario.overrides import with_overrides
from sim.teaching.knobs import Knob, alternative_value, scenario_knobs


def default_knob_index(knobs: list[Knob]) -> int:
    """Start from the most telling contrast: with vs without a cache, else instances, else the first knob."""
    for suffix in (".calls.", ".instances"):
        for index, knob in enumerate(knobs):
            if suffix in knob.path or knob.path.endswith(suffix):
                return index
    return 0


def variant(column: Any, name: str, knob: Knob, key: str, value: Any) -> Any:
    with column:
        st.subheader(f"Variant {name}")
        return knob_widget(knob, key, value=value)


def describe_difference(summaries: dict[str, RunSummary], capacities: dict[str, dict[str, float]]) -> str:
    """One sentence: how B's p99 compares with A's, and what it costs in servers."""
    p99_a, p99_b = (summaries[name].latency_ms.p99 for name in "AB")
    servers_a, servers_b = (capacities[name]["servers"] for name in "AB")
    if p99_a is None or p99_b is None:
        latency = "One variant completed no requests, so there is no p99 to compare"
    else:
        change = p99_b - p99_a
        direction = "lower" if change < 0 else "higher"
        latency = (f"B's p99 is {abs(change):,.1f} ms {direction} than A's ({p99_b:,.1f} vs {p99_a:,.1f} ms, "
                   f"{change / p99_a:+.0%})")
    extra = servers_b - servers_a
    noun = "server" if abs(extra) == 1 else "servers"
    cost = (f"at the same capacity ({servers_a:,} servers)" if extra == 0 else
            f"with {abs(extra):,} {'more' if extra > 0 else 'fewer'} {noun} ({servers_b:,} vs {servers_a:,} "
            "workers + connections)")
    keys_a, keys_b = (capacities[name]["cache_keys"] for name in "AB")
    if keys_a != keys_b:
        cost += f" and {keys_b:,} vs {keys_a:,} cache keys"
    dollars_a, dollars_b = (capacities[name]["cost_per_hour"] for name in "AB")
    if dollars_a or dollars_b:
        cost += f", costing ${dollars_b:,.2f} vs ${dollars_a:,.2f} per hour"
    return f"{latency}, {cost}."


def table(summaries: dict[str, RunSummary], capacities: dict[str, dict[str, float]]) -> pd.DataFrame:
    rows = {}
    for name, summary in summaries.items():
        latency = summary.latency_ms
        rows[f"Variant {name}"] = {
            "throughput (req/s)": rate(summary.throughput_rps),
            "p50": milliseconds(latency.p50), "p95": milliseconds(latency.p95),
            "p99": milliseconds(latency.p99), "error rate": percent(summary.error_rate),
            "bottleneck": summary.bottleneck.component if summary.bottleneck else "–",
            "stable": {True: "yes", None: "no verdict"}.get(summary.stable, "no: " + ", ".join(summary.overflowed)),
            "servers (workers + connections)": f"{capacities[name]['servers']:,}",
            "cache keys": f"{capacities[name]['cache_keys']:,}",
        }
        if any(item["cost_per_hour"] for item in capacities.values()):
            rows[f"Variant {name}"]["cost per hour"] = f"${capacities[name]['cost_per_hour']:,.2f}"
    return pd.DataFrame(rows)


def main() -> None:
    selection = current_selection()
    base = selection.scenario
    st.title(f"Compare · {selection.source}")
    st.caption(f"Both variants run on seed {selection.seed}: the same arrivals and service times (common random "
               "numbers), so the difference comes from the change, not from luck.")
    knobs = scenario_knobs(base)
    labels = [knob.label for knob in knobs]
    chosen = st.selectbox("What to change", labels, index=default_knob_index(knobs), key=selection.key("compare"))
    knob = knobs[labels.index(chosen)]
    column_a, column_b = st.columns(2)
    values = {
        "A": variant(column_a, "A", knob, selection.key("compare", knob.path, "A"), knob.value),
        "B": variant(column_b, "B", knob, selection.key("compare", knob.path, "B"), alternative_value(knob)),
    }
    scenarios: dict[str, sim.Scenario] = {name: with_overrides(base, {knob.path: value})
                                          for name, value in values.items()}
    runs = {name: simulate(scenario.model_dump_json(), selection.seed) for name, scenario in scenarios.items()}
    summaries = {name: data["summary"] for name, data in runs.items()}
    capacities = {name: {**capacity(scenario), "cost_per_hour": hourly_cost(scenario)}
                  for name, scenario in scenarios.items()}
    st.info(describe_difference(summaries, capacities))
    for column, name in ((column_a, "A"), (column_b, "B")):
        summary = summaries[name]
        metrics = column.columns(3)
        metrics[0].metric("p99", milliseconds(summary.latency_ms.p99))
        metrics[1].metric("Throughput (req/s)", rate(summary.throughput_rps))
        metrics[2].metric("Servers", f"{capacities[name]['servers']:,}")
        stopped_note(summary, column)
        if summary.stable is False:
            column.error(f"Unstable: {', '.join(summary.overflowed)} overflowed.")
        elif summary.stable is None:
            column.error(summary.no_verdict)
        column.plotly_chart(viz.architecture_figure(scenarios[name], summary), key=f"architecture-{name}")
    st.dataframe(table(summaries, capacities))
    st.plotly_chart(viz.compare_latency_figure({f"{name}: {knob.label} = {knob.format_option(values[name])}":
                                                runs[name]["latencies_ms"] for name in runs}), key="cdf")


main()
