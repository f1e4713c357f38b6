"""Closed, profiled and trace-replay workloads checked against operational laws and exact theory.

Closed: the interactive response-time law X = N / (R + Z), and exact Mean Value Analysis for one exponential
server with exponential think times. Profiles: the arrivals in each stage match the integral of the rate
(``sim.model.profiles.expected_arrivals``). Trace: every row of the file arrives at its time, with its class.
Each statistical check uses seeded independent replications and a 95% Student-t interval (``stats_helpers``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.experiments.studies import ReplicationReport
from sim.model.profiles import expected_arrivals
from sim.twin.predict import arrival_rate_rps
from tests.stats_helpers import assert_agrees_with_theory

USERS = 10
SERVICE_MS = 1.0
THINK_MS = 8.0
CLOSED_REPLICATIONS = 8
PROFILE_SEEDS = tuple(range(1, 9))


def exact_mva(service_ms: float, think_ms: float, users: int) -> tuple[float, float]:
    """Mean response (ms) and throughput (req/s) of one FCFS exponential server with N users (exact MVA)."""
    queue_length = 0.0
    response_ms = service_ms
    for population in range(1, users + 1):
        response_ms = service_ms * (1.0 + queue_length)
        throughput_per_ms = population / (response_ms + think_ms)
        queue_length = throughput_per_ms * response_ms
    return response_ms, 1000.0 * users / (response_ms + think_ms)


@pytest.fixture(scope="module")
def closed_report() -> ReplicationReport:
    scenario = sim.parse_scenario({
        "name": "closed-single-station", "duration_s": 12, "warmup_s": 2,
        "workload": {"type": "closed", "users": USERS, "entry": "api",
                     "think_time": {"distribution": "exponential", "mean_ms": THINK_MS}},
        "components": {"api": {"kind": "service", "workers": 1,
                               "service_time": {"distribution": "exponential", "mean_ms": SERVICE_MS}}},
    })
    return sim.replicate(scenario, CLOSED_REPLICATIONS, workers=2)


def column(report: ReplicationReport, name: str) -> list[float]:
    return [float(row[name]) for row in report.rows]


def test_closed_throughput_follows_the_response_time_law(closed_report: ReplicationReport) -> None:
    mean_response_ms = float(np.mean(column(closed_report, "latency_mean_ms")))
    law_rps = 1000.0 * USERS / (mean_response_ms + THINK_MS)
    assert_agrees_with_theory("closed throughput vs N / (R + Z)", column(closed_report, "throughput_rps"), law_rps,
                              max_relative_half_width=0.01)


def test_closed_single_station_matches_exact_mva(closed_report: ReplicationReport) -> None:
    response_ms, throughput_rps = exact_mva(SERVICE_MS, THINK_MS, USERS)
    assert_agrees_with_theory("closed mean response vs MVA", column(closed_report, "latency_mean_ms"), response_ms,
                              max_relative_half_width=0.03)
    assert_agrees_with_theory("closed throughput vs MVA", column(closed_report, "throughput_rps"), throughput_rps,
                              max_relative_half_width=0.01)


def profile_scenario(duration_s: float, rate_rps: float, profile: dict[str, Any]) -> sim.Scenario:
    """Open traffic shaped by ``profile`` into a service too fast to queue (so every arrival is recorded)."""
    return sim.parse_scenario({
        "name": "profiled", "duration_s": duration_s, "warmup_s": 1,
        "workload": {"rate_rps": rate_rps, "profile": profile, "entry": "api"},
        "components": {"api": {"kind": "service", "workers": 8,
                               "service_time": {"distribution": "exponential", "mean_ms": 0.05}}},
    })


PROFILES = {
    "stages": (12, 200, {"kind": "stages", "stages": [{"duration_s": 4, "rate_rps": 1000, "ramp_s": 2},
                                                      {"duration_s": 3, "rate_rps": 300},
                                                      {"duration_s": 5, "rate_rps": 800, "ramp_s": 5}]},
               [(0, 4), (4, 7), (7, 12)]),
    "step": (10, 300, {"kind": "step", "at_s": 5, "rate_rps": 900}, [(0, 5), (5, 10)]),
    "spike": (10, 300, {"kind": "spike", "at_s": 4, "duration_s": 2, "rate_rps": 1500}, [(0, 4), (4, 6), (6, 10)]),
    "diurnal": (8, 500, {"kind": "diurnal", "period_s": 8, "amplitude": 0.8}, [(0, 2), (2, 4), (4, 6), (6, 8)]),
}


@pytest.mark.parametrize("kind", sorted(PROFILES))
def test_arrivals_in_each_stage_match_the_profile(kind: str) -> None:
    duration_s, rate_rps, profile, windows = PROFILES[kind]
    scenario = profile_scenario(duration_s, rate_rps, profile)
    runs = [sim.run(scenario, seed=seed) for seed in PROFILE_SEEDS]
    for start_s, end_s in windows:
        counts = [float(np.count_nonzero((run.records["arrival_s"] >= start_s) & (run.records["arrival_s"] < end_s)))
                  for run in runs]
        expected = expected_arrivals(scenario.workload, start_s, end_s)
        assert_agrees_with_theory(f"{kind} arrivals in [{start_s}, {end_s}) s", counts, expected,
                                  max_relative_half_width=0.06)


def test_trace_replays_every_row_at_its_time_with_its_class(tmp_path: Path) -> None:
    generator = np.random.default_rng(7)
    times_s = np.round(np.sort(generator.uniform(0.0, 6.0, 600)), 6)
    classes = generator.choice(["read", "write"], size=times_s.size, p=[0.7, 0.3])
    lines = ["time_s,class,key"] + [f"{time_s},{name},{index % 50}"
                                    for index, (time_s, name) in enumerate(zip(times_s, classes, strict=True))]
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scenario = sim.parse_scenario({
        "name": "trace", "duration_s": 8, "warmup_s": 1,
        "workload": {"type": "trace", "trace_file": str(trace), "entry": "api",
                     "classes": [{"name": "read", "weight": 0.5}, {"name": "write", "weight": 0.5,
                                                                   "operation": "write"}]},
        "components": {"api": {"kind": "service", "workers": 4,
                               "service_time": {"distribution": "exponential", "mean_ms": 1}}},
    })
    result = sim.run(scenario, seed=3)
    order = np.argsort(result.records["arrival_s"], kind="stable")
    np.testing.assert_allclose(result.records["arrival_s"][order], times_s, rtol=0, atol=1e-9)
    expected_classes = np.where(classes == "read", 0, 1)
    assert np.array_equal(result.records["class_index"][order], expected_classes)
    inside = np.count_nonzero((times_s >= 1.0) & (times_s < 8.0))
    assert arrival_rate_rps(scenario) == pytest.approx(inside / 7.0)
    assert result.summary["requests"]["offered"] == inside
