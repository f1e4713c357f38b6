"""Every station replayed: per time bin, a bar of each station's utilisation (coloured as the diagram) and a bar of
its queue, played with the diagram's controls; and the moment the first station turned red, marked on a chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.viz.architecture import UTILISATION_COLOURS
from sim.viz.base import RED, figure, go
from sim.viz.replay import HOT, replay_controls
from sim.viz.run import busiest_stations

STATIONS_SHOWN = 40  # beyond this many, the busiest (by mean utilisation) are drawn and the title says so
ROW_PX = 22


def first_hot_station(timeseries: Mapping[str, Any], threshold: float = HOT) -> tuple[float, str] | None:
    """The first time bin in which a station reaches ``threshold`` utilisation, and that station (the busiest
    when several reach it in the same bin); None when none ever does."""
    stations = timeseries["stations"]
    for index, time_s in enumerate(timeseries["time_s"]):
        hot = {name: value for name, values in stations.items()
               if (value := values["utilisation"][index]) is not None and value >= threshold}
        if hot:
            return float(time_s), max(hot, key=hot.__getitem__)
    return None


def _bars(names: Sequence[str], stations: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
    busy = [stations[name]["utilisation"][index] for name in names]
    waiting = [stations[name]["queue_length"][index] or 0.0 for name in names]
    shown = [0.0 if value is None else value for value in busy]
    return [
        {"type": "bar", "orientation": "h", "name": "utilisation", "y": list(names), "x": shown,
         "marker": {"color": shown, "colorscale": UTILISATION_COLOURS, "cmin": 0.0, "cmax": 1.0},
         "text": [f"{value:.0%}" for value in shown], "textposition": "inside", "xaxis": "x",
         "hovertemplate": "%{y}: %{x:.0%} busy<extra></extra>"},
        {"type": "bar", "orientation": "h", "name": "queue", "y": list(names), "x": waiting, "xaxis": "x2",
         "marker": {"color": "#888"}, "hovertemplate": "%{y}: %{x:,.1f} waiting<extra></extra>"},
    ]


def station_replay_figure(timeseries: Mapping[str, Any], limit: int = STATIONS_SHOWN) -> go.Figure:
    """Each station's utilisation and queue per time bin, one animation frame per bin.

    Args:
        timeseries: ``result.timeseries()`` of a run.
        limit: At most this many stations, the busiest on average, in the scenario's order.
    """
    stations = timeseries["stations"]
    names = list(stations)
    if len(names) > limit:
        kept = set(busiest_stations(stations, "utilisation", limit, None, timeseries["time_s"]))
        names = [name for name in names if name in kept]
    names = names[::-1]  # the first station at the top
    times_s = [float(value) for value in timeseries["time_s"]]
    frame_names = [f"bin-{index}" for index in range(len(times_s))]
    most_waiting = max((value or 0.0 for name in names for value in stations[name]["queue_length"]), default=0.0)
    more = f" (the {len(names)} busiest of {len(stations)})" if len(names) < len(stations) else ""
    result = figure(f"Stations at {times_s[0]:g} s{more}" if times_s else "Stations", _bars(names, stations, 0)
                    if times_s else [], height=max(260, 80 + ROW_PX * len(names)), showlegend=False,
                    xaxis={"domain": [0, 0.62], "range": [0, 1], "tickformat": ".0%", "title": {"text": "utilisation"}},
                    xaxis2={"domain": [0.68, 1], "range": [0, max(1.0, most_waiting * 1.05)],
                            "title": {"text": "queue (requests)"}},
                    margin={"l": 150, "r": 20, "t": 50, "b": 120})
    result.frames = [{"name": frame_name, "data": _bars(names, stations, index),
                      "layout": {"title": {"text": f"Stations at {time_s:g} s{more}"}}}
                     for index, (frame_name, time_s) in enumerate(zip(frame_names, times_s, strict=True))]
    result.update_layout(**replay_controls(frame_names, times_s))
    return result


def mark_moment(chart: go.Figure, time_s: float, label: str) -> go.Figure:
    """A dashed vertical line at ``time_s`` on a time-series chart, labelled (the replay's first red)."""
    chart.add_shape(type="line", xref="x", yref="paper", x0=time_s, x1=time_s, y0=0, y1=1,
                    line={"color": RED, "dash": "dot", "width": 2})
    chart.add_annotation(text=label, xref="x", yref="paper", x=time_s, y=1, showarrow=False, xanchor="left",
                         yanchor="bottom", font={"size": 10, "color": RED})
    return chart


def mark_faults(chart: go.Figure, faults: Sequence[Any]) -> go.Figure:
    """Each fault of the scenario (``faults:``) as a shaded band over its time on a time-series chart, labelled
    with what struck where."""
    for fault in faults:
        chart.add_shape(type="rect", xref="x", yref="paper", x0=fault.at_s, x1=fault.at_s + fault.duration_s,
                        y0=0, y1=1, fillcolor="rgba(214,39,40,0.10)", line={"width": 0}, layer="below")
        where = f"{fault.component}/{fault.instance}" if fault.kind == "crash" else fault.component
        chart.add_annotation(text=f"{fault.kind} {where}", xref="x", yref="paper", x=fault.at_s, y=1,
                             showarrow=False, xanchor="left", yanchor="top", font={"size": 10, "color": RED})
    return chart
