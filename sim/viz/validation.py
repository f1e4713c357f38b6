"""Theory beside simulation: per-component comparison of one run, and the validation cases' ratios."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.viz.base import axis, figure, go


def theory_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Simulated and predicted utilisation and mean response per component (rows of ``theory_comparison``)."""
    names = [row["component"] for row in rows]
    traces = []
    for panel, metric in (("", "utilisation"), ("2", "response")):
        suffix = "" if metric == "utilisation" else "_ms"
        for source, colour in (("simulated", "#4c78a8"), ("predicted", "#f58518")):
            traces.append({"type": "bar", "name": source, "x": names, "marker": {"color": colour},
                           "y": [row[f"{metric}_{source}{suffix}"] for row in rows], "showlegend": not panel,
                           "legendgroup": source, "xaxis": f"x{panel}", "yaxis": f"y{panel}"})
    return figure("Theory beside simulation", traces, height=340,
                  xaxis={"domain": [0.0, 0.44]}, xaxis2={"domain": [0.56, 1.0], "anchor": "y2"},
                  yaxis=axis("utilisation", tickformat=".0%"), yaxis2={**axis("mean response (ms)"), "anchor": "x2"})


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
    return figure("Simulated ÷ predicted, with 95% confidence intervals", [points], height=460, legend_rows=0,
                  shapes=[theory_line], yaxis=axis("ratio (1 = theory)"),
                  xaxis={"automargin": True, "tickangle": -40},  # two-line case labels need room below the axis
                  margin={"l": 50, "r": 20, "t": 50, "b": 140})

