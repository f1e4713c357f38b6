"""Write monitoring/grafana-dashboard.json: RED per service and USE per station, for the sandbox's metrics.

Usage: ``python tools/make_dashboard.py`` (after changing PANELS). The test suite checks the file is up to
date and evaluates every query against a real Prometheus holding a backfilled run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parent.parent / "monitoring" / "grafana-dashboard.json"
RATE = "[$__rate_interval]"
COMPONENT = 'component=~"$component"'
STATION = 'station=~"$station"'


def ratio(numerator: str, denominator: str) -> str:
    return f"{numerator} / {denominator}"


# (row, title, unit, [(legend, PromQL)]): the Four Golden Signals per service (RED), then per station (USE), then
# components' own (cache, broker).
PANELS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("RED per service", "Requests per second", "reqps", [
        ("{{component}}", f"sum by (component) (rate(http_requests_total{{{COMPONENT}}}{RATE}))")]),
    ("RED per service", "Error ratio (5xx)", "percentunit", [
        ("{{component}}", ratio(f'sum by (component) (rate(http_requests_total{{{COMPONENT},status=~"5.."}}{RATE}))',
                                f"sum by (component) (rate(http_requests_total{{{COMPONENT}}}{RATE}))"))]),
    ("RED per service", "Latency percentiles (front door)", "s", [
        (f"p{quantile} {{{{component}}}}",
         f"histogram_quantile(0.{quantile}, sum by (component, le) "
         f"(rate(http_request_duration_seconds_bucket{{{COMPONENT}}}{RATE}))) >= 0")  # ">= 0" drops the NaN of
        for quantile in (50, 95, 99)]),  # components inside, whose histogram has only its +Inf bucket
    ("RED per service", "Mean response time", "s", [
        ("{{component}}", ratio(
            f"sum by (component) (rate(http_request_duration_seconds_sum{{{COMPONENT}}}{RATE}))",
            f"sum by (component) (rate(http_request_duration_seconds_count{{{COMPONENT}}}{RATE}))"))]),
    ("USE per station", "Utilisation", "percentunit", [
        ("{{station}}", ratio(f"sum by (station) (rate(sim_station_busy_seconds_total{{{STATION}}}{RATE}))",
                              f"sum by (station) (sim_station_servers{{{STATION}}})"))]),
    ("USE per station", "Saturation: requests waiting", "short", [
        ("{{station}}", f"sum by (station) (rate(sim_station_queued_seconds_total{{{STATION}}}{RATE}))")]),
    ("USE per station", "Errors: requests dropped per second", "reqps", [
        ("{{station}}", f"sum by (station) (rate(sim_station_dropped_total{{{STATION}}}{RATE}))")]),
    ("Components", "Cache hit ratio", "percentunit", [
        ("{{component}}", ratio(f"sum by (component) (rate(cache_hits_total{RATE}))",
                                f"(sum by (component) (rate(cache_hits_total{RATE})) + "
                                f"sum by (component) (rate(cache_misses_total{RATE})))"))]),
    ("Components", "Requests in flight", "short", [("{{component}}", f"sim_component_in_flight{{{COMPONENT}}}")]),
    ("Components", "Instances", "short", [("{{component}}", f"sim_component_instances{{{COMPONENT}}}")]),
    ("Brokers", "Consumer lag (messages)", "short", [
        ("{{component}} {{group}}", f"sum by (component, group) (sim_broker_consumer_lag_messages{{{COMPONENT}}})"),
        ("{{component}} backlog", f"sum by (component) (sim_broker_backlog_messages{{{COMPONENT}}})")]),
    ("Brokers", "Event latency (publish to processed)", "s", [
        (f"p{quantile} {{{{component}}}} {{{{group}}}}",
         f"histogram_quantile(0.{quantile}, sum by (component, group, le) "
         f"(rate(sim_broker_event_latency_seconds_bucket{{{COMPONENT}}}{RATE}))) >= 0")
        for quantile in (50, 99)]),
    ("Brokers", "Lag per partition", "short", [
        ("{{group}} partition {{partition}}", f"sim_broker_partition_lag_messages{{{COMPONENT}}}")]),
    ("Brokers", "Publishes refused or held per second", "reqps", [
        (f"{{{{component}}}} {outcome}",
         f"sum by (component) (rate(sim_broker_{outcome}_publishes_total{{{COMPONENT}}}{RATE}))")
        for outcome in ("rejected", "blocked")]),
]


def variable(name: str, query: str) -> dict[str, Any]:
    return {"name": name, "label": name, "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2, "multi": True,
            "includeAll": True, "current": {"text": "All", "value": "$__all"}, "allValue": ".*", "sort": 1}


def panel(index: int, title: str, unit: str, queries: list[tuple[str, str]], y: int, x: int) -> dict[str, Any]:
    return {"id": index, "type": "timeseries", "title": title, "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
            "targets": [{"refId": chr(ord("A") + number), "expr": expression, "legendFormat": legend,
                         "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                        for number, (legend, expression) in enumerate(queries)]}


def build() -> dict[str, Any]:
    """The dashboard model (Grafana schema 39), rows of two panels each."""
    panels: list[dict[str, Any]] = []
    y, row, column = 0, "", 0
    for index, (row_title, title, unit, queries) in enumerate(PANELS, start=1):
        if row_title != row:
            y += 8 if column else 0
            panels.append({"id": 100 + len(panels), "type": "row", "title": row_title, "collapsed": False,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
            row, column, y = row_title, 0, y + 1
        panels.append(panel(index, title, unit, queries, y, 12 * column))
        column = (column + 1) % 2
        y += 8 if column == 0 else 0
    datasource = {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"}
    return {"title": "Scalability sandbox: RED per service, USE per station", "uid": "scalability-sandbox",
            "schemaVersion": 39, "version": 1, "editable": True, "tags": ["scalability-sandbox"],
            "time": {"from": "2024-01-01T00:00:00.000Z", "to": "2024-01-01T00:02:00.000Z"},
            "refresh": "", "timezone": "utc", "panels": panels,
            "templating": {"list": [datasource, variable("component", "label_values(http_requests_total, component)"),
                                    variable("station", "label_values(sim_station_servers, station)")]},
            "description": "Backfilled runs start at 2024-01-01T00:00:00Z (simulated second 0); for sim serve, "
                           "pick 'Last 5 minutes'."}


def main() -> None:
    TARGET.write_text(json.dumps(build(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {TARGET.relative_to(TARGET.parent.parent)}")


if __name__ == "__main__":
    main()
