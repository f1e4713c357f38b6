"""Figures for lessons: one bar per variant of a step's results table (also used by the generated notebooks)."""

from __future__ import annotations

import math
from typing import Any

from sim.viz.base import BLUE, axis, figure, go


def _number(value: Any) -> float | None:
    """A table cell as a float; None for a missing value (None or NaN: a variant that completed nothing)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def variants_figure(table: Any, column: str) -> go.Figure:
    """One bar per variant for one column of a lesson's results table (``sim.teaching.lesson_views.results_table``)."""
    values = [_number(value) for value in table[column].tolist()]
    bars = {"type": "bar", "x": [str(label) for label in table.index], "y": values, "marker": {"color": BLUE},
            "text": [f"{value:.3g}" if value is not None else "" for value in values], "textposition": "outside"}
    return figure(column, [bars], height=320, legend_rows=0, yaxis=axis(column, rangemode="tozero"))
