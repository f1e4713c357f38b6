"""Figures of experiments: the hockey stick (latency against a knob), throughput against size with the Universal
Scalability Law, and the cost/p99 frontier of a capacity plan.

They draw the plain data of ``SweepResult.latency_vs_load()``, ``SweepResult.scalability()`` and
``PlanResult.to_dict()``: intervals as ``{"mean", "half_width", "low", "high", ...}`` dicts (``low``/``high``
are None when one replication gives no interval).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.viz.base import BLUE, GREY, ORANGE, RED, axis, band, figure, go, level_line

SERIES_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "star")
HEADROOM = 1.5  # with an unstable point off scale, the latency axis reaches this far above the highest steady p99
PINNED = 0.96  # off-scale points sit just below the top edge
Interval = Mapping[str, Any] | None


def parameter_label(path: str) -> str:
    """A field path as a short label: ``components.api.instances`` -> ``api: instances``."""
    parts = path.split(".")
    if parts[0] == "components" and len(parts) >= 3:
        return f"{parts[1]}: {' '.join(parts[2:]).replace('_', ' ')}"
    return parts[-1].replace("_", " ")


def _suffix(parameters: Mapping[str, Any]) -> str:
    """Which series a trace belongs to, when a sweep varied more than one field."""
    return "".join(f" ({parameter_label(path)} = {value})" for path, value in parameters.items())


def _means(intervals: Sequence[Interval]) -> list[float | None]:
    return [None if interval is None else interval["mean"] for interval in intervals]


def _ends(intervals: Sequence[Interval], end: str) -> list[float | None]:
    return [None if interval is None else interval.get(end) for interval in intervals]


def _error_bars(intervals: Sequence[Interval]) -> dict[str, Any]:
    """95% error bars, the lower arm stopped at zero (few replications can give an interval reaching below it)."""
    half_widths = [(interval or {}).get("half_width") or 0.0 for interval in intervals]
    means = [(interval or {}).get("mean") or 0.0 for interval in intervals]
    lower = [min(half_width, max(mean, 0.0)) for half_width, mean in zip(half_widths, means, strict=True)]
    return {"type": "data", "visible": True, "array": half_widths, "arrayminus": lower}


def _measured(name: str, xs: Sequence[Any], intervals: Sequence[Interval], colour: str, symbol: str,
              dash: str = "solid", unstable: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """A simulated metric's line with markers, over its shaded 95% band where the replications give one.

    The band skips unstable points: there the spread only says how long each run let the queue grow.
    """
    line = {"type": "scatter", "mode": "lines+markers", "name": name, "x": list(xs), "y": _means(intervals),
            "line": {"color": colour, "dash": dash}, "marker": {"symbol": symbol, "size": 8}, "legendgroup": name}
    steady = [(x, interval) for x, interval in zip(xs, intervals, strict=True) if x not in unstable]
    shaded = band(f"{name}: 95% CI", [x for x, _interval in steady], _ends([item for _x, item in steady], "low"),
                  _ends([item for _x, item in steady], "high"), colour)
    return [line] if shaded is None else [{**shaded, "legendgroup": name}, line]


def _latency_series(series: Mapping[str, Any], index: int, unstable: Sequence[Any]) -> dict[str, Any]:
    """One series of the hockey stick: its traces, its unstable points, its on-scale values and its x values."""
    suffix, symbol = _suffix(series["parameters"]), SERIES_SYMBOLS[index % len(SERIES_SYMBOLS)]
    points, theory = series["points"], series["theory_curve"]
    xs = [point["x"] for point in points]
    p99 = [point["latency_p99_ms"] for point in points]
    traces = _measured(f"p99 (simulated){suffix}", xs, p99, BLUE, symbol, unstable=unstable)
    traces += _measured(f"mean (simulated){suffix}", xs, [point["latency_mean_ms"] for point in points],
                        ORANGE, symbol, "dot", unstable)
    traces.append({"type": "scatter", "mode": "lines", "name": f"mean (twin){suffix}", "connectgaps": False,
                   "x": [item["x"] for item in theory], "y": [item["mean_latency_ms"] for item in theory],
                   "line": {"color": GREY, "dash": "dash"}})
    means = _means(p99)
    return {"traces": traces, "x": xs + [item["x"] for item in theory],
            "unstable": [(x, value) for x, value in zip(xs, means, strict=True) if x in unstable and value is not None],
            "steady": [value for x, value in zip(xs, means, strict=True) if x not in unstable and value is not None]}


def _unstable_trace(points: Sequence[tuple[Any, float]], ceiling: float | None) -> dict[str, Any]:
    """Crosses at unstable points; above ``ceiling`` they sit on the chart's top edge, labelled with their value."""
    clipped = ceiling is not None and any(value > ceiling for _x, value in points)
    return {"type": "scatter", "mode": "markers+text" if clipped else "markers", "name": "unstable: a queue overflowed",
            "x": [x for x, _value in points],
            "y": [min(value, PINNED * ceiling) if ceiling is not None else value for _x, value in points],
            "text": [f"{value:,.0f} ms ↑" if ceiling is not None and value > ceiling else "" for _x, value in points],
            "textposition": "bottom center", "marker": {"symbol": "x", "size": 13, "color": RED}}


def hockey_stick_figure(curve: Mapping[str, Any], x_label: str | None = None, slo_ms: float | None = None,
                        slo_label: str = "SLO", unstable: Sequence[Any] = (), log_y: bool = False) -> go.Figure:
    """Latency against the swept field: simulated p99 and mean with 95% bands, the twin's mean, the SLO line.

    On a linear axis, an unstable point far above everything else (its latency only measures how long the run
    let the queue grow) is pinned to the top edge with its value written beside it, so the knee stays visible.

    Args:
        curve: ``SweepResult.latency_vs_load(x)``: one series per combination of the other varied fields.
        x_label: The x axis title (default: from the field path).
        slo_ms: A latency objective's threshold, drawn as a horizontal line.
        slo_label: The objective as written, for the legend.
        unstable: Values of x where a queue overflowed; their points are marked.
        log_y: A logarithmic latency axis instead.
    """
    parts = [_latency_series(series, index, unstable) for index, series in enumerate(curve["series"])]
    traces = [trace for part in parts for trace in part["traces"]]
    marked = [point for part in parts for point in part["unstable"]]
    steady = [value for part in parts for value in part["steady"]] + ([slo_ms] if slo_ms is not None else [])
    if slo_ms is not None:
        traces.append(level_line(slo_label, [x for part in parts for x in part["x"]], slo_ms))
    ceiling = HEADROOM * max(steady) if steady and not log_y else None
    if ceiling is not None and not any(value > ceiling for _x, value in marked):
        ceiling = None
    if marked:
        traces.append(_unstable_trace(marked, ceiling))
    label = x_label or parameter_label(curve["x"])
    if log_y:
        yaxis = axis("latency (ms, log scale)", type="log")
    else:
        yaxis = axis("latency (ms)", **({"range": [0, ceiling]} if ceiling is not None else {"rangemode": "tozero"}))
    return figure(f"Latency vs {label}", traces, height=380, legend_rows=2, xaxis=axis(label), yaxis=yaxis)


def usl_note(fit: Mapping[str, Any]) -> str:
    """The fitted law in words: contention, coherency and where throughput peaks."""
    peak = fit.get("peak_units")
    where = f"peaks near {peak:.3g}" if peak is not None else "never peaks"
    return (f"USL: σ (contention) = {fit['contention']:.3g}, κ (coherency) = {fit['coherency']:.3g}, "
            f"λ = {fit['unit_throughput_rps']:,.3g} req/s per unit; {where}; R² = {fit['r_squared']:.2f}")


def scalability_figure(data: Mapping[str, Any], x_label: str | None = None,
                       offered_rps: float | None = None) -> go.Figure:
    """Throughput (with 95% error bars) against a size, the fitted USL curve, linear scaling, the offered load.

    Args:
        data: ``SweepResult.scalability(x)``: per series the measured points, the fit and its curve.
        x_label: The x axis title (default: from the field path).
        offered_rps: An open workload's arrival rate: throughput cannot exceed it, whatever the size.
    """
    column = data["column"]
    traces: list[dict[str, Any]] = []
    notes: list[str] = []
    sizes: list[Any] = []
    for index, series in enumerate(data["series"]):
        suffix, symbol = _suffix(series["parameters"]), SERIES_SYMBOLS[index % len(SERIES_SYMBOLS)]
        intervals = [point[column] for point in series["points"]]
        xs = [point["x"] for point in series["points"]]
        sizes += xs
        traces.append({"type": "scatter", "mode": "markers", "name": f"throughput (simulated){suffix}",
                       "x": xs, "y": _means(intervals), "marker": {"symbol": symbol, "size": 9, "color": BLUE},
                       "error_y": _error_bars(intervals)})
        fit = series["fit"]
        if fit is None:
            continue
        units = [item["units"] for item in series["curve"]]
        traces.append({"type": "scatter", "mode": "lines", "name": f"USL fit{suffix}", "x": units,
                       "y": [item["throughput_rps"] for item in series["curve"]], "line": {"color": ORANGE}})
        traces.append({"type": "scatter", "mode": "lines", "name": f"linear scaling{suffix}", "x": units,
                       "y": [fit["unit_throughput_rps"] * size for size in units],
                       "line": {"color": GREY, "dash": "dot", "width": 1}})
        notes.append(usl_note(fit) + suffix)
    if offered_rps is not None:
        traces.append(level_line("offered load", sizes, offered_rps, colour=RED, dash="dash"))
    label = x_label or parameter_label(data["x"])
    text = {"text": "<br>".join(notes), "xref": "paper", "yref": "paper", "x": 0.01, "y": 0.99, "showarrow": False,
            "align": "left", "xanchor": "left", "yanchor": "top", "font": {"size": 11}}
    return figure(f"Throughput vs {label}, with the Universal Scalability Law", traces, height=380, legend_rows=1,
                  annotations=[text] if notes else [], xaxis=axis(label),
                  yaxis=axis("throughput (req/s)", rangemode="tozero"))


def _candidate_label(candidate: Mapping[str, Any]) -> str:
    return ", ".join(f"{parameter_label(path)} = {value}" for path, value in candidate["parameters"].items())


def _candidate_trace(name: str, candidates: Sequence[Mapping[str, Any]], column: str,
                     marker: dict[str, Any], mode: str = "markers") -> dict[str, Any]:
    intervals = [candidate["intervals"].get(column) for candidate in candidates]
    return {"type": "scatter", "mode": mode, "name": name, "marker": marker,
            "x": [candidate["cost_per_hour"] for candidate in candidates], "y": _means(intervals),
            "text": [_candidate_label(candidate) for candidate in candidates],
            "hovertemplate": "%{text}<br>$%{x:,.2f} per hour<br>%{y:,.1f} ms<extra>" + name + "</extra>",
            "error_y": {**_error_bars(intervals), "thickness": 1}}


def pareto_figure(candidates: Sequence[Mapping[str, Any]], frontier: Sequence[Mapping[str, Any]],
                  best: Mapping[str, Any] | None = None, slo_ms: float | None = None, slo_label: str = "SLO",
                  column: str = "latency_p99_ms") -> go.Figure:
    """Cost per hour against latency for every simulated candidate of a plan, its Pareto frontier and the answer.

    Args:
        candidates: ``PlanResult.to_dict()["candidates"]`` (pruned and skipped ones have no measurement).
        frontier: ``PlanResult.to_dict()["frontier"]``: stable candidates no other beats on both axes.
        best: The recommended candidate, if any met the objectives.
        slo_ms, slo_label: A latency objective, drawn as a horizontal line.
        column: The latency column on the y axis.
    """
    measured = [item for item in candidates if item["status"] == "simulated" and item["intervals"].get(column)]
    stable = [item for item in measured if item["stable"]]
    traces = [_candidate_trace("simulated", stable, column, {"size": 9, "color": BLUE})]
    unstable = [item for item in measured if not item["stable"]]
    if unstable:
        traces.append(_candidate_trace("unstable", unstable, column, {"size": 11, "color": RED, "symbol": "x"}))
    ordered = sorted(frontier, key=lambda item: item["cost_per_hour"])
    traces.append({**_candidate_trace("Pareto frontier", ordered, column, {"size": 9, "color": ORANGE},
                                      "lines+markers"), "line": {"shape": "hv", "color": ORANGE}})
    if best is not None:
        traces.append(_candidate_trace("recommended", [best], column,
                                       {"size": 18, "color": "#2ca02c", "symbol": "star"}))
    if slo_ms is not None:
        traces.append(level_line(slo_label, [item["cost_per_hour"] for item in measured], slo_ms))
    metric = column.removeprefix("latency_").removesuffix("_ms")
    return figure(f"Cost vs {metric}: the Pareto frontier", traces, height=360, legend_rows=1,
                  xaxis=axis("cost ($ per hour)", rangemode="tozero"),
                  yaxis=axis(f"{metric} latency (ms)", rangemode="tozero"))
