"""Measured load-test results drawn over a simulated latency-vs-load chart (``measured_points`` data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.viz.base import GREEN, RED, go


def measured_traces(points: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Markers: the mean of each window of the test, and the whole test's mean and p99, at their throughput."""
    tool, windows, overall = points["tool"], points["windows"], points["overall"]
    traces = []
    if windows:
        traces.append({"type": "scatter", "mode": "markers", "name": f"measured mean per window ({tool})",
                       "x": [window["throughput_rps"] for window in windows],
                       "y": [window["mean_ms"] for window in windows],
                       "marker": {"symbol": "diamond-open", "size": 9, "color": GREEN}})
    for key, label, colour in (("mean_ms", "mean", GREEN), ("p99_ms", "p99", RED)):
        if overall.get(key) is not None:
            traces.append({"type": "scatter", "mode": "markers", "name": f"measured {label}, whole test ({tool})",
                           "x": [overall["throughput_rps"]], "y": [overall[key]],
                           "marker": {"symbol": "star", "size": 14, "color": colour}})
    return traces


def overlay_measured(figure: go.Figure, points: Mapping[str, Any]) -> go.Figure:
    """``figure`` (latency against arrival rate) with the measured points added."""
    figure.add_traces(measured_traces(points))
    return figure
