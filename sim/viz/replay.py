"""The run replayed: the architecture diagram once per time bin, each component coloured by its busiest station's
utilisation in that bin and labelled with its queue, with a play button and a time slider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.results.summary_models import RunSummary
from sim.scenario.scenario import Scenario
from sim.viz.architecture import architecture_figure, owner_of
from sim.viz.base import go

HOT = 0.85  # where the colour scale turns from orange to red: "the station turns red"
COMPONENTS_TRACE = 1  # the diagram's node trace (after the wiring)
FRAME_MS = 300


def component_levels(timeseries: Mapping[str, Any], components: Sequence[str]
                     ) -> dict[str, tuple[list[float | None], list[float]]]:
    """Per component and time bin: its busiest station's utilisation (None without a station) and the requests
    waiting in all its stations."""
    bins = len(timeseries["time_s"])
    levels: dict[str, tuple[list[float | None], list[float]]] = {
        name: ([None] * bins, [0.0] * bins) for name in components}
    for station, values in timeseries["stations"].items():
        owner = owner_of(station, components)
        if owner is None:
            continue
        busy, waiting = levels[owner]
        for index, (utilisation, queue) in enumerate(zip(values["utilisation"], values["queue_length"], strict=True)):
            if utilisation is not None:
                busy[index] = max(busy[index] or 0.0, utilisation)
            waiting[index] += queue or 0.0
    return levels


def first_hot(timeseries: Mapping[str, Any], components: Sequence[str], threshold: float = HOT
              ) -> tuple[float, str] | None:
    """The first time bin in which a component's busiest station reaches ``threshold``, and that component (the
    busiest one when several reach it in the same bin); None when none ever does."""
    levels = component_levels(timeseries, components)
    for index, time_s in enumerate(timeseries["time_s"]):
        hot: dict[str, float] = {}
        for name, (busy, _waiting) in levels.items():
            value = busy[index]
            if value is not None and value >= threshold:
                hot[name] = value
        if hot:
            return float(time_s), max(hot, key=hot.__getitem__)
    return None


def _frame(name: str, levels: Mapping[str, tuple[list[float | None], list[float]]], index: int,
           time_s: float) -> dict[str, Any]:
    colours = [levels[component][0][index] for component in levels]
    labels = [f"<b>{component}</b><br>{'idle' if busy is None else f'{busy:.0%} busy'}"
              f"<br>queue {levels[component][1][index]:,.1f}"
              for component, busy in zip(levels, colours, strict=True)]
    return {"name": name, "traces": [COMPONENTS_TRACE],
            "data": [{"type": "scatter", "text": labels, "hovertext": labels,
                      "marker": {"color": [0.0 if value is None else value for value in colours]}}],
            "layout": {"title": {"text": f"Replay at {time_s:g} s (colour: busiest station's utilisation)"}}}


def replay_controls(names: Sequence[str], times_s: Sequence[float]) -> dict[str, Any]:
    animation = {"frame": {"duration": FRAME_MS, "redraw": True}, "transition": {"duration": 0}, "mode": "immediate"}
    return {
        "updatemenus": [{"type": "buttons", "showactive": False, "x": 0.0, "y": -0.02, "xanchor": "left",
                         "yanchor": "top", "direction": "left", "buttons": [
                             {"label": "▶ play", "method": "animate", "args": [None, {**animation,
                                                                                    "fromcurrent": True}]},
                             {"label": "❚❚ pause", "method": "animate", "args": [[None], animation]}]}],
        "sliders": [{"x": 0.18, "len": 0.82, "y": -0.02, "yanchor": "top", "currentvalue": {"prefix": "t = "},
                     "steps": [{"label": f"{time_s:g} s", "method": "animate", "args": [[name], animation]}
                               for name, time_s in zip(names, times_s, strict=True)]}],
    }


def replay_figure(scenario: Scenario, summary: RunSummary, timeseries: Mapping[str, Any]) -> go.Figure:
    """The architecture diagram replayed over the run's time bins (one animation frame per bin).

    Args:
        scenario: The scenario that was run.
        summary: ``result.summary`` of that run (the diagram's wiring, rates and the bottleneck ring).
        timeseries: ``result.timeseries()`` of the same run.
    """
    figure = architecture_figure(scenario, summary)
    components = list(scenario.components)
    levels = component_levels(timeseries, components)
    times_s = [float(value) for value in timeseries["time_s"]]
    names = [f"bin-{index}" for index in range(len(times_s))]
    figure.frames = [_frame(name, levels, index, time_s)
                     for index, (name, time_s) in enumerate(zip(names, times_s, strict=True))]
    figure.update_layout(height=figure.layout.height + 60, margin={"b": 110}, **replay_controls(names, times_s))
    if figure.frames:  # the still picture before play is the first bin's
        first, nodes = figure.frames[0], figure.data[COMPONENTS_TRACE]
        nodes.marker.color = first.data[0].marker.color
        nodes.text = nodes.hovertext = first.data[0].text
        figure.layout.title = first.layout.title
    return figure
