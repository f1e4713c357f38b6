"""What the shipped Grafana dashboard would show for a run, computed from the same metric families.

Each value is over one scrape interval (one time bin), as ``rate(x[interval])`` reads it: RED per component
(request rate, 5xx ratio, mean response time, and the p50/p95/p99 Prometheus's ``histogram_quantile`` reads off
the front door's buckets) and USE per station (utilisation, requests waiting, drops per second). The app's
dashboard view and the monitoring lesson draw these, so they show what a Prometheus would.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.interop.metrics_table import DURATION, REQUESTS, MetricsTable, Series, build_metrics_table
from sim.results.result import Result

QUANTILES = (0.5, 0.95, 0.99)


def _rates(series: Series, widths: np.ndarray) -> np.ndarray:
    return np.diff(series.values) / widths


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> list[float | None]:
    return [float(top / bottom) if bottom > 0 else None for top, bottom in zip(numerator, denominator, strict=True)]


def histogram_quantile(quantile: float, bounds: list[float], increments: np.ndarray) -> float | None:
    """Prometheus's ``histogram_quantile`` over one interval: ``increments`` are the cumulative bucket counts'
    increases (last one ``+Inf``); linear interpolation inside the bucket holding the rank; the highest finite
    bound when the rank falls in ``+Inf``; None with no observations."""
    total = float(increments[-1])
    if total <= 0:
        return None
    rank = quantile * total
    index = int(np.searchsorted(increments, rank, side="left"))
    if index >= len(bounds):
        return bounds[-1]
    lower_bound = bounds[index - 1] if index > 0 else 0.0
    below = float(increments[index - 1]) if index > 0 else 0.0
    inside = float(increments[index]) - below
    return lower_bound + (bounds[index] - lower_bound) * ((rank - below) / inside if inside > 0 else 1.0)


def _red(table: MetricsTable, widths: np.ndarray) -> dict[str, dict[str, Any]]:
    red: dict[str, dict[str, Any]] = {}
    for series in table.family(REQUESTS).series:
        entry = red.setdefault(series.labels["component"], {"total": np.zeros(widths.size),
                                                             "errors": np.zeros(widths.size)})
        rate = _rates(series, widths)
        entry["total"] += rate
        if series.labels["status"].startswith("5"):
            entry["errors"] += rate
    histograms: dict[str, list[Series]] = {}
    for series in table.family(DURATION).series:
        histograms.setdefault(series.labels["component"], []).append(series)
    result = {}
    for component, entry in red.items():
        parts = {series.sample.rsplit("_", 1)[-1]: series for series in histograms[component]
                 if not series.sample.endswith("_bucket")}
        panel: dict[str, Any] = {
            "rate_rps": entry["total"].tolist(), "error_ratio": _ratio(entry["errors"], entry["total"]),
            "mean_ms": [None if value is None else 1000 * value
                        for value in _ratio(np.diff(parts["sum"].values), np.diff(parts["count"].values))]}
        buckets = [series for series in histograms[component] if series.sample.endswith("_bucket")]
        if len(buckets) > 1:
            bounds = [float(series.labels["le"]) for series in buckets]
            increments = np.diff(np.array([series.values for series in buckets]), axis=1)
            for quantile in QUANTILES:
                values = [histogram_quantile(quantile, bounds, increments[:, column])
                          for column in range(widths.size)]
                panel[f"p{round(quantile * 100)}_ms"] = [None if value is None else 1000 * value for value in values]
        result[component] = panel
    return result


def _use(table: MetricsTable, widths: np.ndarray) -> dict[str, dict[str, Any]]:
    use: dict[str, dict[str, Any]] = {}
    families = {"sim_station_busy_seconds": "busy", "sim_station_queued_seconds": "queue_length",
                "sim_station_dropped": "drops_rps", "sim_station_servers": "servers"}
    for family_name, key in families.items():
        for series in table.family(family_name).series:
            station = use.setdefault(series.labels["station"], {"component": series.labels["component"]})
            station[key] = series.values[1:] if key == "servers" else _rates(series, widths)
    for station in use.values():
        station["utilisation"] = (station.pop("busy") / station.pop("servers")).tolist()
        station["queue_length"] = station["queue_length"].tolist()
        station["drops_rps"] = station["drops_rps"].tolist()
    return use


def _hit_ratios(table: MetricsTable, widths: np.ndarray) -> dict[str, list[float | None]]:
    names = {family.name for family in table.families}
    if "cache_hits" not in names:
        return {}
    misses = {series.labels["component"]: series for series in table.family("cache_misses").series}
    ratios = {}
    for hits in table.family("cache_hits").series:
        hit_rate = _rates(hits, widths)
        ratios[hits.labels["component"]] = _ratio(hit_rate, hit_rate + _rates(misses[hits.labels["component"]], widths))
    return ratios


def dashboard_series(result: Result) -> dict[str, Any]:
    """RED per component, USE per station and cache hit ratios over time, as plain lists (JSON-ready)."""
    table = build_metrics_table(result)
    widths = np.diff(table.times_s)
    return {"time_s": table.times_s[1:].tolist(), "warmup_s": result.scenario.warmup_s,
            "red": _red(table, widths), "use": _use(table, widths), "hit_ratio": _hit_ratios(table, widths)}
