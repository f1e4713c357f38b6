"""The architecture diagram: components as nodes coloured by utilisation, wired by the call graph."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sim.kinds.base import StatsView
from sim.results.summary_models import ComponentStats, RunSummary
from sim.scenario.scenario import Scenario
from sim.viz.base import figure, go

UTILISATION_COLOURS = [[0.0, "#2ca02c"], [0.6, "#f2d43d"], [0.85, "#ff7f0e"], [1.0, "#d62728"]]
IDLE_COLOUR = "#b0b7c3"
BOTTLENECK_OUTLINE = "#7a0010"
CLIENTS = "clients"
PARALLEL_MARK = "∥"
PARALLEL_COLOUR = "#1f77b4"


def owner_of(station: str, components: Sequence[str]) -> str | None:
    """The component a station belongs to (``db/shard-3/replica-0`` -> ``db``)."""
    matches = [name for name in components if station == name or station.startswith(f"{name}/")]
    return max(matches, key=len) if matches else None


def hottest_utilisation(stats: StatsView) -> float | None:
    """A component's busiest station's utilisation (its own when it has one station; None without servers)."""
    stations = stats.get("stations") or {}
    values = [station["utilisation"] for station in stations.values() if station.get("utilisation") is not None]
    return max(values) if values else stats.get("utilisation")


def _depths(scenario: Scenario, edges: list[tuple[str, str]]) -> dict[str, int]:
    """Column of each component: one more than its deepest caller (the wiring has no cycles)."""
    depth = dict.fromkeys(scenario.components, 1)
    for _round in scenario.components:  # converges within the call graph's depth: stop when nothing moves
        changed = False
        for caller, callee in edges:
            if depth[caller] + 1 > depth[callee]:
                depth[callee], changed = depth[caller] + 1, True
        if not changed:
            break
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


def _describe_component(name: str, scenario: Scenario, stats: StatsView) -> str:
    spec = scenario.components[name]
    shape = spec.describe(stats)
    if not stats.get("arrival_rate_rps"):
        return f"<b>{name}</b> ({spec.kind})<br>{shape}<br>no traffic"
    hottest = hottest_utilisation(stats)
    busy = "" if hottest is None else f"<br>{hottest:.0%} busy"
    queue = f" · queue {stats.get('mean_queue_length', 0.0):.1f}" if stats.get("servers") else ""
    return f"<b>{name}</b> ({spec.kind})<br>{shape}{busy}{queue}"


def call_marks(scenario: Scenario) -> dict[tuple[str, str], str]:
    """A mark for each edge made in parallel (``∥``, from a ``parallel`` in its field path) or more than once
    per visit (``×k``), from what each component's ``downstream()`` returns."""
    counts: Counter[tuple[str, str]] = Counter()
    parallel: set[tuple[str, str]] = set()
    for name, spec in scenario.components.items():
        for field, target in spec.downstream():
            counts[(name, target)] += 1
            if ".parallel." in f".{field}.":
                parallel.add((name, target))
    return {edge: " ".join(([PARALLEL_MARK] if edge in parallel else []) + ([f"×{count}"] if count > 1 else []))
            for edge, count in counts.items()}


def _edge_annotations(positions: Mapping[str, tuple[float, float]], edges: list[tuple[str, str]],
                      components: Mapping[str, ComponentStats], marks: Mapping[tuple[str, str], str]
                      ) -> list[dict[str, Any]]:
    """An arrow along each edge (parallel calls in their own colour), and the request rate arriving at its
    callee at the middle, after the edge's mark."""
    annotations = []
    for caller, callee in edges:
        (x0, y0), (x1, y1) = positions[caller], positions[callee]
        mark = marks.get((caller, callee), "")
        colour = PARALLEL_COLOUR if PARALLEL_MARK in mark else "#555"
        annotations.append({"x": x1 - 0.16, "y": y0 + (y1 - y0) * 0.84, "ax": x0 + 0.16, "ay": y0 + (y1 - y0) * 0.16,
                            "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 3,
                            "arrowwidth": 1.5, "arrowcolor": colour, "text": ""})
        annotations.append({"x": (x0 + x1) / 2, "y": (y0 + y1) / 2, "yshift": 10, "showarrow": False,
                            "text": f"{mark + ' · ' if mark else ''}{components[callee].arrival_rate_rps:,.0f} req/s",
                            "font": {"size": 11, "color": colour}})
    return annotations


def _node_labels(scenario: Scenario, summary: RunSummary, hot: str | None) -> list[str]:
    components = summary.components
    overflowed = {owner_of(station, list(components)) for station in summary.overflowed}
    labels = []
    for name in scenario.components:
        label = _describe_component(name, scenario, components[name])
        if name in overflowed:
            label += "<br><b>OVERFLOWED</b>"
        if name == hot:
            label += f"<br><b>bottleneck: {summary.bottleneck.component if summary.bottleneck else hot}</b>"
        labels.append(label)
    return labels


def architecture_figure(scenario: Scenario, summary: RunSummary) -> go.Figure:
    """Components as nodes coloured by their busiest station's utilisation, wired by arrows; the bottleneck ringed.

    Args:
        scenario: The scenario that was run (its wiring draws the edges).
        summary: ``result.summary`` of that run.
    """
    wiring = list(dict.fromkeys((name, target) for name, spec in scenario.components.items()
                                for _field, target in spec.downstream()))  # a call made k times: one arrow
    entries = sorted({scenario.workload.entry, *(item.entry for item in scenario.workload.classes if item.entry)})
    positions = _positions(scenario, wiring)
    edges = [(CLIENTS, entry) for entry in entries] + wiring
    components = summary.components
    hot = owner_of(summary.bottleneck.component, list(components)) if summary.bottleneck else None
    names = list(scenario.components)
    values = [hottest_utilisation(components[name]) for name in names]
    labels = _node_labels(scenario, summary, hot)
    offered = summary.requests.offered / max(summary.measured_s, 1e-9)
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
    return figure("Architecture (colour: busiest station's utilisation)", traces, height=200 + 120 * rows,
                  legend_rows=0, annotations=_edge_annotations(positions, edges, components, call_marks(scenario)),
                  xaxis={"visible": False, "range": [-0.5, max(columns) + 0.6]},
                  yaxis={"visible": False, "range": [-(rows - 1) / 2 - 0.9, (rows - 1) / 2 + 0.5]})

