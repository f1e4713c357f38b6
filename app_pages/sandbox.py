"""Sandbox: turn the scenario's knobs, watch throughput, latency and the bottleneck, beside the theory."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

import sim
from app_pages.monitoring import show_dashboard
from app_pages.shared import (
    CHART_CONFIG,
    current_selection,
    knob_widget,
    milliseconds,
    percent,
    rate,
    readable_table,
    request_records_csv,
    simulate,
    stopped_note,
)
from sim import viz
from sim.experiments.validation import theory_comparison
from sim.results.summary_models import RunSummary
from sim.scenario.overrides import with_overrides
from sim.teaching.knobs import Knob, changed_values, scenario_knobs
from sim.teaching.sizing import shortened_note

VIEWS = ("Diagram", "Replay", "Dashboard")
BUSY = 0.8  # above this, queueing delay climbs steeply: the bottleneck note turns into a warning


def knob_controls(knobs: list[Knob], key_prefix: str) -> dict[str, Any]:
    """The knobs in the sidebar, grouped by component; returns path -> chosen value."""
    values: dict[str, Any] = {}
    with st.sidebar:
        st.header("Knobs")
        group = ""
        for knob in knobs:
            heading = knob.component or "workload"
            if heading != group:
                st.subheader(heading)
                group = heading
            label = knob.label.removeprefix(f"{knob.component}: ")
            values[knob.path] = knob_widget(knob, f"{key_prefix}|knob|{knob.path}", label=label)
    return values


FEW_DEPARTURES = 1000  # below this many (±6% at 95%), a throughput is shown with its interval


def verdict(summary: RunSummary) -> None:
    """No verdict, or the overload: each overflowed station with offered load against capacity (the bottleneck's
    own sentence follows in its box)."""
    if summary.no_verdict:
        st.error(f"**No verdict.** {summary.no_verdict[len('no verdict: '):]}.", icon=":material/block:")
    if summary.stable is False:
        overflowed = ", ".join(summary.overflowed) or "the system"
        bottleneck = summary.bottleneck.component if summary.bottleneck else None
        details = "".join(f"\n- {entry.message}." for entry in summary.overload if entry.station != bottleneck)
        st.error(f"**Unstable: {overflowed} overflowed.** Requests arrive faster than it can serve them, so its "
                 "queue grows until it is full and then drops requests (see the queue-length chart)." + details,
                 icon=":material/error:")


def throughput_text(summary: RunSummary) -> str:
    """Throughput, with its 95% interval when the window holds few departures (a Poisson count)."""
    departures = summary.throughput_rps * summary.measured_s
    if departures >= FEW_DEPARTURES:
        return rate(summary.throughput_rps)
    return f"{rate(summary.throughput_rps)} ± {1.96 * math.sqrt(departures) / summary.measured_s:,.0f}"


def slo_value_text(metric: str, value: float | None) -> str:
    """An SLO's measured value in its own unit: a percentage, req/s or a latency."""
    if value is None:
        return "no value"
    if metric == "error_rate":
        return percent(value)
    return f"{rate(value)} req/s" if metric == "throughput" else milliseconds(value)


def objectives_and_cost(summary: RunSummary) -> None:
    """The scenario's SLOs, each passed or failed with its measured value, and what the setup costs per hour."""
    parts = []
    for objective in summary.slos:
        measured = slo_value_text(objective.metric, objective.value)
        verdict_text = ":green[pass]" if objective.passed else ":red[**fail**]"
        parts.append(f"SLO *{objective.slo}*: {verdict_text} (measured {measured})")
    if summary.cost_per_hour:
        parts.append(f"cost **{summary.cost_per_hour:,.2f}** per hour")
    if parts:
        st.markdown(" · ".join(parts))


def headline(summary: RunSummary) -> None:
    """Throughput, latency percentiles, error and drop rates, the verdict and the bottleneck."""
    verdict(summary)
    stopped_note(summary)
    for warning in summary.warnings or []:
        if summary.stopped is None or warning != summary.stopped.message:
            st.warning(warning)
    counts, latency = summary.requests, summary.latency_ms
    columns = st.columns(6)
    columns[0].metric("Throughput (req/s)", throughput_text(summary),
                      help="Successful requests that finished inside the measured window, per second (± a 95% "
                      "interval when only a few did).")
    columns[1].metric("p50", milliseconds(latency.p50))
    columns[2].metric("p95", milliseconds(latency.p95))
    columns[3].metric("p99", milliseconds(latency.p99))
    columns[4].metric("Error rate", percent(summary.error_rate), help="Requests that failed, were dropped or "
                      "timed out, or were unfinished at the end, out of those offered.")
    columns[5].metric("Drop rate", percent(counts.dropped / counts.offered if counts.offered else 0.0),
                      help="Requests turned away by a full queue.")
    if latency.mean is None and counts.unfinished:
        st.caption(f"No latency: none of the requests that arrived in the measured window finished; "
                   f"{counts.unfinished:,} were still queued when the run's drain ended.")
    objectives_and_cost(summary)
    bottleneck = summary.bottleneck
    if bottleneck:
        busiest = max((value for stats in summary.components.values()
                       if (value := viz.hottest_utilisation(stats)) is not None), default=0.0)
        show = st.error if summary.stable is False else st.warning if busiest >= BUSY else st.info
        show(f"**Bottleneck: {bottleneck.component}.** {bottleneck.reason}.",
             icon=":material/local_fire_department:")


def replay(scenario: sim.Scenario, summary: RunSummary, series: dict[str, Any]) -> float | None:
    """The diagram and every station over the run's time bins (play, or drag a slider), and which turned red
    first; returns that moment, for the time-series charts to mark."""
    st.plotly_chart(viz.replay_figure(scenario, summary, series), config=CHART_CONFIG, key="replay")
    st.plotly_chart(viz.station_replay_figure(series), config=CHART_CONFIG, key="station-replay")
    hot, station = viz.first_hot(series, list(scenario.components)), viz.first_hot_station(series)
    if hot is None or station is None:
        st.caption(f"No component's busiest station reached {viz.REPLAY_HOT:.0%} busy in any time bin.")
        return None
    st.caption(f"**{hot[1]}** turned red first, in the bin at {hot[0]:g} s (its station {station[1]} "
               f"{viz.REPLAY_HOT:.0%} busy or more); the utilisation and queue charts below mark the moment.")
    return hot[0]


def chosen_stations(scenario_name: str, stations: list[str]) -> list[str]:
    """Stations the learner asks to see as lines beside the busiest (only offered when some are banded)."""
    if len(stations) <= viz.BUSIEST_SHOWN + 1:
        return []
    return st.multiselect("Also draw these stations", stations, key=f"sandbox|stations|{scenario_name}",
                          help=f"The charts draw the {viz.BUSIEST_SHOWN} busiest stations and shade the range of "
                          "the others; pick any station to draw it as a line too.")


def charts(scenario: sim.Scenario, data: dict[str, Any], seed: int) -> Any:
    """The architecture diagram (or the monitoring dashboard), the time series and the latency distribution;
    returns the free chart slot."""
    summary, series = data["summary"], data["timeseries"]
    warmup_s = summary.warmup_s
    view = st.radio("View", VIEWS, horizontal=True, key="sandbox|view", help="The dashboard shows the run as "
                    "monitoring would: RED per service, USE per station, from Prometheus-style metrics.")
    first_red_s = None
    if view == "Dashboard":
        show_dashboard(scenario, seed)
    elif view == "Replay":
        first_red_s = replay(scenario, summary, series)
    else:
        st.plotly_chart(viz.architecture_figure(scenario, summary), config=CHART_CONFIG, key="architecture")
    left, right = st.columns(2)
    faults = scenario.faults  # shaded on every time-series chart
    left.plotly_chart(viz.mark_faults(viz.throughput_figure(series, warmup_s), faults), config=CHART_CONFIG,
                      key="throughput")
    right.plotly_chart(viz.mark_faults(viz.latency_percentiles_figure(series, warmup_s), faults),
                       config=CHART_CONFIG, key="percentiles")
    shown = chosen_stations(scenario.name, list(series["stations"]))
    for column, level in ((left, "utilisation"), (right, "queue_length")):
        chart = viz.mark_faults(viz.station_levels_figure(series, level, warmup_s, shown), faults)
        if first_red_s is not None:
            viz.mark_moment(chart, first_red_s, "first red")
        column.plotly_chart(chart, config=CHART_CONFIG, key=level.removesuffix("_length"))
    left.plotly_chart(viz.latency_distribution_figure(data["latencies_ms"]), config=CHART_CONFIG, key="distribution")
    broker_figures = [*viz.lag_figures(series, warmup_s), *viz.event_latency_figures(series, warmup_s),
                      *viz.instance_figures(series, warmup_s)]
    for index, chart in enumerate(broker_figures):  # a broker's lag and event latency, a function's instances
        (left, right)[index % 2].plotly_chart(chart, config=CHART_CONFIG, key=f"lag-{index}")
    return right


def theory_section(container: Any, rows: list[dict[str, Any]]) -> None:
    """Predicted beside simulated per component, with a note where they differ and why."""
    container.plotly_chart(viz.theory_figure(rows), config=CHART_CONFIG, key="theory")
    st.subheader("Theory beside simulation")
    table = readable_table(pd.DataFrame(rows).drop(columns=["note", "kind"]))  # the model names the kind
    number = st.column_config.NumberColumn
    st.dataframe(table, hide_index=True, column_config={
        "component": st.column_config.TextColumn("component", pinned=True),
        "utilisation_simulated": number("util sim", format="percent"),
        "utilisation_predicted": number("util twin", format="percent"),
        "response_simulated_ms": number("resp sim", format="%.2f", help="mean response, ms"),
        "response_predicted_ms": number("resp twin", format="%.2f", help="mean response the twin predicts, ms"),
        "response_difference": number("Δ resp", format="percent", help="simulated response against the twin's"),
        "wait_simulated_ms": number("wait sim", format="%.2f", help="mean queueing wait, ms"),
        "throughput_simulated_rps": number("req/s", format="%.1f", help="simulated throughput"),
        "capacity_simulated_rps": number("capacity", format="%.1f", help="requests per second it could serve"),
    })
    st.markdown("\n".join(f"- **{row['component']}**: {row['note']}" for row in rows))


def downloads(scenario: sim.Scenario, data: dict[str, Any], rows: list[dict[str, Any]], seed: int) -> None:
    """The current scenario as YAML, and the results as CSV."""
    scenario_json = scenario.model_dump_json()
    stem = scenario.name.replace(" ", "-")
    columns = st.columns(4)
    columns[0].download_button("Scenario (YAML)", scenario.to_yaml(), f"{stem}.yaml", "application/yaml")
    columns[1].download_button("Time series (CSV)", data["timeseries_csv"], f"{stem}-timeseries.csv", "text/csv")
    columns[2].download_button("Components vs theory (CSV)", pd.DataFrame(rows).to_csv(index=False),
                               f"{stem}-components.csv", "text/csv")
    columns[3].download_button("Per-request records (CSV)", lambda: request_records_csv(scenario_json, seed),
                               f"{stem}-requests.csv", "text/csv")


def load_text(scenario: sim.Scenario) -> str:
    """The load the workload offers, in words."""
    workload = scenario.workload
    if workload.rate_rps is not None:
        offered = workload.rate_rps
        shown = f"{offered:,.0f}" if offered == round(offered) else f"{offered:,.6g}"  # 75, 1,000,000, 70.5
        return f"Offered {shown} req/s" + (" (shaped by a profile)" if workload.profile else "")
    if workload.users is not None:
        return f"{workload.users:,} closed-loop users"
    return "Replayed trace"


def main() -> None:
    selection = current_selection()
    base = selection.scenario
    knobs = scenario_knobs(base)
    changes = changed_values(knobs, knob_controls(knobs, selection.scenario_id))
    try:
        scenario = with_overrides(base, changes)
    except sim.ScenarioError as error:
        st.error("These settings are not a valid scenario:\n\n```text\n"
                 + "\n".join(str(problem) for problem in error.problems) + "\n```")
        scenario = base
    st.title(f"Sandbox · {selection.source}")
    note = shortened_note(selection.base, scenario.duration_s)
    if note:
        st.info(note, icon=":material/timer:")
    data = simulate(scenario.model_dump_json(), selection.seed)
    summary = data["summary"]
    headline(summary)
    st.caption(f"{load_text(scenario)}: {summary.requests.offered:,} requests over "
               f"{summary.duration_s:g} simulated s "
               f"(seed {selection.seed}, first {summary.warmup_s:g} s discarded as warm-up); the engine took "
               f"**{summary.wall_time_s * 1000:.0f} ms**. Settings already seen come back from the cache.")
    right = charts(scenario, data, selection.seed)
    rows = theory_comparison(summary, scenario)
    theory_section(right, rows)
    downloads(scenario, data, rows, selection.seed)


main()
