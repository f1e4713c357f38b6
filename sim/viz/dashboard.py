"""The monitoring dashboard of a run: RED per service and USE per station (``sim.interop.dashboard`` data).

The same panels as monitoring/grafana-dashboard.json, drawn from ``dashboard_series(result)``, so the app and
the monitoring lesson show what Grafana over Prometheus would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.viz.base import axis, figure, go, warmup_shapes

TIME = axis("time (s)")
# (section, key, title, y axis, tick format)
PANELS = (
    ("red", "rate_rps", "Rate: requests per second by service", "requests / s", None),
    ("red", "error_ratio", "Errors: share of 5xx answers by service", "5xx share", ".1%"),
    ("red", "duration", "Duration: p99 at the front door, mean per service", "latency (ms)", None),
    ("use", "utilisation", "Utilisation per station", "busy fraction", ".0%"),
    ("use", "queue_length", "Saturation: requests waiting per station", "requests waiting", None),
    ("use", "drops_rps", "Errors: requests dropped per second per station", "drops / s", None),
    ("hit_ratio", "hit_ratio", "Cache hit ratio", "hits / lookups", ".0%"),
)


def _line(name: str, time_s: Sequence[float], values: Sequence[float | None], dash: str = "solid") -> dict[str, Any]:
    return {"type": "scatter", "mode": "lines", "name": name, "x": list(time_s), "y": list(values),
            "line": {"dash": dash}, "connectgaps": False}


def _duration_traces(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    time_s, traces = dashboard["time_s"], []
    for component, panel in dashboard["red"].items():
        if "p99_ms" in panel:
            traces.append(_line(f"{component} p99", time_s, panel["p99_ms"]))
        traces.append(_line(f"{component} mean", time_s, panel["mean_ms"], "dot"))
    return traces


def dashboard_panel_figure(dashboard: Mapping[str, Any], section: str, key: str, title: str, y_title: str,
                           tick_format: str | None = None) -> go.Figure:
    """One panel: a line per component (RED) or station (USE) of ``key`` over simulated time."""
    if key == "duration":
        traces = _duration_traces(dashboard)
    elif section == "hit_ratio":
        traces = [_line(name, dashboard["time_s"], values) for name, values in dashboard["hit_ratio"].items()]
    else:
        traces = [_line(name, dashboard["time_s"], panel[key]) for name, panel in dashboard[section].items()]
    y_axis = axis(y_title, rangemode="tozero", **({"tickformat": tick_format} if tick_format else {}))
    return figure(title, traces, height=260, legend_rows=-(-len(traces) // 3), xaxis=TIME, yaxis=y_axis,
                  **warmup_shapes(dashboard.get("warmup_s")))


def dashboard_figures(dashboard: Mapping[str, Any]) -> list[go.Figure]:
    """Every panel of the dashboard, RED first, then USE, then cache hit ratios (when there is a cache)."""
    return [dashboard_panel_figure(dashboard, *panel) for panel in PANELS if panel[0] != "hit_ratio"
            or dashboard.get("hit_ratio")]
