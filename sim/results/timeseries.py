"""Windowed series over simulated time: traffic, latency percentiles, utilisation and queue per station.

Bins run between consecutive snapshot times (normally 1 s). Request series bin by finish time for throughput
and latency, and by arrival time for offered load; level series are exact time-weighted averages per bin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.latency import binned_percentiles
from sim.model.status import OK

if TYPE_CHECKING:
    import pandas as pd

    from sim.results.result import Result


def build_timeseries(result: Result) -> dict[str, Any]:
    """Per-bin series as plain lists (JSON-ready)."""
    edges = np.asarray(result.info.snapshot_times_s)
    widths = np.diff(edges)
    bins = widths.size
    records = result.records
    arrival = records["arrival_s"]
    finish = arrival + records["latency_ms"].astype(np.float64) / 1000.0
    ok = records["status"] == OK
    arrival_bin = np.clip(np.searchsorted(edges, arrival, side="right") - 1, 0, bins - 1)
    finish_bin = np.searchsorted(edges, finish[ok], side="right") - 1
    inside = (finish_bin >= 0) & (finish_bin < bins)
    offered = np.bincount(arrival_bin, minlength=bins)[:bins] / widths
    served = np.bincount(finish_bin[inside], minlength=bins)[:bins] / widths
    failed = np.bincount(arrival_bin[~ok], minlength=bins)[:bins] / widths
    requests = {"offered_rps": offered.tolist(), "throughput_rps": served.tolist(), "failed_rps": failed.tolist()}
    requests.update(binned_percentiles(finish_bin[inside], records["latency_ms"][ok][inside], bins))
    stations = {}
    for name, history in result.station_levels.items():
        servers = result.info.station_servers[name]
        busy = np.diff(history.column("busy_area")) / widths / servers
        queue = np.diff(history.column("queue_area")) / widths
        stations[name] = {"utilisation": busy.tolist(), "queue_length": queue.tolist()}
    series = {"time_s": edges[1:].tolist(), "bin_width_s": widths.tolist(), "requests": requests,
              "stations": stations}
    components = {}
    for name, spec in result.scenario.components.items():
        history = result.component_levels[name]
        own: dict[str, list[Any]] = spec.level_series(history.fields, history.values, widths)
        if name in result.events:
            own.update(spec.event_series(result.events[name], edges))
        if own:
            components[name] = own
    if components:  # kinds' own series (a broker's lag), only when some kind has them
        series["components"] = components
    return series


def timeseries_frame(result: Result) -> pd.DataFrame:
    """The series as one tidy table: a row per bin and series (time_s, series, value)."""
    import pandas as pd

    series = build_timeseries(result)
    rows: list[dict[str, Any]] = []
    for name, values in series["requests"].items():
        rows.extend({"time_s": time, "series": name, "value": value}
                    for time, value in zip(series["time_s"], values, strict=True))
    for station, levels in [*series["stations"].items(), *series.get("components", {}).items()]:
        for level, values in levels.items():
            rows.extend({"time_s": time, "series": f"{station}:{level}", "value": value}
                        for time, value in zip(series["time_s"], values, strict=True))
    return pd.DataFrame(rows)
