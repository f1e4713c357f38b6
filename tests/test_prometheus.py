"""Round trip through a real Prometheus: backfill runs with promtool, query them with PromQL over the HTTP API.

The figures each check compares are printed and repeated in the session summary (they are quoted in the README).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

import sim
from sim.interop.metrics_table import LATENCY_BUCKETS_S
from sim.interop.openmetrics import SIM_EPOCH_S, write_openmetrics
from sim.model.status import OK
from tests.conftest import PROJECT_ROOT, SCENARIO_DIRECTORY
from tests.real_tools import prometheus, promql, record, require_binary, scalar

# Two gallery runs share one Prometheus, an hour apart on its clock.
RUNS = {"cache-aside": ("api", SIM_EPOCH_S), "horizontal-scaling": ("lb", SIM_EPOCH_S + 3600)}


@dataclass
class Backfilled:
    result: sim.Result
    entry: str
    epoch_s: float

    @property
    def end_s(self) -> float:
        return self.epoch_s + self.result.scenario.duration_s

    @property
    def window(self) -> str:
        """The measured window as a PromQL range, ending at the run's end."""
        return f"{self.result.span_s:g}s"


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Backfilled]]]:
    promtool = require_binary("promtool", "apt-get install -y prometheus")
    folder = tmp_path_factory.mktemp("prometheus")
    data = folder / "data"
    runs = {}
    for name, (entry, epoch_s) in RUNS.items():
        result = sim.run(sim.load_scenario(SCENARIO_DIRECTORY / f"{name}.yaml"))
        path = write_openmetrics(result, folder / f"{name}.om", epoch_s)
        loaded = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(path), str(data)],
                                capture_output=True, text=True, timeout=120, check=False)
        assert loaded.returncode == 0, loaded.stderr + loaded.stdout
        runs[name] = Backfilled(result, entry, epoch_s)
    with prometheus(data) as url:
        yield url, runs


def in_flight_at(result: sim.Result, time_s: float) -> int:
    """Requests that had arrived but not finished at ``time_s``."""
    arrival = result.records["arrival_s"]
    finish = arrival + result.records["latency_ms"].astype(np.float64) / 1000.0
    return int(((arrival < time_s) & (finish > time_s)).sum())


def finished_in_window(result: sim.Result) -> np.ndarray:
    """Latencies (s) of successful requests that finished inside the measured window."""
    records = result.records
    latency_s = records["latency_ms"].astype(np.float64) / 1000.0
    finish = records["arrival_s"] + latency_s
    inside = (finish > result.scenario.warmup_s) & (finish <= result.scenario.duration_s) & (records["status"] == OK)
    return latency_s[inside]


def bucket_of(value_s: float) -> tuple[float, float]:
    """The histogram bucket (lower, upper bound) holding ``value_s``."""
    bounds = (0.0, *LATENCY_BUCKETS_S, float("inf"))
    index = int(np.searchsorted(bounds, value_s, side="left"))
    return bounds[index - 1], bounds[index]


@pytest.mark.parametrize("name", list(RUNS))
def test_request_rate_matches_the_summary_throughput(backfilled: tuple[str, dict[str, Backfilled]],
                                                     name: str) -> None:
    url, runs = backfilled
    run = runs[name]
    result, summary = run.result, run.result.summary
    measured = scalar(url, f'sum(rate(http_requests_total{{component="{run.entry}",status="200"}}[{run.window}]))',
                      run.end_s)
    # Prometheus counts requests by when they finished; the summary by when they arrived. The two differ by
    # at most the requests in flight at the window's two edges.
    by_finish = finished_in_window(result).size / result.span_s
    edge_rps = (in_flight_at(result, result.scenario.warmup_s) + in_flight_at(result, result.scenario.duration_s)
                ) / result.span_s
    record(f"Prometheus {name}: rate(http_requests_total) = {measured:.3f} req/s; summary throughput "
           f"{summary['throughput_rps']:.3f} req/s (difference {measured - summary['throughput_rps']:+.3f}, "
           f"bound from requests in flight at the window's edges {edge_rps:.3f})")
    assert measured == pytest.approx(by_finish, rel=1e-9)
    assert abs(measured - summary["throughput_rps"]) <= edge_rps + 1e-9


@pytest.mark.parametrize("name", list(RUNS))
def test_p99_matches_the_summary_to_the_bucket(backfilled: tuple[str, dict[str, Backfilled]], name: str) -> None:
    url, runs = backfilled
    run = runs[name]
    expression = (f'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
                  f'{{component="{run.entry}"}}[{run.window}])))')
    measured_s = scalar(url, expression, run.end_s)
    low, high = bucket_of(measured_s)
    summary_s = run.result.summary["latency_ms"]["p99"] / 1000.0
    exact_s = float(np.quantile(finished_in_window(run.result), 0.99))
    record(f"Prometheus {name}: histogram_quantile(0.99) = {1000 * measured_s:.1f} ms in bucket "
           f"({1000 * low:g}, {1000 * high:g}] ms; summary p99 {1000 * summary_s:.1f} ms")
    assert low < exact_s <= high  # the same requests' exact p99 is in the bucket Prometheus interpolated in
    assert low < summary_s <= high


@pytest.mark.parametrize("name", list(RUNS))
def test_utilisation_and_queues_match_the_summary_exactly(backfilled: tuple[str, dict[str, Backfilled]],
                                                          name: str) -> None:
    url, runs = backfilled
    run = runs[name]
    for station, stats in run.result.stations.items():
        selector = f'{{station="{station}"}}'
        busy = scalar(url, f"rate(sim_station_busy_seconds_total{selector}[{run.window}])", run.end_s)
        queue = scalar(url, f"rate(sim_station_queued_seconds_total{selector}[{run.window}])", run.end_s)
        assert busy / stats["servers"] == pytest.approx(stats["utilisation"], rel=1e-9, abs=1e-12)
        assert queue == pytest.approx(stats["mean_queue_length"], rel=1e-9, abs=1e-12)


def test_cache_hit_ratio_matches_the_summary(backfilled: tuple[str, dict[str, Backfilled]]) -> None:
    url, runs = backfilled
    run = runs["cache-aside"]
    window = run.window
    ratio = scalar(url, f"sum(rate(cache_hits_total[{window}])) / (sum(rate(cache_hits_total[{window}])) + "
                        f"sum(rate(cache_misses_total[{window}])))", run.end_s)
    expected = run.result.summary["components"]["cache"]["hit_ratio"]
    record(f"Prometheus cache-aside: cache hit ratio {ratio:.4f}; summary {expected:.4f}")
    assert ratio == pytest.approx(expected, rel=1e-9)


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of the shipped Grafana dashboard, variables filled in."""
    dashboard = json.loads((PROJECT_ROOT / "monitoring" / "grafana-dashboard.json").read_text())
    filled = {"$__rate_interval": "5s", "$component": ".*", "$station": ".*"}
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expression = target["expr"]
            for variable, value in filled.items():
                expression = expression.replace(variable, value)
            queries.append((panel["title"], expression))
    return queries


def test_every_dashboard_query_returns_data(backfilled: tuple[str, dict[str, Backfilled]]) -> None:
    url, runs = backfilled
    run = runs["cache-aside"]  # has every kind of series: a front door, a cache, a database
    for title, expression in dashboard_queries():
        if "sim_broker_" in expression:
            continue  # a broker's panels: tests/test_prometheus_broker.py, on a run with a broker
        vector = promql(url, expression, run.end_s - 1)
        values = [float(item["value"][1]) for item in vector]
        assert values and all(math.isfinite(value) for value in values), (title, expression, vector)
