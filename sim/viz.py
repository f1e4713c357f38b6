"""Plotly figure builders shared by the app and the notebooks: plain data in, a figure out.

Every builder takes the plain dicts a run produces (``result.summary``, ``result.timeseries()``), numpy arrays
of latencies, or the tidy rows of ``sim.validation``, and returns a ``plotly.graph_objects.Figure``. None of
them runs a simulation or knows about a user interface.

Example:
    >>> import sim  # doctest: +SKIP
    >>> result = sim.run(sim.load_scenario("scenarios/single-server.yaml"))  # doctest: +SKIP
    >>> throughput_figure(result.timeseries(), result.summary["warmup_s"]).show()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from sim.scenario import Scenario
from sim.specs import CacheSpec, DatabaseSpec, LoadBalancerSpec, ServiceSpec, downstream_names

UTILISATION_COLOURS = [[0.0, "#2ca02c"], [0.6, "#f2d43d"], [0.85, "#ff7f0e"], [1.0, "#d62728"]]
IDLE_COLOUR = "#b0b7c3"
BOTTLENECK_OUTLINE = "#7a0010"
CLIENTS = "clients"


def _figure(title: str, traces: list[dict[str, Any]], height: int = 320, legend_rows: int = 1,
            **layout: Any) -> go.Figure:
    """One figure from plain trace and layout dicts (five times faster than adding parts one call at a time).

    The legend sits along the bottom edge, below the axis title, with room for ``legend_rows`` rows. No named
    template: validating one costs ~40 ms per figure, and Streamlit applies its own theme anyway.
    """
    legend_px = 22 * legend_rows
    base: dict[str, Any] = {"title": {"text": title}, "height": height + legend_px,
                            "margin": {"l": 50, "r": 20, "t": 50, "b": 50 + legend_px},
                            "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"}}
    return go.Figure(data=traces, layout={**base, **layout})


def _warmup_shapes(warmup_s: float | None) -> dict[str, Any]:
    """Layout entries that shade the warm-up interval (discarded from the statistics)."""
    if not warmup_s:
        return {}
    return {"shapes": [{"type": "rect", "xref": "x", "yref": "paper", "x0": 0, "x1": warmup_s, "y0": 0, "y1": 1,
                        "fillcolor": "grey", "opacity": 0.12, "line": {"width": 0}, "layer": "below"}],
            "annotations": [{"text": "warm-up", "xref": "x", "yref": "paper", "x": 0, "y": 1, "showarrow": False,
                             "xanchor": "left", "yanchor": "bottom", "font": {"size": 10}}]}


def _axis(title: str, **options: Any) -> dict[str, Any]:
    return {"title": {"text": title}, **options}


# --- architecture -------------------------------------------------------------------------------------


def owner_of(station: str, components: Sequence[str]) -> str | None:
    """The component a station belongs to (``db/shard-3/replica-0`` -> ``db``)."""
    matches = [name for name in components if station == name or station.startswith(f"{name}/")]
    return max(matches, key=len) if matches else None


def hottest_utilisation(stats: Mapping[str, Any]) -> float | None:
    """A component's busiest station's utilisation (its own when it has one station; None without servers)."""
    stations = stats.get("stations") or {}
    values = [station["utilisation"] for station in stations.values() if station.get("utilisation") is not None]
    return max(values) if values else stats.get("utilisation")


def _depths(scenario: Scenario, edges: list[tuple[str, str]]) -> dict[str, int]:
    """Column of each component: one more than its deepest caller (the wiring has no cycles)."""
    depth = dict.fromkeys(scenario.components, 1)
    for _round in scenario.components:
        for caller, callee in edges:
            depth[callee] = max(depth[callee], depth[caller] + 1)
    return depth


def _positions(scenario: Scenario, edges: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    columns: dict[int, list[str]] = {}
    for name, depth in _depths(scenario, edges).items():
        columns.setdefault(depth, []).append(name)
    positions = {CLIENTS: (0.0, 0.0)}
    for depth, names in columns.items():
        for index, name in enumerate(names):
            positions[name] = (float(depth), (len(names) - 1) / 2 - index)
    return positions


def _describe_component(name: str, scenario: Scenario, stats: Mapping[str, Any]) -> str:
    spec = scenario.components[name]
    if isinstance(spec, ServiceSpec):
        shape = f"{spec.instances}×{spec.workers} workers"
    elif isinstance(spec, LoadBalancerSpec):
        shape = spec.policy.replace("_", " ")
    elif isinstance(spec, CacheSpec):
        hit = stats.get("hit_ratio")
        shape = f"{spec.capacity_keys:,} keys" + (f", hit {hit:.0%}" if hit is not None else "")
    elif isinstance(spec, DatabaseSpec):
        shape = f"{spec.shards} shard(s) × {1 + spec.replicas} node(s) × {spec.pool_size} conn"
    else:
        shape = f"{stats.get('servers', 0)} server(s)"
    if not stats.get("arrival_rate_rps"):
        return f"<b>{name}</b> ({spec.kind})<br>{shape}<br>no traffic"
    hottest = hottest_utilisation(stats)
    busy = "" if hottest is None else f"<br>{hottest:.0%} busy"
    queue = f" · queue {stats.get('mean_queue_length', 0.0):.1f}" if stats.get("servers") else ""
    return f"<b>{name}</b> ({spec.kind})<br>{shape}{busy}{queue}"


def _edge_annotations(positions: Mapping[str, tuple[float, float]], edges: list[tuple[str, str]],
                      components: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An arrow along each edge, and the request rate arriving at its callee at the middle."""
    annotations = []
    for caller, callee in edges:
        (x0, y0), (x1, y1) = positions[caller], positions[callee]
        annotations.append({"x": x1 - 0.16, "y": y0 + (y1 - y0) * 0.84, "ax": x0 + 0.16, "ay": y0 + (y1 - y0) * 0.16,
                            "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 3,
                            "arrowwidth": 1.5, "arrowcolor": "#555", "text": ""})
        annotations.append({"x": (x0 + x1) / 2, "y": (y0 + y1) / 2, "yshift": 10, "showarrow": False,
                            "text": f"{components[callee]['arrival_rate_rps']:,.0f} req/s",
                            "font": {"size": 11, "color": "#555"}})
    return annotations


def _node_labels(scenario: Scenario, summary: Mapping[str, Any], hot: str | None) -> list[str]:
    components = summary["components"]
    overflowed = {owner_of(station, list(components)) for station in summary.get("overflowed", [])}
    labels = []
    for name in scenario.components:
        label = _describe_component(name, scenario, components[name])
        if name in overflowed:
            label += "<br><b>OVERFLOWED</b>"
        if name == hot:
            label += f"<br><b>bottleneck: {summary['bottleneck']['component']}</b>"
        labels.append(label)
    return labels


def architecture_figure(scenario: Scenario, summary: Mapping[str, Any]) -> go.Figure:
    """Components as nodes coloured by their busiest station's utilisation, wired by arrows; the bottleneck ringed.

    Args:
        scenario: The scenario that was run (its wiring draws the edges).
        summary: ``result.summary`` of that run.
    """
    wiring = [(name, target) for name, spec in scenario.components.items() for _field, target in downstream_names(spec)]
    entries = sorted({scenario.workload.entry, *(item.entry for item in scenario.workload.classes if item.entry)})
    positions = _positions(scenario, wiring)
    edges = [(CLIENTS, entry) for entry in entries] + wiring
    components = summary["components"]
    bottleneck = summary.get("bottleneck") or {}
    hot = owner_of(bottleneck.get("component", ""), list(components)) if bottleneck else None
    names = list(scenario.components)
    values = [hottest_utilisation(components[name]) for name in names]
    labels = _node_labels(scenario, summary, hot)
    offered = summary["requests"]["offered"] / max(summary["duration_s"] - summary["warmup_s"], 1e-9)
    traces = [
        {"type": "scatter", "name": "wiring", "mode": "lines", "hoverinfo": "skip", "showlegend": False,
         "line": {"color": "#999", "width": 2},
         "x": [value for caller, callee in edges for value in (positions[caller][0], positions[callee][0], None)],
         "y": [value for caller, callee in edges for value in (positions[caller][1], positions[callee][1], None)]},
        {"type": "scatter", "name": "components", "mode": "markers+text", "showlegend": False, "customdata": names,
         "x": [positions[name][0] for name in names], "y": [positions[name][1] for name in names],
         "text": labels, "hovertext": labels, "hoverinfo": "text", "textposition": "bottom center",
         "marker": {"size": [58 if name == hot else 44 for name in names], "symbol": "square",
                    "color": [IDLE_COLOUR if value is None else value for value in values],
                    "colorscale": UTILISATION_COLOURS, "cmin": 0.0, "cmax": 1.0,
                    "colorbar": {"title": {"text": "busy"}, "tickformat": ".0%", "len": 0.8},
                    "line": {"color": [BOTTLENECK_OUTLINE if name == hot else "#333" for name in names],
                             "width": [5 if name == hot else 1 for name in names]}}},
        {"type": "scatter", "name": CLIENTS, "mode": "markers+text", "showlegend": False, "hoverinfo": "text",
         "x": [0.0], "y": [0.0], "text": [f"<b>clients</b><br>{offered:,.0f} req/s"], "textposition": "bottom center",
         "marker": {"size": 30, "symbol": "circle", "color": "#4c78a8"}},
    ]
    columns = [x for x, _y in positions.values()]
    rows = max(columns.count(column) for column in set(columns))
    return _figure("Architecture (colour: busiest station's utilisation)", traces, height=200 + 120 * rows,
                   legend_rows=0, annotations=_edge_annotations(positions, edges, components),
                   xaxis={"visible": False, "range": [-0.5, max(columns) + 0.6]},
                   yaxis={"visible": False, "range": [-(rows - 1) / 2 - 0.9, (rows - 1) / 2 + 0.5]})


# --- time series --------------------------------------------------------------------------------------


def _lines(time_s: Sequence[float], series: Mapping[str, Sequence[float | None]],
           names: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"type": "scatter", "mode": "lines", "name": label, "x": list(time_s), "y": list(series[key])}
            for key, label in names.items()]


TIME_AXIS = _axis("simulated time (s)")


def throughput_figure(timeseries: Mapping[str, Any], warmup_s: float | None = None) -> go.Figure:
    """Offered load against served throughput (and failures) per time bin."""
    traces = _lines(timeseries["time_s"], timeseries["requests"],
                    {"offered_rps": "offered", "throughput_rps": "served", "failed_rps": "failed or dropped"})
    return _figure("Offered vs served throughput", traces, xaxis=TIME_AXIS,
                   yaxis=_axis("requests / s", rangemode="tozero"), **_warmup_shapes(warmup_s))


def latency_percentiles_figure(timeseries: Mapping[str, Any], warmup_s: float | None = None) -> go.Figure:
    """p50, p95 and p99 latency of the requests finishing in each time bin."""
    traces = _lines(timeseries["time_s"], timeseries["requests"], {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99"})
    return _figure("Latency percentiles over time", traces, xaxis=TIME_AXIS,
                   yaxis=_axis("latency (ms)", rangemode="tozero"), **_warmup_shapes(warmup_s))


def station_levels_figure(timeseries: Mapping[str, Any], level: str, warmup_s: float | None = None) -> go.Figure:
    """One line per station of ``level`` (``utilisation`` or ``queue_length``) over simulated time."""
    stations = timeseries["stations"]
    traces = _lines(timeseries["time_s"], {name: values[level] for name, values in stations.items()},
                    {name: name for name in stations})
    if level == "utilisation":
        title, yaxis = "Utilisation per station", _axis("busy fraction", tickformat=".0%", range=[0, 1.05])
    else:
        title, yaxis = "Queue length per station", _axis("requests waiting", rangemode="tozero")
    return _figure(title, traces, legend_rows=-(-len(stations) // 3), xaxis=TIME_AXIS, yaxis=yaxis,
                   **_warmup_shapes(warmup_s))


# --- distributions -----------------------------------------------------------------------------------


def _percentile_markers(values: np.ndarray) -> dict[str, Any]:
    quantiles = ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))
    positions = [float(np.quantile(values, quantile)) for quantile, _label in quantiles]
    return {"shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                        "line": {"dash": "dash", "color": "#d62728"}} for x in positions],
            "annotations": [{"text": label, "xref": "x", "yref": "paper", "x": x, "y": 1, "showarrow": False,
                             "yanchor": "bottom"} for x, (_quantile, label) in zip(positions, quantiles, strict=True)]}


def latency_distribution_figure(latencies_ms: np.ndarray, bins: int = 60) -> go.Figure:
    """Histogram of successful latencies (the slowest 0.1% folded into the last bar), with p50/p95/p99 marked."""
    values = np.asarray(latencies_ms, dtype=np.float64)
    if values.size == 0:
        return _figure("Latency distribution", [], legend_rows=0, annotations=[
            {"text": "no request completed", "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}])
    upper = float(np.quantile(values, 0.999)) or float(values.max()) or 1.0
    counts, edges = np.histogram(np.minimum(values, upper), bins=bins, range=(0.0, upper))
    bars = {"type": "bar", "name": "share of requests", "marker": {"color": "#4c78a8"},
            "x": ((edges[:-1] + edges[1:]) / 2).tolist(), "y": (counts / values.size).tolist(),
            "width": np.diff(edges).tolist()}
    return _figure("Latency distribution", [bars], legend_rows=0, xaxis=_axis("latency (ms)"),
                   yaxis=_axis("share of requests", tickformat=".1%"), **_percentile_markers(values))


def compare_latency_figure(latencies_ms: Mapping[str, np.ndarray]) -> go.Figure:
    """Latency CDF of each named variant on one chart (quantiles up to p99.9), with the p99 level marked."""
    quantiles = np.linspace(0.0, 0.999, 400)
    traces = [{"type": "scatter", "mode": "lines", "name": name, "y": quantiles.tolist(),
               "x": np.quantile(np.asarray(values, dtype=np.float64), quantiles).tolist()}
              for name, values in latencies_ms.items() if len(values)]
    p99 = {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 0.99, "y1": 0.99,
           "line": {"dash": "dot", "color": "#555"}}
    return _figure("Latency CDF by variant", traces, height=360, shapes=[p99],
                   xaxis=_axis("latency (ms, log scale)", type="log"),
                   yaxis=_axis("share of requests at most this slow", tickformat=".0%", range=[0, 1.0]))


# --- theory and validation ---------------------------------------------------------------------------


def theory_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Simulated and predicted utilisation and mean response per component (rows of ``theory_comparison``)."""
    names = [row["component"] for row in rows]
    traces = []
    for axis, metric in (("", "utilisation"), ("2", "response")):
        suffix = "" if metric == "utilisation" else "_ms"
        for source, colour in (("simulated", "#4c78a8"), ("predicted", "#f58518")):
            traces.append({"type": "bar", "name": source, "x": names, "marker": {"color": colour},
                           "y": [row[f"{metric}_{source}{suffix}"] for row in rows], "showlegend": not axis,
                           "legendgroup": source, "xaxis": f"x{axis}", "yaxis": f"y{axis}"})
    return _figure("Theory beside simulation", traces, height=340,
                   xaxis={"domain": [0.0, 0.44]}, xaxis2={"domain": [0.56, 1.0], "anchor": "y2"},
                   yaxis=_axis("utilisation", tickformat=".0%"), yaxis2={**_axis("mean response (ms)"), "anchor": "x2"})


def validation_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Simulated / predicted for each case and metric, with 95% confidence intervals; 1 means exact agreement."""
    points = {"type": "scatter", "mode": "markers", "name": "simulated ÷ predicted",
              "x": [f"{row['case']}<br>{row['metric'].replace('_', ' ')}" for row in rows],
              "y": [row["simulated"] / row["predicted"] for row in rows],
              "error_y": {"type": "data", "visible": True,
                          "array": [row["half_width"] / row["predicted"] for row in rows]},
              "marker": {"size": 11, "color": ["#2ca02c" if row["within_ci"] else "#d62728" for row in rows]}}
    theory_line = {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 1, "y1": 1,
                   "line": {"dash": "dash", "color": "#555"}}
    return _figure("Simulated ÷ predicted, with 95% confidence intervals", [points], height=400, legend_rows=0,
                   shapes=[theory_line], yaxis=_axis("ratio (1 = theory)"))


def variants_figure(table: Any, column: str) -> go.Figure:
    """One bar per variant for one column of a lesson's results table (``sim.lesson_views.results_table``)."""
    values = [None if value is None else float(value) for value in table[column].tolist()]
    bars = {"type": "bar", "x": [str(label) for label in table.index], "y": values, "marker": {"color": "#4c78a8"},
            "text": [f"{value:.3g}" if value is not None else "" for value in values], "textposition": "outside"}
    return _figure(column, [bars], height=320, legend_rows=0, yaxis=_axis(column, rangemode="tozero"))
