"""A broker's series through a real Prometheus: lag per group and partition, backlog, event latency, rejected and
blocked publishes, backfilled with promtool and read back with PromQL against the run's own summary."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.interop.metrics_table import LATENCY_BUCKETS_S
from sim.interop.openmetrics import SIM_EPOCH_S, write_openmetrics
from sim.model.status import OK
from sim.scenario.gallery import gallery_paths
from tests.real_tools import prometheus, promql, record, require_binary, scalar
from tests.test_broker import topic
from tests.test_prometheus import dashboard_queries

HOUR_S = 3600


def runs() -> dict[str, sim.Scenario]:
    """The spike through the gallery topic, and one slow consumer behind 50 slots under each full policy."""
    full = {policy: sim.parse_scenario(topic(rate_rps=150, partitions=1, consumers=1, duration_s=20,
                                             retention_messages=50, when_full=policy))
            for policy in ("reject", "block")}
    return {"event-driven": sim.load_scenario(gallery_paths()["event-driven"]), **full}


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, tuple[sim.Result, float]]]]:
    promtool = require_binary("promtool", "apt-get install -y prometheus")
    folder: Path = tmp_path_factory.mktemp("prometheus-broker")
    data = folder / "data"
    loaded_runs = {}
    for index, (name, scenario) in enumerate(runs().items()):
        result = sim.run(scenario, seed=1)
        epoch_s = SIM_EPOCH_S + index * HOUR_S
        path = write_openmetrics(result, folder / f"{name}.om", epoch_s)
        loaded = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(path), str(data)],
                                capture_output=True, text=True, timeout=120, check=False)
        assert loaded.returncode == 0, loaded.stderr + loaded.stdout
        loaded_runs[name] = (result, epoch_s + result.scenario.duration_s)
    with prometheus(data) as url:
        yield url, loaded_runs


def test_lag_per_group_and_partition_and_backlog_match_the_summary(
        backfilled: tuple[str, dict[str, tuple[sim.Result, float]]]) -> None:
    url, loaded = backfilled
    result, end_s = loaded["event-driven"]
    window = f"{result.span_s:g}s"
    broker = result.summary.components["orders"]
    group = broker.groups["billing"]
    lag = scalar(url, f'rate(sim_broker_consumer_lag_messages_seconds_total{{group="billing"}}[{window}])', end_s)
    partitions = promql(url, f'rate(sim_broker_partition_lag_messages_seconds_total{{group="billing"}}[{window}])',
                        end_s)
    backlog = scalar(url, f"rate(sim_broker_backlog_messages_seconds_total[{window}])", end_s)
    record(f"Prometheus event-driven: billing lag {lag:.2f} messages (summary {group.mean_lag_messages:.2f}), "
           f"backlog {backlog:.2f} (summary {broker.mean_backlog_messages:.2f})")
    assert lag == pytest.approx(group.mean_lag_messages, rel=1e-9)
    assert backlog == pytest.approx(broker.mean_backlog_messages, rel=1e-9)
    by_partition = {item["metric"]["partition"]: float(item["value"][1]) for item in partitions}
    assert by_partition == pytest.approx(group.partitions_mean_lag, rel=1e-9)
    published = promql(url, f"rate(sim_broker_partition_published_messages_total[{window}])", end_s)
    assert {item["metric"]["partition"]: float(item["value"][1]) for item in published} == pytest.approx(
        broker.partitions_published_rps, rel=1e-9)
    # the gauge is the mean lag per scrape interval: its peak is the time series' peak bin
    peak = scalar(url, f'max_over_time(sim_broker_consumer_lag_messages{{group="billing"}}[{window}])', end_s)
    series = result.timeseries()
    inside = np.asarray(series["time_s"]) > result.scenario.warmup_s
    assert peak == pytest.approx(max(np.asarray(series["components"]["orders"]["lag:billing"])[inside]), rel=1e-9)


def test_event_latency_quantile_lands_in_the_bucket_of_the_exact_one(
        backfilled: tuple[str, dict[str, tuple[sim.Result, float]]]) -> None:
    url, loaded = backfilled
    result, end_s = loaded["event-driven"]
    events = result.events["orders"]
    done = (events["status"] == OK) & (events["done_s"] > result.scenario.warmup_s)
    latency_s = (events["done_s"] - events["published_s"])[done]
    bounds = (0.0, *LATENCY_BUCKETS_S, float("inf"))
    for quantile in (0.5, 0.99):
        measured = scalar(url, f"histogram_quantile({quantile}, rate(sim_broker_event_latency_seconds_bucket"
                               f'{{group="billing"}}[{result.span_s:g}s]))', end_s)
        exact = float(np.quantile(latency_s, quantile))
        index = int(np.searchsorted(bounds, measured, side="left"))
        record(f"Prometheus event-driven: event latency q{quantile} = {measured:.3f} s, exact {exact:.3f} s")
        assert bounds[index - 1] < exact <= bounds[index]
    count = scalar(url, f"increase(sim_broker_event_latency_seconds_count[{result.span_s:g}s])", end_s)
    assert count == pytest.approx(latency_s.size, rel=1e-9)


@pytest.mark.parametrize(("policy", "metric", "field"),
                         [("reject", "sim_broker_rejected_publishes", "publish_rejected"),
                          ("block", "sim_broker_blocked_publishes", "publish_blocked")])
def test_rejected_and_blocked_publishes_match_the_summary(backfilled: tuple[str, dict[str, tuple[sim.Result, float]]],
                                                          policy: str, metric: str, field: str) -> None:
    url, loaded = backfilled
    result, end_s = loaded[policy]
    counted = scalar(url, f"increase({metric}_total[{result.span_s:g}s])", end_s)
    expected = result.summary.components["orders"][field]
    record(f"Prometheus {policy}: increase({metric}_total) = {counted:.1f}; summary {expected}")
    assert expected > 100 and counted == pytest.approx(expected, rel=1e-9)
    if policy == "block":
        waiting = scalar(url, f"max_over_time(sim_broker_blocked_publishers[{result.span_s:g}s])", end_s)
        assert waiting > 0


def test_every_broker_dashboard_query_returns_data(backfilled: tuple[str, dict[str, tuple[sim.Result, float]]]) -> None:
    url, loaded = backfilled
    _result, end_s = loaded["event-driven"]
    queries = [(title, expression) for title, expression in dashboard_queries() if "sim_broker_" in expression]
    assert len(queries) >= 6
    for title, expression in queries:
        vector = promql(url, expression, end_s - 1)
        values = [float(item["value"][1]) for item in vector]
        assert values and all(math.isfinite(value) for value in values), (title, expression, vector)
