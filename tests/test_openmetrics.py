"""The OpenMetrics file: well formed (parsed back by prometheus_client), derived generically, true to the run."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.interop.metrics_table import build_metrics_table, field_metric, front_doors
from sim.interop.openmetrics import (
    SIM_EPOCH_S,
    FrozenCollector,
    openmetrics_text,
    prometheus_metrics,
    write_openmetrics,
)
from sim.runtime.recorder import LevelHistory
from tests.conftest import SCENARIO_DIRECTORY
from tests.real_tools import require_binary


@pytest.fixture(scope="module")
def cache_run() -> sim.Result:
    return sim.run(sim.load_scenario(SCENARIO_DIRECTORY / "cache-aside.yaml"), duration_s=10)


def test_the_file_is_openmetrics_with_simulated_timestamps(cache_run: sim.Result) -> None:
    """Each scrape parses with prometheus_client's OpenMetrics parser (which reads one point per histogram; the
    whole file, several points per series, is loaded by the real promtool in tests/test_prometheus.py)."""
    text = openmetrics_text(cache_run)
    assert text.endswith("# EOF\n")
    assert text.count("# TYPE http_requests counter") == 1
    table = build_metrics_table(cache_run)
    for row, time_s in enumerate(cache_run.info.snapshot_times_s):
        scrape = generate_latest(FrozenCollector(prometheus_metrics(table, [row], SIM_EPOCH_S))).decode()
        families = {family.name: family.samples for family in text_string_to_metric_families(scrape)}
        assert {float(sample.timestamp) for samples in families.values() for sample in samples} == {
            SIM_EPOCH_S + time_s}
        for name in ("http_requests", "http_request_duration_seconds", "sim_station_utilisation_ratio",
                     "sim_station_queue_length", "cache_hits", "sim_component_instances"):
            assert families[name], name


def test_counters_never_decrease_and_histograms_are_cumulative(cache_run: sim.Result) -> None:
    table = build_metrics_table(cache_run)
    for family in table.families:
        for series in family.series:
            if family.kind == "counter" or family.kind == "histogram":
                assert np.all(np.diff(series.values) >= 0), (family.name, series.labels)
    histogram = table.family("http_request_duration_seconds")
    api = [series for series in histogram.series if series.labels.get("component") == "api"]
    buckets = np.array([series.values for series in api if series.sample.endswith("_bucket")])
    assert np.all(np.diff(buckets, axis=0) >= 0)  # each bucket holds at least the one below it
    count = next(series for series in api if series.sample.endswith("_count"))
    np.testing.assert_array_equal(buckets[-1], count.values)  # +Inf equals the count


def test_request_counters_add_up_to_the_records(cache_run: sim.Result) -> None:
    table = build_metrics_table(cache_run)
    final = {(series.labels["component"], series.labels["status"]): series.values[-1]
             for series in table.family("http_requests").series}
    records = cache_run.records
    finish = records["arrival_s"] + records["latency_ms"].astype(np.float64) / 1000.0
    assert final[("api", "200")] == np.sum((finish <= cache_run.scenario.duration_s) & (records["status"] == 0))
    settled = cache_run.component_levels["db"].column("settled")[-1]
    assert sum(value for (component, _status), value in final.items() if component == "db") == settled


def test_utilisation_gauge_averages_to_the_summary(cache_run: sim.Result) -> None:
    table = build_metrics_table(cache_run)
    times = table.times_s
    window = (times > cache_run.scenario.warmup_s) & (times <= cache_run.scenario.duration_s)
    gauge = next(series for series in table.family("sim_station_utilisation_ratio").series
                 if series.labels["station"] == "db/primary")
    weights = np.diff(times)[window[1:]]
    average = float(np.sum(gauge.values[window] * weights) / np.sum(weights))
    assert average == pytest.approx(cache_run.stations["db/primary"]["utilisation"], rel=1e-9)


def test_a_new_level_field_becomes_a_metric_without_new_code(cache_run: sim.Result) -> None:
    """A kind that adds a series (say, broker lag as a time integral) gets a counter and a gauge for it."""
    history = cache_run.component_levels["cache"]
    lag_area = np.linspace(0.0, 5.0, len(history.values))
    extended = LevelHistory(history.name, (*history.fields, "lag_area", "cold_starts"),
                            np.column_stack([history.values, lag_area, np.arange(len(lag_area))]))
    result = replace_levels(cache_run, "cache", extended)
    names = {family.name: family for family in build_metrics_table(result).families}
    assert names["sim_component_lag_seconds"].kind == "counter"
    gauge = names["sim_component_lag"].series[0]
    assert gauge.labels == {"component": "cache"}
    assert gauge.values[1:] == pytest.approx(np.diff(lag_area) / np.diff(result.info.snapshot_times_s))
    assert names["sim_component_cold_starts"].series[0].sample == "sim_component_cold_starts_total"
    assert field_metric("station", "wait_total_s")[0] == "sim_station_wait_seconds"


def replace_levels(result: sim.Result, component: str, history: LevelHistory) -> sim.Result:
    levels = {**result.component_levels, component: history}
    return sim.Result(result.scenario, replace(result.info), result.records, levels, result.station_levels)


def test_front_doors_are_entries_nobody_calls() -> None:
    scenario = sim.load_scenario(SCENARIO_DIRECTORY / "horizontal-scaling.yaml")
    result = sim.run(scenario, duration_s=4)
    assert front_doors(result) == {"lb": [0]}
    table = build_metrics_table(result)
    api_buckets = [series for series in table.family("http_request_duration_seconds").series
                   if series.labels.get("component") == "api" and series.sample.endswith("_bucket")]
    assert [series.labels["le"] for series in api_buckets] == ["+Inf"]  # inside: no per-visit latencies


def test_cli_writes_the_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "run.om"
    outcome = CliRunner().invoke(app, ["run", str(SCENARIO_DIRECTORY / "single-server.yaml"), "--duration", "5",
                                       "--metrics-out", str(target)])
    assert outcome.exit_code == 0, outcome.output
    assert target.read_text().endswith("# EOF\n")
    assert [path.name for path in tmp_path.iterdir()] == ["run.om"]  # no temporary file left behind


def test_cli_names_the_option_when_the_file_cannot_be_written(tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "run.om"
    outcome = CliRunner().invoke(app, ["run", str(SCENARIO_DIRECTORY / "single-server.yaml"), "--duration", "2",
                                       "--metrics-out", str(target)])
    assert outcome.exit_code == 2
    assert "--metrics-out" in outcome.output and "cannot write" in outcome.output


def test_throttled_answers_are_series_per_table_partition_and_429s(tmp_path: Path) -> None:
    run = sim.run(sim.load_scenario(SCENARIO_DIRECTORY / "hot-partition.yaml"), duration_s=6)
    table = build_metrics_table(run)
    throttled = {series.labels["partition"]: series.values[-1]
                 for series in table.family("sim_partition_throttled").series}
    levels = run.component_levels["orders"]
    assert throttled == {str(index): levels.column(f"throttled-{index}")[-1] for index in range(4)}
    assert max(throttled.values()) > 0 and min(throttled.values()) == 0  # the hot partition throttles alone
    answered = {series.labels["status"]: series.values[-1] for series in table.family("http_requests").series
                if series.labels["component"] == "orders"}
    assert answered["429"] == sum(throttled.values()) and answered["500"] == 0
    text = openmetrics_text(run)
    assert 'sim_partition_throttled_total{component="orders",partition="0"}' in text
    promtool = require_binary("promtool", "apt-get install -y prometheus")
    path = write_openmetrics(run, tmp_path / "hot-partition.om", SIM_EPOCH_S)
    loaded = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(path), str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert loaded.returncode == 0, loaded.stderr + loaded.stdout
