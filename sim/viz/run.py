"""Figures of one run: throughput, latency percentiles and station levels over time; latency distributions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sim.viz.base import axis, figure, go, warmup_shapes

# --- time series --------------------------------------------------------------------------------------


def _lines(time_s: Sequence[float], series: Mapping[str, Sequence[float | None]],
           names: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"type": "scatter", "mode": "lines", "name": label, "x": list(time_s), "y": list(series[key])}
            for key, label in names.items()]


TIME_AXIS = axis("simulated time (s)")


def throughput_figure(timeseries: Mapping[str, Any], warmup_s: float | None = None) -> go.Figure:
    """Offered load against served throughput (and failures) per time bin."""
    traces = _lines(timeseries["time_s"], timeseries["requests"],
                    {"offered_rps": "offered", "throughput_rps": "served", "failed_rps": "failed or dropped"})
    return figure("Offered vs served throughput", traces, xaxis=TIME_AXIS,
                  yaxis=axis("requests / s", rangemode="tozero"), **warmup_shapes(warmup_s))


def latency_percentiles_figure(timeseries: Mapping[str, Any], warmup_s: float | None = None) -> go.Figure:
    """p50, p95 and p99 latency of the requests finishing in each time bin."""
    traces = _lines(timeseries["time_s"], timeseries["requests"], {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99"})
    return figure("Latency percentiles over time", traces, xaxis=TIME_AXIS,
                  yaxis=axis("latency (ms)", rangemode="tozero"), **warmup_shapes(warmup_s))


BUSIEST_SHOWN = 5  # stations drawn as lines; the rest become one band, so a sharded tier stays readable


def station_levels_figure(timeseries: Mapping[str, Any], level: str, warmup_s: float | None = None,
                          shown: Sequence[str] = ()) -> go.Figure:
    """``level`` (``utilisation`` or ``queue_length``) over simulated time: a line for each of the busiest
    stations (and each named in ``shown``), and the range of all the others as one shaded band."""
    stations = timeseries["stations"]
    lines = busiest_stations(stations, level, BUSIEST_SHOWN, warmup_s, timeseries["time_s"])
    lines += [name for name in shown if name in stations and name not in lines]
    levels = {name: values[level] for name, values in stations.items()}
    traces = _lines(timeseries["time_s"], levels, {name: name for name in lines})
    others = [name for name in stations if name not in lines]
    traces += _range_band(timeseries["time_s"], [levels[name] for name in others],
                          f"{len(others)} other stations (range)")
    if level == "utilisation":
        title, yaxis = "Utilisation per station", axis("busy fraction", tickformat=".0%", range=[0, 1.05])
    else:
        title, yaxis = "Queue length per station", axis("requests waiting", rangemode="tozero")
    return figure(title, traces, legend_rows=-(-(len(lines) + bool(others)) // 3), xaxis=TIME_AXIS, yaxis=yaxis,
                  **warmup_shapes(warmup_s))


def busiest_stations(stations: Mapping[str, Mapping[str, Sequence[float | None]]], level: str, count: int,
                     warmup_s: float | None, time_s: Sequence[float]) -> list[str]:
    """The ``count`` stations with the highest mean ``level`` after the warm-up, busiest first (all of them, in
    their own order, when there are at most ``count + 1``: a band of one station says less than its line)."""
    if len(stations) <= count + 1:
        return list(stations)
    measured = np.asarray(time_s, dtype=np.float64) >= (warmup_s or 0.0)

    def mean_level(name: str) -> float:
        values = np.asarray(stations[name][level], dtype=np.float64)[measured]
        return float(np.nanmean(values)) if values.size and not np.isnan(values).all() else 0.0

    return sorted(stations, key=mean_level, reverse=True)[:count]


def _range_band(time_s: Sequence[float], series: Sequence[Sequence[float | None]], label: str) -> list[dict[str, Any]]:
    """The lowest and highest of ``series`` in each time bin, the space between them shaded (nothing for none)."""
    if not series:
        return []
    values = np.asarray([[np.nan if value is None else value for value in values] for values in series],
                        dtype=np.float64)
    empty = np.isnan(values).all(axis=0)
    low = np.where(empty, np.nan, np.nanmin(np.where(np.isnan(values), np.inf, values), axis=0))
    high = np.where(empty, np.nan, np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=0))
    style = {"type": "scatter", "mode": "lines", "x": list(time_s), "line": {"width": 0, "color": "#999"},
             "legendgroup": "others"}
    return [{**style, "name": label, "y": low.tolist(), "showlegend": False, "hoverinfo": "skip"},
            {**style, "name": label, "y": high.tolist(), "fill": "tonexty", "fillcolor": "rgba(150,150,150,0.3)"}]


def lag_figures(timeseries: Mapping[str, Any], warmup_s: float | None = None) -> list[go.Figure]:
    """Per broker in the run: its consumer groups' lag and its backlog over time, then the lag per partition.

    Reads the ``components`` part of the time series (a kind's own series); empty when no component has one.
    """
    figures = []
    for name, series in timeseries.get("components", {}).items():
        groups = {key: f"{key.split(':', 1)[1]} lag" for key in series
                  if key.startswith("lag:") and ":partition-" not in key}
        if not groups:
            continue
        partitions = {key: key.split(":", 1)[1].replace(":", " ") for key in series
                      if key.startswith("lag:") and ":partition-" in key}
        figures.append(figure(f"{name}: consumer lag and backlog", _lines(
            timeseries["time_s"], series, {**groups, "backlog": "backlog (retained)"}),
            xaxis=TIME_AXIS, yaxis=axis("messages", rangemode="tozero"), **warmup_shapes(warmup_s)))
        figures.append(figure(f"{name}: lag per partition", _lines(timeseries["time_s"], series, partitions),
                              legend_rows=-(-len(partitions) // 4), xaxis=TIME_AXIS,
                              yaxis=axis("messages", rangemode="tozero"), **warmup_shapes(warmup_s)))
    return figures


def event_latency_figures(timeseries: Mapping[str, Any], warmup_s: float | None = None) -> list[go.Figure]:
    """Per broker in the run: each consumer group's event latency (publish to processed) p50, p95 and p99 of
    the messages finished in each time bin, beside its lag."""
    figures = []
    for name, series in timeseries.get("components", {}).items():
        lines = {key: f"{key.split(':', 1)[1]} {key.split('_')[1]}" for key in series if key.startswith("event_p")}
        if lines:
            figures.append(figure(f"{name}: event latency", _lines(timeseries["time_s"], series, lines),
                                  legend_rows=-(-len(lines) // 3), xaxis=TIME_AXIS,
                                  yaxis=axis("publish to processed (ms)", rangemode="tozero"),
                                  **warmup_shapes(warmup_s)))
    return figures


def instance_figures(timeseries: Mapping[str, Any], warmup_s: float | None = None) -> list[go.Figure]:
    """Per serverless function in the run: its warm instances (busy or idle), the busy ones and the cold starts
    per second over time. Reads the ``components`` part of the time series; empty when no component has one."""
    figures = []
    for name, series in timeseries.get("components", {}).items():
        if "warm_instances" not in series:
            continue
        lines = {"warm_instances": "warm instances", "busy_instances": "busy instances",
                 "cold_starts_per_s": "cold starts / s"}
        figures.append(figure(f"{name}: warm instances and cold starts", _lines(timeseries["time_s"], series, lines),
                              xaxis=TIME_AXIS, yaxis=axis("instances, cold starts / s", rangemode="tozero"),
                              **warmup_shapes(warmup_s)))
    return figures


# --- distributions -----------------------------------------------------------------------------------


def _percentile_markers(values: np.ndarray, upper: float) -> dict[str, Any]:
    """Dashed lines at p50, p95 and p99; labels closer than 6% of the axis share one label ("p95/p99")."""
    quantiles = ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))
    positions = [float(np.quantile(values, quantile)) for quantile, _label in quantiles]
    labels: list[tuple[float, str]] = []
    for x, (_quantile, name) in zip(positions, quantiles, strict=True):
        if labels and x - labels[-1][0] < 0.06 * upper:
            labels[-1] = (labels[-1][0], f"{labels[-1][1]}/{name}")
        else:
            labels.append((x, name))
    return {"shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                        "line": {"dash": "dash", "color": "#d62728"}} for x in positions],
            "annotations": [{"text": text, "xref": "x", "yref": "paper", "x": x, "y": 1, "showarrow": False,
                             "yanchor": "bottom"} for x, text in labels]}


def latency_distribution_figure(latencies_ms: np.ndarray, bins: int = 60) -> go.Figure:
    """Histogram of successful latencies (the slowest 0.1% folded into the last bar), with p50/p95/p99 marked."""
    values = np.asarray(latencies_ms, dtype=np.float64)
    if values.size == 0:
        return figure("Latency distribution", [], legend_rows=0, annotations=[
            {"text": "no request completed", "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}])
    upper = float(np.quantile(values, 0.999)) or float(values.max()) or 1.0
    counts, edges = np.histogram(np.minimum(values, upper), bins=bins, range=(0.0, upper))
    bars = {"type": "bar", "name": "share of requests", "marker": {"color": "#4c78a8"},
            "x": ((edges[:-1] + edges[1:]) / 2).tolist(), "y": (counts / values.size).tolist(),
            "width": np.diff(edges).tolist()}
    return figure("Latency distribution", [bars], legend_rows=0, xaxis=axis("latency (ms)"),
                  yaxis=axis("share of requests", tickformat=".1%"), **_percentile_markers(values, upper))


def compare_latency_figure(latencies_ms: Mapping[str, np.ndarray]) -> go.Figure:
    """Latency CDF of each named variant on one chart (quantiles up to p99.9), with the p99 level marked."""
    quantiles = np.linspace(0.0, 0.999, 400)
    traces = [{"type": "scatter", "mode": "lines", "name": name, "y": quantiles.tolist(),
               "x": np.quantile(np.asarray(values, dtype=np.float64), quantiles).tolist()}
              for name, values in latencies_ms.items() if len(values)]
    p99 = {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 0.99, "y1": 0.99,
           "line": {"dash": "dot", "color": "#555"}}
    return figure("Latency CDF by variant", traces, height=360, shapes=[p99],
                  xaxis=axis("latency (ms, log scale)", type="log"),
                  yaxis=axis("share of requests at most this slow", tickformat=".0%", range=[0, 1.0]))

