"""Capacity: sweep a knob to see the hockey stick, then find the cheapest setup that meets an SLO.

Both experiments run their replications one at a time in the app's worker pool, each within the app's budget
(``app_pages.shared.session_executor``), behind ``st.cache_data`` on plain arguments. The progress bar lives
inside the cached functions, so a cache hit replays it (finished and cleared) instead of pointing at an element
of an earlier run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import sim
from app_pages.monitoring import measured_controls
from app_pages.shared import APP_LIMITS, current_selection, session_executor
from sim import viz
from sim.experiments.planning import metric_column
from sim.experiments.studies import SIZE_FIELDS
from sim.model.slo import LATENCY_METRICS, Slo, parse_slo
from sim.scenario.scenario import scenario_from_json
from sim.teaching.knobs import Knob, scenario_knobs
from sim.teaching.sizing import duration_for_visits
from sim.twin.predict import predict, saturation_rate_rps

DEFAULT_SLO = "p99 < 200ms"
LOAD_RANGE = (0.1, 1.2)  # of the twin's capacity estimate: from idle to past the wall
SIZE_RANGE_TOP = 8
DEFAULT_POINTS, MAX_POINTS = 6, 12
DEFAULT_REPLICATIONS = 3
VISITS_PER_RUN = 6_000  # requests x components per replication: about 0.1 s of engine time
MIN_RUN_S = 2.0
Reporter = Callable[[int, int], None]


def sweepable(knob: Knob) -> bool:
    """Knobs with an order to sweep along: numbers, or ordered numeric options such as cache sizes."""
    if knob.kind in ("int", "float"):
        return True
    return knob.kind == "ordered" and all(isinstance(option, int | float) and not isinstance(option, bool)
                                          for option in knob.options)


def spread(values: list[Any], count: int) -> list[Any]:
    """At most ``count`` of ``values``, evenly spaced, keeping both ends."""
    if len(values) <= count:
        return values
    return [values[index] for index in sorted({int(i) for i in np.linspace(0, len(values) - 1, count).round()})]


def snap(value: float, knob: Knob) -> float:
    """A value on the knob's slider grid, inside its bounds."""
    step = float(knob.step or 1.0)
    low = float(knob.minimum if knob.minimum is not None else step)
    return round(max(low, round(value / step) * step), 9)


def range_controls(knob: Knob, scenario: sim.Scenario, key: str) -> tuple[list[Any], list[Any]]:
    """The range and point-count widgets for ``knob``; returns (swept values, every value in the range)."""
    left, right = st.columns([3, 1])
    if knob.kind == "float":
        capacity = saturation_rate_rps(scenario) or float(knob.value)
        low, high = (snap(share * capacity, knob) for share in LOAD_RANGE)
        top = max(float(knob.maximum or high), snap(2 * capacity, knob))
        chosen = left.slider("Range", float(knob.minimum or 0.0), top, (low, high), float(knob.step or 1.0),
                             key=f"{key}|range", help=f"The twin puts this setup's capacity near {capacity:,.0f} "
                             "req/s; the default range runs from 10% to 120% of it.")
        count = right.slider("Points", 2, MAX_POINTS, DEFAULT_POINTS, key=f"{key}|points")
        values = sorted({snap(value, knob) for value in np.linspace(chosen[0], chosen[1], count)})
        return values, values
    if knob.kind == "int":
        default = default_range(knob)
        chosen = left.slider("Range", default[0], int(knob.maximum or default[1]), (default[0], default[-1]), 1,
                             key=f"{key}|range")
        every = list(range(int(chosen[0]), int(chosen[1]) + 1))
    else:
        chosen = left.select_slider("Range", list(knob.options), (knob.options[0], knob.options[-1]),
                                    format_func=knob.format_option, key=f"{key}|range")
        every = [option for option in knob.options if chosen[0] <= option <= chosen[1]]
    count = right.slider("Points", 2, MAX_POINTS, max(2, min(len(every), SIZE_RANGE_TOP)), key=f"{key}|points")
    return spread(every, count), every


def default_range(knob: Knob) -> list[Any]:
    """Every value of a count's default range (its minimum to 8, or to twice its value), or every option."""
    if knob.kind != "int":
        return list(knob.options)
    high = int(min(knob.maximum or SIZE_RANGE_TOP, max(SIZE_RANGE_TOP, 2 * knob.value)))
    return list(range(int(knob.minimum or 0), high + 1))


def parse_objectives(text: str) -> list[Slo]:
    """Objectives separated by commas, semicolons or 'and'; raises ValueError saying what is wrong."""
    parts = [part.strip() for part in re.split(r"[;,]|\band\b", text) if part.strip()]
    if not parts:
        raise ValueError("write at least one objective, e.g. 'p99 < 200ms'")
    return [parse_slo(part) for part in parts]


def latency_objective(objectives: list[Slo]) -> Slo | None:
    """The objective drawn as a line on latency charts: the first upper bound on a latency percentile."""
    return next((slo for slo in objectives if slo.metric in LATENCY_METRICS and slo.comparison in ("<", "<=")), None)


def default_run_s(scenario: sim.Scenario) -> float:
    """Simulated seconds per replication that keep one run near ``VISITS_PER_RUN`` component visits."""
    return duration_for_visits(scenario, VISITS_PER_RUN, MIN_RUN_S)


def reporter(bar: Any, what: str) -> Reporter:
    def report(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{what}: {done} of {total} runs")
    return report


@st.cache_data(max_entries=32, show_spinner=False)
def sweep_data(scenario_json: str, path: str, values: tuple[Any, ...], replications: int, duration_s: float,
               seed: int) -> dict[str, Any]:
    """Sweep one field in the worker pool and keep the figure data (plain data, so it caches)."""
    bar = st.progress(0.0, text=f"Sweeping {len(values)} points…")
    started = time.perf_counter()
    result = sim.sweep(scenario_from_json(scenario_json), {path: list(values)}, executor=session_executor(),
                       limits=APP_LIMITS, duration_s=duration_s,
                       seeds=[seed + index for index in range(replications)], progress=reporter(bar, "Sweep"))
    bar.empty()
    return {"curve": result.latency_vs_load(path), "rows": result.rows,
            "scalability": result.scalability(path) if path.rsplit(".", 1)[-1] in SIZE_FIELDS else None,
            "unstable": [point["parameters"][path] for point in result.points() if not point["stable"]],
            "wall_time_s": time.perf_counter() - started}


@st.cache_data(max_entries=32, show_spinner=False)
def plan_data(scenario_json: str, objectives: tuple[str, ...], path: str, values: tuple[Any, ...],
              rate_rps: float | None, replications: int, duration_s: float, seed: int) -> dict[str, Any]:
    """The capacity search in the worker pool: the cheapest candidate meeting every objective, and the frontier."""
    bar = st.progress(0.0, text="Planning…")
    result = sim.plan(scenario_from_json(scenario_json), list(objectives), {path: list(values)}, rate_rps=rate_rps,
                      executor=session_executor(), limits=APP_LIMITS, duration_s=duration_s,
                      seeds=[seed + index for index in range(replications)],
                      progress=reporter(bar, "Plan (at most)"))
    bar.empty()
    return result.to_dict()


def default_buy_index(knobs: list[Knob], scenario: sim.Scenario) -> int:
    """Start from the busiest component's first capacity knob (by the twin), else any instances knob."""
    predictions = predict(scenario)
    busiest = max(predictions, key=lambda name: predictions[name].offered_utilisation or 0.0)
    for test in (lambda knob: knob.component == busiest, lambda knob: knob.path.endswith(".instances")):
        index = next((index for index, knob in enumerate(knobs) if test(knob)), None)
        if index is not None:
            return index
    return 0


def show_sweep(data: dict[str, Any], knob: Knob, objective: Slo | None, scenario: sim.Scenario, key: str,
               measured: dict[str, Any] | None = None) -> None:
    runs = len(data["rows"])
    log_y = st.toggle("Logarithmic latency axis", key=f"{key}|log")
    chart = viz.hockey_stick_figure(data["curve"], knob.label, objective.threshold if objective else None,
                                    f"SLO: {objective.text}" if objective else "SLO", data["unstable"], log_y)
    if measured is not None and knob.path == "workload.rate_rps":
        chart = viz.overlay_measured(chart, measured)
    elif measured is not None:
        st.info("Measured points are drawn against the arrival rate: choose it as the knob to sweep.")
    st.plotly_chart(chart, key="hockey-stick")
    st.caption(f"{runs} runs took {data['wall_time_s']:.1f} s. Bands are 95% intervals over the replications "
               "(none with one replication); the dashed line is the analytic twin's mean, which ends where it "
               "predicts the system cannot keep up.")
    if data["scalability"] is not None:
        offered = scenario.workload.rate_rps
        st.plotly_chart(viz.scalability_figure(data["scalability"], knob.label, offered), key="scalability")
        fit = data["scalability"]["series"][0]["fit"]
        if fit is not None:
            st.caption(viz.usl_note(fit) + ". σ is the share of work that serialises, κ the cost of keeping units "
                       "in step." + (" With an open workload, throughput stops at the offered load once there "
                                     "is enough capacity: that flat part is the demand, not contention."
                                     if offered is not None else ""))


def show_recommendation(plan: dict[str, Any], knob: Knob, objectives: list[Slo], target: str) -> None:
    best = plan["best"]
    if best is None:
        st.warning(f"No setup in the range meets {', '.join(plan['slos'])} at {target}: widen the range.")
    else:
        value = knob.format_option(best["parameters"][knob.path])
        st.success(f"**Recommended: {knob.label} = {value}**, ${best['cost_per_hour']:,.2f} per hour: the "
                   f"cheapest setup in the range whose mean over the replications meets "
                   f"{', '.join(plan['slos'])} at {target}.")
        columns = st.columns(2 + len(objectives))
        columns[0].metric(knob.label, value)
        columns[1].metric("Cost per hour", f"${best['cost_per_hour']:,.2f}")
        for column, slo in zip(columns[2:], objectives, strict=True):
            interval = best["intervals"].get(metric_column(slo.metric)) or {}
            column.metric(slo.text, interval_text(slo, interval), help="Mean over the replications ± the half-width "
                          "of its 95% interval.")
        if best["borderline"]:
            st.warning(f"Borderline: with {len(plan['seeds'])} replication(s), a 95% interval straddles an "
                       "objective. More replications (Run settings) would settle it.")
    counts = plan["counts"]
    reasons = [item["reason"] for item in plan["candidates"] if item["status"] == "pruned"]
    total = len(plan["candidates"])
    st.caption(f"{total} candidate{'s' if total != 1 else ''}: the twin pruned {counts['pruned']} without simulating"
               + (f" (e.g. {reasons[0]})" if reasons else "") + f", {counts['simulated']} were simulated on the "
               f"same seeds, {counts['skipped']} were skipped as pricier and not predicted faster.")


def interval_text(slo: Slo, interval: dict[str, Any]) -> str:
    mean, half_width = interval.get("mean"), interval.get("half_width")
    if mean is None:
        return "–"
    if slo.metric in LATENCY_METRICS or slo.metric == "mean_wait":
        return f"{mean:,.1f} ms" + (f" ± {half_width:,.1f}" if half_width is not None else "")  # one unit for both
    if slo.metric == "error_rate":
        return f"{100 * mean:.2f}%" + (f" ± {100 * half_width:.2f}" if half_width is not None else "")
    return f"{mean:,.1f} req/s" + (f" ± {half_width:,.1f}" if half_width is not None else "")


def candidates_table(plan: dict[str, Any], knob: Knob) -> pd.DataFrame:
    rows = []
    for item in plan["candidates"]:
        p99 = item["intervals"].get("latency_p99_ms") or {}
        rows.append({knob.label: knob.format_option(item["parameters"][knob.path]),
                     "cost ($/h)": item["cost_per_hour"], "status": item["status"],
                     "twin mean (ms)": item["predicted_latency_ms"], "p99 (ms)": p99.get("mean"),
                     "p99 ±": p99.get("half_width"), "meets SLO": item["meets_slo"], "why": item["reason"]})
    return pd.DataFrame(rows)


def show_plan(plan: dict[str, Any], knob: Knob, objectives: list[Slo], target: str) -> None:
    show_recommendation(plan, knob, objectives, target)
    objective = latency_objective(objectives)
    if any(item["cost_per_hour"] for item in plan["candidates"]):
        st.plotly_chart(viz.pareto_figure(plan["candidates"], plan["frontier"], plan["best"],
                                          objective.threshold if objective else None,
                                          f"SLO: {objective.text}" if objective else "SLO"), key="pareto")
    else:
        st.info("This scenario puts no prices on its components, so every setup costs $0 and the recommendation "
                "is the one with the least capacity. Add `price_per_instance_hour` (or node, GB, balancer prices) "
                "to a scenario file to see the cost/p99 frontier.")
    with st.expander("Every candidate"):
        st.dataframe(candidates_table(plan, knob), hide_index=True)


def controls(scenario: sim.Scenario, knobs: list[Knob], key: Callable[..., str]) -> dict[str, Any]:
    """Every input of the page: the swept knob and range, the objectives, the target load, the run settings."""
    labels = [knob.label for knob in knobs]
    knob = knobs[labels.index(st.selectbox("Knob to sweep", labels, key=key("knob")))]
    swept, every = range_controls(knob, scenario, key(knob.path))
    left, middle, right = st.columns(3)
    slo_text = left.text_input("SLO", ", ".join(scenario.slos) or DEFAULT_SLO, key=key("slo"),
                               help="Like `p99 < 200ms`; several with commas, e.g. `p99 < 200ms, error_rate < 1%`.")
    target_rps = None
    if scenario.workload.rate_rps is not None:
        target_rps = middle.number_input("Plan for a load of (req/s)", min_value=0.1,
                                         value=float(scenario.workload.rate_rps), key=key("target"))
    buyable = [item for item in knobs if item.component is not None]
    buy, buy_values = knob, every
    if knob.component is None and buyable:
        names = [item.label for item in buyable]
        buy = buyable[names.index(right.selectbox("Capacity to buy", names, index=default_buy_index(buyable, scenario),
                                                  key=key("buy")))]
        buy_values = default_range(buy)
    with st.expander("Run settings"):
        replications = st.slider("Replications (seeds) per point", 1, 5, DEFAULT_REPLICATIONS, key=key("replications"))
        duration_s = st.slider("Simulated seconds per run", 1.0, max(float(scenario.duration_s), MIN_RUN_S),
                               default_run_s(scenario), 1.0, key=key("duration"))
    return {"knob": knob, "values": swept, "slo_text": slo_text, "target_rps": target_rps, "buy": buy,
            "buy_values": buy_values, "replications": int(replications), "duration_s": float(duration_s)}


def main() -> None:
    selection = current_selection()
    scenario = selection.scenario
    st.title(f"Capacity · {selection.source}")
    st.caption("Sweep one knob to see where latency turns up (the hockey stick), then let the planner find the "
               "cheapest setup that meets your SLO: the analytic twin rules out hopeless setups before anything "
               "is simulated, and the rest run cheapest first on the same seeds.")
    knobs = [knob for knob in scenario_knobs(scenario) if sweepable(knob)]
    if not knobs:
        st.info("This scenario has no numeric knob to sweep.")
        return
    chosen = controls(scenario, knobs, lambda *parts: selection.key("capacity", *parts))
    knob, scenario_json = chosen["knob"], scenario.model_dump_json()
    try:
        objectives = parse_objectives(chosen["slo_text"])
    except ValueError as error:
        st.error(f"**That SLO cannot be read:** {error}.", icon=":material/error:")
        objectives = []
    runs = (chosen["replications"], chosen["duration_s"], selection.seed)
    st.subheader(f"Sweep: {knob.label}")
    try:
        sweep = sweep_data(scenario_json, knob.path, tuple(chosen["values"]), *runs)
    except (sim.ScenarioError, ValueError) as error:
        st.error(f"**These settings cannot be swept:** {error}", icon=":material/error:")
        return
    measured = measured_controls(selection.key("capacity"))
    show_sweep(sweep, knob, latency_objective(objectives), scenario, selection.key("capacity"), measured)
    st.download_button("Sweep rows (CSV)", pd.DataFrame(sweep["rows"]).to_csv(index=False), "sweep.csv", "text/csv")
    if not objectives:
        return
    buy, target_rps = chosen["buy"], chosen["target_rps"]
    target = f"{target_rps:,.6g} req/s" if target_rps is not None else "the scenario's load"
    st.subheader(f"Cheapest {buy.label} for {', '.join(slo.text for slo in objectives)} at {target}")
    try:
        plan = plan_data(scenario_json, tuple(slo.text for slo in objectives), buy.path,
                         tuple(chosen["buy_values"]), target_rps, *runs)
    except (sim.ScenarioError, ValueError) as error:
        st.error(f"**No plan for these settings:** {error}", icon=":material/error:")
        return
    show_plan(plan, buy, objectives, target)
    st.download_button("Plan (JSON)", json.dumps(plan, indent=2), "plan.json", "application/json")


main()
