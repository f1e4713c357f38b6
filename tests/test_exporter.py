"""The live exporter: the replay's clock, the exposition it serves, and a real Prometheus scraping ``sim serve``."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

import sim
from sim.interop.exporter import ReplayCollector
from sim.interop.metrics_table import build_metrics_table
from tests.conftest import PROJECT_ROOT, SCENARIO_DIRECTORY
from tests.real_tools import free_port, prometheus, promql, record, scalar

SPEED = 10.0
DURATION_S = 30.0
SERVE_BOUND_S = 60.0  # generous: 3 s of replay and 2 s of lingering, on shared cores


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture(scope="module")
def run() -> sim.Result:
    return sim.run(sim.load_scenario(SCENARIO_DIRECTORY / "single-server.yaml"), duration_s=DURATION_S)


def scrape(collector: ReplayCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """What a scrape returns, parsed back by prometheus_client's text-format parser: (sample, labels) -> value."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_the_replay_shows_the_snapshot_reached_in_scaled_time(run: sim.Result) -> None:
    clock = FakeClock()
    table = build_metrics_table(run)
    collector = ReplayCollector(table, SPEED, clock)
    requests = table.family("http_requests").series[0]
    key = ("http_requests_total", (("component", "api"), ("status", "200")))
    assert scrape(collector)[key] == 0.0
    clock.now_s += 1.25  # 12.5 simulated seconds: the snapshot at 12 s
    values = scrape(collector)
    assert values[key] == requests.values[list(table.times_s).index(12.0)]
    assert values[("sim_replay_simulated_seconds", ())] == pytest.approx(12.5)
    assert not collector.finished()
    clock.now_s += 100.0
    assert scrape(collector)[key] == requests.values[-1]
    assert collector.finished()


def test_a_real_prometheus_scrapes_sim_serve_until_it_stops_by_itself(run: sim.Result, tmp_path: Path) -> None:
    port = free_port()
    final = build_metrics_table(run).family("http_requests").series[0].values[-1]
    scrape_config = [{"job_name": "sim", "scrape_interval": "500ms", "scrape_timeout": "400ms",
                      "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]
    with prometheus(tmp_path / "data", scrape_config) as url:
        wait_for_first_scrape(url)
        command = [sys.executable, "-m", "sim", "serve", str(SCENARIO_DIRECTORY / "single-server.yaml"),
                   "--speed", f"{SPEED:g}", "--port", str(port), "--duration", f"{DURATION_S:g}", "--linger", "2"]
        started = time.monotonic()
        served = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=SERVE_BOUND_S,
                                check=False)
        elapsed_s = time.monotonic() - started
        assert served.returncode == 0, served.stderr
        assert f"serving http://127.0.0.1:{port}/metrics" in served.stdout
        now = time.time()
        reached = scalar(url, 'max_over_time(sim_replay_simulated_seconds{job="sim"}[2m])', now)
        last = scalar(url, 'max_over_time(http_requests_total{job="sim",component="api",status="200"}[2m])', now)
        points = promql(url, 'http_requests_total{job="sim",component="api",status="200"}[2m]', now)[0]["values"]
    slope = replay_slope([(float(time_s), float(value)) for time_s, value in points], final)
    expected = SPEED * final / DURATION_S
    record(f"sim serve at {SPEED:g}x: a real Prometheus scraped {len(points)} times; final count {last:.0f} "
           f"(run: {final:.0f}); rate while replaying {slope:.0f} req/s per wall second vs {SPEED:g} x the "
           f"simulated {final / DURATION_S:.1f} = {expected:.0f}; the server stopped by itself after {elapsed_s:.1f} s")
    assert reached == DURATION_S
    assert last == final
    assert slope == pytest.approx(expected, rel=0.25)  # snapshots step 0.1 wall s; scrapes are 0.5 s apart


def wait_for_first_scrape(url: str, timeout_s: float = 30.0) -> None:
    """Wait until Prometheus has tried the target once (``up`` is 0 while nothing listens): its discovery sends
    the first targets to the scrape loop only a few seconds after start."""
    deadline = time.monotonic() + timeout_s
    while not promql(url, 'up{job="sim"}', time.time()):
        assert time.monotonic() < deadline, "Prometheus never tried the target"
        time.sleep(0.2)


def replay_slope(points: list[tuple[float, float]], final: float) -> float:
    """Counter increase per wall second between the first and last scrape that caught the replay under way."""
    moving = [(time_s, value) for time_s, value in points if 0.0 < value < final]
    assert len(moving) >= 2, f"too few scrapes during the replay: {points}"
    (first_s, first), (last_s, last) = moving[0], moving[-1]
    return (last - first) / (last_s - first_s)
